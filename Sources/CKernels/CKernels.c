// The engine's noise and static-error loops in C: AVX2 versions, and a scalar one that also
// gathers statistics. See CKernels.h for the contract: each is bit-identical to its Swift
// reference, so no multiply-add may be fused.
#pragma STDC FP_CONTRACT OFF

#include "CKernels.h"

#include <float.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int pim_finish_standard_output(void) {
    errno = 0;
    if (fflush(stdout) != 0) return errno != 0 ? errno : EIO;
    return ferror(stdout) ? EIO : 0;
}

/// The calibrated value of one conversion at u (scalar): the cell's entry, then the walk if
/// cells may hold more than one threshold; `index` gets the code index (0 ..< codes).
static inline float instanceValue(double u, const PIMInstanceLookup *lookup, int32_t *index) {
    double cell = (u - lookup->origin) * lookup->cellsPerLSB;
    cell = cell > 0 ? cell : 0;
    cell = cell < lookup->lastCell ? cell : lookup->lastCell;
    const PIMCellEntry *entry = &lookup->cells[(int64_t)cell];
    // Beyond Float's range u stays the largest finite float, so it never passes the +∞
    // sentinel threshold of the last cell (the code index stays below `codes`).
    const float uf = (float)(u < FLT_MAX ? (u > -FLT_MAX ? u : -FLT_MAX) : FLT_MAX);
    if (!lookup->walk) {
        const bool above = uf >= entry->threshold;
        *index = entry->index + (above ? 1 : 0);
        return above ? entry->above : entry->below;
    }
    int32_t code = entry->index;
    while (code < lookup->codes - 1 && uf >= lookup->thresholds[code + 1]) code++;
    *index = code;
    return lookup->values[code];
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

bool pim_kernels_have_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const unsigned osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (osxsave | avx)) != (osxsave | avx)) return false;
    // The OS must save the YMM state: XCR0 bits 1 (SSE) and 2 (AVX).
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return false;
    if (__get_cpuid_max(0, 0) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned avx2 = 1u << 5, bmi2 = 1u << 8;
    return (b & (avx2 | bmi2)) == (avx2 | bmi2);
}

#define AVX2 __attribute__((target("avx2,bmi2")))

/// lo and hi 32-bit halves of the 64-bit products x · m, lane by lane.
AVX2 static inline void mulhilo(__m256i x, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(x, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/// Philox4x32-10 on eight counters (c0 lane by lane, c1, c2, c3): the four output words, lane = block.
AVX2 static inline void philox8(__m256i c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t key0, uint32_t key1,
                                __m256i out[4]) {
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    __m256i x0 = c0, x1 = _mm256_set1_epi32((int)c1), x2 = _mm256_set1_epi32((int)c2), x3 = _mm256_set1_epi32((int)c3);
    uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < 10; round++) {
        __m256i hi0, lo0, hi1, lo1;
        mulhilo(x0, m0, &hi0, &lo0);
        mulhilo(x2, m1, &hi1, &lo1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)k0));
        x1 = lo1;
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)k1));
        x3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/// Philox4x32-10 on sixteen counters (c0 + lane, c1, c2, c3) as two interleaved sets of eight,
