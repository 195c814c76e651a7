/* tensor: OpenBLAS sgemm wrappers threaded over row blocks; *_ref loops. */
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor.h"

/* OpenBLAS exports this; Debian's cblas.h declares it too. */
void openblas_set_num_threads(int);

static int nthreads = 1;

void
blas_threads(int n)
{
	openblas_set_num_threads(1);
#ifdef _OPENMP
	if (n > 0)
		omp_set_num_threads(n);
	nthreads = omp_get_max_threads();
#else
	(void)n;
	nthreads = 1;
#endif
}

int
blas_nthreads(void)
{
	return nthreads;
}

void
blas_gemm_nt1(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	if (M == 0 || N == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N,
	    (int)K, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void
blas_gemm_nn1(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	if (M == 0 || N == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N,
	    (int)K, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void
blas_gemm_tn1(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	if (M == 0 || N == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)M, (int)N,
	    (int)K, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Split [0,M) into one block per thread, rounded to 16 rows. */
#define BLOCKS(M, nb, bs) do { \
	(nb) = (size_t)nthreads; \
	(bs) = ((M) + (nb) - 1) / (nb); \
	(bs) = ((bs) + 15) / 16 * 16; \
	if ((bs) == 0) (bs) = 16; \
	(nb) = ((M) + (bs) - 1) / (bs); \
} while (0)

void
blas_gemm_nt(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	size_t nb, bs;
	BLOCKS(M, nb, bs);
	#pragma omp parallel for schedule(static) if (nb > 1)
	for (size_t i = 0; i < nb; i++) {
		size_t m0 = i * bs, m = M - m0 < bs ? M - m0 : bs;
		blas_gemm_nt1(c + m0 * ldc, a + m0 * lda, b, m, N, K, lda, ldb,
		    ldc, alpha, beta);
	}
}

void
blas_gemm_nn(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	size_t nb, bs;
	BLOCKS(M, nb, bs);
	#pragma omp parallel for schedule(static) if (nb > 1)
	for (size_t i = 0; i < nb; i++) {
		size_t m0 = i * bs, m = M - m0 < bs ? M - m0 : bs;
		blas_gemm_nn1(c + m0 * ldc, a + m0 * lda, b, m, N, K, lda, ldb,
		    ldc, alpha, beta);
	}
}

/* c = a^T b: rows of c are columns of a; split over them. */
void
blas_gemm_tn(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	size_t nb, bs;
	BLOCKS(M, nb, bs);
	#pragma omp parallel for schedule(static) if (nb > 1)
	for (size_t i = 0; i < nb; i++) {
		size_t m0 = i * bs, m = M - m0 < bs ? M - m0 : bs;
		blas_gemm_tn1(c + m0 * ldc, a + m0, b, m, N, K, lda, ldb, ldc,
		    alpha, beta);
	}
}

void
blas_gemm_nt_ref(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++)
				s += (double)a[i * lda + k] * b[j * ldb + k];
			c[i * ldc + j] = (float)(alpha * s +
			    (beta != 0 ? (double)beta * c[i * ldc + j] : 0));
		}
}

void
blas_gemm_nn_ref(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++)
				s += (double)a[i * lda + k] * b[k * ldb + j];
			c[i * ldc + j] = (float)(alpha * s +
			    (beta != 0 ? (double)beta * c[i * ldc + j] : 0));
		}
}

void
blas_gemm_tn_ref(float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++)
				s += (double)a[k * lda + i] * b[k * ldb + j];
			c[i * ldc + j] = (float)(alpha * s +
			    (beta != 0 ? (double)beta * c[i * ldc + j] : 0));
		}
}
