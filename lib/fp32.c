/* fp32: packing into fp32 panels and the AVX2/FMA micro-kernel over them
 * (the layout is in fp32.h). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "fp32.h"
#include "tensor.h"
#include "util.h"

#define MR 6
#define NR 16
#define KCMAX 512	/* values of K a pass, at most */
#define ABLOCK 46080	/* floats of op(a) packed at a time (180 KiB) */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))
#endif

/* this thread's packed rows of op(a) */
static _Thread_local float *abuf;
static _Thread_local size_t abuf_n;

int
fp32_runs(void)
{
#ifdef HAVE_AVX2
	const struct cpu *c = cpu_get();
	return c->avx2 && c->fma;
#else
	return 0;
#endif
}

size_t
fp32_packed_size(size_t N, size_t K)
{
	return (N + NR - 1) / NR * NR * K;
}

void
fp32_pack_b(float *bp, int op, const float *b, size_t N, size_t K,
    size_t ldb)
{
	/* element (k, j) of op(b) as strides */
	size_t bk = op == BLAS_NT ? 1 : ldb, bj = op == BLAS_NT ? ldb : 1;

	for (size_t j0 = 0; j0 < N; j0 += NR) {
		float *p = bp + j0 * K;
		size_t n = N - j0 < NR ? N - j0 : NR;
		const float *x = b + j0 * bj;
		for (size_t k = 0; k < K; k++)
			for (size_t j = 0; j < NR; j++)
				p[k * NR + j] = j < n ? x[k * bk + j * bj] :
				    0.0f;
	}
}

/* m rows of op(a) (element (i, k) at a[i ai + k ak]), kc values of K each,
 * into micro-panels of MR rows: ap[i / MR * MR kc + k MR + i % MR]; rows
 * m.. up to the next multiple of MR are zeros */
static void
pack_a(float *ap, const float *a, size_t m, size_t kc, size_t ai, size_t ak)
{
	for (size_t i0 = 0; i0 < m; i0 += MR, ap += MR * kc) {
		size_t r = m - i0 < MR ? m - i0 : MR;
		const float *x = a + i0 * ai;
		if (ak == 1 && r == MR) {	/* six rows, read in step */
			for (size_t k = 0; k < kc; k++)
				for (size_t i = 0; i < MR; i++)
					ap[k * MR + i] = x[i * ai + k];
			continue;
		}
		for (size_t k = 0; k < kc; k++)
			for (size_t i = 0; i < MR; i++)
				ap[k * MR + i] = i < r ? x[i * ai + k * ak] :
				    0.0f;
	}
}

#ifdef HAVE_AVX2
/* p[0..8) = alpha v + beta p[0..8) (beta 0: p not read) */
AVX2 static inline void
put(float *p, __m256 v, __m256 al, __m256 be, int load)
{
	v = _mm256_mul_ps(al, v);
	if (load)
		v = _mm256_fmadd_ps(be, _mm256_loadu_ps(p), v);
	_mm256_storeu_ps(p, v);
}

/* one MR x NR block of c over kc values of K: c = alpha op(a) b + beta c
 * for its first m rows and n columns */
