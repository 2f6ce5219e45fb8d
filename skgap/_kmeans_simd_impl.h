/* Authors: The skgap developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * One instance of the vector kernels of _kmeans_simd.h, included once per
 * instruction set with SKGAP_W (doubles per vector register), SKGAP_SUFFIX
 * and SKGAP_TARGET defined. A block of SKGAP_LANES samples is held in
 * SKGAP_NV = SKGAP_LANES / SKGAP_W registers; the arithmetic of each sample
 * is the same for every SKGAP_W, so that results do not depend on it.
 */
#define SKGAP_NV (SKGAP_LANES / SKGAP_W)
#define SKGAP_CAT2(name, suffix) name##_##suffix
#define SKGAP_CAT(name, suffix) SKGAP_CAT2(name, suffix)
#define SKGAP_FN(name) SKGAP_CAT(name, SKGAP_SUFFIX)
#define SKGAP_V SKGAP_CAT(skgap_v, SKGAP_SUFFIX)
#define SKGAP_M SKGAP_CAT(skgap_m, SKGAP_SUFFIX)

typedef double SKGAP_V __attribute__((vector_size(8 * SKGAP_W), aligned(8)));
typedef long long SKGAP_M __attribute__((vector_size(8 * SKGAP_W), aligned(8)));

/* where mask: yes, else no */
#define SKGAP_SEL(mask, yes, no) \
    ((SKGAP_V)(((mask) & (SKGAP_M)(yes)) | (~(mask) & (SKGAP_M)(no))))

/* The block of samples start..start+n_block of X (rows[start..start+n_block]
 * if rows is not NULL), feature by feature: X_block[j * stride + sample] is
 * feature j of the block's sample-th sample, in double; the lanes past
 * n_block, up to a multiple of SKGAP_LANES, are zero. */
#define SKGAP_LOAD_BODY                                                      \
    ptrdiff_t sample, j, lane, index[SKGAP_LANES];                           \
    for (sample = 0; sample < n_block; sample += SKGAP_LANES) {              \
        const ptrdiff_t n_lanes =                                            \
            n_block - sample < SKGAP_LANES ? n_block - sample : SKGAP_LANES; \
        for (lane = 0; lane < SKGAP_LANES; lane++)                           \
            index[lane] = lane < n_lanes                                     \
                ? (rows == NULL ? start + sample + lane                      \
                                : rows[start + sample + lane]) * n_features  \
                : -1;                                                        \
        if (n_lanes == SKGAP_LANES) {                                        \
            for (j = 0; j < n_features; j++) {                               \
                double *o = X_block + j * stride + sample;                   \
                for (lane = 0; lane < SKGAP_LANES; lane++)                   \
                    o[lane] = X[index[lane] + j];                            \
            }                                                                \
        } else {                                                             \
            for (j = 0; j < n_features; j++) {                               \
                double *o = X_block + j * stride + sample;                   \
                for (lane = 0; lane < SKGAP_LANES; lane++)                   \
                    o[lane] = index[lane] < 0 ? 0.0 : X[index[lane] + j];    \
            }                                                                \
        }                                                                    \
    }

SKGAP_TARGET static void SKGAP_FN(skgap_load_f64)(
    const double *SKGAP_RESTRICT X, ptrdiff_t n_features, const ptrdiff_t *rows,
    ptrdiff_t start, ptrdiff_t n_block, ptrdiff_t stride,
    double *SKGAP_RESTRICT X_block)
{
    SKGAP_LOAD_BODY
}

SKGAP_TARGET static void SKGAP_FN(skgap_load_f32)(
    const float *SKGAP_RESTRICT X, ptrdiff_t n_features, const ptrdiff_t *rows,
    ptrdiff_t start, ptrdiff_t n_block, ptrdiff_t stride,
    double *SKGAP_RESTRICT X_block)
{
    SKGAP_LOAD_BODY
}

#undef SKGAP_LOAD_BODY