/// so that the two dependency chains overlap: the four output words, lane = block. (Two calls
/// of `philox8` instead measured 5–30 % slower: the compiler does not interleave them.)
AVX2 static inline void philox16(__m256i c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t key0, uint32_t key1,
                                 __m256i a[4], __m256i b[4]) {
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    const __m256i eight = _mm256_set1_epi32(8);
    __m256i a0 = c0, a1 = _mm256_set1_epi32((int)c1), a2 = _mm256_set1_epi32((int)c2), a3 = _mm256_set1_epi32((int)c3);
    __m256i b0 = _mm256_add_epi32(c0, eight), b1 = a1, b2 = a2, b3 = a3;
    uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < 10; round++) {
        const __m256i key0v = _mm256_set1_epi32((int)k0), key1v = _mm256_set1_epi32((int)k1);
        __m256i ahi0, alo0, ahi1, alo1, bhi0, blo0, bhi1, blo1;
        mulhilo(a0, m0, &ahi0, &alo0);
        mulhilo(b0, m0, &bhi0, &blo0);
        mulhilo(a2, m1, &ahi1, &alo1);
        mulhilo(b2, m1, &bhi1, &blo1);
        a0 = _mm256_xor_si256(_mm256_xor_si256(ahi1, a1), key0v);
        b0 = _mm256_xor_si256(_mm256_xor_si256(bhi1, b1), key0v);
        a1 = alo1;
        b1 = blo1;
        a2 = _mm256_xor_si256(_mm256_xor_si256(ahi0, a3), key1v);
        b2 = _mm256_xor_si256(_mm256_xor_si256(bhi0, b3), key1v);
        a3 = alo0;
        b3 = blo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3;
    b[0] = b0; b[1] = b1; b[2] = b2; b[3] = b3;
}

/// The ziggurat's rectangle draws of eight words; `fast` gets all-ones lanes where the test passed.
/// (Eight scalar table loads beat AVX2 gathers here: 8 % faster on Zen 3.)
AVX2 static inline __m256 ziggurat8(__m256i word, const int32_t *limit, const double *x, __m256i *fast) {
    const __m256i layerMask = _mm256_set1_epi32(0x7F);
    __m256i layer = _mm256_and_si256(word, layerMask);
    __m256i k = _mm256_srli_epi32(word, 8);
    int32_t l[8];
    _mm256_storeu_si256((__m256i *)l, layer);
    const __m256i bound = _mm256_setr_epi32(limit[l[0]], limit[l[1]], limit[l[2]], limit[l[3]], limit[l[4]], limit[l[5]],
                                            limit[l[6]], limit[l[7]]);
    *fast = _mm256_cmpgt_epi32(bound, k);
    const __m256d half = _mm256_set1_pd(0.5), scale = _mm256_set1_pd(0x1p-24);
    __m128i kLow = _mm256_castsi256_si128(k), kHigh = _mm256_extracti128_si256(k, 1);
    __m256d uLow = _mm256_mul_pd(_mm256_add_pd(_mm256_cvtepi32_pd(kLow), half), scale);
    __m256d uHigh = _mm256_mul_pd(_mm256_add_pd(_mm256_cvtepi32_pd(kHigh), half), scale);
    __m128 vLow = _mm256_cvtpd_ps(_mm256_mul_pd(uLow, _mm256_setr_pd(x[l[0]], x[l[1]], x[l[2]], x[l[3]])));
    __m128 vHigh = _mm256_cvtpd_ps(_mm256_mul_pd(uHigh, _mm256_setr_pd(x[l[4]], x[l[5]], x[l[6]], x[l[7]])));
    __m256 value = _mm256_set_m128(vHigh, vLow);
    __m256i sign = _mm256_slli_epi32(_mm256_and_si256(word, _mm256_set1_epi32(0x80)), 24);
    return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(value), sign));
}

/// Rearranges four vectors (word i of eight blocks) into 32 values in column order
/// (block b's word i at 4b + i).
AVX2 static inline void interleave4x8(const __m256 v[4], __m256 out[4]) {
    __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    __m256 b04 = _mm256_shuffle_ps(t0, t2, 0x44), b15 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 b26 = _mm256_shuffle_ps(t1, t3, 0x44), b37 = _mm256_shuffle_ps(t1, t3, 0xEE);
    out[0] = _mm256_permute2f128_ps(b04, b15, 0x20);
    out[1] = _mm256_permute2f128_ps(b26, b37, 0x20);
    out[2] = _mm256_permute2f128_ps(b04, b15, 0x31);
    out[3] = _mm256_permute2f128_ps(b26, b37, 0x31);
}

