/* Authors: The skgap developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The vector kernels of skgap's k-means engine (_kmeans_fast.pyx).
 *
 * They work on a block of samples stored feature by feature (the transpose of
 * a block of rows of X, in double, padded with zeros to a multiple of
 * SKGAP_LANES samples), so that every loop runs over contiguous samples and
 * vectorises without reordering any floating-point sum: each sample's
 * arithmetic, and the order of the partial sums of skgap_potentials, are the
 * same whatever the vector width, so results do not depend on the
 * instruction set. No fused multiply-adds, for the same reason.
 *
 * With GCC or Clang on x86-64, each kernel is compiled for AVX-512, AVX2 and
 * SSE2 (GCC's vector extensions, _kmeans_simd_impl.h) and skgap_simd_init()
 * picks the widest the CPU supports; with GCC or Clang elsewhere, one
 * instance of 2-wide vectors; with other compilers, plain loops.
 */
#ifndef SKGAP_KMEANS_SIMD_H
#define SKGAP_KMEANS_SIMD_H

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Samples per block step: a multiple of every vector width (8 doubles). */
#define SKGAP_LANES 16

#if defined(_MSC_VER)
#define SKGAP_RESTRICT __restrict
#else
#define SKGAP_RESTRICT __restrict__
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef void (*skgap_load_f64_t)(const double *, ptrdiff_t, const ptrdiff_t *,
                                 ptrdiff_t, ptrdiff_t, ptrdiff_t, double *);
typedef void (*skgap_load_f32_t)(const float *, ptrdiff_t, const ptrdiff_t *,
                                 ptrdiff_t, ptrdiff_t, ptrdiff_t, double *);
typedef void (*skgap_sq_dists_t)(const double *, ptrdiff_t, ptrdiff_t,
                                 ptrdiff_t, const double *, ptrdiff_t,
                                 double *);
typedef void (*skgap_nearest_two_t)(const double *, ptrdiff_t, ptrdiff_t,
                                    ptrdiff_t, double *, double *, double *);
typedef void (*skgap_potentials_t)(const double *, ptrdiff_t, ptrdiff_t,
                                   ptrdiff_t, const double *, const double *,
                                   double *);

#if defined(__GNUC__) && (defined(__x86_64__) || defined(_M_X64))
#define SKGAP_X86 1
#define SKGAP_W 8
#define SKGAP_SUFFIX avx512
#define SKGAP_TARGET __attribute__((target("avx512f")))
#include "_kmeans_simd_impl.h"
#undef SKGAP_W
#undef SKGAP_SUFFIX
#undef SKGAP_TARGET
#define SKGAP_W 4
#define SKGAP_SUFFIX avx2
#define SKGAP_TARGET __attribute__((target("avx2")))
#include "_kmeans_simd_impl.h"
#undef SKGAP_W
#undef SKGAP_SUFFIX
#undef SKGAP_TARGET
#endif

#if defined(__GNUC__)
#define SKGAP_W 2
#define SKGAP_SUFFIX base
#define SKGAP_TARGET
#include "_kmeans_simd_impl.h"
#undef SKGAP_W
#undef SKGAP_SUFFIX
#undef SKGAP_TARGET
#else
/* Plain loops, the same arithmetic sample by sample. */
#define SKGAP_LOAD_BODY                                                      \
    ptrdiff_t sample, j;                                                     \
    const ptrdiff_t padded =                                                 \
        n_block + (SKGAP_LANES - n_block % SKGAP_LANES) % SKGAP_LANES;       \
    for (sample = 0; sample < padded; sample++)                              \
        for (j = 0; j < n_features; j++)                                     \
            X_block[j * stride + sample] = sample < n_block                  \
                ? X[(rows == NULL ? start + sample : rows[start + sample])   \
                    * n_features + j]                                        \
                : 0.0;

static void skgap_load_f64_base(const double *X, ptrdiff_t n_features,
                                const ptrdiff_t *rows, ptrdiff_t start,
                                ptrdiff_t n_block, ptrdiff_t stride,
                                double *X_block)
{
    SKGAP_LOAD_BODY
}

static void skgap_load_f32_base(const float *X, ptrdiff_t n_features,
                                const ptrdiff_t *rows, ptrdiff_t start,
                                ptrdiff_t n_block, ptrdiff_t stride,
                                double *X_block)
{
    SKGAP_LOAD_BODY
}
#undef SKGAP_LOAD_BODY

