/* tensor: products over OpenBLAS (loaded with its core chosen from the CPU's
 * features) and the bf16 kernels, threaded over row blocks; a reference
 * loop. */
#include <cblas.h>
#include <dlfcn.h>
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bf16.h"
#include "cpu.h"
#include "fp32.h"
#include "tensor.h"
#include "util.h"
#include "vec.h"

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
    enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float, const float *,
    blasint, const float *, blasint, float, float *, blasint);

static struct {
	sgemm_fn *sgemm;
	void (*set_threads)(int);
	char core[40];		/* openblas_get_corename() */
	const char *why;	/* how the core was chosen */
	int bf16;		/* the kernel: an index of bf16k[] */
	int bf16_ok;		/* bf16 may run (hardware, or forced portable) */
	char bf16_why[128];
	int own;		/* fp32 products with packed weights on
				 * fp32.h's kernel: its FP32_ id, or 0 */
	const char *own_why;
	long slice;		/* EMBTUNE_WEIGHT_SLICE, or -1: auto */
} k;

/* the bf16 kernels, the fastest first: the EMBTUNE_KERNEL value (and
 * blas_kernel's name), what --version says, what the CPU needs */
static const struct {
	int id;			/* enum bf16_kernel */
	const char *name, *desc, *needs;
} bf16k[] = {
	{BF16_AMX, "amx", "amx, tdpbf16ps", "AMX-BF16"},
	{BF16_AVX512, "avx512bf16", "avx512bf16, vdpbf16ps", "AVX512_BF16"},
	{BF16_PORTABLE, "portable", "portable C", NULL},
};
#define NBF16K (sizeof bf16k / sizeof bf16k[0])

static int nthreads = 1, prec = BLAS_PREC_FP32;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* the OpenBLAS core for these features; NULL: leave it to OpenBLAS */
static const char *
core_for(const struct cpu *c)
{
	if (cpu_has_avx512(c))
		return c->avx512_bf16 ? "Cooperlake" : "SkylakeX";
	if (c->avx2 && c->fma)
		return strcmp(c->vendor, "AuthenticAMD") == 0 ? "Zen" :
		    "Haswell";
	if (c->avx)
		return "Sandybridge";
	return NULL;
}

static void *
sym(void *so, const char *name)
{
	void *p = dlsym(so, name);
	if (!p)
		errx(EXIT_SOFTWARE, "OpenBLAS: no symbol %s", name);
	return p;
}

/* this CPU runs kernel i of bf16k[] (both hardware kernels use AVX-512
 * around their products) */
static int
bf16_runs(size_t i, const struct cpu *c)
{
	switch (bf16k[i].id) {
	case BF16_AMX:
		return c->amx_bf16 && cpu_has_avx512(c);
	case BF16_AVX512:
		return c->avx512_bf16 && cpu_has_avx512(c);
	}
	return 1;
}

/* the bf16 kernel: the one EMBTUNE_KERNEL names (force), or the fastest
 * this CPU runs; the portable one only when named */
static void
bf16_choose(const struct cpu *c, const char *force)
{
	size_t i = 0;

	if (force && *force && strcmp(force, "auto") != 0) {
		while (i < NBF16K && strcmp(force, bf16k[i].name) != 0)
			i++;
		if (i == NBF16K)
			errx(EXIT_USAGE, "EMBTUNE_KERNEL=%s: unknown kernel "
			    "(auto, amx, avx512bf16, portable)", force);
		if (!bf16_runs(i, c))
			errx(EXIT_USAGE, "EMBTUNE_KERNEL=%s: this CPU has no "
			    "%s", force, bf16k[i].needs);
		k.bf16_ok = 1;
		snprintf(k.bf16_why, sizeof k.bf16_why, "EMBTUNE_KERNEL=%s",
		    force);
	} else {
		while (!bf16_runs(i, c))
			i++;
		k.bf16_ok = bf16k[i].needs != NULL;
		snprintf(k.bf16_why, sizeof k.bf16_why, "%s", k.bf16_ok ?
		    "chosen from the CPU features" : "no AVX512_BF16 or "
		    "AMX-BF16; refused unless EMBTUNE_KERNEL=portable");
	}
	k.bf16 = (int)i;
}