/// One Philox4x32-10 block, scalar.
static inline void philox1(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t key0, uint32_t key1,
                           uint32_t out[4]) {
    uint32_t x0 = c0, x1 = c1, x2 = c2, x3 = c3, k0 = key0, k1 = key1;
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * x0, p1 = (uint64_t)0xCD9E8D57u * x2;
        x0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
        x1 = (uint32_t)p1;
        x2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
        x3 = (uint32_t)p0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/// One full ziggurat step (`Ziggurat.draw`): false when the word pair is rejected.
static bool zigguratDraw(uint32_t word, uint32_t extra, const PIMZigguratTables *t, double *value) {
    const int layer = (int)(word & 0x7F);
    const bool negative = (word & 0x80) != 0;
    const double u = ((double)(word >> 8) + 0.5) * 0x1p-24;
    if ((int32_t)(word >> 8) < t->limit[layer]) {
        double v = u * t->x[layer];
        *value = negative ? -v : v;
        return true;
    }
    if (layer == 0) {
        const double u1 = ((double)(extra >> 16) + 0.5) * 0x1p-16, u2 = ((double)(extra & 0xFFFF) + 0.5) * 0x1p-16;
        const double tail = -log(u1) / t->r;
        if (!(-2 * log(u2) > tail * tail)) return false;
        *value = negative ? -(t->r + tail) : t->r + tail;
        return true;
    }
    const double candidate = u * t->x[layer];
    const double v = ((double)extra + 0.5) * 0x1p-32;
    const double f = t->density[layer + 1] + v * (t->density[layer] - t->density[layer + 1]);
    if (!(f < exp(-0.5 * candidate * candidate))) return false;
    *value = negative ? -candidate : candidate;
    return true;
}

/// A draw whose first word failed the rectangle test (`RandomStream.slowNormal`), given the
/// words of its first continuation block (attempt 1).
static float slowNormal(uint32_t first, const uint32_t block[4], int64_t column, uint32_t rowLow, uint32_t rowHigh,
                        uint32_t key0, uint32_t key1, uint32_t tag, const PIMZigguratTables *t) {
    double value;
    if (zigguratDraw(first, block[0], t, &value)) return (float)value;
    if (zigguratDraw(block[1], block[2], t, &value)) return (float)value;
    for (uint32_t attempt = 2;; attempt++) {
        uint32_t w[4];
        philox1((uint32_t)column, rowLow, 0x80000000u | (attempt << 24) | (rowHigh & 0x00FFFFFFu), tag, key0, key1, w);
        if (zigguratDraw(w[0], w[1], t, &value)) return (float)value;
        if (zigguratDraw(w[2], w[3], t, &value)) return (float)value;
    }
}

/// Draws that failed the rectangle test, finished eight at a time: one vector Philox pass
/// computes the first continuation block of all eight.
typedef struct {
    int64_t offset[8];
    uint32_t word[8];
    int count;
} SlowQueue;

AVX2 static void finishSlow(SlowQueue *queue, int64_t firstColumn, uint32_t rowLow, uint32_t rowHigh, uint32_t key0,
                            uint32_t key1, uint32_t tag, const PIMZigguratTables *t, float *output) {
    uint32_t columns[8] = {0};
    for (int i = 0; i < queue->count; i++) columns[i] = (uint32_t)(firstColumn + queue->offset[i]);
    const __m256i c0 = _mm256_loadu_si256((const __m256i *)columns);
    __m256i words[4];
    philox8(c0, rowLow, 0x80000000u | (1u << 24) | (rowHigh & 0x00FFFFFFu), tag, key0, key1, words);
    uint32_t staged[4][8];
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)staged[i], words[i]);
    for (int i = 0; i < queue->count; i++) {
        const uint32_t block[4] = {staged[0][i], staged[1][i], staged[2][i], staged[3][i]};
        const int64_t j = queue->offset[i];
        output[j] = slowNormal(queue->word[i], block, firstColumn + j, rowLow, rowHigh, key0, key1, tag, t);
    }
    queue->count = 0;
}

