/* tensor: matrix products over OpenBLAS (cblas_sgemm), threaded with OpenMP
 * over independent row blocks with OpenBLAS itself kept single-threaded
 * (PERF.md: its threading gives nothing inside small calls and fights the
 * OpenMP loops), plus a naive loop used as the test oracle.
 *
 * All matrices are row-major with explicit leading dimensions. */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>

/* Use n threads (OpenMP) for the kernels; OpenBLAS is set to 1 thread.
 * n = 0: leave OpenMP's default. */
void blas_threads(int n);
int blas_nthreads(void);

/* which operands are transposed */
enum blas_op {
	BLAS_NN,	/* a (M,K), b (K,N) */
	BLAS_NT,	/* a (M,K), b (N,K): a b^T */
	BLAS_TN,	/* a (K,M), b (K,N): a^T b */
};

/* c (M,N) = alpha op(a) op(b) + beta c, threaded over row blocks of c */
void blas_gemm(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* the same, one thread (for use inside an OpenMP loop) */
void blas_gemm1(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* the same as a naive loop (double accumulation) */
void blas_gemm_ref(int op, float *c, const float *a, const float *b,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta);

#endif
