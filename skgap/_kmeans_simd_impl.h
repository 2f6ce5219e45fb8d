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
#define SKGAP_CAT2(a, b) a##_##b
#define SKGAP_CAT(a, b) SKGAP_CAT2(a, b)
#define SKGAP_FN(name) SKGAP_CAT(name, SKGAP_SUFFIX)
#define SKGAP_V SKGAP_CAT(skgap_v, SKGAP_SUFFIX)
#define SKGAP_M SKGAP_CAT(skgap_m, SKGAP_SUFFIX)

typedef double SKGAP_V __attribute__((vector_size(8 * SKGAP_W), aligned(8)));
typedef long long SKGAP_M __attribute__((vector_size(8 * SKGAP_W), aligned(8)));

/* where mask: a, else b */
#define SKGAP_SEL(mask, a, b) \
    ((SKGAP_V)(((mask) & (SKGAP_M)(a)) | (~(mask) & (SKGAP_M)(b))))

/* The block of samples start..start+nb of X (rows[start..start+nb] if rows
 * is not NULL), feature by feature: XT[j * stride + b] = X[row b, j], in
 * double; the lanes past nb, up to a multiple of SKGAP_LANES, are zero. */
#define SKGAP_LOAD_BODY                                                      \
    ptrdiff_t b, j, l, index[SKGAP_LANES];                                   \
    for (b = 0; b < nb; b += SKGAP_LANES) {                                  \
        const ptrdiff_t n_lanes = nb - b < SKGAP_LANES ? nb - b : SKGAP_LANES; \
        for (l = 0; l < SKGAP_LANES; l++)                                    \
            index[l] = l < n_lanes                                           \
                ? (rows == NULL ? start + b + l : rows[start + b + l]) * p   \
                : -1;                                                        \
        if (n_lanes == SKGAP_LANES) {                                        \
            for (j = 0; j < p; j++) {                                        \
                double *o = XT + j * stride + b;                             \
                for (l = 0; l < SKGAP_LANES; l++)                            \
                    o[l] = X[index[l] + j];                                  \
            }                                                                \
        } else {                                                             \
            for (j = 0; j < p; j++) {                                        \
                double *o = XT + j * stride + b;                             \
                for (l = 0; l < SKGAP_LANES; l++)                            \
                    o[l] = index[l] < 0 ? 0.0 : X[index[l] + j];             \
            }                                                                \
        }                                                                    \
    }

SKGAP_TARGET static void SKGAP_FN(skgap_load_f64)(
    const double *SKGAP_RESTRICT X, ptrdiff_t p, const ptrdiff_t *rows,
    ptrdiff_t start, ptrdiff_t nb, ptrdiff_t stride, double *SKGAP_RESTRICT XT)
{
    SKGAP_LOAD_BODY
}

SKGAP_TARGET static void SKGAP_FN(skgap_load_f32)(
    const float *SKGAP_RESTRICT X, ptrdiff_t p, const ptrdiff_t *rows,
    ptrdiff_t start, ptrdiff_t nb, ptrdiff_t stride, double *SKGAP_RESTRICT XT)
{
    SKGAP_LOAD_BODY
}

#undef SKGAP_LOAD_BODY

SKGAP_TARGET static void SKGAP_FN(skgap_sq_dists)(
    const double *SKGAP_RESTRICT XT, ptrdiff_t p, ptrdiff_t nb, ptrdiff_t stride,
    const double *SKGAP_RESTRICT C, ptrdiff_t m, double *SKGAP_RESTRICT out)
{
    ptrdiff_t c, j, b, v;
    for (c = 0; c < m; c++) {
        const double *center = C + c * p;
        double *o = out + c * stride;
        for (b = 0; b < nb; b += SKGAP_LANES) {
            SKGAP_V acc[SKGAP_NV];
            for (v = 0; v < SKGAP_NV; v++)
                acc[v] = (SKGAP_V){0.0};
            for (j = 0; j < p; j++) {
                const double cj = center[j];
                const double *x = XT + j * stride + b;
                for (v = 0; v < SKGAP_NV; v++) {
                    const SKGAP_V t = *(const SKGAP_V *)(x + v * SKGAP_W) - cj;
                    acc[v] += t * t;
                }
            }
            for (v = 0; v < SKGAP_NV; v++)
                *(SKGAP_V *)(o + b + v * SKGAP_W) = acc[v];
        }
    }
}