AVX2 void pim_conversion_normals_avx2(uint32_t key0, uint32_t key1, uint32_t tag, uint32_t rowLow, uint32_t rowHigh,
                                      int64_t firstColumn, size_t count, const PIMZigguratTables *tables,
                                      float *output) {
    const int32_t *limit = tables->limit;
    const double *x = tables->x;
    SlowQueue queue = {.count = 0};
    const int64_t firstBlock = firstColumn >> 2;
    const int64_t skip = firstColumn - (firstBlock << 2);   // columns of the first block before the row's
    const int64_t end = skip + (int64_t)count;               // one past the last, from the first block's start
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t chunk = 0; chunk < end; chunk += 64) {
        // Sixteen blocks: columns chunk ..< chunk + 64 counted from the first block's start.
        __m256i counter = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)(firstBlock + (chunk >> 2))), lanes);
        __m256i words[2][4];
        philox16(counter, rowLow, rowHigh, tag, key0, key1, words[0], words[1]);
        for (int half = 0; half < 2 && chunk + 32 * half < end; half++) {
            const int64_t start = chunk + 32 * half;
            __m256 values[4], ordered[4];
            uint32_t fastBits = 0;
            for (int i = 0; i < 4; i++) {
                __m256i fast;
                values[i] = ziggurat8(words[half][i], limit, x, &fast);
                // Lane b of word i is column 4b + i.
                fastBits |= _pdep_u32((uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(fast)), 0x11111111u << i);
            }
            interleave4x8(values, ordered);
            if (start >= skip && start + 32 <= end) {
                float *target = output + (start - skip);
                for (int i = 0; i < 4; i++) _mm256_storeu_ps(target + 8 * i, ordered[i]);
            } else {
                float staged[32];
                for (int i = 0; i < 4; i++) _mm256_storeu_ps(staged + 8 * i, ordered[i]);
                int64_t from = start < skip ? skip : start, to = start + 32 < end ? start + 32 : end;
                memcpy(output + (from - skip), staged + (from - start), (size_t)(to - from) * sizeof(float));
                // Keep only the columns of this row.
                uint32_t inside = 0;
                for (int64_t c = from; c < to; c++) inside |= 1u << (c - start);
                fastBits |= ~inside;
            }
            if (fastBits != 0xFFFFFFFFu) {
                uint32_t staged[32];   // word i of block b at 8i + b
                for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(staged + 8 * i), words[half][i]);
                uint32_t missing = ~fastBits;
                while (missing) {
                    int c = __builtin_ctz(missing);
                    missing &= missing - 1;
                    queue.offset[queue.count] = start + c - skip;
                    queue.word[queue.count] = staged[8 * (c & 3) + (c >> 2)];
                    if (++queue.count == 8) finishSlow(&queue, firstColumn, rowLow, rowHigh, key0, key1, tag, tables, output);
                }
            }
        }
    }
    if (queue.count > 0) finishSlow(&queue, firstColumn, rowLow, rowHigh, key0, key1, tag, tables, output);
}

