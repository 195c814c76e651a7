/* tensor: matrix products over OpenBLAS (cblas_sgemm), threaded with OpenMP
 * over independent row blocks with OpenBLAS itself kept single-threaded
 * (PERF.md: its threading gives nothing inside small calls and fights the
 * OpenMP loops), plus *_ref naive loops used as test oracles.
 *
 * All matrices are row-major with explicit leading dimensions. */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>

/* Use n threads (OpenMP) for the kernels; OpenBLAS is set to 1 thread.
 * n = 0: leave OpenMP's default. */
void blas_threads(int n);
int blas_nthreads(void);

/* c (M,N) = alpha a (M,K) b^T (N,K) + beta c */
void blas_gemm_nt(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* c (M,N) = alpha a (M,K) b (K,N) + beta c */
void blas_gemm_nn(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* c (M,N) = alpha a^T b + beta c, a (K,M), b (K,N) */
void blas_gemm_tn(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);

/* the same, one thread (for use inside an OpenMP loop) */
void blas_gemm_nt1(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
void blas_gemm_nn1(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
void blas_gemm_tn1(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);

/* naive reference loops (double accumulation) */
void blas_gemm_nt_ref(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
void blas_gemm_nn_ref(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
void blas_gemm_tn_ref(float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);

#endif
