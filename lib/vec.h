/* vec: the fp32 element-wise work around the matrix products -- exp, erf,
 * a softmax row, a LayerNorm row, GELU -- on 16-lane AVX-512 where the CPU
 * has it (cpu.h: avx512f), on 8-lane AVX2 where it has AVX2 and FMA (an
 * inline exp and erf, the same bits at both widths, twice as fast as
 * libmvec's), else on the portable loops (libmvec's 4-lane SSE variants
 * where glibc has them, libm otherwise).  EMBTUNE_CPU_MASK=avx512f selects
 * the AVX2 ones, avx2 the portable ones.  All compute the same functions;
 * they differ by the rounding of exp and erf (a few ulp: erf within 1e-7
 * everywhere) and the order of a softmax row's sum.  y may be x. */
#ifndef VEC_H
#define VEC_H

#include <stddef.h>

enum vec_isa {
	VEC_PORTABLE,
	VEC_AVX2,
	VEC_AVX512,
};

/* the kernels in use: the widest the CPU can run, chosen at the first call;
 * vec_use sets them (tests), returning the previous choice.  A set the CPU
 * cannot run is refused (the choice stays).  vec_name: a set in words. */
int vec_isa(void);
int vec_use(int isa);
const char *vec_name(int isa);

void vec_exp(float *y, const float *x, size_t n);
void vec_erf(float *y, const float *x, size_t n);
/* x[i] = exp(x[i] - max x) / sum_j exp(x[j] - max x), in place */
void vec_softmax(float *x, size_t n);
/* x[i] = exp(scale x[i] - scale max x), in place, for scale > 0; returns
 * their sum: a softmax row but for its division (scale max x rounded once,
 * as every scale x[i]) */
float vec_softmax_exps(float *x, size_t n, float scale);
/* y = (x - mean) rstd g + b over one row of C; mean and rstd (of the row,
 * in double) returned in *mean, *rstd */
void vec_layernorm(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps);
/* y[i] = x[i] Phi(x[i]) = x[i] (1 + erf(x[i] / sqrt 2)) / 2, the exact GELU */
void vec_gelu(float *y, const float *x, size_t n);

#endif
