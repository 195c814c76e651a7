/* t_amx: the AMX bf16 kernel's blocking, packing and fringes, on any CPU.
 *
 * lib/bf16.c is compiled here a second time with the tile instructions
 * modelled in C (TILE_MODEL; it defines every symbol bf16.o would, so the
 * library's is not linked): eight tiles of 16 rows x 64 bytes, configured
 * by a 64-byte palette-1 block, loaded and stored row by row with a byte
 * stride, and tdpbf16ps as the Intel SDM defines it (c[m][n] += a[m].pair[k]
 * . b[k].pair[n] over k; the pair's two products added in vdpbf16ps's
 * order, so that the sums are the portable kernel's where beta is 0).  The
 * model refuses a tile used before the configuration or shapes that do not
 * fit, and reads exactly the bytes a tile covers, so that the sanitizer
 * build catches a load past a pack.  Against the portable kernel (which
 * t_bf16 holds to the reference loops): every product shape, fringe and
 * pair tail.  The hardware's tiles may add a pair's products in another
 * order: t_bf16 checks the real kernel, where the CPU has AMX, within fp32
 * rounding of the reference. */
#include "check.h"

#include <stdint.h>

#define TILE_MODEL 1

static _Thread_local struct {
	int on;			/* configured */
	uint8_t rows[8];
	uint16_t colsb[8];
	uint8_t d[8][16][64];
} tm;
static int tile_bad;		/* a use the hardware would fault on */

static void
tile_config(const void *cfg)
{
	const uint8_t *p = cfg;

	if (p[0] != 1)
		tile_bad++;
	for (int t = 0; t < 8; t++) {
		tm.rows[t] = p[48 + t];
		memcpy(&tm.colsb[t], p + 16 + 2 * t, 2);
		if (tm.rows[t] > 16 || tm.colsb[t] > 64)
			tile_bad++;
	}
	tm.on = 1;
}

static void
tile_zero(int t)
{
	tile_bad += !tm.on;
	memset(tm.d[t], 0, sizeof tm.d[t]);
}

static void
tile_load(int t, const void *p, size_t stride)
{
	tile_zero(t);
	for (int r = 0; r < tm.rows[t]; r++)
		memcpy(tm.d[t][r], (const char *)p + r * stride, tm.colsb[t]);
}

static void
tile_store(int t, void *p, size_t stride)
{
	tile_bad += !tm.on;
	for (int r = 0; r < tm.rows[t]; r++)
		memcpy((char *)p + r * stride, tm.d[t][r], tm.colsb[t]);
}

static float
half(const uint8_t *p)	/* the bf16 at p, as a float */
{
	uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
	float x;
	memcpy(&x, &u, 4);
	return x;
}

static void
tile_dp(int c, int a, int b)
{
	int K = tm.colsb[a] / 4, N = tm.colsb[c] / 4;

	tile_bad += !tm.on || tm.rows[c] != tm.rows[a] ||
	    tm.rows[b] != K || tm.colsb[b] != tm.colsb[c];
	for (int m = 0; m < tm.rows[c]; m++)
		for (int k = 0; k < K; k++)
			for (int n = 0; n < N; n++) {
				float s;
				memcpy(&s, tm.d[c][m] + 4 * n, 4);
				s += half(tm.d[a][m] + 4 * k + 2) *
				    half(tm.d[b][k] + 4 * n + 2);
				s += half(tm.d[a][m] + 4 * k) *
				    half(tm.d[b][k] + 4 * n);
				memcpy(tm.d[c][m] + 4 * n, &s, 4);
			}
}

#define TILE_CONFIG(cfg) tile_config(cfg)
#define TILE_RELEASE() (tm.on = 0)
#define TILE_ZERO(t) tile_zero(t)
#define TILE_LOAD(t, p, stride) tile_load(t, p, stride)
#define TILE_STORE(t, p, stride) tile_store(t, p, stride)
#define TILE_DP(c, a, b) tile_dp(c, a, b)
#include "bf16.c"

/* with bias (not NULL), the sums start from that row */
static float *
productb(int kern, int op, const float *a, const float *b, const float *c0,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta, const float *bias)
{
	float *c = xmalloc(M * ldc * 4);
	uint16_t *bp = xmalloc(bf16_packed_size(N, K) * 2);

	memcpy(c, c0, M * ldc * 4);
	bf16_pack_b(bp, op, b, N, K, ldb);
	bf16_gemm_packed(kern, op, c, a, NULL, bp, M, N, K, lda, ldc, alpha,
	    beta, bias);
	free(bp);
	return c;
}

static float *
product(int kern, int op, const float *a, const float *b, const float *c0,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta)
{
	return productb(kern, op, a, b, c0, M, N, K, lda, ldb, ldc, alpha,
	    beta, NULL);
}