SKGAP_TARGET static void SKGAP_FN(skgap_sq_dists)(
    const double *SKGAP_RESTRICT X_block, ptrdiff_t n_features, ptrdiff_t n_block,
    ptrdiff_t stride, const double *SKGAP_RESTRICT centers, ptrdiff_t n_centers,
    double *SKGAP_RESTRICT out)
{
    ptrdiff_t c, j, sample, v;
    for (c = 0; c < n_centers; c++) {
        const double *center = centers + c * n_features;
        double *o = out + c * stride;
        for (sample = 0; sample < n_block; sample += SKGAP_LANES) {
            SKGAP_V acc[SKGAP_NV];
            for (v = 0; v < SKGAP_NV; v++)
                acc[v] = (SKGAP_V){0.0};
            for (j = 0; j < n_features; j++) {
                const double cj = center[j];
                const double *x = X_block + j * stride + sample;
                for (v = 0; v < SKGAP_NV; v++) {
                    const SKGAP_V t = *(const SKGAP_V *)(x + v * SKGAP_W) - cj;
                    acc[v] += t * t;
                }
            }
            for (v = 0; v < SKGAP_NV; v++)
                *(SKGAP_V *)(o + sample + v * SKGAP_W) = acc[v];
        }
    }
}

SKGAP_TARGET static void SKGAP_FN(skgap_nearest_two)(
    const double *SKGAP_RESTRICT distances, ptrdiff_t n_centers, ptrdiff_t n_block,
    ptrdiff_t stride, double *SKGAP_RESTRICT nearest,
    double *SKGAP_RESTRICT nearest_distance,
    double *SKGAP_RESTRICT second_distance)
{
    ptrdiff_t c, sample, v;
    for (sample = 0; sample < n_block; sample += SKGAP_LANES) {
        for (v = 0; v < SKGAP_NV; v++) {
            const ptrdiff_t at = sample + v * SKGAP_W;
            SKGAP_V first = *(const SKGAP_V *)(distances + at);
            SKGAP_V which = (SKGAP_V){0.0};
            SKGAP_V second = first * 0.0 + INFINITY;
            for (c = 1; c < n_centers; c++) {
                const SKGAP_V x = *(const SKGAP_V *)(distances + c * stride + at);
                const SKGAP_M closer = x < first, close = x < second;
                second = SKGAP_SEL(closer, first, SKGAP_SEL(close, x, second));
                which = SKGAP_SEL(closer, which * 0.0 + (double)c, which);
                first = SKGAP_SEL(closer, x, first);
            }
            *(SKGAP_V *)(nearest + at) = which;
            *(SKGAP_V *)(nearest_distance + at) = first;
            *(SKGAP_V *)(second_distance + at) = second;
        }
    }
}

SKGAP_TARGET static void SKGAP_FN(skgap_potentials)(
    const double *SKGAP_RESTRICT distances, ptrdiff_t n_centers, ptrdiff_t n_block,
    ptrdiff_t stride, const double *SKGAP_RESTRICT closest,
    const double *SKGAP_RESTRICT weights, double *SKGAP_RESTRICT potentials)
{
    ptrdiff_t c, sample, v, lane, full = n_block - n_block % SKGAP_LANES;
    for (c = 0; c < n_centers; c++) {
        const double *row = distances + c * stride;
        double lanes[SKGAP_LANES], total = 0.0;
        SKGAP_V acc[SKGAP_NV];
        for (v = 0; v < SKGAP_NV; v++)
            acc[v] = (SKGAP_V){0.0};
        for (sample = 0; sample < full; sample += SKGAP_LANES) {
            for (v = 0; v < SKGAP_NV; v++) {
                const ptrdiff_t at = sample + v * SKGAP_W;
                const SKGAP_V x = *(const SKGAP_V *)(row + at);
                const SKGAP_V q = *(const SKGAP_V *)(closest + at);
                const SKGAP_V low = SKGAP_SEL(x < q, x, q);
                if (weights == NULL)
                    acc[v] += low;
                else
                    acc[v] += *(const SKGAP_V *)(weights + at) * low;
            }
        }
        for (v = 0; v < SKGAP_NV; v++)
            *(SKGAP_V *)(lanes + v * SKGAP_W) = acc[v];
        for (lane = 0; sample + lane < n_block; lane++) {
            const double x = row[sample + lane], q = closest[sample + lane];
            const double weight = weights == NULL ? 1.0 : weights[sample + lane];
            lanes[lane] += weight * (x < q ? x : q);
        }
        for (lane = 0; lane < SKGAP_LANES; lane++)
            total += lanes[lane];
        potentials[c] += total;
    }
}

#undef SKGAP_NV
#undef SKGAP_CAT2
#undef SKGAP_CAT
#undef SKGAP_FN
#undef SKGAP_V
#undef SKGAP_M
#undef SKGAP_SEL
