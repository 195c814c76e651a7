/* t_tensor: blas_gemm (threaded over row blocks) and blas_gemm1 against the
 * naive blas_gemm_ref, on shapes with ragged blocks and leading dimensions;
 * the same with op(b) a weight packed once (and packed again after it
 * changes); each of fp32.h's kernels the CPU runs (AVX2, AVX-512) on its
 * own, with a bias row too, and its fused attention against a naive
 * one. */
#include <math.h>

#include "check.h"

#include "fp32.h"
#include "tensor.h"
#include "util.h"

/* how op(b) reaches the product: OWN + kernel - 1 for fp32.h's kernels */
enum { PLAIN, WEIGHT, OWN };

static void
one(int threaded, int op, size_t M, size_t N, size_t K, float alpha,
    float beta, int how)
{
	/* a is (M,K) or, transposed, (K,M); b is (N,K) if transposed else
	 * (K,N); leading dimensions padded by 3 */
	static const char *const names[] = {"nn", "nt", "tn"};
	static const char *const hows[] = {"", " weight", " fp32 avx2",
	    " fp32 avx512"};
	int ta = op == BLAS_TN, tb = op == BLAS_NT;
	size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 3, ldc = N + 3;
	size_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	float *a = xmalloc(na * 4), *b = xmalloc(nb * 4 + 4);
	float *c = xmalloc(nc * 4), *w = xmalloc(nc * 4), *bp = NULL;
	char name[160];
	check_fill(a, na, 1);
	check_fill(b, nb, 1);
	check_fill(c, nc, 1);
	if (beta == 0)	/* c (not its padding) is not read */
		for (size_t i = 0; i < M; i++)
			for (size_t j = 0; j < N; j += 2)
				c[i * ldc + j] = NAN;
	memcpy(w, c, nc * 4);
	snprintf(name, sizeof(name), "gemm_%s%s%s M=%zu N=%zu K=%zu beta=%g",
	    names[op], threaded ? "" : "1", hows[how], M, N, K, beta);
	if (how >= OWN) {
		int was = fp32_use(how - OWN + 1);
		bp = xaligned(fp32_packed_size(N, K) * 4);
		fp32_pack_b(bp, op, b, N, K, ldb);
		fp32_gemm_packed(op, c, a, bp, M, N, K, lda, ldc, alpha, beta,
		    NULL);
		fp32_use(was);
	} else {
		if (how == WEIGHT)
			blas_weights(b, nb + 1);
		(threaded ? blas_gemm : blas_gemm1)(op, c, a, b, M, N, K, lda,
		    ldb, ldc, alpha, beta);
	}
	blas_gemm_ref(op, w, a, b, M, N, K, lda, ldb, ldc, alpha, beta);
	/* fp32 sums of K products, in another order than the reference's */
	double tol = K > 100 ? 1e-7 * (double)K : 1e-5;
	check_close(name, c, w, nc, tol, tol);
	if (how == WEIGHT) {	/* a step changes the weights */
		for (size_t i = 0; i < nb; i++)
			b[i] = -0.5f * b[i] + 0.25f;
		blas_weights_changed(b);
		blas_gemm_ref(op, w, a, b, M, N, K, lda, ldb, ldc, alpha, 0);
		(threaded ? blas_gemm : blas_gemm1)(op, c, a, b, M, N, K, lda,
		    ldb, ldc, alpha, 0);
		strcat(name, ", changed");
		check_close(name, c, w, nc, tol, tol);
		blas_weights_forget(b);
	}
	free(a);
	free(b);
	free(c);
	free(w);
	free(bp);
}

/* one product each way op(b) can reach it: plain, a weight, and (one
 * thread, op(b) a weight's way: NN or NT) fp32.h's kernel itself */
static void
cases(int th, int op, size_t M, size_t N, size_t K, float beta)
{
	float alpha = op == BLAS_NT ? 0.5f : 1.0f + (float)!th;

	for (int how = PLAIN; how < OWN + fp32_runs(); how++)
		if (how < OWN)
			one(th, op, M, N, K, alpha, beta, how);
		else if (op != BLAS_TN && th)
			one(th, op, M, N, K, alpha, beta - 0.5f, how);
}