static void skgap_sq_dists_base(const double *X_block, ptrdiff_t n_features,
                                ptrdiff_t n_block, ptrdiff_t stride,
                                const double *centers, ptrdiff_t n_centers,
                                double *out)
{
    ptrdiff_t c, j, sample;
    for (c = 0; c < n_centers; c++)
        for (sample = 0; sample < n_block; sample++) {
            double acc = 0.0;
            for (j = 0; j < n_features; j++) {
                const double t = X_block[j * stride + sample]
                                 - centers[c * n_features + j];
                acc += t * t;
            }
            out[c * stride + sample] = acc;
        }
}

static void skgap_nearest_two_base(const double *distances, ptrdiff_t n_centers,
                                   ptrdiff_t n_block, ptrdiff_t stride,
                                   double *nearest, double *nearest_distance,
                                   double *second_distance)
{
    ptrdiff_t c, sample;
    for (sample = 0; sample < n_block; sample++) {
        nearest[sample] = 0.0;
        nearest_distance[sample] = distances[sample];
        second_distance[sample] = INFINITY;
        for (c = 1; c < n_centers; c++) {
            const double v = distances[c * stride + sample];
            if (v < nearest_distance[sample]) {
                second_distance[sample] = nearest_distance[sample];
                nearest_distance[sample] = v;
                nearest[sample] = (double)c;
            } else if (v < second_distance[sample]) {
                second_distance[sample] = v;
            }
        }
    }
}

static void skgap_potentials_base(const double *distances, ptrdiff_t n_centers,
                                  ptrdiff_t n_block,
                                  ptrdiff_t stride, const double *closest,
                                  const double *weights, double *potentials)
{
    ptrdiff_t c, sample, lane;
    for (c = 0; c < n_centers; c++) {
        double lanes[SKGAP_LANES], total = 0.0;
        for (lane = 0; lane < SKGAP_LANES; lane++)
            lanes[lane] = 0.0;
        for (sample = 0; sample < n_block; sample++) {
            const double v = distances[c * stride + sample], q = closest[sample];
            const double weight = weights == NULL ? 1.0 : weights[sample];
            lanes[sample % SKGAP_LANES] += weight * (v < q ? v : q);
        }
        for (lane = 0; lane < SKGAP_LANES; lane++)
            total += lanes[lane];
        potentials[c] += total;
    }
}
#endif

/* The kernels for this CPU, set by skgap_simd_init() when the module loads. */
static skgap_load_f64_t skgap_load_f64 = skgap_load_f64_base;
static skgap_load_f32_t skgap_load_f32 = skgap_load_f32_base;
static skgap_sq_dists_t skgap_sq_dists = skgap_sq_dists_base;
static skgap_nearest_two_t skgap_nearest_two = skgap_nearest_two_base;
static skgap_potentials_t skgap_potentials = skgap_potentials_base;
static const char *skgap_simd_name = "baseline";

/* Select the kernels of instruction set `name` ("avx512f", "avx2", "sse2" or
 * "baseline"); returns 0, or -1 if this build or CPU lacks them. */
static int skgap_simd_select(const char *name)
{
#if defined(SKGAP_X86)
    __builtin_cpu_init();
    if (strcmp(name, "avx512f") == 0) {
        if (!__builtin_cpu_supports("avx512f"))
            return -1;
        skgap_load_f64 = skgap_load_f64_avx512;
        skgap_load_f32 = skgap_load_f32_avx512;
        skgap_sq_dists = skgap_sq_dists_avx512;
        skgap_nearest_two = skgap_nearest_two_avx512;
        skgap_potentials = skgap_potentials_avx512;
        skgap_simd_name = "avx512f";
        return 0;
    }
    if (strcmp(name, "avx2") == 0) {
        if (!__builtin_cpu_supports("avx2"))
            return -1;
        skgap_load_f64 = skgap_load_f64_avx2;
        skgap_load_f32 = skgap_load_f32_avx2;
        skgap_sq_dists = skgap_sq_dists_avx2;
        skgap_nearest_two = skgap_nearest_two_avx2;
        skgap_potentials = skgap_potentials_avx2;
        skgap_simd_name = "avx2";
        return 0;
    }
    if (strcmp(name, "sse2") == 0) {
        skgap_load_f64 = skgap_load_f64_base;
        skgap_load_f32 = skgap_load_f32_base;
        skgap_sq_dists = skgap_sq_dists_base;
        skgap_nearest_two = skgap_nearest_two_base;
        skgap_potentials = skgap_potentials_base;
        skgap_simd_name = "sse2";
        return 0;
    }
    return -1;
#else
    if (strcmp(name, "baseline") != 0)
        return -1;
    return 0;
#endif
}

/* The widest instruction set this CPU supports. */
static void skgap_simd_init(void)
{
    if (skgap_simd_select("avx512f") != 0 && skgap_simd_select("avx2") != 0)
        skgap_simd_select("sse2");
}

#endif /* SKGAP_KMEANS_SIMD_H */