static void
one(int op, size_t M, size_t N, size_t K, float alpha, float beta)
{
	static const char *const names[] = {"nn", "nt", "tn"};
	int ta = op == BLAS_TN, tb = op == BLAS_NT;
	size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
	size_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	float *a = xmalloc(na * 4), *b = xmalloc(nb * 4), *c0 = xmalloc(nc * 4);
	char name[160];

	check_fill(a, na, 1);
	check_fill(b, nb, 1);
	check_fill(c0, nc, 1);
	int bad = tile_bad;
	float *amx = product(BF16_AMX, op, a, b, c0, M, N, K, lda, ldb, ldc,
	    alpha, beta);
	float *port = product(BF16_PORTABLE, op, a, b, c0, M, N, K, lda, ldb,
	    ldc, alpha, beta);
	if (beta == 0) {	/* sums from a bias row: tiles loaded with a
				 * stride of 0 */
		float *bias = xmalloc(N * 4);
		check_fill(bias, N, 2);
		float *x = productb(BF16_AMX, op, a, b, c0, M, N, K, lda, ldb,
		    ldc, 1, 0, bias);
		float *y = productb(BF16_PORTABLE, op, a, b, c0, M, N, K, lda,
		    ldb, ldc, 1, 0, bias);
		snprintf(name, sizeof name, "amx (tiles modelled) from a bias "
		    "row = portable, bit for bit: %s M=%zu N=%zu K=%zu",
		    names[op], M, N, K);
		check_close(name, x, y, nc, 0, 0);
		free(x);
		free(y);
		free(bias);
	}
	/* alpha 1, beta 1: both start the sums from c */
	snprintf(name, sizeof name, "amx (tiles modelled) = portable, bit for "
	    "bit: %s M=%zu N=%zu K=%zu beta=%g", names[op], M, N, K, beta);
	check_close(name, amx, port, nc, 0, 0);

	/* as blas_gemm splits rows among threads: blocks of 16 rows, each
	 * its own call; the same bits, whatever block a row falls in */
	float *split = xmalloc(nc * 4);
	uint16_t *bp = xmalloc(bf16_packed_size(N, K) * 2);
	memcpy(split, c0, nc * 4);
	bf16_pack_b(bp, op, b, N, K, ldb);
	for (size_t r = 0; r < M; r += 16)
		bf16_gemm_packed(BF16_AMX, op, split + r * ldc,
		    a + r * (ta ? 1 : lda), NULL, bp, M - r < 16 ? M - r : 16,
		    N, K, lda, ldc, alpha, beta, NULL);
	snprintf(name, sizeof name, "amx: rows split in blocks of 16 = one "
	    "call, bit for bit: %s M=%zu N=%zu K=%zu beta=%g", names[op], M,
	    N, K, beta);
	check_close(name, split, amx, nc, 0, 0);
	/* op(a) given in bf16, its rows an even number of values apart
	 * just past K, or past K in whole tiles with zeros (then read in
	 * place whatever K is): the same bits */
	for (int pad = 0; pad < 2 && !ta; pad++) {
		size_t ld = pad ? (K + 31) / 32 * 32 + 32 : (K + 2) / 2 * 2 + 6;
		uint16_t *x = xmalloc(M * ld * 2);
		for (size_t r = 0; r < M; r++) {
			bf16_convert(x + r * ld, a + r * lda, K);
			memset(x + r * ld + K, 0, (ld - K) * 2);
		}
		memcpy(split, c0, nc * 4);
		bf16_gemm_packed(BF16_AMX, op, split, NULL, x, bp, M, N, K, ld,
		    ldc, alpha, beta, NULL);
		snprintf(name, sizeof name, "amx: op(a) given in bf16 (rows "
		    "%zu apart) = from fp32, bit for bit: %s M=%zu N=%zu K=%zu "
		    "beta=%g", ld, names[op], M, N, K, beta);
		check_close(name, split, amx, nc, 0, 0);
		free(x);
	}
	free(split);
	free(bp);
	snprintf(name, sizeof name, "amx: tiles configured and used as the "
	    "hardware allows, released: %s M=%zu N=%zu K=%zu", names[op], M,
	    N, K);
	check_ok(name, tile_bad == bad && !tm.on);
	free(a);
	free(b);
	free(c0);
	free(amx);
	free(port);
}

int
main(void)
{
	/* K: pairs below 16 (the tail alone), 16 and 32 (tiles alone), odd
	 * K with a tail; M: under, at and over a 32-row block, and several
	 * 128 KiB A blocks (M = 600 at K = 129); N: fringes of the 32-column
	 * panels; K = 384: two passes on AMX where alpha is 1 (KCAMX), one
	 * on the portable kernel; K over 2 KCMAX: passes over K on both, the
	 * last a part-tile */
	static const size_t shapes[][3] = {
		{1, 1, 1}, {5, 7, 3}, {13, 33, 8}, {32, 32, 32}, {31, 64, 64},
		{33, 17, 129}, {100, 32, 97}, {70, 70, 250}, {600, 40, 129},
		{33, 40, 384}, {40, 40, 1601},
	};

	(void)check_iters;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		for (int beta = 0; beta < 2; beta++)
			for (int op = BLAS_NN; op <= BLAS_TN; op++)
				one(op, shapes[i][0], shapes[i][1],
				    shapes[i][2], op == BLAS_NT ? 0.5f : 1.0f,
				    (float)beta);
	/* the tiles are each thread's own: products in threads at once */
	int ok = 1;
	#pragma omp parallel for reduction(&& : ok)
	for (int t = 0; t < 4; t++) {
		float a[40 * 70], b[70 * 50], c0[40 * 50] = {0};
		for (int i = 0; i < 40 * 70; i++)
			a[i] = (float)((i * 7 + t) % 13) / 13 - 0.5f;
		for (int i = 0; i < 70 * 50; i++)
			b[i] = (float)((i * 5 + t) % 11) / 11 - 0.5f;
		float *x = product(BF16_AMX, BLAS_NN, a, b, c0, 40, 50, 70, 70,
		    50, 50, 1, 0);
		float *y = product(BF16_PORTABLE, BLAS_NN, a, b, c0, 40, 50, 70,
		    70, 50, 50, 1, 0);
		ok = ok && memcmp(x, y, sizeof c0) == 0;
		free(x);
		free(y);
	}
	check_ok("amx: products in four threads at once, each its own tiles",
	    ok);
	return check_done();
}
