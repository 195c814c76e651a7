/* fp32: packing into fp32 panels and the AVX2/FMA and AVX-512
 * micro-kernels over them (the layout is in fp32.h). */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "fp32.h"
#include "tensor.h"
#include "util.h"
#include "vec.h"

#define MR 6		/* the AVX2 kernel's block of c: rows, */
#define NR 16		/* columns (its panels' width) */
#define MRW 12		/* the AVX-512 kernel's */
#define NRW 32
#define KCMAX 512	/* values of K a pass, at most (AVX2) */
#define KCMAXW 384	/* (AVX-512: a pass of a panel is 48 KiB) */
#define BAHEAD 16	/* AVX-512: the panel's rows asked for ahead */
#define AHEAD 16	/* rows of b asked for ahead of their packing */
#define ABLOCK 46080	/* floats of op(a) packed at a time (180 KiB) */
#define ABLOCKW 131072	/* AVX-512: floats of op(a) a block of rows (L2) */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))
#endif

/* the kernel of fp32_gemm_packed (fp32_use) */
static int kern_id = FP32_AVX2;

/* this thread's packed rows of op(a); its attention's scratch */
static _Thread_local float *abuf, *sbuf;
static _Thread_local size_t abuf_n, sbuf_n;

int
fp32_runs(void)
{
#ifdef HAVE_AVX2
	const struct cpu *c = cpu_get();
	return c->avx512f ? FP32_AVX512 : c->avx2 && c->fma ? FP32_AVX2 : 0;
#else
	return 0;
#endif
}

int
fp32_use(int kern)
{
	int was = kern_id;

	kern_id = kern;
	return was;
}

/* the width of the panels of the kernel in use */
static size_t
panel(void)
{
	return kern_id == FP32_AVX512 ? NRW : NR;
}

size_t
fp32_packed_size(size_t N, size_t K)
{
	return (N + panel() - 1) / panel() * panel() * K;
}

/* op(b) into panels of w columns */
static void
pack_b(float *bp, int op, const float *b, size_t N, size_t K, size_t ldb,
    size_t w)
{
	/* element (k, j) of op(b) as strides */
	size_t bk = op == BLAS_NT ? 1 : ldb, bj = op == BLAS_NT ? ldb : 1;

	for (size_t j0 = 0; j0 < N; j0 += w) {
		float *p = bp + j0 * K;
		size_t n = N - j0 < w ? N - j0 : w;
		const float *x = b + j0 * bj;
		if (n < w)
			memset(p, 0, w * K * sizeof *p);
		/* b's rows, as a head's keys and values in an activation,
		 * may each lie on a page of their own: each is asked for
		 * some rows ahead, so that many come in at once */
		if (bj == 1)	/* rows of b in step */
			for (size_t k = 0; k < K; k++) {
				if (k + AHEAD < K)
					__builtin_prefetch(x + (k + AHEAD) *
					    bk);
				memcpy(p + k * w, x + k * bk, n * sizeof *p);
			}
		else		/* along each column of op(b) */
			for (size_t j = 0; j < n; j++) {
				for (size_t k = 0; j0 + w + j < N && k < K;
				    k += w)
					__builtin_prefetch(x + (w + j) * bj +
					    k);
				for (size_t k = 0; k < K; k++)
					p[k * w + j] = x[k * bk + j * bj];
			}
	}
}