/* the kernels of the fp32 products with the weights, by k.own: the
 * EMBTUNE_FP32_KERNEL value (and blas_kernel's prefix), what --version
 * says */
static const struct {
	const char *name, *desc;
} fp32k[] = {
	{"openblas", "OpenBLAS sgemm"},
	{"avx2", "avx2, 6x16 on panels packed once; attention fused"},
	{"avx512", "avx512, 12x32 on panels packed once; attention fused"},
};

/* the fp32 kernel for products with packed weights: the one
 * EMBTUNE_FP32_KERNEL names, else the widest of fp32.h's this CPU runs */
static void
own_choose(const char *force)
{
	int best = fp32_runs();

	k.own = best;
	k.own_why = "chosen from the CPU features";
	if (force && *force && strcmp(force, "auto") != 0) {
		int n = sizeof fp32k / sizeof fp32k[0];
		for (k.own = 0; k.own < n; k.own++)
			if (strcmp(force, fp32k[k.own].name) == 0)
				break;
		if (k.own == n)
			errx(EXIT_USAGE, "EMBTUNE_FP32_KERNEL=%s: unknown "
			    "kernel (auto, avx512, avx2, openblas)", force);
		if (k.own > best)
			errx(EXIT_USAGE, "EMBTUNE_FP32_KERNEL=%s: this CPU "
			    "has no %s", force, k.own == FP32_AVX2 ?
			    "AVX2 and FMA" : "AVX-512");
		k.own_why = "EMBTUNE_FP32_KERNEL";
	}
	if (k.own)
		fp32_use(k.own);
}

/* the rows of a slice of the weights (blas_weight_slice): the one
 * EMBTUNE_WEIGHT_SLICE says (a multiple of 32; 0: none), else -1 */
static void
slice_choose(const char *force)
{
	char *e;

	k.slice = -1;
	if (!force || !*force || strcmp(force, "auto") == 0)
		return;
	errno = 0;
	k.slice = strtol(force, &e, 10);
	if (errno || *e || k.slice < 0 || k.slice % 32 || k.slice > 1 << 20)
		errx(EXIT_USAGE, "EMBTUNE_WEIGHT_SLICE=%s: not auto or a "
		    "multiple of 32 (0: no slices)", force);
}

static void
init(void)
{
	const struct cpu *c = cpu_get();
	const char *env = getenv("OPENBLAS_CORETYPE"), *pick = core_for(c);
	const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
	void *so = NULL;

	if (env && *env) {
		k.why = "OPENBLAS_CORETYPE in the environment";
	} else if (pick) {
		/* read by OpenBLAS's initialiser, which runs at dlopen */
		setenv("OPENBLAS_CORETYPE", pick, 1);
		k.why = "chosen from the CPU features";
	} else {
		k.why = "OpenBLAS's own choice";
	}
	for (size_t i = 0; i < 2 && !so; i++)
		so = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!so)
		errx(EXIT_SOFTWARE, "cannot load OpenBLAS: %s", dlerror());
	if (!(env && *env) && pick)
		unsetenv("OPENBLAS_CORETYPE");
	k.sgemm = (sgemm_fn *)sym(so, "cblas_sgemm");
	k.set_threads = (void (*)(int))sym(so, "openblas_set_num_threads");
	char *(*corename)(void) = (char *(*)(void))sym(so,
	    "openblas_get_corename");
	snprintf(k.core, sizeof k.core, "%s", corename());
	k.set_threads(1);

	bf16_choose(c, getenv("EMBTUNE_KERNEL"));
	own_choose(getenv("EMBTUNE_FP32_KERNEL"));
	slice_choose(getenv("EMBTUNE_WEIGHT_SLICE"));
}

