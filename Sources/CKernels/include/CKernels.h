// The PIM engine's hottest inner loops in C, with a portable Swift reference for each.
//
// Every kernel reproduces its Swift reference bit for bit (same IEEE operations in the same
// order, no fused multiply-add); tests compare the two. The AVX2 versions run only where
// `pim_kernels_have_avx2()` says the CPU and OS support them (AVX2 here means AVX2 + BMI2);
// callers fall back to Swift.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// One cell of an ADC instance's code lookup grid (1/8 LSB of the normalised input u′): the
/// code below the single threshold inside the cell, that threshold (+∞ if none), and the
/// calibrated outputs on either side of it.
typedef struct {
    float threshold;
    float below;
    float above;
    int32_t index;
} PIMCellEntry;

/// Whether the CPU has AVX2 and BMI2, with 256-bit registers enabled by the OS.
bool pim_kernels_have_avx2(void);

/// Flushes the C library's standard output: 0 if everything written so far reached it, else
/// the errno of the failure (EIO when only the stream's error flag tells of an earlier one).
int pim_finish_standard_output(void);

/// The ziggurat's tables (128 layers; see `Ziggurat` in PIMSim): x[0...128] the layers' right
/// edges, density[0...128] = exp(−x²/2), limit[0..<128] the rectangle test in integers, r the
/// tail's start.
typedef struct {
    const double *x;
    const double *density;
    const int32_t *limit;
    double r;
} PIMZigguratTables;

/// Standard normal draws of columns firstColumn ..< firstColumn + count of one conversion row,
/// exactly as `RandomStream.conversionNormals`: the Philox4x32-10 block with counter
/// (column / 4, rowLow, rowHigh, tag) under key (key0, key1), word column mod 4, then the
/// ziggurat; a word that fails the rectangle test continues on the column's own counters
/// (column, rowLow, 2^31 | attempt << 24 | rowHigh mod 2^24, tag), attempt = 1, 2, …
/// Requires AVX2.
void pim_conversion_normals_avx2(uint32_t key0, uint32_t key1, uint32_t tag, uint32_t rowLow, uint32_t rowHigh,
                                 int64_t firstColumn, size_t count, const PIMZigguratTables *tables, float *output);

/// One ADC instance's code lookup (see `ADCModel`): the cells of its u′ grid, its thresholds
/// (codes + 1, code i between thresholds[i] and thresholds[i + 1]) and calibrated outputs
/// (codes), and whether cells may hold more than one threshold (then the code is found by
/// walking the thresholds up from the cell's entry).
typedef struct {
    const PIMCellEntry *cells;
    const float *thresholds;
    const float *values;
    int32_t codes;
    bool walk;
    double origin;
    double cellsPerLSB;
    double lastCell;
} PIMInstanceLookup;

/// One row of conversions through an ADC instance with static errors (identity transfer, no
/// statistics), shift-added into `output` (u and the cell in double, the comparisons in float):
///   u = (p − zero) · invLSB [+ sigma · noise]; u = u · gain + offset;
///   cell = trunc(clamp((u − origin) · cellsPerLSB, 0, lastCell));
///   one threshold per cell: value = Float(u) ≥ threshold ? above : below;
///   else: code = the cell's index, then + 1 while code < codes − 1 and Float(u) ≥ thresholds[code + 1];
///         value = values[code];
///   output += scaled · value + shift.
/// `noise` may be NULL. Requires AVX2.
void pim_convert_instance_row_avx2(const float *input, const float *noise, size_t width, double zero, double invLSB,
                                   double sigma, double gain, double offset, const PIMInstanceLookup *lookup,
                                   double scaled, double shift, double *output);

/// Running counts of one conversion kernel call (`ConversionKernel.Tally`): conversions clipped
/// low and high (u more than half an LSB outside the codes), Σ p², Σ e and Σ e² with
/// e = (zero + lsb · value) − p, in MAC units.
typedef struct {
    int64_t clippedLow;
    int64_t clippedHigh;
    double sumSignal;
    double sumError;
    double sumErrorSquared;
} PIMConversionTally;

/// `pim_convert_instance_row_avx2` with its by-products, one conversion after another in
/// column order (so sums are bit-identical to the Swift loop's): where `clips` is given, sets
/// clips[j] = 1 when u < minCode − 0.5 or u > maxCode + 0.5; where `histogram` and `tally` are
/// given, counts each conversion's code index (0 ..< codes, the lowest code first) and adds it
/// to the tally. minCode and maxCode are the converter's code bounds in u. Scalar; any CPU.
void pim_convert_instance_row_collect(const float *input, const float *noise, size_t width, double zero,
                                      double invLSB, double sigma, double gain, double offset,
                                      const PIMInstanceLookup *lookup, double scaled, double shift, double lsb,
                                      double minCode, double maxCode, double *output, uint8_t *clips,
                                      int64_t *histogram, PIMConversionTally *tally);

#endif
