/* bf16: packing into bf16 panels and the micro-kernels over them.
 *
 * op(b) is packed once per product into panels of NR = 32 columns: for each
 * pair of rows (2k, 2k+1), 32 (b[2k][j], b[2k+1][j]) pairs, so that one
 * 64-byte load holds 16 columns of one row pair, the operand vdpbf16ps
 * wants; a panel's pairs run to a whole number of AMX tiles (16 pairs),
 * zeros past K.  op(a) is packed MC rows at a time (about 128 KiB, to stay
 * in L2) into micro-panels of MR = 12 rows: for each row pair, 12
 * (a[i][2k], a[i][2k+1]) pairs, each broadcast as one 32-bit word.  A
 * micro-kernel computes one MR x NR block of c over a pass of at most
 * KCMAX pairs of K: where K is a batch's tokens (the weight gradients), a
 * pass's slice of a B panel then stays in L2 for the rows of a block and
 * op(a) is packed in longer runs of its rows; the later passes start their
 * sums from c, so that the passes give the bits of one.  An odd K and the
 * fringes of M and N are padded with zeros.
 *
 * AMX (tdpbf16ps) reads the same B panels as tiles, but wants op(a) row by
 * row: it is packed with W = 1 (each row's pairs in a run, padded with zero
 * pairs to a multiple of 16) in blocks of AMX_MR = 32 rows, and each call
 * of its kernel computes one 32 x NR block: four 16 x 16 fp32 tiles of c,
 * two tiles of 16 rows x 16 pairs of op(a), two of 16 row pairs x 16
 * columns of B, read from the panels as they are. */
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "cpu.h"
#include "tensor.h"
#include "util.h"
#include "vec.h"

#define MR 12
#define NR 32
#define AMX_MR BF16_AMX_ROWS
#define KCMAX 768	/* pairs of K a pass, at most */
/* on AMX, where the passes sum as one (below): the pairs of a pass, at
 * most, so that a block's 32 rows of op(a) and the B panel it reads (16
 * KiB each) stay in L1 together (48 KiB on the CPUs with AMX); at K = 384
 * in one pass, 24 KiB each, they pushed each other out.  A bf16 encode
 * on an Intel Xeon with AMX: 5% faster (MiniLM, two threads) */
#define KCAMX 128

#if defined(__x86_64__) && defined(__GNUC__) && \
    (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512BF16 1

#define AVX512BF16 __attribute__((target( \
    "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#endif

/* The tile instructions, unless the includer brings its own (t_amx runs
 * this file's AMX kernel on tiles modelled in C, on any CPU). */
#ifdef TILE_MODEL
#define HAVE_AMX 1
#define AMX
#elif defined(HAVE_AVX512BF16) && (__GNUC__ >= 11 || defined(__clang__))
#define HAVE_AMX 1
#define AMX __attribute__((target("amx-tile,amx-bf16," \
    "avx512f,avx512bw,avx512dq,avx512vl")))
#define TILE_CONFIG(cfg) _tile_loadconfig(cfg)
#define TILE_RELEASE() _tile_release()
#define TILE_ZERO(t) _tile_zero(t)
#define TILE_LOAD(t, p, stride) _tile_loadd(t, p, stride)
#define TILE_STORE(t, p, stride) _tile_stored(t, p, stride)
#define TILE_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#endif

/* bf16_round on the bits, without branches so that loops over it
 * vectorize */
static inline uint16_t
rnd(uint32_t u)
{
	uint32_t r = (u + 0x7fff + (u >> 16 & 1)) >> 16;
	r = (u & 0x7fffffff) > 0x7f800000 ? (u >> 16 | 0x40) : r;
	r = (u & 0x7f800000) == 0 ? (u >> 16 & 0x8000) : r;
	return (uint16_t)r;
}

uint16_t
bf16_round(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	return rnd(u);
}

/* the CPU has AVX512_BF16 (read once) */
static int
avx512(void)
{
	static int have = -1;
	if (have < 0) {	/* a race writes the same value */
		const struct cpu *c = cpu_get();
		have = c->avx512_bf16 && cpu_has_avx512(c);
	}
	return have;
}

#ifdef HAVE_AVX512BF16
/* vcvtne2ps2bf16 rounds as rnd() does, NaN and denormals included
 * (t_bf16 holds them to each other); the last n % 32 under masks (the
 * rows of a softmax are any length: their tails one element at a time
 * had cost a bf16 encode 1.5%) */