void
fp32_pack_b(float *bp, int op, const float *b, size_t N, size_t K,
    size_t ldb)
{
	pack_b(bp, op, b, N, K, ldb, panel());
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
/* p[0..8) = alpha v + beta q[0..8) (load 0: q not read) */
AVX2 static inline void
put(float *p, const float *q, __m256 v, __m256 al, __m256 be, int load)
{
	v = _mm256_mul_ps(al, v);
	if (load)
		v = _mm256_fmadd_ps(be, _mm256_loadu_ps(q), v);
	_mm256_storeu_ps(p, v);
}

/* one MR x NR block of c over kc values of K: c = alpha a b + beta d for
 * its first m rows and n columns, where a's element (r, k) is at
 * a[r ar + k ak], b's row k at b + k bs, and d's rows lds apart (c itself,
 * or a bias row with lds 0; beta 0: d not read).  Always inlined, so that
 * each caller's constant strides make its own loop (packed a: ar 1, ak
 * MR). */
AVX2 static inline __attribute__((always_inline)) void
kern(size_t kc, const float *a, size_t ar, size_t ak, const float *b,
    size_t bs, float *c, size_t ldc, const float *d, size_t lds, size_t m,
    size_t n, float alpha, float beta)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
	__m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
	__m256 c40 = c00, c41 = c00, c50 = c00, c51 = c00;
	const float *a0 = a, *a1 = a + ar, *a2 = a + 2 * ar, *a3 = a + 3 * ar;
	const float *a4 = a + 4 * ar, *a5 = a + 5 * ar;

	/* c's block is read or written at the end: ask for its lines now, so
	 * that the sums do not wait on them */
	for (size_t r = 0; r < m; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
		if (beta != 0 && d != c) {
			_mm_prefetch((const char *)(d + r * lds), _MM_HINT_T0);
			_mm_prefetch((const char *)(d + r * lds + NR - 1),
			    _MM_HINT_T0);
		}
	}
	for (size_t k = 0; k < kc; k++, b += bs) {
		__m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
		__m256 x = _mm256_broadcast_ss(a0 + k * ak);
		c00 = _mm256_fmadd_ps(x, b0, c00);
		c01 = _mm256_fmadd_ps(x, b1, c01);
		x = _mm256_broadcast_ss(a1 + k * ak);
		c10 = _mm256_fmadd_ps(x, b0, c10);
		c11 = _mm256_fmadd_ps(x, b1, c11);
		x = _mm256_broadcast_ss(a2 + k * ak);
		c20 = _mm256_fmadd_ps(x, b0, c20);
		c21 = _mm256_fmadd_ps(x, b1, c21);
		x = _mm256_broadcast_ss(a3 + k * ak);
		c30 = _mm256_fmadd_ps(x, b0, c30);
		c31 = _mm256_fmadd_ps(x, b1, c31);
		x = _mm256_broadcast_ss(a4 + k * ak);
		c40 = _mm256_fmadd_ps(x, b0, c40);
		c41 = _mm256_fmadd_ps(x, b1, c41);
		x = _mm256_broadcast_ss(a5 + k * ak);
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
	put(p, d, c00, al, be, load);
	put(p + 8, d + 8, c01, al, be, load);
	put(p + ld, d + lds, c10, al, be, load);
	put(p + ld + 8, d + lds + 8, c11, al, be, load);
	put(p + 2 * ld, d + 2 * lds, c20, al, be, load);
	put(p + 2 * ld + 8, d + 2 * lds + 8, c21, al, be, load);
	put(p + 3 * ld, d + 3 * lds, c30, al, be, load);
	put(p + 3 * ld + 8, d + 3 * lds + 8, c31, al, be, load);
	put(p + 4 * ld, d + 4 * lds, c40, al, be, load);
	put(p + 4 * ld + 8, d + 4 * lds + 8, c41, al, be, load);
	put(p + 5 * ld, d + 5 * lds, c50, al, be, load);
	put(p + 5 * ld + 8, d + 5 * lds + 8, c51, al, be, load);
	if (whole)
		return;
	for (size_t r = 0; r < m; r++)
		for (size_t j = 0; j < n; j++)
			c[r * ldc + j] = alpha * t[r * NR + j] +
			    (beta != 0 ? beta * d[r * lds + j] : 0.0f);
}

/* kern over packed a and b panels */
AVX2 static void
kern_packed(size_t kc, const float *ap, const float *bp, float *c,
    size_t ldc, const float *d, size_t lds, size_t m, size_t n, float alpha,
    float beta)
{
	kern(kc, ap, 1, MR, bp, NR, c, ldc, d, lds, m, n, alpha, beta);
}

/* kern's AVX-512 twin: an MRW x NRW block of c = alpha op(a) b + beta d
 * (d's rows lds apart: c itself, or a bias row with lds 0; beta 0: d not
 * read) in 24 zmm accumulators over kc values of K, op(a)'s row r at
 * a + r ar (rows past m read row m - 1 again, their sums not written), b's
 * row k at bp + k NRW; the fringe of c read and written under masks.
 * op(a) is broadcast from its rows where they are: packing it cost more
 * than it saved here (no reuse of a packed block at this width). */
AVX512 static void
kern_wide(size_t kc, const float *a, size_t ar, const float *bp, float *c,
    size_t ldc, const float *d, size_t lds, size_t m, size_t n, float alpha,
    float beta)
{
	__m512 s[MRW][2];
	const float *ra[MRW];

	for (size_t i = 0; i < MRW; i++) {
		s[i][0] = s[i][1] = _mm512_setzero_ps();
		ra[i] = a + (i < m ? i : m - 1) * ar;
	}
	for (size_t r = 0; r < m; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + NRW - 1),
		    _MM_HINT_T0);
	}
	for (size_t k = 0; k < kc; k++, bp += NRW) {
		/* a panel comes from L3 for its first block of rows */
		_mm_prefetch((const char *)(bp + BAHEAD * NRW), _MM_HINT_T0);
		_mm_prefetch((const char *)(bp + BAHEAD * NRW + 16),
		    _MM_HINT_T0);
		__m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
		#pragma GCC unroll 12
		for (size_t i = 0; i < MRW; i++) {
			__m512 x = _mm512_set1_ps(ra[i][k]);
			s[i][0] = _mm512_fmadd_ps(x, b0, s[i][0]);
			s[i][1] = _mm512_fmadd_ps(x, b1, s[i][1]);
		}
	}

	__mmask16 m0 = n >= 16 ? 0xffff : (1u << n) - 1;
	__mmask16 m1 = n >= NRW ? 0xffff : n > 16 ? (1u << (n - 16)) - 1 : 0;
	__m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
	#pragma GCC unroll 12
	for (size_t i = 0; i < MRW; i++) {
		if (i >= m)
			break;
		float *p = c + i * ldc;
		const float *q = d + i * lds;
		__m512 v0 = _mm512_mul_ps(al, s[i][0]);
		__m512 v1 = _mm512_mul_ps(al, s[i][1]);
		if (beta != 0) {
			v0 = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(m0, q),
			    v0);
			v1 = _mm512_fmadd_ps(be,
			    _mm512_maskz_loadu_ps(m1, q + 16), v1);
		}
		_mm512_mask_storeu_ps(p, m0, v0);
		_mm512_mask_storeu_ps(p + 16, m1, v1);
	}
}

