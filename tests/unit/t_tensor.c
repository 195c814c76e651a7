/* t_tensor: the sgemm wrappers (threaded over row blocks) against the naive
 * *_ref loops, on shapes with ragged blocks and leading dimensions. */
#include "check.h"

#include "tensor.h"
#include "util.h"

typedef void (*gemm_fn)(float *, const float *, const float *, size_t, size_t,
    size_t, size_t, size_t, size_t, float, float);

static void
one(const char *what, gemm_fn f, gemm_fn ref, int ta, int tb, size_t M,
    size_t N, size_t K, float alpha, float beta)
{
	/* a is (M,K) or, transposed, (K,M); b is (N,K) if tb else (K,N);
	 * leading dimensions padded by 3 */
	size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 3, ldc = N + 3;
	size_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	float *a = xmalloc(na * 4), *b = xmalloc(nb * 4), *c = xmalloc(nc * 4),
	    *w = xmalloc(nc * 4);
	char name[128];
	check_fill(a, na, 1);
	check_fill(b, nb, 1);
	check_fill(c, nc, 1);
	memcpy(w, c, nc * 4);
	f(c, a, b, M, N, K, lda, ldb, ldc, alpha, beta);
	ref(w, a, b, M, N, K, lda, ldb, ldc, alpha, beta);
	snprintf(name, sizeof(name), "%s M=%zu N=%zu K=%zu beta=%g", what, M, N,
	    K, beta);
	check_close(name, c, w, nc, 1e-5, 1e-5);
	free(a);
	free(b);
	free(c);
	free(w);
}

int
main(void)
{
	static const size_t shapes[][3] = {
		{1, 1, 1}, {5, 7, 3}, {37, 19, 64}, {100, 33, 17}, {250, 48, 96},
	};
	blas_threads(2);
	check_ok("iterations", check_iters(1) >= 0);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		size_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
		for (int beta = 0; beta < 2; beta++) {
			one("gemm_nt", blas_gemm_nt, blas_gemm_nt_ref, 0, 1, M, N, K,
			    0.5f, (float)beta);
			one("gemm_nn", blas_gemm_nn, blas_gemm_nn_ref, 0, 0, M, N, K,
			    1.0f, (float)beta);
			one("gemm_tn", blas_gemm_tn, blas_gemm_tn_ref, 1, 0, M, N, K,
			    1.0f, (float)beta);
			one("gemm_nt1", blas_gemm_nt1, blas_gemm_nt_ref, 0, 1, M, N,
			    K, 1.0f, (float)beta);
			one("gemm_nn1", blas_gemm_nn1, blas_gemm_nn_ref, 0, 0, M, N,
			    K, 2.0f, (float)beta);
			one("gemm_tn1", blas_gemm_tn1, blas_gemm_tn_ref, 1, 0, M, N,
			    K, 1.0f, (float)beta);
		}
	}
	check_ok("blas_nthreads", blas_nthreads() >= 1);
	return check_done();
}