AVX512BF16 static void
cvt_avx512(uint16_t *y, const float *x, size_t n)
{
	size_t i = 0, m;

	for (; i + 32 <= n; i += 32) {
		__m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16),
		    _mm512_loadu_ps(x + i));
		_mm512_storeu_si512(y + i, (__m512i)h);
	}
	if ((m = n - i) > 0) {
		__mmask16 lo = m >= 16 ? 0xffff : (__mmask16)((1u << m) - 1);
		__mmask16 hi = m <= 16 ? 0 : (__mmask16)((1u << (m - 16)) - 1);
		__m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi,
		    x + i + 16), _mm512_maskz_loadu_ps(lo, x + i));
		_mm512_mask_storeu_epi16(y + i, (__mmask32)((1ull << m) - 1),
		    (__m512i)h);
	}
}
#endif

void
bf16_convert(uint16_t *restrict y, const float *restrict x, size_t n)
{
	const uint32_t *u = (const uint32_t *)(const void *)x;
#ifdef HAVE_AVX512BF16
	if (avx512()) {
		cvt_avx512(y, x, n);
		return;
	}
#endif
	#pragma omp simd
	for (size_t j = 0; j < n; j++)
		y[j] = rnd(u[j]);
}

#ifdef HAVE_AVX512BF16
AVX512BF16 static size_t
trim_avx512(float *x, uint16_t *y, size_t n)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
		if (y)
			_mm256_storeu_si256((__m256i *)(void *)(y + i), h);
		_mm512_storeu_si512(x + i, _mm512_slli_epi32(
		    _mm512_cvtepu16_epi32(h), 16));
	}
	return i;
}
#endif

void
bf16_trim(float *x, uint16_t *y, size_t n)
{
	uint32_t *u = (uint32_t *)(void *)x;
	size_t i = 0;
#ifdef HAVE_AVX512BF16
	if (avx512())
		i = trim_avx512(x, y, n);
#endif
	for (; i < n; i++) {
		uint16_t h = rnd(u[i]);
		if (y)
			y[i] = h;
		u[i] = (uint32_t)h << 16;
	}
}

void
bf16_expand(float *restrict x, const uint16_t *restrict y, size_t n)
{
	uint32_t *u = (uint32_t *)(void *)x;
	#pragma omp simd
	for (size_t i = 0; i < n; i++)
		u[i] = (uint32_t)y[i] << 16;
}

/* this thread's scratch: the A panels, and one converted row (64-byte
 * aligned: an AMX tile row of A is then one cache line) */
static _Thread_local uint32_t *abuf;
static _Thread_local size_t abuf_n;
static _Thread_local uint16_t *tbuf;
static _Thread_local size_t tbuf_n;

/* K2 pairs rounded up to whole tiles of 16: the pairs of a B panel, and
 * of a row of op(a) packed for AMX */
static size_t
tiled(size_t K2)
{
	return (K2 + 15) / 16 * 16;
}

size_t
bf16_packed_size(size_t N, size_t K)
{
	return (N + NR - 1) / NR * NR * tiled((K + 1) / 2) * 2;
}

/* Panels of W vectors of K, each KS >= K2 pairs long: the pair (k = 2 k2,
 * 2 k2 + 1) of vector i is the word p[i / W * W * KS + k2 * W + i % W];
 * pairs K2.. and vectors n.. up to the next multiple of W are zeros.
 * pack_rows: vector i is x[i * ld + k], one run each (converted whole, its
 * words then W apart), or x16[i * ld + k] where x16 is not NULL (bf16
 * already: copied); pack_cols: vector i is x[k * ld + i], rows k = 2 k2
 * and 2 k2 + 1 converted and interleaved. */
static void
pack_rows(uint32_t *p, const float *x, const uint16_t *x16, size_t n,
    size_t K, size_t ld, size_t W, size_t KS)
{
	size_t np = (n + W - 1) / W * W;
	uint32_t *t;

	if (W == 1) {	/* a run each: converted in place, the rest zeros */
		for (size_t i = 0; i < n; i++) {
			uint16_t *q = (uint16_t *)(void *)(p + i * KS);
			if (x16)
				memcpy(q, x16 + i * ld, K * sizeof *q);
			else
				bf16_convert(q, x + i * ld, K);
			memset(q + K, 0, (2 * KS - K) * sizeof *q);
		}
		return;
	}
	tbuf = xgrow(tbuf, &tbuf_n, (2 * KS + 1) * sizeof *tbuf);
	t = (uint32_t *)(void *)tbuf;
	memset(t + K / 2, 0, (KS - K / 2) * sizeof *t);
	for (size_t i = 0; i < np; i++) {
		uint32_t *q = p + i / W * W * KS + i % W;
		if (i < n && x16)
			memcpy(tbuf, x16 + i * ld, K * sizeof *tbuf);
		else if (i < n)
			bf16_convert(tbuf, x + i * ld, K);
		for (size_t k2 = 0; k2 < KS; k2++)
			q[k2 * W] = i < n ? t[k2] : 0;
	}
}

#ifdef HAVE_AVX512BF16
/* r[i] word j becomes r[j] word i: a 16 x 16 transpose of words, by
 * 32-bit, then 64-bit unpacks, then two rounds of 128-bit lane shuffles */
