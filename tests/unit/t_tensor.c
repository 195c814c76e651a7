/* t_tensor: blas_gemm (threaded over row blocks) and blas_gemm1 against the
 * naive blas_gemm_ref, on shapes with ragged blocks and leading dimensions. */
#include "check.h"

#include "tensor.h"
#include "util.h"

static void
one(int threaded, int op, size_t M, size_t N, size_t K, float alpha,
    float beta)
{
	/* a is (M,K) or, transposed, (K,M); b is (N,K) if transposed else
	 * (K,N); leading dimensions padded by 3 */
	static const char *const names[] = {"nn", "nt", "tn"};
	int ta = op == BLAS_TN, tb = op == BLAS_NT;
	size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 3, ldc = N + 3;
	size_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	float *a = xmalloc(na * 4), *b = xmalloc(nb * 4), *c = xmalloc(nc * 4),
	    *w = xmalloc(nc * 4);
	char name[128];
	check_fill(a, na, 1);
	check_fill(b, nb, 1);
	check_fill(c, nc, 1);
	memcpy(w, c, nc * 4);
	(threaded ? blas_gemm : blas_gemm1)(op, c, a, b, M, N, K, lda, ldb, ldc,
	    alpha, beta);
	blas_gemm_ref(op, w, a, b, M, N, K, lda, ldb, ldc, alpha, beta);
	snprintf(name, sizeof(name), "gemm_%s%s M=%zu N=%zu K=%zu beta=%g",
	    names[op], threaded ? "" : "1", M, N, K, beta);
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
		for (int beta = 0; beta < 2; beta++)
			for (int op = BLAS_NN; op <= BLAS_TN; op++)
				for (int th = 0; th < 2; th++)
					one(th, op, M, N, K, op == BLAS_NT ?
					    0.5f : 1.0f + (float)!th, (float)beta);
	}
	check_ok("blas_nthreads", blas_nthreads() >= 1);
	return check_done();
}