static void
ready(void)
{
	pthread_once(&once, init);
}

void
blas_threads(int n)
{
	ready();
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
blas_set_precision(int p)
{
	prec = p;
}

int
blas_precision(void)
{
	return prec;
}

int
blas_precision_opt(const char *arg)
{
	int want;

	ready();
	if (strcmp(arg, "fp32") == 0)
		want = BLAS_PREC_FP32;
	else if (strcmp(arg, "bf16") == 0 || strcmp(arg, "auto") == 0)
		want = BLAS_PREC_BF16;
	else
		errx(EXIT_USAGE, "--precision: %s: expected fp32, bf16 or auto",
		    arg);
	if (want == BLAS_PREC_BF16 && !k.bf16_ok) {
		const char *miss = "neither AVX512_BF16 nor AMX-BF16";
		if (strcmp(arg, "bf16") == 0)
			errx(EXIT_USAGE, "--precision bf16: this CPU has %s; "
			    "use fp32, or EMBTUNE_KERNEL=portable for the slow "
			    "portable bf16 path", miss);
		warnx("--precision auto: this CPU has %s; using fp32", miss);
		want = BLAS_PREC_FP32;
	}
	prec = want;
	return want;
}

const char *
blas_kernel(int p)
{
	static char buf[64];

	ready();
	if (p == BLAS_PREC_BF16)
		return bf16k[k.bf16].name;
	snprintf(buf, sizeof buf, "%s%sopenblas:%s", k.own ?
	    fp32k[k.own].name : "", k.own ? "+" : "", k.core);
	return buf;
}

void
blas_sysinfo(FILE *fp)
{
	const struct cpu *c = cpu_get();
	char flags[256];

	ready();
	cpu_flags(flags, sizeof flags, c);
	fprintf(fp, "cpu: %s (%s, family %u, model %u)\n", c->brand[0] ?
	    c->brand : "unknown", c->vendor[0] ? c->vendor : "unknown",
	    c->family, c->model);
	fprintf(fp, "features: %s\n", flags);
	fprintf(fp, "fp32 kernel: OpenBLAS sgemm, core %s (%s)\n", k.core,
	    k.why);
	fprintf(fp, "bf16 kernel: %s (%s)\n", bf16k[k.bf16].desc,
	    k.bf16_why);
	fprintf(fp, "fp32 rows: %s (chosen from the CPU features)\n",
	    vec_name(vec_isa()));
	fprintf(fp, "fp32 weights: %s (%s)\n", fp32k[k.own].desc, k.own_why);
#ifdef _OPENMP
	fprintf(fp, "threads: %d (OpenMP)\n", omp_get_max_threads());
#else
	fprintf(fp, "threads: 1 (built without OpenMP)\n");
#endif
}

static void
sgemm(int op, float *c, const float *a, const float *b, size_t M, size_t N,
    size_t K, size_t lda, size_t ldb, size_t ldc, float alpha, float beta)
{
	k.sgemm(CblasRowMajor, op == BLAS_TN ? CblasTrans : CblasNoTrans,
	    op == BLAS_NT ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
	    (blasint)K, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
	    (blasint)ldc);
}

/* this thread's bf16 op(b), grown as needed and kept (bytes) */
static _Thread_local uint16_t *bbuf;
static _Thread_local size_t bbuf_n;

/* the packed weights: regions of weights (one per model), each with its
 * generation (blas_weights_changed counts them), and one pack per (b,
 * precision, op, shape), made at its region's generation gen; mu guards
 * the tables and the packing, so that the first thread to need a pack
 * makes it and the others wait */
#define NREGION 8
/* the largest region whose weights are packed in fp32 too: the packs are
 * a second copy of the linear layers' weights */
#define FP32_PACK_MAX ((size_t)128 << 20)
struct pack {
	const float *b;
	int prec, op;
	size_t N, K, ldb;
	unsigned gen;
	void *p;
};
static struct {
	struct {
		const float *lo, *hi;
		unsigned gen;
		int f32;	/* fp32 packs too (fp32.h's kernel) */
	} r[NREGION];
	size_t nr;
	struct pack *v;
	size_t n, cap;
	pthread_mutex_t mu;
} wp = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t
region(const float *w)
{
	size_t i;

	for (i = 0; i < wp.nr && wp.r[i].lo != w; i++)
		;
	return i;
}

/* the region holding [lo, hi), or wp.nr (as addresses: lo may be in
 * another object than the weights) */
static size_t
holding(const float *lo, const float *hi)
{
	size_t r;

	for (r = 0; r < wp.nr; r++)
		if ((uintptr_t)lo >= (uintptr_t)wp.r[r].lo &&
		    (uintptr_t)hi <= (uintptr_t)wp.r[r].hi)
			break;
	return r;
}

void
blas_weights(const float *w, size_t n)
{
	if (region(w) < wp.nr)
		return;
	if (wp.nr == NREGION)
		errx(EXIT_SOFTWARE, "blas_weights: more than %d regions",
		    NREGION);
	ready();
	wp.r[wp.nr].lo = w;
	wp.r[wp.nr].hi = w + n;
	wp.r[wp.nr].f32 = k.own && n * sizeof *w <= FP32_PACK_MAX;
	wp.r[wp.nr++].gen = 1;
}

void
blas_weights_forget(const float *w)
{
	size_t i = region(w), j, k;

	if (i == wp.nr)
		return;
	for (j = k = 0; j < wp.n; j++)
		if ((uintptr_t)wp.v[j].b >= (uintptr_t)wp.r[i].lo &&
		    (uintptr_t)wp.v[j].b < (uintptr_t)wp.r[i].hi)
			free(wp.v[j].p);
		else
			wp.v[k++] = wp.v[j];
	wp.n = k;
	wp.r[i] = wp.r[--wp.nr];
}

void
blas_weights_changed(const float *w)
{
	size_t i = region(w);

	if (i < wp.nr)
		wp.r[i].gen++;
}

int
blas_packs_weights(const float *w)
{
	size_t r = holding(w, w + 1);

	return r < wp.nr && (prec == BLAS_PREC_BF16 || wp.r[r].f32);
}

size_t
blas_block_rows(void)
{
	ready();
	return prec == BLAS_PREC_BF16 && bf16k[k.bf16].id == BF16_AMX ?
	    BF16_AMX_ROWS : 24;
}

size_t
blas_block_floats(void)
{
	ready();
	return prec == BLAS_PREC_FP32 && k.own == FP32_AVX512 ? 131072 :
	    32768;
}

size_t
blas_weight_slice(const float *w)
{
	ready();
	if (!blas_packs_weights(w))
		return 0;
	if (k.slice >= 0)
		return (size_t)k.slice;
	return prec == BLAS_PREC_BF16 && bf16k[k.bf16].id == BF16_AMX ? 256 :
	    0;
}

/* op(b) packed in precision pr (bf16 or fp32 panels), shared, if b is a
 * weight; else NULL */
static const void *
wpack(int pr, int op, const float *b, size_t N, size_t K, size_t ldb)
{
	size_t bytes = pr == BLAS_PREC_BF16 ? bf16_packed_size(N, K) *
	    sizeof(uint16_t) : fp32_packed_size(N, K) * sizeof(float);
	/* one past op(b)'s last element: b is (N,K) for BLAS_NT, else (K,N) */
	const float *end = op == BLAS_NT ? b + (N - 1) * ldb + K :
	    b + (K ? K - 1 : 0) * ldb + N;
	struct pack *e = NULL;
	size_t r = holding(b, end);

	if (r == wp.nr || (pr == BLAS_PREC_FP32 && !wp.r[r].f32))
		return NULL;
	pthread_mutex_lock(&wp.mu);
	for (size_t i = 0; i < wp.n && !e; i++)
		if (wp.v[i].b == b && wp.v[i].prec == pr && wp.v[i].op == op &&
		    wp.v[i].N == N && wp.v[i].K == K && wp.v[i].ldb == ldb)
			e = &wp.v[i];
	if (!e) {
		if (wp.n == wp.cap) {
			wp.cap = wp.cap ? 2 * wp.cap : 64;
			wp.v = xrealloc(wp.v, wp.cap * sizeof *wp.v);
		}
		e = &wp.v[wp.n++];
		*e = (struct pack){b, pr, op, N, K, ldb, 0, xaligned(bytes)};
	}
	if (e->gen != wp.r[r].gen) {
		if (pr == BLAS_PREC_BF16)
			bf16_pack_b(e->p, op, b, N, K, ldb);
		else
			fp32_pack_b(e->p, op, b, N, K, ldb);
		e->gen = wp.r[r].gen;
	}
	void *p = e->p;
	pthread_mutex_unlock(&wp.mu);
	return p;
}

/* op(b) in bf16: the shared pack if b is a weight, else packed now in
 * this thread's buffer (from b16's bf16 where b16 is not NULL) */
static const uint16_t *
bpack(int op, const float *b, const uint16_t *b16, size_t N, size_t K,
    size_t ldb)
{
	const uint16_t *p = b16 ? NULL : wpack(BLAS_PREC_BF16, op, b, N, K,
	    ldb);

	if (p)
		return p;
	bbuf = xgrow(bbuf, &bbuf_n, bf16_packed_size(N, K) * sizeof *bbuf);
	if (b16)
		bf16_pack_b16(bbuf, op, b16, N, K, ldb);
	else
		bf16_pack_b(bbuf, op, b, N, K, ldb);
	return bbuf;
}

/* op(b) in fp32 panels where b is a weight of a region packed in fp32
 * (fp32.h's kernel runs its products); else NULL (OpenBLAS) */
static const float *
fpack(int op, const float *b, size_t N, size_t K, size_t ldb)
{
	if (op == BLAS_TN)
		return NULL;
	return wpack(BLAS_PREC_FP32, op, b, N, K, ldb);
}

/* blas_gemm1 with op(a) from a, or from a16's bf16 values, and op(b)
 * from b, or from b16's */
static void
gemm1(int op, float *c, const float *a, const uint16_t *a16, const float *b,
    const uint16_t *b16, size_t M, size_t N, size_t K, size_t lda,
    size_t ldb, size_t ldc, float alpha, float beta)
{
	int bf = prec == BLAS_PREC_BF16 && !(op & BLAS_F32);
	const float *fp;

	op &= ~BLAS_F32;
	if (M == 0 || N == 0)
		return;
	ready();
	if ((a16 || b16) && (!bf || op == BLAS_TN))
		errx(EXIT_SOFTWARE, "blas: a bf16 operand in an fp32 or "
		    "transposed product");
	if (bf)
		bf16_gemm_packed(bf16k[k.bf16].id, op, c, a, a16,
		    bpack(op, b, b16, N, K, ldb), M, N, K, lda, ldc, alpha,
		    beta, NULL);
	else if ((fp = fpack(op, b, N, K, ldb)))
		fp32_gemm_packed(op, c, a, fp, M, N, K, lda, ldc, alpha, beta,
		    NULL);
	else
		sgemm(op, c, a, b, M, N, K, lda, ldb, ldc, alpha, beta);
}

void
blas_gemm1(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	gemm1(op, c, a, NULL, b, NULL, M, N, K, lda, ldb, ldc, alpha, beta);
}

void
blas_gemm1_a16(int op, float *c, const uint16_t *a, const float *b,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta)
{
	gemm1(op, c, NULL, a, b, NULL, M, N, K, lda, ldb, ldc, alpha, beta);
}

void
blas_gemm1_16(int op, float *c, const uint16_t *a, const uint16_t *b,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta)
{
	gemm1(op, c, NULL, a, NULL, b, M, N, K, lda, ldb, ldc, alpha, beta);
}

/* blas_linear1 with x, or with x16's bf16 values */
static void
linear1(float *y, size_t ldy, const float *x, const uint16_t *x16,
    const float *w, const float *b, size_t M, size_t N, size_t K)
{
	if (M == 0 || N == 0)
		return;
	ready();
	if (b && prec == BLAS_PREC_BF16) {	/* sums from b's row */
		bf16_gemm_packed(bf16k[k.bf16].id, BLAS_NT, y, x, x16,
		    bpack(BLAS_NT, w, NULL, N, K, K), M, N, K, K, ldy, 1, 0,
		    b);
		return;
	}
	const float *fp = b && prec == BLAS_PREC_FP32 ? fpack(BLAS_NT, w, N,
	    K, K) : NULL;
	if (fp) {
		fp32_gemm_packed(BLAS_NT, y, x, fp, M, N, K, K, ldy, 1, 0, b);
		return;
	}
	for (size_t r = 0; b && r < M; r++)
		memcpy(y + r * ldy, b, N * sizeof *b);
	gemm1(BLAS_NT, y, x, x16, w, NULL, M, N, K, K, K, ldy, 1, b ? 1 : 0);
}

void
blas_linear1(float *y, size_t ldy, const float *x, const float *w,
    const float *b, size_t M, size_t N, size_t K)
{
	linear1(y, ldy, x, NULL, w, b, M, N, K);
}

void
blas_linear1_a16(float *y, size_t ldy, const uint16_t *x, const float *w,
    const float *b, size_t M, size_t N, size_t K)
{
	linear1(y, ldy, NULL, x, w, b, M, N, K);
}

int
blas_attention1(float *y, size_t ldy, const float *q, const float *kk,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias)
{
	ready();
	return k.own && prec == BLAS_PREC_FP32 &&
	    fp32_attention(y, ldy, q, kk, v, ld, T, HS, scale, bias);
}

/* Split the rows of c into one block per thread, rounded to 16 rows; row
 * m0 of c is row m0 of a, or column m0 of a^T.  A packed op(b) (bf16, or
 * fp32 weights) is packed once and shared. */
void
blas_gemm(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	int bf = prec == BLAS_PREC_BF16 && !(op & BLAS_F32);
	size_t nb = (size_t)nthreads, bs = (M + nb - 1) / nb;
	const uint16_t *bp = NULL;
	const float *fp = NULL;

	op &= ~BLAS_F32;
	if (M == 0 || N == 0)
		return;
	ready();
	if (bf)
		bp = bpack(op, b, NULL, N, K, ldb);
	else
		fp = fpack(op, b, N, K, ldb);
	bs = bs ? (bs + 15) / 16 * 16 : 16;
	nb = (M + bs - 1) / bs;
	#pragma omp parallel for schedule(static) if (nb > 1)
	for (size_t i = 0; i < nb; i++) {
		size_t m0 = i * bs, m = M - m0 < bs ? M - m0 : bs;
		const float *ai = a + m0 * (op == BLAS_TN ? 1 : lda);
		if (bf)
			bf16_gemm_packed(bf16k[k.bf16].id, op, c + m0 * ldc,
			    ai, NULL, bp, m, N, K, lda, ldc, alpha, beta, NULL);
		else if (fp)
			fp32_gemm_packed(op, c + m0 * ldc, ai, fp, m, N, K,
			    lda, ldc, alpha, beta, NULL);
		else
			sgemm(op, c + m0 * ldc, ai, b, m, N, K, lda, ldb, ldc,
			    alpha, beta);
	}
}

void
blas_gemm_ref(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta)
{
	op &= ~BLAS_F32;
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