AVX512BF16 static inline void
transpose16(__m512i *r)
{
	__m512i t[16];

	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	for (int g = 0; g < 16; g += 4) {
		r[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
		r[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
		r[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
		r[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
	}
	/* r[4g + c], 128-bit lane L: word 4L + c of rows 4g..4g+3 */
	for (int c = 0; c < 4; c++) {
		t[c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88);
		t[4 + c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xdd);
		t[8 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88);
		t[12 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xdd);
	}
	for (int c = 0; c < 4; c++) {
		r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
		r[4 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0x88);
		r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
		r[12 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0xdd);
	}
}

/* r[i] = row i of x (rows ld apart), floats [0, nf) converted and
 * paired (of x16, bf16 already, where it is not NULL), for i < m; zeros
 * for the rest of the 16 */
AVX512BF16 static inline void
cvt_rows16(__m512i *r, const float *x, const uint16_t *x16, size_t ld,
    size_t m, size_t nf)
{
	__mmask16 lo = nf >= 16 ? 0xffff : (__mmask16)((1u << nf) - 1);
	__mmask16 hi = nf <= 16 ? 0 : nf == 32 ? 0xffff :
	    (__mmask16)((1u << (nf - 16)) - 1);

	for (size_t i = 0; i < 16; i++)
		r[i] = _mm512_setzero_si512();
	if (x16 && nf > 0)
		for (size_t i = 0; i < m; i++)
			r[i] = _mm512_maskz_loadu_epi16(nf == 32 ?
			    0xffffffffu : (__mmask32)((1ull << nf) - 1),
			    x16 + i * ld);
	else if (nf == 32)	/* unmasked loads, faster */
		for (size_t i = 0; i < m; i++)
			r[i] = (__m512i)_mm512_cvtne2ps_pbh(
			    _mm512_loadu_ps(x + i * ld + 16),
			    _mm512_loadu_ps(x + i * ld));
	else if (nf > 0)
		for (size_t i = 0; i < m; i++)
			r[i] = (__m512i)_mm512_cvtne2ps_pbh(
			    _mm512_maskz_loadu_ps(hi, x + i * ld + 16),
			    _mm512_maskz_loadu_ps(lo, x + i * ld));
}

/* pack_rows for W = MR: MR rows converted 32 floats at a time (or x16's
 * bf16 loaded), then the (MR, 16) words transposed (rows MR.. as zeros)
 * into 16 runs of MR words, instead of one scattered word at a time */
AVX512BF16 static void
pack_mr_avx512(uint32_t *p, const float *x, const uint16_t *x16, size_t n,
    size_t K, size_t ld)
{
	size_t K2 = (K + 1) / 2;

	for (size_t i0 = 0; i0 < n; i0 += MR) {
		uint32_t *q = p + i0 * K2;
		for (size_t k0 = 0; k0 < K; k0 += 32) {
			size_t nf = K - k0 < 32 ? K - k0 : 32, o = i0 * ld + k0;
			__m512i r[16];
			cvt_rows16(r, x ? x + o : NULL, x16 ? x16 + o : NULL, ld,
			    n - i0 < MR ? n - i0 : MR, nf);
			transpose16(r);
			size_t nk = (nf + 1) / 2;
			uint32_t *qk = q + k0 / 2 * MR;
			for (size_t c = 0; c < nk; c++)
				_mm512_mask_storeu_epi32(qk + c * MR, 0x0fff,
				    r[c]);
		}
	}
}
#endif

#ifdef HAVE_AVX512BF16
/* pack_rows for W = NR (op(b) = b^T: a head's keys, the weights): 16 rows
 * converted 32 floats at a time (or x16's bf16 loaded) and transposed into
 * 16 pairs of 16 words, each stored whole in its panel (rows n.. and pairs
 * past K as zeros) */
AVX512BF16 static void
pack_nr_avx512(uint32_t *p, const float *x, const uint16_t *x16, size_t n,
    size_t K, size_t ld, size_t KS)
{
	size_t np = (n + NR - 1) / NR * NR;

	for (size_t i0 = 0; i0 < np; i0 += 16) {
		uint32_t *q = p + i0 / NR * NR * KS + i0 % NR;
		size_t m = i0 >= n ? 0 : n - i0 < 16 ? n - i0 : 16;
		for (size_t k0 = 0; k0 < 2 * KS; k0 += 32) {
			size_t nf = k0 >= K ? 0 : K - k0 < 32 ? K - k0 : 32;
			__m512i r[16];
			size_t o = m && nf ? i0 * ld + k0 : 0;
			cvt_rows16(r, x ? x + o : NULL, x16 ? x16 + o : NULL,
			    ld, m, nf);
			transpose16(r);
			for (size_t c = 0; c < 16; c++)
				_mm512_storeu_si512(q + (k0 / 2 + c) * NR,
				    r[c]);
		}
	}
}

/* pack_cols for W >= 8: 16 columns of both rows of a pair at a time,
 * converted by one vcvtne2ps2bf16 (or x16's bf16 loaded) and interleaved
 * into pairs by one vpermw (columns n.. and the padding pairs as zeros) */
AVX512BF16 static void
pack_cols_avx512(uint32_t *p, const float *x, const uint16_t *x16,
    size_t n, size_t K, size_t ld, size_t W, size_t KS)
{
	size_t K2 = (K + 1) / 2, np = (n + W - 1) / W * W;
	__m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27,
	    11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2,
	    17, 1, 16, 0);
	__m512 z = _mm512_setzero_ps();

	for (size_t k2 = 0; k2 < KS; k2++) {
		int h0 = k2 < K2, h1 = 2 * k2 + 1 < K;
		size_t o0 = 2 * k2 * ld, o1 = o0 + ld;
		for (size_t i0 = 0; i0 < np; i0 += W) {
			uint32_t *q = p + i0 * KS + k2 * W;
			for (size_t c = 0; c < W; c += 16) {
				size_t j = i0 + c, w = W - c < 16 ? W - c : 16;
				size_t m = j >= n ? 0 : n - j < w ? n - j : w;
				__mmask16 lm = (__mmask16)((1u << m) - 1);
				/* row 2 k2's 16, then 2 k2 + 1's */
				__m512i ab;
				if (x16) {
					__m256i z16 = _mm256_setzero_si256();
					ab = _mm512_inserti64x4(
					    _mm512_castsi256_si512(h0 ?
					    _mm256_maskz_loadu_epi16(lm, x16 +
					    o0 + j) : z16), h1 ?
					    _mm256_maskz_loadu_epi16(lm, x16 +
					    o1 + j) : z16, 1);
				} else {
					__m512 a = z, b = z;
					if (h0)
						a = _mm512_maskz_loadu_ps(lm,
						    x + o0 + j);
					if (h1)
						b = _mm512_maskz_loadu_ps(lm,
						    x + o1 + j);
					ab = (__m512i)_mm512_cvtne2ps_pbh(b, a);
				}
				__m512i v = _mm512_permutexvar_epi16(idx, ab);
				_mm512_mask_storeu_epi32(q + c,
				    (__mmask16)((1u << w) - 1), v);
			}
		}
	}
}
#endif

#ifdef HAVE_AVX512BF16
/* pack_cols for W = 1 (op(a) = x^T row by row, for AMX): 16 pairs of 16
 * columns at a time, each pair of rows converted and interleaved as
 * pack_cols_avx512 does, then transposed into a run of 16 pairs for each
 * of the 16 columns (KS is a whole number of tiles of 16 pairs) */
AVX512BF16 static void
pack_t1_avx512(uint32_t *p, const float *x, size_t n, size_t K, size_t ld,
    size_t KS)
{
	__m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27,
	    11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2,
	    17, 1, 16, 0);
	__m512 z = _mm512_setzero_ps();

	for (size_t k0 = 0; k0 < KS; k0 += 16)
		for (size_t i0 = 0; i0 < n; i0 += 16) {
			size_t m = n - i0 < 16 ? n - i0 : 16;
			__mmask16 lm = (__mmask16)((1u << m) - 1);
			__m512i r[16];
			for (size_t j = 0; j < 16; j++) {
				size_t k = 2 * (k0 + j);
				__m512 a = z, b = z;
				if (k < K) {
					const float *xk = x + k * ld + i0;
					a = _mm512_maskz_loadu_ps(lm, xk);
					if (k + 1 < K)
						b = _mm512_maskz_loadu_ps(lm,
						    xk + ld);
				}
				r[j] = _mm512_permutexvar_epi16(idx,
				    (__m512i)_mm512_cvtne2ps_pbh(b, a));
			}
			transpose16(r);
			for (size_t c = 0; c < m; c++)
				_mm512_storeu_si512(p + (i0 + c) * KS + k0,
				    r[c]);
		}
}
#endif

static void
pack_cols(uint32_t *p, const float *x, const uint16_t *x16, size_t n,
    size_t K, size_t ld, size_t W, size_t KS)
{
	size_t K2 = (K + 1) / 2, np = (n + W - 1) / W * W;
	uint16_t *t0, *t1;

#ifdef HAVE_AVX512BF16
	if (W >= 8 && avx512()) {
		pack_cols_avx512(p, x, x16, n, K, ld, W, KS);
		return;
	}
	if (W == 1 && KS % 16 == 0 && !x16 && avx512()) {
		pack_t1_avx512(p, x, n, K, ld, KS);
		return;
	}
#endif

	tbuf = xgrow(tbuf, &tbuf_n, 2 * np * sizeof *tbuf);
	t0 = tbuf;
	t1 = tbuf + np;
	memset(tbuf, 0, 2 * np * sizeof *tbuf);
	for (size_t k2 = 0; k2 < KS; k2++) {
		if (k2 == K2)	/* the padding pairs */
			memset(t0, 0, n * sizeof *t0);
		if (k2 < K2 && x16)
			memcpy(t0, x16 + 2 * k2 * ld, n * sizeof *t0);
		else if (k2 < K2)
			bf16_convert(t0, x + 2 * k2 * ld, n);
		if (2 * k2 + 1 < K && x16)
			memcpy(t1, x16 + (2 * k2 + 1) * ld, n * sizeof *t1);
		else if (2 * k2 + 1 < K)
			bf16_convert(t1, x + (2 * k2 + 1) * ld, n);
		else
			memset(t1, 0, n * sizeof *t1);
		for (size_t i0 = 0; i0 < np; i0 += W) {
			uint32_t *q = p + i0 * KS + k2 * W;
			for (size_t i = 0; i < W; i++)
				q[i] = (uint32_t)t0[i0 + i] |
				    (uint32_t)t1[i0 + i] << 16;
		}
	}
}

/* op(b) from b, or from b16's bf16 */
static void
pack_b(uint16_t *bp, int op, const float *b, const uint16_t *b16, size_t N,
    size_t K, size_t ldb)
{
	uint32_t *w = (uint32_t *)(void *)bp;	/* (k2, column) pairs */

#ifdef HAVE_AVX512BF16
	if (op == BLAS_NT && avx512()) {
		pack_nr_avx512(w, b, b16, N, K, ldb, tiled((K + 1) / 2));
		return;
	}
#endif
	if (op == BLAS_NT)	/* column j of op(b) is row j of b */
		pack_rows(w, b, b16, N, K, ldb, NR, tiled((K + 1) / 2));
	else			/* row k of op(b) is row k of b */
		pack_cols(w, b, b16, N, K, ldb, NR, tiled((K + 1) / 2));
}

void
bf16_pack_b(uint16_t *bp, int op, const float *b, size_t N, size_t K,
    size_t ldb)
{
	pack_b(bp, op, b, NULL, N, K, ldb);
}

void
bf16_pack_b16(uint16_t *bp, int op, const uint16_t *b16, size_t N,
    size_t K, size_t ldb)
{
	pack_b(bp, op, NULL, b16, N, K, ldb);
}

/* rows [i0, i0 + m) of op(a) (of a16's bf16 where it is not NULL) into
 * panels of W rows, KS pairs long (W = MR: the micro-panels, KS = K2;
 * W = 1: row by row, KS = K2 rounded up to whole tiles, for AMX); ap holds
 * (m rounded up to W) * KS words */
static void
pack_a(uint32_t *ap, const float *a, const uint16_t *a16, size_t i0,
    size_t m, size_t K, size_t ai, size_t ak, size_t W, size_t KS)
{
#ifdef HAVE_AVX512BF16
	if (W == MR && ak == 1 && avx512()) {
		pack_mr_avx512(ap, a ? a + i0 * ai : NULL, a16 ? a16 + i0 * ai :
		    NULL, m, K, ai);
		return;
	}
#endif
	if (a16)		/* bf16 already, op(a) = a */
		pack_rows(ap, NULL, a16 + i0 * ai, m, K, ai, W, KS);
	else if (ak == 1)	/* row i of op(a) is row i of a */
		pack_rows(ap, a + i0 * ai, NULL, m, K, ai, W, KS);
	else			/* op(a) = a^T: column k is row k of a */
		pack_cols(ap, a + i0, NULL, m, K, ak, W, KS);
}

/* c (m,n) = alpha acc + beta c, acc a block of rows NR apart */
static inline void
store(float *c, size_t ldc, const float *acc, size_t m, size_t n, float alpha,
    float beta)
{
	for (size_t r = 0; r < m; r++) {
		float *cr = c + r * ldc;
		const float *ar = acc + r * NR;
		if (beta != 0) {
			#pragma omp simd
			for (size_t j = 0; j < n; j++)
				cr[j] = alpha * ar[j] + beta * cr[j];
		} else {
			#pragma omp simd
			for (size_t j = 0; j < n; j++)
				cr[j] = alpha * ar[j];
		}
	}
}

/* one MR x NR block over K2 row pairs, in portable C.  Where st is not
 * NULL the sums start from its rows (ldst apart: c itself, so that passes
 * over K sum as one pass would, or 0: a bias row) and c = the sums; else
 * c = alpha sums + beta c.
 * Each product of two bf16 values is exact in fp32, so a fused
 * multiply-add gives the bits of the multiply and the add: the lanes below
 * may be fused or not, and vdpbf16ps's bits are kept either way. */
static inline __attribute__((always_inline)) void
kern_body(size_t K2, const uint32_t *ap, size_t sa,
    const uint16_t *bp, float *c, size_t ldc, size_t m, size_t n,
    float alpha, float beta, const float *st, size_t ldst)
{
	float acc[MR * NR] = {0};

	(void)sa;	/* the panels' words are MR apart */
	for (size_t r = 0; r < (st ? m : 0); r++)
		memcpy(acc + r * NR, st + r * ldst, n * sizeof *c);
	for (size_t k2 = 0; k2 < K2; k2++) {
		const uint16_t *b = bp + k2 * NR * 2;
		float b0[NR], b1[NR];
		#pragma omp simd
		for (size_t j = 0; j < NR; j++) {
			b0[j] = bf16_to_float(b[2 * j]);
			b1[j] = bf16_to_float(b[2 * j + 1]);
		}
		for (size_t r = 0; r < MR; r++) {
			uint32_t w = ap[k2 * MR + r];
			float a0 = bf16_to_float((uint16_t)w);
			float a1 = bf16_to_float((uint16_t)(w >> 16));
			#pragma omp simd
			for (size_t j = 0; j < NR; j++) {
				float t = acc[r * NR + j] + a1 * b1[j];
				acc[r * NR + j] = t + a0 * b0[j];
			}
		}
	}
	store(c, ldc, acc, m, n, st ? 1 : alpha, st ? 0 : beta);
}

static void
kern_c(size_t K2, const uint32_t *ap, size_t sa,
    const uint16_t *bp, float *c, size_t ldc, size_t m, size_t n,
    float alpha, float beta, const float *st, size_t ldst)
{
	kern_body(K2, ap, sa, bp, c, ldc, m, n, alpha, beta, st, ldst);
}

#ifdef HAVE_AVX512BF16
/* the same on 8 AVX2 lanes, where vec's rows run on AVX2 or wider: the
 * portable kernel a CPU without bf16 hardware runs when asked by name (the
 * tests): 16 GFLOP/s a core on Zen 3, twice the baseline's SSE lanes */
__attribute__((target("avx2,fma"))) static void
kern_c_avx2(size_t K2, const uint32_t *ap, size_t sa,
    const uint16_t *bp, float *c, size_t ldc, size_t m, size_t n,
    float alpha, float beta, const float *st, size_t ldst)
{
	kern_body(K2, ap, sa, bp, c, ldc, m, n, alpha, beta, st, ldst);
}

/* acc += the word w broadcast . b, w read by vdpbf16ps itself ({1to16}):
 * from the intrinsics GCC makes a separate vpbroadcastd of each word, 5%
 * slower on Zen 4.  acc must be a variable of its own (an array element
 * would live in memory). */
#define DP_BCST(acc, b, w) \
	__asm__("vdpbf16ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(b), "m"(w))

/* the same block with vdpbf16ps: 24 accumulators, two B registers */
AVX512BF16 static void
kern_avx512(size_t K2, const uint32_t *ap, size_t sa,
    const uint16_t *bp, float *c, size_t ldc, size_t m, size_t n,
    float alpha, float beta, const float *st, size_t ldst)
{
	__m512 acc[MR][2], z = _mm512_setzero_ps();	/* as kern_c */
	(void)sa;
	__mmask16 k[2] = {n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1),
	    n <= 16 ? 0 : n >= 32 ? 0xffff : (__mmask16)((1u << (n - 16)) - 1)};
	_Static_assert(MR == 12, "ROWS names the MR rows");
#define START(r, h) (st && r < m ? \
	_mm512_maskz_loadu_ps(k[h], st + r * ldst + 16 * h) : z)
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ZERO(r) __m512 c##r##0 = START(r, 0), c##r##1 = START(r, 1);
#define DP(r) DP_BCST(c##r##0, b0, a[r]); DP_BCST(c##r##1, b1, a[r]);
#define SAVE(r) acc[r][0] = c##r##0; acc[r][1] = c##r##1;

	ROWS(ZERO)
	for (size_t k2 = 0; k2 < K2; k2++) {
		__m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + k2 * NR * 2);
		__m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + k2 * NR * 2 +
		    NR);
		const uint32_t *a = ap + k2 * MR;
		ROWS(DP)
	}
	ROWS(SAVE)