#endif

#ifdef HAVE_AVX2
/* fp32_gemm_packed on the AVX2 kernel: op(a) packed MC rows at a time;
 * the first pass's sums start from the bias row or beta c */
static void
gemm_avx2(float *c, const float *a, const float *bp, size_t M, size_t N,
    size_t K, size_t ai, size_t ak, size_t ldc, float alpha, float beta,
    const float *bias)
{
	/* KC values a pass, the passes about alike */
	size_t np = (K + KCMAX - 1) / KCMAX + !K, KC = (K + np - 1) / np;
	size_t k0 = 0;

	do {	/* once where K is 0: c = beta c */
		size_t kc = K - k0 < KC ? K - k0 : KC;
		size_t MC = ABLOCK / (kc ? kc : 1) / MR * MR;
		int br = bias && k0 == 0;
		float bt = br || k0 > 0 ? 1.0f : beta;

		MC = MC < MR ? MR : MC;
		MC = MC > (M + MR - 1) / MR * MR ? (M + MR - 1) / MR * MR : MC;
		abuf = xgrow(abuf, &abuf_n, MC * (kc ? kc : 1) * sizeof *abuf);
		for (size_t i0 = 0; i0 < M; i0 += MC) {
			size_t mc = M - i0 < MC ? M - i0 : MC;
			pack_a(abuf, a + i0 * ai + k0 * ak, mc, kc, ai, ak);
			for (size_t j0 = 0; j0 < N; j0 += NR) {
				const float *b = bp + j0 * K + k0 * NR;
				size_t n = N - j0 < NR ? N - j0 : NR;
				for (size_t r0 = 0; r0 < mc; r0 += MR) {
					float *cb = c + (i0 + r0) * ldc + j0;
					kern_packed(kc, abuf + r0 * kc, b, cb,
					    ldc, br ? bias + j0 : cb, br ? 0 :
					    ldc, mc - r0 < MR ? mc - r0 : MR,
					    n, alpha, bt);
				}
			}
		}
	} while ((k0 += KC) < K);
}

/* kern_wide over m rows of op(a) (ar apart) and one panel's pass: c's
 * (m, n) block, its sums starting from the bias row where bias is not
 * NULL */
static void
panel_wide(size_t kc, const float *a, size_t ar, const float *bp, float *c,
    size_t ldc, const float *bias, size_t m, size_t n, float alpha,
    float beta)
{
	for (size_t r0 = 0; r0 < m; r0 += MRW) {
		float *cb = c + r0 * ldc;
		kern_wide(kc, a + r0 * ar, ar, bp, cb, ldc, bias ? bias : cb,
		    bias ? 0 : ldc, m - r0 < MRW ? m - r0 : MRW, n, alpha,
		    beta);
	}
}

/* fp32_gemm_packed on the AVX-512 kernel: op(a) row-major (rows lda
 * apart), read where it is; each panel's pass over a block of rows that
 * stays in L2 */
static void
gemm_wide(float *c, const float *a, const float *bp, size_t M, size_t N,
    size_t K, size_t lda, size_t ldc, float alpha, float beta,
    const float *bias)
{
	size_t np = (K + KCMAXW - 1) / KCMAXW + !K, KC = (K + np - 1) / np;
	size_t MC = ABLOCKW / (KC ? KC : 1) / MRW * MRW;

	MC = MC < MRW ? MRW : MC;
	for (size_t i0 = 0; i0 < M; i0 += MC) {
		size_t m = M - i0 < MC ? M - i0 : MC, k0 = 0;
		do {	/* the first pass starts from the bias or beta c */
			size_t kc = K - k0 < KC ? K - k0 : KC;
			int br = bias && k0 == 0;
			for (size_t j0 = 0; j0 < N; j0 += NRW)
				panel_wide(kc, a + i0 * lda + k0, lda,
				    bp + j0 * K + k0 * NRW, c + i0 * ldc + j0,
				    ldc, br ? bias + j0 : NULL, m,
				    N - j0 < NRW ? N - j0 : NRW, alpha,
				    br || k0 > 0 ? 1.0f : beta);
		} while ((k0 += KC) < K);
	}
}
#endif