/* fp32.h's kernel kern with a bias row: c = a w^T + bias */
static void
own_bias(int kern, size_t M, size_t N, size_t K)
{
	size_t ldc = N + 1;
	float *a = xmalloc(M * K * 4 + 4), *w = xmalloc(N * K * 4 + 4);
	float *bias = xmalloc(N * 4), *c = xmalloc(M * ldc * 4);
	float *r = xmalloc(M * ldc * 4), *bp;
	char name[120];
	int was = fp32_use(kern);

	check_fill(a, M * K, 1);
	check_fill(w, N * K, 2);
	check_fill(bias, N, 3);
	for (size_t i = 0; i < M * ldc; i++)
		c[i] = NAN;	/* not read */
	for (size_t i = 0; i < M; i++)
		memcpy(r + i * ldc, bias, N * 4);
	bp = xaligned(fp32_packed_size(N, K) * 4);
	fp32_pack_b(bp, BLAS_NT, w, N, K, K);
	fp32_gemm_packed(BLAS_NT, c, a, bp, M, N, K, K, ldc, 0.5f, 0.0f, bias);
	blas_gemm_ref(BLAS_NT, r, a, w, M, N, K, K, K, ldc, 1, 1);
	snprintf(name, sizeof name, "fp32_gemm_packed %s bias M=%zu N=%zu "
	    "K=%zu", kern == FP32_AVX512 ? "avx512" : "avx2", M, N, K);
	for (size_t i = 0; i < M; i++)	/* the padding column as it was */
		c[i * ldc + N] = r[i * ldc + N] = 0;
	check_close(name, c, r, M * ldc, 1e-5, 1e-5);
	fp32_use(was);
	free(a);
	free(w);
	free(bias);
	free(c);
	free(r);
	free(bp);
}

/* one head of attention as naive loops in double: y = softmax(scale q k^T
 * + bias[j - i]) v */
static void
attn_ref(float *y, size_t ldy, const float *q, const float *k,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias)
{
	double *p = xmalloc(T * sizeof *p);

	for (size_t i = 0; i < T; i++) {
		double mx = -INFINITY, sum = 0;
		for (size_t j = 0; j < T; j++) {
			double d = 0;
			for (size_t e = 0; e < HS; e++)
				d += (double)q[i * ld + e] * k[j * ld + e];
			p[j] = scale * d + (bias ? bias[(ptrdiff_t)j -
			    (ptrdiff_t)i] : 0);
			mx = p[j] > mx ? p[j] : mx;
		}
		for (size_t j = 0; j < T; j++)
			sum += p[j] = exp(p[j] - mx);
		for (size_t e = 0; e < HS; e++) {
			double d = 0;
			for (size_t j = 0; j < T; j++)
				d += p[j] * v[j * ld + e];
			y[i * ldy + e] = (float)(d / sum);
		}
	}
	free(p);
}

/* fp32_attention (kernel kern, in use) on a head of an activation laid out
 * as encode's (q, k and v of 3 heads a row, plus padding) */
static void
attention(int kern, size_t T, size_t HS, int biased)
{
	size_t NH = 3, ld = 3 * NH * HS + 5, ldy = NH * HS + 2, h = 1;
	float *x = xmalloc(T * ld * 4), *bias = xmalloc((2 * T - 1) * 4);
	float *y = xmalloc(T * ldy * 4), *w = xmalloc(T * ldy * 4);
	const float *q = x + h * HS, *k = q + NH * HS, *v = k + NH * HS;
	char name[120];

	check_fill(x, T * ld, 2);
	check_fill(bias, 2 * T - 1, 1);
	check_fill(y, T * ldy, 1);
	memcpy(w, y, T * ldy * 4);
	snprintf(name, sizeof name, "fp32_attention %s T=%zu HS=%zu%s",
	    kern == FP32_AVX512 ? "avx512" : "avx2", T, HS, biased ? " bias" :
	    "");
	fp32_attention(y + h * HS, ldy, q, k, v, ld, T, HS, 0.25f,
	    biased ? bias + T - 1 : NULL);
	attn_ref(w + h * HS, ldy, q, k, v, ld, T, HS, 0.25f,
	    biased ? bias + T - 1 : NULL);
	/* the other heads' columns untouched */
	check_close(name, y, w, T * ldy, 2e-6, 1e-5);
	free(x);
	free(bias);
	free(y);
	free(w);
}

