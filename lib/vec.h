/* vec: the fp32 element-wise work around the matrix products -- exp, erf,
 * a softmax row, a LayerNorm row, GELU -- on 16-lane AVX-512 where the CPU
 * has it (cpu.h: avx512f; libmvec's _ZGVeN16v_erff, an inline exp),
 * else on the portable loops (libmvec's 8-lane AVX2 or 4-lane SSE variants
 * where glibc has them, libm otherwise).  EMBTUNE_CPU_MASK=avx512f selects
 * the portable ones.  Both compute the same functions; they differ by the
 * rounding of exp and erf (libmvec's variants, a few ulp) and the order of
 * a softmax row's sum.  y may be x. */
#ifndef VEC_H
#define VEC_H

#include <stddef.h>

enum vec_isa {
	VEC_PORTABLE,
	VEC_AVX512,
};

/* the kernels in use: chosen from the CPU at the first call; vec_use sets
 * them (tests), returning the previous choice.  VEC_AVX512 on a CPU without
 * AVX-512 is refused (the portable ones stay). */
int vec_isa(void);
int vec_use(int isa);

void vec_exp(float *y, const float *x, size_t n);
void vec_erf(float *y, const float *x, size_t n);
/* x[i] = exp(x[i] - max x) / sum_j exp(x[j] - max x), in place */
void vec_softmax(float *x, size_t n);
/* y = (x - mean) rstd g + b over one row of C; mean and rstd (of the row,
 * in double) returned in *mean, *rstd */
void vec_layernorm(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps);
/* y[i] = x[i] Phi(x[i]) = x[i] (1 + erf(x[i] / sqrt 2)) / 2, the exact GELU */
void vec_gelu(float *y, const float *x, size_t n);

#endif