void
fp32_gemm_packed(int op, float *c, const float *a, const float *bp,
    size_t M, size_t N, size_t K, size_t lda, size_t ldc, float alpha,
    float beta, const float *bias)
{
#ifdef HAVE_AVX2
	if (M == 0 || N == 0)
		return;
	if (bias)	/* c = op(a) B + bias */
		alpha = 1;
	if (kern_id == FP32_AVX512) {
		if (op == BLAS_TN)
			errx(EXIT_SOFTWARE, "fp32_gemm_packed: op(a) "
			    "transposed");
		gemm_wide(c, a, bp, M, N, K, lda, ldc, alpha, beta, bias);
		return;
	}
	gemm_avx2(c, a, bp, M, N, K, op == BLAS_TN ? 1 : lda,
	    op == BLAS_TN ? lda : 1, ldc, alpha, beta, bias);
#else
	(void)op, (void)c, (void)a, (void)bp, (void)M, (void)N, (void)K;
	(void)lda, (void)ldc, (void)alpha, (void)beta, (void)bias;
	errx(EXIT_SOFTWARE, "fp32_gemm_packed: built without AVX2");
#endif
}

#ifdef HAVE_AVX2
AVX2 static void
attention(float *y, size_t ldy, const float *q, const float *k,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias, int wide)
{
	size_t h = wide ? MRW : MR, w = wide ? NRW : NR;
	size_t Tp = (T + w - 1) / w * w;
	float *kp, *vp, *s, *qf;

	sbuf = xgrow(sbuf, &sbuf_n, (2 * Tp * HS + h * Tp + h * HS) *
	    sizeof *sbuf);
	kp = sbuf;
	vp = kp + Tp * HS;
	s = vp + Tp * HS;
	qf = s + h * Tp;
	/* k^T and v in panels: each a few pages, where their rows lie on as
	 * many pages as there are tokens */
	pack_b(kp, BLAS_NT, k, T, HS, ld, w);
	pack_b(vp, BLAS_NN, v, HS, T, ld, w);
	for (size_t i0 = 0; i0 < T; i0 += h) {
		size_t m = T - i0 < h ? T - i0 : h;
		const float *qa = q + i0 * ld;
		size_t qr = ld;

		if (m < h && !wide) {	/* the last rows, and zeros */
			memset(qf, 0, h * HS * sizeof *qf);
			for (size_t r = 0; r < m; r++)
				memcpy(qf + r * HS, qa + r * ld,
				    HS * sizeof *qf);
			qa = qf;
			qr = HS;
		}
		for (size_t j0 = 0; j0 < Tp; j0 += w)
			if (wide)
				kern_wide(HS, qa, qr, kp + j0 * HS,
				    s + j0, Tp, s + j0, Tp, m, w, scale, 0.0f);
			else
				kern(HS, qa, qr, 1, kp + j0 * HS, NR, s + j0,
				    Tp, s + j0, Tp, MR, NR, scale, 0.0f);
		for (size_t r = 0; r < m; r++) {
			float *row = s + r * Tp;
			if (bias)
				for (size_t j = 0; j < T; j++)
					row[j] += bias[(ptrdiff_t)j -
					    (ptrdiff_t)(i0 + r)];
			vec_softmax(row, T);
		}
		for (size_t n0 = 0; n0 < HS; n0 += w) {
			float *yb = y + i0 * ldy + n0;
			if (wide)
				kern_wide(T, s, Tp, vp + n0 * T, yb, ldy,
				    yb, ldy, m, w, 1.0f, 0.0f);
			else
				kern(T, s, Tp, 1, vp + n0 * T, NR, yb, ldy,
				    yb, ldy, m, NR, 1.0f, 0.0f);
		}
	}
}
#endif

int
fp32_attention(float *y, size_t ldy, const float *q, const float *k,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias)
{
	int wide = kern_id == FP32_AVX512 && HS % NRW == 0;

	if (!wide && HS % NR != 0)
		return 0;
#ifdef HAVE_AVX2
	if (T > 0)
		attention(y, ldy, q, k, v, ld, T, HS, scale, bias, wide);
	return 1;
#else
	(void)y, (void)ldy, (void)q, (void)k, (void)v, (void)ld, (void)T;
	(void)scale, (void)bias;
	errx(EXIT_SOFTWARE, "fp32_attention: built without AVX2");
#endif
}