SKGAP_TARGET static void SKGAP_FN(skgap_nearest_two)(
    const double *SKGAP_RESTRICT D, ptrdiff_t m, ptrdiff_t nb, ptrdiff_t stride,
    double *SKGAP_RESTRICT best, double *SKGAP_RESTRICT d1,
    double *SKGAP_RESTRICT d2)
{
    ptrdiff_t c, b, v;
    for (b = 0; b < nb; b += SKGAP_LANES) {
        for (v = 0; v < SKGAP_NV; v++) {
            const ptrdiff_t at = b + v * SKGAP_W;
            SKGAP_V first = *(const SKGAP_V *)(D + at);
            SKGAP_V which = (SKGAP_V){0.0};
            SKGAP_V second = first * 0.0 + INFINITY;
            for (c = 1; c < m; c++) {
                const SKGAP_V x = *(const SKGAP_V *)(D + c * stride + at);
                const SKGAP_M closer = x < first, close = x < second;
                second = SKGAP_SEL(closer, first, SKGAP_SEL(close, x, second));
                which = SKGAP_SEL(closer, which * 0.0 + (double)c, which);
                first = SKGAP_SEL(closer, x, first);
            }
            *(SKGAP_V *)(best + at) = which;
            *(SKGAP_V *)(d1 + at) = first;
            *(SKGAP_V *)(d2 + at) = second;
        }
    }
}

SKGAP_TARGET static void SKGAP_FN(skgap_potentials)(
    const double *SKGAP_RESTRICT D, ptrdiff_t m, ptrdiff_t nb, ptrdiff_t stride,
    const double *SKGAP_RESTRICT closest, const double *SKGAP_RESTRICT w,
    double *SKGAP_RESTRICT pot)
{
    ptrdiff_t c, b, v, l, full = nb - nb % SKGAP_LANES;
    for (c = 0; c < m; c++) {
        const double *row = D + c * stride;
        double lanes[SKGAP_LANES], total = 0.0;
        SKGAP_V acc[SKGAP_NV];
        for (v = 0; v < SKGAP_NV; v++)
            acc[v] = (SKGAP_V){0.0};
        for (b = 0; b < full; b += SKGAP_LANES) {
            for (v = 0; v < SKGAP_NV; v++) {
                const ptrdiff_t at = b + v * SKGAP_W;
                const SKGAP_V x = *(const SKGAP_V *)(row + at);
                const SKGAP_V q = *(const SKGAP_V *)(closest + at);
                const SKGAP_V low = SKGAP_SEL(x < q, x, q);
                if (w == NULL)
                    acc[v] += low;
                else
                    acc[v] += *(const SKGAP_V *)(w + at) * low;
            }
        }
        for (v = 0; v < SKGAP_NV; v++)
            *(SKGAP_V *)(lanes + v * SKGAP_W) = acc[v];
        for (l = 0; b + l < nb; l++) {
            const double x = row[b + l], q = closest[b + l];
            lanes[l] += (w == NULL ? 1.0 : w[b + l]) * (x < q ? x : q);
        }
        for (l = 0; l < SKGAP_LANES; l++)
            total += lanes[l];
        pot[c] += total;
    }
}

#undef SKGAP_NV
#undef SKGAP_CAT2
#undef SKGAP_CAT
#undef SKGAP_FN
#undef SKGAP_V
#undef SKGAP_M
#undef SKGAP_SEL