#undef ROWS
#undef ZERO
#undef START
#undef DP
#undef SAVE
	__m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
	for (size_t r = 0; r < m; r++)
		for (size_t h = 0; h < 2 && k[h]; h++) {
			float *p = c + r * ldc + 16 * h;
			__m512 v = acc[r][h];
			if (!st) {
				v = _mm512_mul_ps(v, va);
				if (beta != 0)
					v = _mm512_fmadd_ps(vb,
					    _mm512_maskz_loadu_ps(k[h], p), v);
			}
			_mm512_mask_storeu_ps(p, k[h], v);
		}
}
#endif

#ifdef HAVE_AMX
/* every tile 16 rows of 64 bytes (palette 1) */
static const struct {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} tilecfg = {
	1, 0, {0},
	{64, 64, 64, 64, 64, 64, 64, 64},
	{16, 16, 16, 16, 16, 16, 16, 16},
};

/* one AMX_MR x NR block: c tiles 0-3 (rows 0-15 and 16-31, columns 0-15
 * and 16-31), a tiles 4 and 5, b tiles 6 and 7.  op(a) row by row, its
 * rows sa >= tiled(K2) pairs apart; B's pair rows NR words apart; both
 * zeros past K2 (the zero pairs add nothing).  The sums start from st
 * as kern_c's do: c itself in every block alike (the linear layers' and
 * the weight gradients' products), so that a row's bits do not depend on
 * the block it falls in (nor on the threads), or a bias row, loaded with
 * a stride of 0.  A whole block with st, or alpha 1 and beta 0, goes
 * between the tiles and c directly; the rest through acc. */