AVX2 static void
kern(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
    size_t m, size_t n, float alpha, float beta)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
	__m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
	__m256 c40 = c00, c41 = c00, c50 = c00, c51 = c00;

	/* c's block is read or written at the end: ask for its lines now, so
	 * that the sums do not wait on them */
	for (size_t r = 0; r < m; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
	}
	for (size_t k = 0; k < kc; k++, ap += MR, bp += NR) {
		__m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
		__m256 x = _mm256_broadcast_ss(ap);
		c00 = _mm256_fmadd_ps(x, b0, c00);
		c01 = _mm256_fmadd_ps(x, b1, c01);
		x = _mm256_broadcast_ss(ap + 1);
		c10 = _mm256_fmadd_ps(x, b0, c10);
		c11 = _mm256_fmadd_ps(x, b1, c11);
		x = _mm256_broadcast_ss(ap + 2);
		c20 = _mm256_fmadd_ps(x, b0, c20);
		c21 = _mm256_fmadd_ps(x, b1, c21);
		x = _mm256_broadcast_ss(ap + 3);
		c30 = _mm256_fmadd_ps(x, b0, c30);
		c31 = _mm256_fmadd_ps(x, b1, c31);
		x = _mm256_broadcast_ss(ap + 4);
		c40 = _mm256_fmadd_ps(x, b0, c40);
		c41 = _mm256_fmadd_ps(x, b1, c41);
		x = _mm256_broadcast_ss(ap + 5);
		c50 = _mm256_fmadd_ps(x, b0, c50);
		c51 = _mm256_fmadd_ps(x, b1, c51);
	}

	float t[MR * NR];
	/* the whole block into c; a fringe into t as it is, then its m x n
	 * corner into c */
	int whole = m == MR && n == NR, load = whole && beta != 0;
	float *p = whole ? c : t;
	size_t ld = whole ? ldc : NR;
	__m256 al = _mm256_set1_ps(whole ? alpha : 1.0f);
	__m256 be = _mm256_set1_ps(beta);
	put(p, c00, al, be, load);
	put(p + 8, c01, al, be, load);
	put(p + ld, c10, al, be, load);
	put(p + ld + 8, c11, al, be, load);
	put(p + 2 * ld, c20, al, be, load);
	put(p + 2 * ld + 8, c21, al, be, load);
	put(p + 3 * ld, c30, al, be, load);
	put(p + 3 * ld + 8, c31, al, be, load);
	put(p + 4 * ld, c40, al, be, load);
	put(p + 4 * ld + 8, c41, al, be, load);
	put(p + 5 * ld, c50, al, be, load);
	put(p + 5 * ld + 8, c51, al, be, load);
	if (whole)
		return;
	for (size_t r = 0; r < m; r++)
		for (size_t j = 0; j < n; j++)
			c[r * ldc + j] = alpha * t[r * NR + j] +
			    (beta != 0 ? beta * c[r * ldc + j] : 0.0f);
}
#endif

void
fp32_gemm_packed(int op, float *c, const float *a, const float *bp,
    size_t M, size_t N, size_t K, size_t lda, size_t ldc, float alpha,
    float beta)
{
#ifdef HAVE_AVX2
	size_t ai = op == BLAS_TN ? 1 : lda, ak = op == BLAS_TN ? lda : 1;
	/* KC values a pass, the passes about alike */
	size_t np = (K + KCMAX - 1) / KCMAX + !K, KC = (K + np - 1) / np;
	size_t k0 = 0;

	if (M == 0 || N == 0)
		return;
	do {	/* once where K is 0: c = beta c */
		size_t kc = K - k0 < KC ? K - k0 : KC;
		size_t MC = ABLOCK / (kc ? kc : 1) / MR * MR;
		float bt = k0 == 0 ? beta : 1.0f;

		MC = MC < MR ? MR : MC;
		MC = MC > (M + MR - 1) / MR * MR ? (M + MR - 1) / MR * MR : MC;
		abuf = xgrow(abuf, &abuf_n, MC * (kc ? kc : 1) * sizeof *abuf);
		for (size_t i0 = 0; i0 < M; i0 += MC) {
			size_t mc = M - i0 < MC ? M - i0 : MC;
			pack_a(abuf, a + i0 * ai + k0 * ak, mc, kc, ai, ak);
			for (size_t j0 = 0; j0 < N; j0 += NR) {
				const float *b = bp + j0 * K + k0 * NR;
				size_t n = N - j0 < NR ? N - j0 : NR;
				for (size_t r0 = 0; r0 < mc; r0 += MR)
					kern(kc, abuf + r0 * kc, b,
					    c + (i0 + r0) * ldc + j0, ldc,
					    mc - r0 < MR ? mc - r0 : MR, n,
					    alpha, bt);
			}
		}
	} while ((k0 += KC) < K);
#else
	(void)op, (void)c, (void)a, (void)bp, (void)M, (void)N, (void)K;
	(void)lda, (void)ldc, (void)alpha, (void)beta;
	errx(EXIT_SOFTWARE, "fp32_gemm_packed: built without AVX2");
#endif
}
