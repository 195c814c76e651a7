/* t_bf16: the bf16 rounding, and the bf16 products: the portable kernel
 * against the double-precision reference on bf16-rounded operands, the
 * AVX512_BF16 kernel bit for bit against the portable one and the AMX one
 * against that reference (where the CPU has them; t_amx checks the AMX
 * kernel's blocking on modelled tiles everywhere), both through
 * blas_gemm/blas_gemm1, and against fp32 within what bf16 rounding
 * explains; the portable kernel on AVX2 lanes against its scalar loops, bit
 * for bit; the weights' shared packs (blas_weights). */
#include "check.h"

#include "bf16.h"
#include "cpu.h"
#include "tensor.h"
#include "vec.h"
#include "util.h"

static float
bits(uint32_t u)
{
	float x;
	memcpy(&x, &u, 4);
	return x;
}

static void
rounding(void)
{
	static const struct {
		uint32_t in;
		uint16_t out;
	} t[] = {
		{0x3f800000, 0x3f80},	/* 1 */
		{0x3f808000, 0x3f80},	/* halfway, even below: down */
		{0x3f818000, 0x3f82},	/* halfway, odd below: up */
		{0x3f808001, 0x3f81},	/* above halfway: up */
		{0xbf807fff, 0xbf80},	/* below halfway, negative */
		{0x7f7fffff, 0x7f80},	/* the largest float rounds to inf */
		{0x7f800000, 0x7f80},	/* inf */
		{0x00400000, 0x0000},	/* denormal: zero */
		{0x80000001, 0x8000},	/* negative denormal: -0 */
		{0x00800000, 0x0080},	/* the smallest normal stays */
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (bf16_round(bits(t[i].in)) != t[i].out) {
			printf("# bf16_round(%08x) = %04x, want %04x\n", t[i].in,
			    bf16_round(bits(t[i].in)), t[i].out);
			ok = 0;
		}
	uint16_t n = bf16_round(bits(0x7fc00001));
	check_ok("bf16_round: nearest even, denormals to zero, inf", ok);
	check_ok("bf16_round: NaN stays NaN", isnan(bf16_to_float(n)));
	check_ok("bf16_to_float known values", bf16_to_float(0x3f80) == 1.0f &&
	    bf16_to_float(0xc040) == -3.0f &&
	    bf16_to_float(0x3eaa) == 0.33203125f);
}

/* bf16_convert (vcvtne2ps2bf16 where the CPU has it) = bf16_round on
 * random bit patterns, a quarter of them denormal, NaN or infinite; and
 * bf16_trim rounds in place to those values, giving the same bf16 */
static void
converting(void)
{
	enum { N = 1 << 16 };
	static float x[N + 7], z[2][N + 7];
	static uint16_t y[N + 7], t[N + 7];
	uint64_t st = 0x2545F4914F6CDD1Dull;
	size_t bad = 0, tbad = 0;

	for (int rep = 0; rep < 16; rep++) {
		for (size_t i = 0; i < N + 7; i++) {
			st ^= st << 13, st ^= st >> 7, st ^= st << 17;
			uint32_t u = (uint32_t)st;
			if (i % 8 == 1)
				u &= 0x807fffff;	/* denormal */
			if (i % 8 == 2)
				u |= 0x7f800000;	/* NaN or inf */
			x[i] = bits(u);
		}
		bf16_convert(y, x, N + 7);	/* a ragged tail */
		memcpy(z[0], x, sizeof x);
		memcpy(z[1], x, sizeof x);
		bf16_trim(z[0], t, N + 7);
		bf16_trim(z[1], NULL, N + 7);
		for (size_t i = 0; i < N + 7; i++) {
			bad += y[i] != bf16_round(x[i]);
			tbad += t[i] != y[i] || memcmp(&z[0][i], &z[1][i],
			    4) != 0 || memcmp(&z[0][i], &(float){
			    bf16_to_float(y[i])}, 4) != 0;
		}
	}
	if (bad || tbad)
		printf("# %zu and %zu of %d differ\n", bad, tbad,
		    16 * (N + 7));
	check_ok("bf16_convert = bf16_round on every kind of float", bad == 0);
	/* every length up to 70: its tail, and nothing written past n */
	size_t lbad = 0;
	for (size_t n = 0; n <= 70; n++) {
		for (size_t i = 0; i < n + 40; i++)
			y[i] = 0xdead;
		bf16_convert(y, x + n, n);
		for (size_t i = 0; i < n + 40; i++)
			lbad += y[i] != (i < n ? bf16_round(x[n + i]) : 0xdead);
	}
	check_ok("bf16_convert of 0 to 70 values: each, and nothing past "
	    "them", lbad == 0);
	check_ok("bf16_trim: x rounded in place to bf16_convert's values "
	    "(and they, where asked)", tbad == 0);
}

/* op(a) (M,K) and op(b) (K,N) with padded leading dimensions */
struct prob {
	int op;
	size_t M, N, K, lda, ldb, ldc, na, nb, nc;
	float *a, *b, *c0;
};

static void
make(struct prob *p, int op, size_t M, size_t N, size_t K)
{
	int ta = op == BLAS_TN, tb = op == BLAS_NT;
	*p = (struct prob){op, M, N, K, (ta ? M : K) + 3, (tb ? K : N) + 5,
	    N + 2, 0, 0, 0, NULL, NULL, NULL};
	p->na = (ta ? K : M) * p->lda;
	p->nb = (tb ? N : K) * p->ldb;
	p->nc = M * p->ldc;
	p->a = xmalloc(p->na * 4);
	p->b = xmalloc(p->nb * 4);
	p->c0 = xmalloc(p->nc * 4);
	check_fill(p->a, p->na, 1);
	check_fill(p->b, p->nb, 1);
	check_fill(p->c0, p->nc, 1);
}

static float *
rounded(const float *x, size_t n)
{
	float *y = xmalloc(n * 4);
	for (size_t i = 0; i < n; i++)
		y[i] = bf16_to_float(bf16_round(x[i]));
	return y;
}

/* hw: the hardware kernels this CPU runs */
enum { HW_AVX512 = 1, HW_AMX = 2 };

/* c0's product on kernel kern; with bias, its sums start from it */
static float *
runb(const struct prob *p, int kern, float alpha, float beta,
    const float *bias)
{
	float *c = xmalloc(p->nc * 4);
	uint16_t *bp = xmalloc(bf16_packed_size(p->N, p->K) * 2);
	memcpy(c, p->c0, p->nc * 4);
	bf16_pack_b(bp, p->op, p->b, p->N, p->K, p->ldb);
	bf16_gemm_packed(kern, p->op, c, p->a, NULL, bp, p->M, p->N, p->K,
	    p->lda, p->ldc, alpha, beta, bias);
	free(bp);
	return c;
}

static float *
run(const struct prob *p, int kern, float alpha, float beta)
{
	return runb(p, kern, alpha, beta, NULL);
}

/* op(a) (M,K) in bf16, its rows ld apart, zeros past K */
static uint16_t *
a16(const struct prob *p, size_t ld)
{
	uint16_t *x = xmalloc(p->M * ld * 2);
	for (size_t i = 0; i < p->M; i++) {
		bf16_convert(x + i * ld, p->a + i * p->lda, p->K);
		memset(x + i * ld + p->K, 0, (ld - p->K) * 2);
	}
	return x;
}

/* op(a) given in bf16 (op nn or nt) = the product from a, bit for bit, on
 * every kernel this CPU runs, and through the interface; its rows an even
 * number of values apart, just past K (AMX reads them in place where K is
 * whole tiles), or past K rounded up to whole tiles (AMX reads them in
 * place, zeros past K included) */
static void
from16(const struct prob *p, const char *shape, float alpha, float beta,
    int hw, int pad)
{
	static const int kerns[] = {BF16_PORTABLE, BF16_AVX512, BF16_AMX};
	static const char *const kn[] = {"portable", "avx512bf16", "amx"};
	size_t ld = pad ? (p->K + 31) / 32 * 32 + 32 : (p->K + 2) / 2 * 2 + 6;
	uint16_t *x = a16(p, ld);
	uint16_t *bp = xmalloc(bf16_packed_size(p->N, p->K) * 2);
	float *c = xmalloc(p->nc * 4);
	char name[200];

	bf16_pack_b(bp, p->op, p->b, p->N, p->K, p->ldb);
	for (int i = 0; i < 3; i++) {
		if ((i == 1 && !(hw & HW_AVX512)) || (i == 2 && !(hw & HW_AMX)))
			continue;
		float *want = run(p, kerns[i], alpha, beta);
		memcpy(c, p->c0, p->nc * 4);
		bf16_gemm_packed(kerns[i], p->op, c, NULL, x, bp, p->M, p->N,
		    p->K, ld, p->ldc, alpha, beta, NULL);
		snprintf(name, sizeof name, "bf16 %s: op(a) given in bf16 "
		    "(rows %zu apart) = from fp32, bit for bit: %s", kn[i], ld,
		    shape);
		check_close(name, c, want, p->nc, 0, 0);
		free(want);
	}
	blas_set_precision(BLAS_PREC_BF16);
	float *want = xmalloc(p->nc * 4);
	memcpy(want, p->c0, p->nc * 4);
	memcpy(c, p->c0, p->nc * 4);
	blas_gemm1(p->op, want, p->a, p->b, p->M, p->N, p->K, p->lda, p->ldb,
	    p->ldc, alpha, beta);
	blas_gemm1_a16(p->op, c, x, p->b, p->M, p->N, p->K, ld, p->ldb,
	    p->ldc, alpha, beta);
	snprintf(name, sizeof name, "blas_gemm1_a16 = blas_gemm1, bit for "
	    "bit: %s", shape);
	check_close(name, c, want, p->nc, 0, 0);
	/* op(b) given in bf16 too: the same pack, the same product */
	size_t nbp = bf16_packed_size(p->N, p->K);
	uint16_t *b16 = xmalloc(p->nb * 2), *bq = xmalloc(nbp * 2);
	bf16_convert(b16, p->b, p->nb);
	bf16_pack_b16(bq, p->op, b16, p->N, p->K, p->ldb);
	snprintf(name, sizeof name, "bf16_pack_b16 = bf16_pack_b of the "
	    "same values: %s", shape);
	check_ok(name, memcmp(bq, bp, nbp * 2) == 0);
	memcpy(c, p->c0, p->nc * 4);
	blas_gemm1_16(p->op, c, x, b16, p->M, p->N, p->K, ld, p->ldb, p->ldc,
	    alpha, beta);
	snprintf(name, sizeof name, "blas_gemm1_16 = blas_gemm1, bit for "
	    "bit: %s", shape);
	check_close(name, c, want, p->nc, 0, 0);
	free(b16);
	free(bq);
	blas_set_precision(BLAS_PREC_FP32);
	free(want);
	free(c);
	free(bp);
	free(x);
}

/* a bias row: on every kernel, op(a) B + bias = the bias copied into
 * each row of c and the product added (alpha 1, beta 1), bit for bit;
 * through blas_linear1 (op nt) the same in bf16, and the fp32 product
 * with the bias added in fp32 */
static void
biased(const struct prob *p, const char *shape, int hw)
{
	static const int kerns[] = {BF16_PORTABLE, BF16_AVX512, BF16_AMX};
	static const char *const kn[] = {"portable", "avx512bf16", "amx"};
	float *bias = xmalloc(p->N * 4), *c0 = p->c0;
	struct prob q = *p;
	char name[200];

	check_fill(bias, p->N, 2);
	q.c0 = xmalloc(p->nc * 4);
	memcpy(q.c0, c0, p->nc * 4);
	for (size_t r = 0; r < p->M; r++)
		memcpy(q.c0 + r * p->ldc, bias, p->N * 4);
	for (int i = 0; i < 3; i++) {
		if ((i == 1 && !(hw & HW_AVX512)) || (i == 2 && !(hw & HW_AMX)))
			continue;
		float *want = run(&q, kerns[i], 1, 1);
		float *got = runb(p, kerns[i], 0.5f, 2, bias);
		snprintf(name, sizeof name, "bf16 %s: sums from a bias row = "
		    "the bias in c, beta 1, bit for bit: %s", kn[i], shape);
		/* c's padding columns kept: got's are c0's, want's too */
		check_close(name, got, want, p->nc, 0, 0);
		free(want);
		free(got);
	}
	if (p->op == BLAS_NT) {	/* x (M,K) and w (N,K) without gaps */
		size_t M = p->M, N = p->N, K = p->K;
		float *x = xmalloc(M * K * 4 + 4), *w = xmalloc(N * K * 4 + 4);
		size_t ldy = p->ldc;	/* y's rows apart as c's */
		float *y = xmalloc(M * ldy * 4);
		float *f = xmalloc(M * ldy * 4);
		memset(y, 0, M * ldy * 4);	/* the gaps between rows */
		memset(f, 0, M * ldy * 4);
		float *want = run(&q, BF16_PORTABLE, 1, 1);
		int same = 1;
		for (size_t r = 0; r < M; r++)
			memcpy(x + r * K, p->a + r * p->lda, K * 4);
		for (size_t r = 0; r < N; r++)
			memcpy(w + r * K, p->b + r * p->ldb, K * 4);
		blas_set_precision(BLAS_PREC_BF16);
		blas_linear1(y, ldy, x, w, bias, M, N, K);
		for (size_t r = 0; r < p->M; r++)
			same &= !memcmp(y + r * ldy, want + r * p->ldc,
			    p->N * 4);
		snprintf(name, sizeof name, "blas_linear1 in bf16 = the bf16 "
		    "kernel from the bias row: %s", shape);
		check_ok(name, same);
		uint16_t *x16 = xmalloc(M * K * 2 + 2);
		float *y16 = xmalloc(M * ldy * 4);
		memset(y16, 0, M * ldy * 4);
		bf16_convert(x16, x, M * K);
		blas_linear1_a16(y16, ldy, x16, w, bias, M, N, K);
		snprintf(name, sizeof name, "blas_linear1_a16 = blas_linear1 "
		    "in bf16, bit for bit: %s", shape);
		check_close(name, y16, y, M * ldy, 0, 0);
		free(x16);
		free(y16);
		blas_set_precision(BLAS_PREC_FP32);
		blas_linear1(y, ldy, x, w, bias, M, N, K);
		for (size_t r = 0; r < M; r++)
			memcpy(f + r * ldy, bias, N * 4);
		blas_gemm_ref(BLAS_NT, f, x, w, M, N, K, K, K, ldy, 1, 1);
		snprintf(name, sizeof name, "blas_linear1 in fp32 = x w^T + b: "
		    "%s", shape);
		check_close(name, y, f, M * ldy, 1e-6 * (double)K, 1e-5);
		free(x);
		free(w);
		free(want);
		free(y);
		free(f);
	}
	free(q.c0);
	free(bias);
}


static void
one(int op, size_t M, size_t N, size_t K, float alpha, float beta, int hw)
{
	static const char *const names[] = {"nn", "nt", "tn"};
	struct prob p;
	char name[160], shape[96];

	make(&p, op, M, N, K);
	snprintf(shape, sizeof shape, "%s M=%zu N=%zu K=%zu beta=%g",
	    names[op], M, N, K, beta);

	/* the reference on the rounded operands: products exact, sums in
	 * double; fp32 accumulation over K terms of size < 1 */
	float *ra = rounded(p.a, p.na), *rb = rounded(p.b, p.nb);
	float *want = xmalloc(p.nc * 4), *f32 = xmalloc(p.nc * 4);
	memcpy(want, p.c0, p.nc * 4);
	memcpy(f32, p.c0, p.nc * 4);
	blas_gemm_ref(op, want, ra, rb, M, N, K, p.lda, p.ldb, p.ldc, alpha,
	    beta);
	blas_gemm_ref(op, f32, p.a, p.b, M, N, K, p.lda, p.ldb, p.ldc, alpha,
	    beta);
	float *port = run(&p, BF16_PORTABLE, alpha, beta);
	snprintf(name, sizeof name, "bf16 portable = reference on rounded "
	    "operands: %s", shape);
	check_close(name, port, want, p.nc, 1e-6 * (double)K, 1e-6);
	/* on a CPU with AVX2 that was the kernel on 8 lanes: the scalar
	 * loops give the same bits */
	int lanes = vec_use(VEC_PORTABLE);
	if (lanes != VEC_PORTABLE) {
		float *x = run(&p, BF16_PORTABLE, alpha, beta);
		vec_use(lanes);
		snprintf(name, sizeof name, "bf16 portable on %s = "
		    "scalar, bit for bit: %s", vec_name(lanes), shape);
		check_close(name, port, x, p.nc, 0, 0);
		free(x);
	}
	/* each product is off by at most 2^-8 relative: K terms below 1 */
	snprintf(name, sizeof name, "bf16 portable within bf16 rounding of "
	    "fp32: %s", shape);
	check_close(name, port, f32, p.nc, 4e-3 * (double)K * fabs(alpha),
	    1e-5);

	if (hw & HW_AVX512) {
		float *x = run(&p, BF16_AVX512, alpha, beta);
		snprintf(name, sizeof name, "bf16 avx512bf16 = portable, bit "
		    "for bit: %s", shape);
		check_close(name, x, port, p.nc, 0, 0);
		free(x);
	}
	if (hw & HW_AMX) {	/* the tiles may sum a pair in either order */
		float *x = run(&p, BF16_AMX, alpha, beta);
		snprintf(name, sizeof name, "bf16 amx = reference on rounded "
		    "operands: %s", shape);
		check_close(name, x, want, p.nc, 1e-6 * (double)K, 1e-6);
		free(x);
	}

	if (beta == 0)
		biased(&p, shape, hw);
	for (int pad = 0; pad < 2 && op != BLAS_TN; pad++)
		from16(&p, shape, alpha, beta, hw, pad);

	/* through the interface, one thread and threaded */
	blas_set_precision(BLAS_PREC_BF16);
	for (int th = 0; th < 2; th++) {
		float *c = xmalloc(p.nc * 4);
		memcpy(c, p.c0, p.nc * 4);
		(th ? blas_gemm : blas_gemm1)(op, c, p.a, p.b, M, N, K, p.lda,
		    p.ldb, p.ldc, alpha, beta);
		snprintf(name, sizeof name, "blas_gemm%s in bf16 = the bf16 "
		    "kernel: %s", th ? "" : "1", shape);
		check_close(name, c, port, p.nc, 0, 0);
		/* BLAS_F32 keeps a product in fp32 */
		memcpy(c, p.c0, p.nc * 4);
		(th ? blas_gemm : blas_gemm1)(op | BLAS_F32, c, p.a, p.b, M, N,
		    K, p.lda, p.ldb, p.ldc, alpha, beta);
		snprintf(name, sizeof name, "blas_gemm%s BLAS_F32 in bf16 mode "
		    "= fp32: %s", th ? "" : "1", shape);
		check_close(name, c, f32, p.nc, K > 100 ? 1e-7 * (double)K :
		    1e-5, 1e-5);
		free(c);
	}
	blas_set_precision(BLAS_PREC_FP32);
	free(ra);
	free(rb);
	free(want);
	free(f32);
	free(port);
	free(p.a);
	free(p.b);
	free(p.c0);
}

/* c = op(a) op(b) through the interface, one thread or threaded */
static float *
gemm(const struct prob *p, int threaded)
{
	float *c = xmalloc(p->nc * 4);
	memcpy(c, p->c0, p->nc * 4);
	(threaded ? blas_gemm : blas_gemm1)(p->op, c, p->a, p->b, p->M, p->N,
	    p->K, p->lda, p->ldb, p->ldc, 1.0f, 1.0f);
	return c;
}

/* op(b) inside the region given to blas_weights: packed once, shared by
 * threads and calls, the same results as packed in every product; made
 * again after blas_weights_changed (and kept until then: the test that
 * the pack is reused) */
static void
weight_packs(int op)
{
	static const char *const names[] = {"nn", "nt", "tn"};
	struct prob p;
	char name[160];
	int ok = 1;

	make(&p, op, 70, 40, 33);
	blas_set_precision(BLAS_PREC_BF16);
	float *want = gemm(&p, 0), *c;
	blas_weights(p.b + 1, p.nb - 1);	/* op(b) not inside: per call */
	c = gemm(&p, 0);
	ok &= memcmp(c, want, p.nc * 4) == 0;
	free(c);
	blas_weights_forget(p.b + 1);
	blas_weights(p.b, p.nb);
	for (int th = 0; th < 2; th++) {	/* first use, then reuse */
		c = gemm(&p, th);
		ok &= memcmp(c, want, p.nc * 4) == 0;
		free(c);
	}
	/* each thread its rows, one pack for all */
	c = xmalloc(p.nc * 4);
	memcpy(c, p.c0, p.nc * 4);
	blas_weights_changed(p.b);
	#pragma omp parallel for schedule(static, 1)
	for (size_t r = 0; r < p.M; r += 8) {
		size_t m = p.M - r < 8 ? p.M - r : 8;
		blas_gemm1(op, c + r * p.ldc, p.a + r * (op == BLAS_TN ? 1 :
		    p.lda), p.b, m, p.N, p.K, p.lda, p.ldb, p.ldc, 1.0f, 1.0f);
	}
	ok &= memcmp(c, want, p.nc * 4) == 0;
	free(c);
	snprintf(name, sizeof name, "weights %s: a shared pack = packed in "
	    "every product, bit for bit", names[op]);
	check_ok(name, ok);

	for (size_t i = 0; i < p.nb; i++)
		p.b[i] = -2 * p.b[i];
	c = gemm(&p, 0);
	snprintf(name, sizeof name, "weights %s: changed without "
	    "blas_weights_changed, the old pack is used", names[op]);
	check_ok(name, memcmp(c, want, p.nc * 4) == 0);
	free(c);
	/* another region, written and marked changed: this one's pack stays */
	float *other = xmalloc(64 * sizeof *other);
	blas_weights(other, 64);
	blas_weights_changed(other);
	c = gemm(&p, 0);
	snprintf(name, sizeof name, "weights %s: another region changed, "
	    "this region's pack is kept", names[op]);
	check_ok(name, memcmp(c, want, p.nc * 4) == 0);
	free(c);
	blas_weights_forget(other);
	free(other);
	blas_weights_changed(p.b);
	for (int th = 0; th < 2; th++) {
		c = gemm(&p, th);
		blas_weights_forget(p.b);
		float *fresh = gemm(&p, th);
		blas_weights(p.b, p.nb);
		snprintf(name, sizeof name, "weights %s: after "
		    "blas_weights_changed, the new weights (blas_gemm%s)",
		    names[op], th ? "" : "1");
		check_ok(name, memcmp(c, fresh, p.nc * 4) == 0 &&
		    memcmp(c, want, p.nc * 4) != 0);
		free(c);
		free(fresh);
	}
	blas_weights_forget(p.b);
	blas_set_precision(BLAS_PREC_FP32);
	free(want);
	free(p.a);
	free(p.b);
	free(p.c0);
}

int
main(void)
{
	static const size_t shapes[][3] = {
		{1, 1, 1}, {5, 7, 3}, {13, 33, 8}, {37, 70, 129},
		{100, 32, 64}, {250, 48, 97}, {130, 130, 32}, {70, 64, 384},
		/* passes over K (KCMAX 768 pairs): two, and three */
		{13, 33, 1537}, {20, 40, 3203},
	};
	const struct cpu *c = cpu_get();
	int hw = (c->avx512_bf16 && cpu_has_avx512(c) ? HW_AVX512 : 0) |
	    (c->amx_bf16 && cpu_has_avx512(c) ? HW_AMX : 0);

	(void)check_iters;
	/* the interface's kernel is the hardware one unless forced */
	setenv("EMBTUNE_KERNEL", "portable", 1);
	blas_threads(2);
	if (!(hw & HW_AVX512))
		printf("# no AVX512_BF16 on this CPU\n");
	if (!(hw & HW_AMX))
		printf("# no AMX-BF16 on this CPU (t_amx models its tiles)\n");
	rounding();
	converting();
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		for (int beta = 0; beta < 2; beta++)
			for (int op = BLAS_NN; op <= BLAS_TN; op++)
				one(op, shapes[i][0], shapes[i][1],
				    shapes[i][2], op == BLAS_NT ? 0.5f : 1.0f,
				    (float)beta, hw);
	for (int op = BLAS_NN; op <= BLAS_TN; op++)
		weight_packs(op);
	check_ok("kernel named", strcmp(blas_kernel(BLAS_PREC_BF16),
	    "portable") == 0);
	return check_done();
}