AMX static void
kern_amx(size_t K2, const uint32_t *ap, size_t sa,
    const uint16_t *bp, float *c, size_t ldc, size_t m, size_t n,
    float alpha, float beta, const float *st, size_t ldst)
{
	size_t KS = tiled(K2), sab = sa * 4, sb = NR * 4;
	float acc[AMX_MR * NR], *o = acc;
	size_t so = sb, ss = ldst * 4;

	if (m == AMX_MR && n == NR && (st || (alpha == 1 && beta == 0))) {
		o = c;
		so = ldc * 4;
	} else if (st) {
		memset(acc, 0, sizeof acc);
		for (size_t r = 0; r < m; r++)
			memcpy(acc + r * NR, st + r * ldst, n * sizeof *c);
		st = acc;
		ss = sb;
	}
	/* the A panels and st are written before the tiles read them (a
	 * tile load tells the compiler of no memory it reads) */
	__asm__ volatile("" ::: "memory");
	if (st) {
		TILE_LOAD(0, st, ss);
		TILE_LOAD(1, st + 16, ss);
		TILE_LOAD(2, st + 16 * ss / 4, ss);
		TILE_LOAD(3, st + 16 * ss / 4 + 16, ss);
	} else {
		TILE_ZERO(0);
		TILE_ZERO(1);
		TILE_ZERO(2);
		TILE_ZERO(3);
	}
	for (size_t k2 = 0; k2 < KS; k2 += 16) {
		const uint16_t *b = bp + k2 * NR * 2;
		TILE_LOAD(4, ap + k2, sab);
		TILE_LOAD(5, ap + 16 * sa + k2, sab);
		TILE_LOAD(6, b, sb);
		TILE_LOAD(7, b + 32, sb);
		TILE_DP(0, 4, 6);
		TILE_DP(1, 4, 7);
		TILE_DP(2, 5, 6);
		TILE_DP(3, 5, 7);
	}
	TILE_STORE(0, o, so);
	TILE_STORE(1, o + 16, so);
	TILE_STORE(2, o + 16 * so / 4, so);
	TILE_STORE(3, o + 16 * so / 4 + 16, so);
	if (o == acc)
		store(c, ldc, acc, m, n, st ? 1 : alpha, st ? 0 : beta);
}

