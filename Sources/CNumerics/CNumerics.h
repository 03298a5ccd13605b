// One Clang module for the C libraries: OpenBLAS, GSL, and zlib (gzip datasets).
//
// <cblas.h> (OpenBLAS) and <gsl/gsl_cblas.h> both define the CBLAS enums, differently.
// Include OpenBLAS's first and mark GSL's as already included, so that GSL's headers
// compile against OpenBLAS's declarations. Link openblas, never gslcblas.
#ifndef CNUMERICS_H
#define CNUMERICS_H

#include <cblas.h>

#define __GSL_CBLAS_H__
#include <gsl/gsl_errno.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_gamma.h>

#include <zlib.h>

// Swift 6 rejects references to imported mutable C globals (GSL's generator and
// interpolation types): reach any that are needed through `static inline` accessors here.

#endif
