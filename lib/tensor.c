/* tensor: OpenBLAS sgemm threaded over row blocks; a reference loop. */
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
blas_gemm1(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	if (M == 0 || N == 0)
		return;
	cblas_sgemm(CblasRowMajor, op == BLAS_TN ? CblasTrans : CblasNoTrans,
	    op == BLAS_NT ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
	    alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Split the rows of c into one block per thread, rounded to 16 rows; row
 * m0 of c is row m0 of a, or column m0 of a^T. */
void
blas_gemm(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	size_t nb = (size_t)nthreads, bs = (M + nb - 1) / nb;
	bs = bs ? (bs + 15) / 16 * 16 : 16;
	nb = (M + bs - 1) / bs;
	#pragma omp parallel for schedule(static) if (nb > 1)
	for (size_t i = 0; i < nb; i++) {
		size_t m0 = i * bs, m = M - m0 < bs ? M - m0 : bs;
		blas_gemm1(op, c + m0 * ldc, a + m0 * (op == BLAS_TN ? 1 : lda),
		    b, m, N, K, lda, ldb, ldc, alpha, beta);
	}
}

void
blas_gemm_ref(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	/* element (i,k) of op(a) and (k,j) of op(b) as strides */
	size_t ai = op == BLAS_TN ? 1 : lda, ak = op == BLAS_TN ? lda : 1;
	size_t bk = op == BLAS_NT ? 1 : ldb, bj = op == BLAS_NT ? ldb : 1;
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++)
				s += (double)a[i * ai + k * ak] * b[k * bk + j * bj];
			c[i * ldc + j] = (float)(alpha * s +
			    (beta != 0 ? (double)beta * c[i * ldc + j] : 0));
		}
}