AMX static void
amx_begin(void)
{
	TILE_CONFIG(&tilecfg);
}

AMX static void
amx_end(void)
{
	TILE_RELEASE();
}
#endif

/* (K2, op(a)'s words and the words between its rows where W = 1, B's
 * panel, c, ldc, m, n, alpha, beta, st, ldst) */
typedef void kern_fn(size_t, const uint32_t *, size_t, const uint16_t *,
    float *, size_t, size_t, size_t, float, float, const float *, size_t);

/* one pass over K (kc = Kp / 2 pairs, rounded up, of op(a) from a and of
 * each B panel from bp): op(a) packed MC rows at a time (about 128 KiB, to
 * stay in L2), each block of mr rows times each B panel; the sums start
 * from bias (N floats) where it is not NULL, from c where alpha and beta
 * are 1.  Where direct, op(a) is a16's bf16 rows holding KS pairs (zeros
 * past Kp), and AMX (W = 1) reads the whole blocks of its rows where they
 * are, not packed: their pairs are already a row's run. */
static void
a_pass(kern_fn *f, float *c, const float *a, const uint16_t *a16,
    int direct, const uint16_t *bp, size_t M, size_t N, size_t Kp, size_t KS,
    size_t KB, size_t ai, size_t ak, size_t ldc, size_t mr, size_t W,
    float alpha, float beta, const float *bias)
{
	int from_c = !bias && alpha == 1 && beta == 1;
	size_t kc = (Kp + 1) / 2;
	size_t MC = (32768 / (KS ? KS : 1)) / mr * mr;

	MC = MC < mr ? mr : MC;
	MC = MC > (M + mr - 1) / mr * mr ? (M + mr - 1) / mr * mr : MC;
	abuf = xgrow(abuf, &abuf_n, MC * KS * sizeof *abuf);
	for (size_t i0 = 0; i0 < M; i0 += MC) {
		size_t mc = M - i0 < MC ? M - i0 : MC;
		size_t mp = (mc + mr - 1) / mr * mr;
		size_t md = direct ? mc / mr * mr : 0;	/* in place */
		if (md < mc) {
			pack_a(abuf, a, a16, i0 + md, mc - md, Kp, ai, ak, W,
			    KS);
			/* rows up to the block's end (W = MR pads its own) */
			memset(abuf + (mc - md) * KS, 0, (W == 1 ? mp - mc :
			    0) * KS * sizeof *abuf);
		}
		for (size_t j0 = 0; j0 < N; j0 += NR) {
			const uint16_t *b = bp + j0 * KB * 2;
			size_t n = N - j0 < NR ? N - j0 : NR;
			for (size_t r0 = 0; r0 < mc; r0 += mr) {
				float *cb = c + (i0 + r0) * ldc + j0;
				const uint32_t *ap = r0 < md ?
				    (const uint32_t *)(const void *)(a16 +
				    (i0 + r0) * ai) : abuf + (r0 - md) * KS;
				f(kc, ap, r0 < md ? ai / 2 : KS, b, cb, ldc,
				    mc - r0 < mr ? mc - r0 : mr, n, alpha, beta,
				    bias ? bias + j0 : from_c ? cb : NULL,
				    bias ? 0 : ldc);
			}
		}
	}
}