AVX2 void pim_convert_instance_row_avx2(const float *input, const float *noise, size_t width, double zero,
                                        double invLSB, double sigma, double gain, double offset,
                                        const PIMInstanceLookup *lookup, double scaled, double shift,
                                        double *output) {
    const __m256d vZero = _mm256_set1_pd(zero), vInv = _mm256_set1_pd(invLSB), vSigma = _mm256_set1_pd(sigma);
    const __m256d vGain = _mm256_set1_pd(gain), vOffset = _mm256_set1_pd(offset);
    const __m256d vOrigin = _mm256_set1_pd(lookup->origin), vPer = _mm256_set1_pd(lookup->cellsPerLSB);
    const __m256d vLast = _mm256_set1_pd(lookup->lastCell), vFloor = _mm256_setzero_pd();
    const __m256d vScaled = _mm256_set1_pd(scaled), vShift = _mm256_set1_pd(shift);
    const __m128i lastCode = _mm_set1_epi32(lookup->codes - 1), one = _mm_set1_epi32(1);
    const PIMCellEntry *cells = lookup->cells;
    size_t j = 0;
    for (; j + 4 <= width; j += 4) {
        __m256d u = _mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(input + j)), vZero), vInv);
        if (noise) u = _mm256_add_pd(u, _mm256_mul_pd(vSigma, _mm256_cvtps_pd(_mm_loadu_ps(noise + j))));
        u = _mm256_add_pd(_mm256_mul_pd(u, vGain), vOffset);
        __m256d cell = _mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_sub_pd(u, vOrigin), vPer), vFloor), vLast);
        __m128i index = _mm256_cvttpd_epi32(cell);
        __m128 e0 = _mm_loadu_ps(&cells[_mm_extract_epi32(index, 0)].threshold);
        __m128 e1 = _mm_loadu_ps(&cells[_mm_extract_epi32(index, 1)].threshold);
        __m128 e2 = _mm_loadu_ps(&cells[_mm_extract_epi32(index, 2)].threshold);
        __m128 e3 = _mm_loadu_ps(&cells[_mm_extract_epi32(index, 3)].threshold);
        _MM_TRANSPOSE4_PS(e0, e1, e2, e3);   // thresholds, below, above, code indices
        const __m128 uf = _mm256_cvtpd_ps(u);
        __m128 value;
        if (!lookup->walk) {
            value = _mm_blendv_ps(e1, e2, _mm_cmpge_ps(uf, e0));
        } else {
            __m128i code = _mm_castps_si128(e3);
            for (;;) {
                __m128 next = _mm_i32gather_ps(lookup->thresholds, _mm_add_epi32(code, one), 4);
                __m128i step = _mm_and_si128(_mm_cmpgt_epi32(lastCode, code), _mm_castps_si128(_mm_cmpge_ps(uf, next)));
                if (_mm_testz_si128(step, step)) break;
                code = _mm_sub_epi32(code, step);   // step lanes are −1
            }
            value = _mm_i32gather_ps(lookup->values, code, 4);
        }
        __m256d add = _mm256_add_pd(_mm256_mul_pd(vScaled, _mm256_cvtps_pd(value)), vShift);
        _mm256_storeu_pd(output + j, _mm256_add_pd(_mm256_loadu_pd(output + j), add));
    }
    for (; j < width; j++) {
        double u = ((double)input[j] - zero) * invLSB;
        if (noise) u = u + sigma * (double)noise[j];
        u = u * gain + offset;
        int32_t index;
        output[j] = output[j] + (scaled * (double)instanceValue(u, lookup, &index) + shift);
    }
}

#else

bool pim_kernels_have_avx2(void) { return false; }

void pim_conversion_normals_avx2(uint32_t key0, uint32_t key1, uint32_t tag, uint32_t rowLow, uint32_t rowHigh,
                                 int64_t firstColumn, size_t count, const PIMZigguratTables *tables, float *output) {
    __builtin_trap();
}

void pim_convert_instance_row_avx2(const float *input, const float *noise, size_t width, double zero, double invLSB,
                                   double sigma, double gain, double offset, const PIMInstanceLookup *lookup,
                                   double scaled, double shift, double *output) {
    __builtin_trap();
}

#endif

void pim_convert_instance_row_collect(const float *input, const float *noise, size_t width, double zero,
                                      double invLSB, double sigma, double gain, double offset,
                                      const PIMInstanceLookup *lookup, double scaled, double shift, double lsb,
                                      double minCode, double maxCode, double *output, uint8_t *clips,
                                      int64_t *histogram, PIMConversionTally *tally) {
    const double low = minCode - 0.5, high = maxCode + 0.5;
    for (size_t j = 0; j < width; j++) {
        const double p = (double)input[j];
        double u = (p - zero) * invLSB;
        if (noise) u = u + sigma * (double)noise[j];
        u = u * gain + offset;
        int32_t index;
        const float value = instanceValue(u, lookup, &index);
        output[j] = output[j] + (scaled * (double)value + shift);
        if (clips && (u < low || u > high)) clips[j] = 1;
        if (tally) {
            if (u < low) tally->clippedLow++; else if (u > high) tally->clippedHigh++;
            histogram[index]++;
            const double e = (zero + lsb * (double)value) - p;
            tally->sumSignal = tally->sumSignal + p * p;
            tally->sumError = tally->sumError + e;
            tally->sumErrorSquared = tally->sumErrorSquared + e * e;
        }
    }
}