int
main(void)
{
	static const size_t shapes[][3] = {
		{1, 1, 1}, {5, 7, 3}, {37, 19, 64}, {100, 33, 17},
		{250, 48, 96}, {13, 40, 1100}, {250, 48, 700}, {7, 16, 0},
	};
	blas_threads(2);
	check_ok("iterations", check_iters(1) >= 0);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		size_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
		for (int beta = 0; beta < 2; beta++)
			for (int op = BLAS_NN; op <= BLAS_TN; op++)
				for (int th = 0; th < 2; th++)
					cases(th, op, M, N, K, (float)beta);
	}
	check_ok("blas_nthreads", blas_nthreads() >= 1);
	for (int kern = FP32_AVX2; kern <= fp32_runs(); kern++) {
		own_bias(kern, 37, 70, 400);
		own_bias(kern, 12, 32, 1);
		own_bias(kern, 5, 3, 0);
	}
	/* the fp32 products with packed weights: fp32.h's where the CPU has
	 * AVX2 and FMA, else OpenBLAS's (EMBTUNE_FP32_KERNEL may say
	 * otherwise); a model over 128 MiB stays on OpenBLAS (its pages
	 * untouched: only the addresses count) */
	const char *fk = blas_kernel(BLAS_PREC_FP32);
	int own = strncmp(fk, "avx2+", 5) == 0 || strncmp(fk, "avx512+", 7) ==
	    0;
	size_t big = ((size_t)128 << 20) / 4 + 1;
	float *small = xmalloc(64 * 4), *huge = xmalloc(big * 4);
	blas_weights(small, 64);
	blas_weights(huge, big);
	check_ok("fp32 weights packed where fp32.h's kernel runs",
	    blas_packs_weights(small) == own);
	check_ok("fp32: not the weights of a model over 128 MiB",
	    !blas_packs_weights(huge) && !blas_packs_weights(small + 64));
	blas_set_precision(BLAS_PREC_BF16);
	check_ok("bf16: the weights packed, whatever their size",
	    blas_packs_weights(small) && blas_packs_weights(huge));
	blas_set_precision(BLAS_PREC_FP32);
	blas_weights_forget(small);
	blas_weights_forget(huge);
	/* fused attention: where the weights' fp32 kernel is fp32.h's, in
	 * fp32, for heads of a multiple of 16 */
	static const size_t lens[] = {1, 5, 6, 7, 16, 17, 97, 256};
	float z[64 * 3] = {0}, o[64];
	check_ok("blas_attention1 fused where fp32.h's kernel runs",
	    blas_attention1(o, 0, z, z, z, 0, 1, 16, 1, NULL) == own);
	check_ok("blas_attention1: not for a head of 8",
	    !blas_attention1(o, 0, z, z, z, 0, 1, 8, 1, NULL));
	blas_set_precision(BLAS_PREC_BF16);
	check_ok("blas_attention1: not in bf16",
	    !blas_attention1(o, 0, z, z, z, 0, 1, 16, 1, NULL));
	blas_set_precision(BLAS_PREC_FP32);
	for (int kern = FP32_AVX2; kern <= fp32_runs(); kern++) {
		int was = fp32_use(kern);
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
			for (size_t hs = 16; hs <= 64; hs *= 2)
				attention(kern, lens[i], hs, i % 2);
		fp32_use(was);
	}
	free(small);
	free(huge);
	return check_done();
}