void
bf16_gemm_packed(int kern, int op, float *c, const float *a,
    const uint16_t *a16, const uint16_t *bp, size_t M, size_t N, size_t K,
    size_t lda, size_t ldc, float alpha, float beta, const float *bias)
{
	size_t ai = op == BLAS_TN ? 1 : lda, ak = op == BLAS_TN ? lda : 1;
	/* mr rows a block, packed W rows a panel */
	size_t K2 = (K + 1) / 2, mr = MR, W = MR;
	size_t KB = tiled(K2);	/* the pairs of a B panel */
	/* KC pairs a pass: whole tiles, the np passes about alike.  The
	 * later passes start their sums from c, as one pass would go on,
	 * where alpha is 1 and beta 0 or 1 (or the sums start from bias);
	 * else alpha and beta come in at every pass, and every kernel takes
	 * the same passes */
	int asone = bias || (alpha == 1 && (beta == 0 || beta == 1));
	size_t kcm = kern == BF16_AMX && asone ? KCAMX : KCMAX;
	size_t np = (K2 + kcm - 1) / kcm + !K2;
	size_t KC = tiled((K2 + np - 1) / np);
	kern_fn *f = kern_c;

#ifdef HAVE_AVX512BF16
	if (kern == BF16_AVX512)
		f = kern_avx512;
	else if (kern == BF16_PORTABLE && vec_isa() != VEC_PORTABLE)
		f = kern_c_avx2;	/* the lanes of vec's rows */
#endif
#ifdef HAVE_AMX
	if (kern == BF16_AMX) {
		f = kern_amx;
		mr = AMX_MR;
		W = 1;
	}
#endif
	(void)kern;
	if (M == 0 || N == 0)
		return;
#ifdef HAVE_AMX
	if (f == kern_amx)
		amx_begin();
#endif
	size_t k0 = 0;
	do {	/* once where K is 0: c = beta c */
		size_t kc = K2 - k0 < KC ? K2 - k0 : KC;
		/* KS pairs a packed row of op(a): W = 1 (AMX) in whole
		 * tiles; the later passes add to c */
		size_t KS = W == 1 ? tiled(kc) : kc;
		/* AMX reads a16's rows in place where they hold the pass's
		 * whole tiles (zeros past K) */
		int direct = a16 && W == 1 && lda % 2 == 0 &&
		    lda >= 2 * (k0 + KS);
		a_pass(f, c, a ? a + 2 * k0 * ak : NULL, a16 ? a16 + 2 * k0 :
		    NULL, direct, bp + k0 * NR * 2, M, N,
		    K - 2 * k0 < 2 * kc ? K - 2 * k0 : 2 * kc, KS, KB, ai, ak,
		    ldc, mr, W, bias ? 1.0f : alpha, k0 == 0 ? beta : 1.0f,
		    k0 == 0 ? bias : NULL);
	} while ((k0 += KC) < K2);
#ifdef HAVE_AMX
	if (f == kern_amx)
		amx_end();
#endif
}
