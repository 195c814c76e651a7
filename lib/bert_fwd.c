/* bert_fwd: size tables, the arena, and the forward pass. */
#include <sys/mman.h>

#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_DROP 1
#define AVX512DQBW __attribute__((target("avx512f,avx512dq,avx512bw")))
#endif

#include "bert.h"
#include "bf16.h"
#include "cpu.h"
#include "tensor.h"
#include "util.h"
#include "vec.h"

/* GCC's -O2 vectorizes only loops whose trip count is a known multiple of
 * the vector width (clang's vectorizes any); the row loops here have any. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

static const char *const pnames[BERT_NPARAM] = {
	"wte", "wpe", "wtt", "emb_lng", "emb_lnb", "qkvw", "qkvb", "attprojw",
	"attprojb", "ln1g", "ln1b", "fcw", "fcb", "fcprojw", "fcprojb", "ln2g",
	"ln2b", "poolw", "poolb", "relb",
};

const char *
bert_param_name(int i)
{
	return i >= 0 && i < BERT_NPARAM ? pnames[i] : "?";
}

int
bert_param_decay(int i)
{
	switch (i) {
	case BERT_WTE: case BERT_WPE: case BERT_WTT: case BERT_QKVW:
	case BERT_ATTPROJW: case BERT_FCW: case BERT_FCPROJW:
		return 1;
	default:
		return 0;
	}
}

void
bert_sizes(const struct bert_config *c, size_t Bmax, size_t Tmax, size_t Nmax,
    int flags, size_t nthr, size_t ps[BERT_NPARAM], size_t as[BERT_NACT],
    size_t ds[BERT_NDACT])
{
	size_t V = c->V, P = c->P, TV = c->TV, C = c->C, L = c->L, F = c->F;
	size_t N = Nmax, B = Bmax;
	int gr = (flags & BERT_GRADS) != 0;
	int a16 = gr && (flags & BERT_ACT16);
	size_t Lk = gr ? L : 1, L32 = a16 ? 1 : Lk;	/* fp32 slices */
	size_t big = F > 4 * C ? F : 4 * C;

	ps[BERT_WTE] = V * C;
	ps[BERT_WPE] = P * C;
	ps[BERT_WTT] = TV * C;
	ps[BERT_EMB_LNG] = C;
	ps[BERT_EMB_LNB] = C;
	ps[BERT_QKVW] = L * 3 * C * C;
	ps[BERT_QKVB] = L * 3 * C;
	ps[BERT_ATTPROJW] = L * C * C;
	ps[BERT_ATTPROJB] = L * C;
	ps[BERT_LN1G] = L * C;
	ps[BERT_LN1B] = L * C;
	ps[BERT_FCW] = L * F * C;
	ps[BERT_FCB] = L * F;
	ps[BERT_FCPROJW] = L * C * F;
	ps[BERT_FCPROJB] = L * C;
	ps[BERT_LN2G] = L * C;
	ps[BERT_LN2B] = L * C;
	ps[BERT_POOLW] = c->has_pooler ? C * C : 0;
	ps[BERT_POOLB] = c->has_pooler ? C : 0;
	ps[BERT_RELB] = c->NB * c->NH;

	as[BERT_A_EMB] = N * C;
	as[BERT_A_X0] = N * C;
	as[BERT_A_EMB_MEAN] = N;
	as[BERT_A_EMB_RSTD] = N;
	as[BERT_A_QKV] = L32 * N * 3 * C;
	as[BERT_A_ATT] = nthr * (gr ? bert_attn_scratch(Tmax) : Tmax * Tmax +
	    Tmax);
	as[BERT_A_ATTY] = L32 * N * C;
	as[BERT_A_RES1] = Lk * N * C;
	as[BERT_A_LN1] = Lk * N * C;
	as[BERT_A_LN1_MEAN] = Lk * N;
	as[BERT_A_LN1_RSTD] = Lk * N;
	as[BERT_A_FCH] = L32 * N * F;
	as[BERT_A_RES2] = Lk * N * C;
	as[BERT_A_LN2] = Lk * N * C;
	as[BERT_A_LN2_MEAN] = Lk * N;
	as[BERT_A_LN2_RSTD] = Lk * N;
	as[BERT_A_POOLED] = B * C;
	as[BERT_A_OUT] = B * C;
	as[BERT_A_NORM] = B;
	as[BERT_A_QKV16] = (Lk * N * 3 * C + 1) / 2 * (a16 || !gr);
	as[BERT_A_ATTY16] = (Lk * N * C + 1) / 2 * (a16 || !gr);
	as[BERT_A_FCH16] = a16 ? (L * N * F + 1) / 2 : 0;

	ds[BERT_D_X] = gr ? N * C : 0;
	ds[BERT_D_LN] = gr ? N * C : 0;
	ds[BERT_D_BIG] = gr ? N * big : 0;
	ds[BERT_D_POOLED] = gr ? B * C : 0;
}

#define ALIGN16(n) (((n) + 15) / 16 * 16)

static void
params_point(struct bert_params *p, float *base, const size_t *off)
{
	float **ptr[BERT_NPARAM] = {
		&p->wte, &p->wpe, &p->wtt, &p->emb_lng, &p->emb_lnb, &p->qkvw,
		&p->qkvb, &p->attprojw, &p->attprojb, &p->ln1g, &p->ln1b,
		&p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb, &p->ln2g, &p->ln2b,
		&p->poolw, &p->poolb, &p->relb,
	};
	for (int i = 0; i < BERT_NPARAM; i++)
		*ptr[i] = base ? base + off[i] : NULL;
}

void
bert_alloc(struct bert_model *m, const struct bert_config *cfg, size_t Bmax,
    size_t Tmax, size_t Nmax, int flags)
{
	size_t i, np = 0, na = 0, nd = 0, total;
	float *q;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	if (Tmax > bert_max_len(cfg))
		Tmax = bert_max_len(cfg);
	if (Bmax == 0 || Tmax == 0 || Nmax == 0 || cfg->NH == 0 ||
	    cfg->C % cfg->NH != 0)
		errx(EXIT_SOFTWARE, "bert_alloc: bad dimensions");
	m->Bmax = Bmax;
	m->Tmax = Tmax;
	m->Nmax = Nmax;
	m->flags = flags;
	m->nthr = blas_nthreads();
	bert_sizes(cfg, Bmax, Tmax, Nmax, flags, (size_t)m->nthr, m->psize,
	    m->asize, m->dsize);
	for (i = 0; i < BERT_NPARAM; i++) {
		m->poff[i] = np;
		np += m->psize[i];
	}
	m->poff[BERT_NPARAM] = np;
	m->nparams = np;
	for (i = 0; i < BERT_NACT; i++)
		na += ALIGN16(m->asize[i]);
	for (i = 0; i < BERT_NDACT; i++)
		nd += ALIGN16(m->dsize[i]);
	np = ALIGN16(np);
	total = np;
	if (flags & BERT_GRADS)
		total += np;
	if (flags & BERT_ADAM)
		total += 2 * np;
	total += na + nd;
	/* anonymous pages: zeroed and page-aligned.  An inference arena's are
	 * resident only once used (a batch shorter than the maximum never
	 * touches the rest, and it may read another's weights through
	 * bert_share_params).  Training writes all its parameters, gradients
	 * and moments, and its activations at the longest batch: its arena
	 * is made writable now, in the mmap, rather than by a fault a page (a
	 * read first maps the zero page, and the write after it faults again
	 * and flushes the other thread's TLB; all-mpnet-base-v2's first step
	 * faulted in 8 GB of activations: populating made a 2-step run 7%
	 * faster on a KVM guest, the steps' loop 10%) */
	m->memlen = total * sizeof(float);
	m->mem = mmap(NULL, m->memlen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS |
	    (flags & BERT_GRADS ? MAP_POPULATE : 0), -1, 0);
	if (m->mem == MAP_FAILED)
		err(EXIT_SOFTWARE, "allocate %zu bytes for the model", m->memlen);
	q = m->mem;
	m->params = q;
	q += np;
	if (flags & BERT_GRADS) {
		m->grads = q;
		q += np;
	}
	if (flags & BERT_ADAM) {
		m->adam_m = q;
		q += np;
		m->adam_v = q;
		q += np;
	}
	params_point(&m->p, m->params, m->poff);
	params_point(&m->g, m->grads, m->poff);
	/* bf16 products pack the weights once, until they change */
	blas_weights(m->params, m->nparams);

	float *q16[3];
	float **ap[BERT_NACT] = {
		&m->a.emb, &m->a.x0, &m->a.emb_mean, &m->a.emb_rstd, &m->a.qkv,
		&m->a.att, &m->a.atty, &m->a.res1, &m->a.ln1, &m->a.ln1_mean,
		&m->a.ln1_rstd, &m->a.fch, &m->a.res2, &m->a.ln2,
		&m->a.ln2_mean, &m->a.ln2_rstd, &m->a.pooled, &m->a.out,
		&m->a.norm, &q16[0], &q16[1], &q16[2],
	};
	for (i = 0; i < BERT_NACT; i++) {
		*ap[i] = m->asize[i] ? q : NULL;
		q += ALIGN16(m->asize[i]);
	}
	m->a.qkv16 = (uint16_t *)(void *)q16[0];
	m->a.atty16 = (uint16_t *)(void *)q16[1];
	m->a.fch16 = (uint16_t *)(void *)q16[2];
	float **dp[BERT_NDACT] = {
		&m->d.dx, &m->d.dln, &m->d.big, &m->d.dpooled,
	};
	for (i = 0; i < BERT_NDACT; i++) {
		*dp[i] = m->dsize[i] ? q : NULL;
		q += ALIGN16(m->dsize[i]);
	}
	m->len = xcalloc(Bmax, sizeof(size_t));
	m->pool_skip = xcalloc(Bmax, sizeof(size_t));
	m->off = xcalloc(Bmax + 1, sizeof(size_t));
	m->attoff = xcalloc(Bmax + 1, sizeof(size_t));
	m->pos = xcalloc(Nmax, sizeof(size_t));
	if (cfg->NB > 0) {
		size_t nr = 2 * Tmax - 1;
		m->relbkt = xcalloc(nr, sizeof(size_t));
		for (i = 0; i < nr; i++)
			m->relbkt[i] = bert_rel_bucket((long)i - (long)(Tmax - 1),
			    cfg->NB, BERT_MPNET_MAXDIST);
		m->relbias = xcalloc(cfg->NH * nr, sizeof(float));
		if (flags & BERT_GRADS)
			m->drelbias = xcalloc(Bmax * cfg->NH * nr, sizeof(float));
	}
}

size_t
bert_max_len(const struct bert_config *cfg)
{
	if (cfg->arch == BERT_ARCH_MPNET)
		return cfg->P > BERT_MPNET_PAD + 1 ? cfg->P - BERT_MPNET_PAD - 1 : 0;
	return cfg->P;
}

size_t
bert_rel_bucket(long rel, size_t NB, size_t maxdist)
{
	long n = -rel, half = (long)NB / 2, exact = half / 2;
	size_t ret = n < 0 ? (size_t)half : 0;

	n = n < 0 ? -n : n;
	if (n < exact)
		return ret + (size_t)n;
	/* float32 throughout, as torch computes it */
	float f = logf((float)n / (float)exact) /
	    (float)log((double)maxdist / (double)exact) * (float)(half - exact);
	long v = exact + (long)f;
	return ret + (size_t)(v < half - 1 ? v : half - 1);
}

void
bert_share_params(struct bert_model *m, const struct bert_model *src)
{
	blas_weights_forget(m->params);	/* its own are not used now */
	m->params = src->params;
	params_point(&m->p, m->params, m->poff);
}

void
bert_skip(struct bert_model *m, size_t k)
{
	for (size_t b = 0; b < m->Bmax; b++)
		m->pool_skip[b] = k;
}

void
bert_free(struct bert_model *m)
{
	if (m->mem) {	/* its weights, unless it shares another model's */
		if ((char *)m->params >= (char *)m->mem &&
		    (char *)m->params < (char *)m->mem + m->memlen)
			blas_weights_forget(m->params);
		munmap(m->mem, m->memlen);
	}
	free(m->len);
	free(m->pool_skip);
	free(m->off);
	free(m->attoff);
	free(m->pos);
	free(m->relbkt);
	free(m->relbias);
	free(m->drelbias);
	memset(m, 0, sizeof(*m));
}

/* ---- kernels: row-block pieces (rows [r0, r1), or elements [i0, i1)) that
 * the fused forward runs per thread, and the single kernels over them */

void
bert_embed_fwd(float *out, const uint32_t *ids, const size_t *off, size_t B,
    const float *wte, const float *wpe, const float *wtt, size_t C)
{
	for (size_t b = 0; b < B; b++) {
		for (size_t r = off[b]; r < off[b + 1]; r++) {
			const float *w = wte + (size_t)ids[r] * C;
			const float *p = wpe + (r - off[b]) * C;
			float *o = out + r * C;
			for (size_t i = 0; i < C; i++)
				o[i] = w[i] + p[i] + wtt[i];
		}
	}
}

static void
rows_ln(float *y, float *mean, float *rstd, const float *x, const float *g,
    const float *b, size_t r0, size_t r1, size_t C, float eps)
{
	for (size_t r = r0; r < r1; r++)
		vec_layernorm(y + r * C, mean + r, rstd + r, x + r * C, g, b, C,
		    eps);
}

void
bert_layernorm_fwd(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t N, size_t C, float eps)
{
	rows_ln(y, mean, rstd, x, g, b, 0, N, C, eps);
}

/* Rows at a time, of n, for a row-wise step with the weights w whose
 * widest activation has width floats.  Where the products pack w once
 * (bf16, and fp32 on fp32.h's kernels), blocks whose activations stay in
 * cache (blas_block_floats, a multiple of the micro-kernel's rows): a small
 * block then costs nothing more, and a pass over a thread's whole block
 * went to memory (GELU alone took 5% of an encode).  Else all n: OpenBLAS
 * packs the weights in every call. */
static size_t
block_rows(const float *w, size_t width, size_t n)
{
	size_t g = blas_block_rows();
	size_t r = blas_block_floats() / (width ? width : 1) / g * g;
	if (!blas_packs_weights(w))
		return n ? n : 1;
	return r < g ? g : r;
}

/* this thread's bf16 scratch i (0 or 1) of n values, grown and kept */
static uint16_t *
scratch16(int i, size_t n)
{
	static _Thread_local uint16_t *p[2];
	static _Thread_local size_t cap[2];

	p[i] = xgrow(p[i], &cap[i], n * sizeof *p[i]);
	return p[i];
}

/* y = x w^T + b (b may be NULL) on rows [r0, r1), x from x16's bf16
 * where it is not NULL, and y16 (not NULL) y's bf16 values, each block
 * converted while it is in cache */
static void
rows_linear(float *y, uint16_t *y16, const float *x, const uint16_t *x16,
    const float *w, const float *b, size_t r0, size_t r1, size_t C,
    size_t OC)
{
	size_t rb = block_rows(w, OC, r1 - r0);
	for (size_t q0 = r0; q0 < r1; q0 += rb) {
		size_t q1 = r1 - q0 < rb ? r1 : q0 + rb;
		if (x16)
			blas_linear1_a16(y + q0 * OC, OC, x16 + q0 * C, w, b,
			    q1 - q0, OC, C);
		else
			blas_linear1(y + q0 * OC, OC, x + q0 * C, w, b,
			    q1 - q0, OC, C);
		if (y16)
			bf16_convert(y16 + q0 * OC, y + q0 * OC, (q1 - q0) *
			    OC);
	}
}

void
bert_linear_fwd(float *y, const float *x, const float *w, const float *b,
    size_t N, size_t C, size_t OC)
{
	rows_linear(y, NULL, x, NULL, w, b, 0, N, C, OC);
}

/* softmax of each of T rows of length T, in place */
static void
softmax_rows(float *s, size_t T)
{
	for (size_t i = 0; i < T; i++)
		vec_softmax(s + i * T, T);
}

void
bert_attn_probs(float *s, const float *qkv, size_t T, size_t C, size_t NH,
    size_t h, const float *bias)
{
	size_t HS = C / NH;
	const float *q = qkv + h * HS;
	blas_gemm1(BLAS_NT, s, q, q + C, T, T, HS, 3 * C, 3 * C, T,
	    1.0f / sqrtf((float)HS), 0.0f);
	if (bias)	/* relative position bias: row i gets bias[j - i] */
		for (size_t i = 0; i < T; i++)
			for (size_t j = 0; j < T; j++)
				s[i * T + j] += bias[(ptrdiff_t)j - (ptrdiff_t)i];
	softmax_rows(s, T);
}

/* y (T, HS) = P v with P = softmax(scale q k^T + bias) made row by row
 * without its division, each row of the product divided by its sum
 * instead (T divisions, not T^2); s: T^2 + T floats.  q16 (not NULL: in
 * bf16, HS a multiple of 32) holds q, k and v in bf16 as qkv holds them:
 * the products read them there */
static void
attn_rows(float *y, uint16_t *y16, size_t ldy, float *s, const float *q,
    const float *k, const float *v, const uint16_t *q16, size_t ld,
    size_t T, size_t HS, float scale, const float *bias)
{
	float *sum = s + T * T;

	/* in bf16, each row of exps converted while it is in L1, into rows
	 * of whole AMX tiles that the product reads in place */
	size_t Tp = (T + 31) / 32 * 32;
	uint16_t *p16 = blas_precision() == BLAS_PREC_BF16 ?
	    scratch16(0, T * Tp) : NULL;

	/* the scale in the exps, where no bias comes between */
	if (q16)
		blas_gemm1_16(BLAS_NT, s, q16, q16 + (k - q), T, T, HS, ld, ld,
		    T, bias ? scale : 1.0f, 0.0f);
	else
		blas_gemm1(BLAS_NT, s, q, k, T, T, HS, ld, ld, T,
		    bias ? scale : 1.0f, 0.0f);
	for (size_t i = 0; bias && i < T; i++)
		for (size_t j = 0; j < T; j++)
			s[i * T + j] += bias[(ptrdiff_t)j - (ptrdiff_t)i];
	for (size_t i = 0; i < T; i++) {
		sum[i] = 1.0f / vec_softmax_exps(s + i * T, T, bias ? 1.0f :
		    scale);
		if (p16) {
			bf16_convert(p16 + i * Tp, s + i * T, T);
			memset(p16 + i * Tp + T, 0, (Tp - T) * sizeof *p16);
		}
	}
	if (q16)
		blas_gemm1_16(BLAS_NN, y, p16, q16 + (v - q), T, HS, T, Tp, ld,
		    ldy, 1.0f, 0.0f);
	else if (p16)
		blas_gemm1_a16(BLAS_NN, y, p16, v, T, HS, T, Tp, ld, ldy, 1.0f,
		    0.0f);
	else
		blas_gemm1(BLAS_NN, y, s, v, T, HS, T, T, ld, ldy, 1.0f, 0.0f);
	for (size_t i = 0; i < T; i++) {
		for (size_t j = 0; j < HS; j++)
			y[i * ldy + j] *= sum[i];
		if (y16)
			bf16_convert(y16 + i * ldy, y + i * ldy, HS);
	}
}

/* one (sequence, head) of the attention forward; s: this thread's
 * scratch; qkv16: qkv in bf16, or NULL; y16 (not NULL, with qkv16): y's
 * bf16 values, where the head's products read q, k and v from qkv16 */
static void
attn_bh(float *y, uint16_t *y16, float *s, const float *qkv,
    const uint16_t *qkv16, const size_t *off, const size_t *attoff,
    size_t C, size_t NH, size_t Tmax, float p, uint64_t seed, size_t bh,
    const float *relbias)
{
	size_t HS = C / NH, b = bh / NH, h = bh % NH, T = off[b + 1] - off[b];
	const float *qb = qkv + off[b] * 3 * C;
	const float *bias = relbias ? relbias + h * (2 * Tmax - 1) + Tmax - 1 :
	    NULL;
	const float *q = qb + h * HS, *k = q + C, *v = q + 2 * C;
	float scale = 1.0f / sqrtf((float)HS);

	y += off[b] * C + h * HS;
	if (p == 0) {
		const uint16_t *q16 = qkv16 && HS % 32 == 0 ? qkv16 + off[b] *
		    3 * C + h * HS : NULL;
		if (!blas_attention1(y, C, q, k, v, 3 * C, T, HS, scale, bias))
			attn_rows(y, y16 && q16 ? y16 + off[b] * C + h * HS :
			    NULL, C, s, q, k, v, q16, 3 * C, T, HS, scale,
			    bias);
		return;
	}
	bert_attn_probs(s, qb, T, C, NH, h, bias);
	bert_drop(s + Tmax * Tmax, s, T * T, p, seed, attoff[b] + h * T * T);
	blas_gemm1(BLAS_NN, y, s + Tmax * Tmax, v, T, HS, T, T, 3 * C, C, 1.0f,
	    0.0f);
}

void
bert_attention_fwd(float *y, float *scr, const float *qkv, const size_t *off,
    const size_t *attoff, size_t B, size_t C, size_t NH, size_t Tmax, float p,
    uint64_t seed, const float *relbias)
{
	for (size_t bh = 0; bh < B * NH; bh++)
		attn_bh(y, NULL, scr, qkv, NULL, off, attoff, C, NH, Tmax, p,
		    seed, bh, relbias);
}

void
bert_phi(float *out, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = x[i] * (float)M_SQRT1_2;
	vec_erf(out, out, n);
	for (size_t i = 0; i < n; i++)
		out[i] = 0.5f + 0.5f * out[i];
}

void
bert_pdf(float *out, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = -0.5f * x[i] * x[i];
	vec_exp(out, out, n);
	for (size_t i = 0; i < n; i++)
		out[i] *= 0.3989422804014327f;	/* 1/sqrt(2 pi) */
}

void
bert_rows_gelu(float *y, const float *x, size_t i0, size_t i1)
{
	vec_gelu(y + i0, x + i0, i1 - i0);
}

void
bert_gelu_fwd(float *y, const float *x, size_t n)
{
	bert_rows_gelu(y, x, 0, n);
}

#ifdef HAVE_AVX512_DROP
/* bert_mix on 8 lanes */
AVX512DQBW static inline __m512i
mix8(__m512i z)
{
	z = _mm512_add_epi64(z, _mm512_set1_epi64((long long)BERT_MIX_ADD));
	z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
	    _mm512_set1_epi64((long long)BERT_MIX_MUL1));
	z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
	    _mm512_set1_epi64((long long)BERT_MIX_MUL2));
	return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

/* bert_drop's groups q, q + 1, ... on AVX-512, 8 hashes (32 elements) at a
 * time: the 16-bit field f of hash k is word 4k + f of the register, the
 * element's own place; returns the elements done */
AVX512DQBW static size_t
drop_avx512(float *y, const float *x, size_t n, float pk, unsigned thr,
    uint64_t seed, size_t q)
{
	const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
	const __m512i mul = _mm512_set1_epi64((long long)BERT_HASH_MUL);
	const __m512i vs = _mm512_set1_epi64((long long)seed);
	const __m512i vt = _mm512_set1_epi16((short)thr);
	const __m512 vk = _mm512_set1_ps(pk);
	size_t i = 0;

	for (; i + 32 <= n; i += 32, q += 8) {
		__m512i g = _mm512_add_epi64(_mm512_set1_epi64((long long)q),
		    lane);
		__m512i h = mix8(_mm512_xor_si512(vs, _mm512_mullo_epi64(g,
		    mul)));
		__mmask32 keep = _mm512_cmpge_epu16_mask(h, vt);
		_mm512_storeu_ps(y + i, _mm512_maskz_mul_ps((__mmask16)keep,
		    _mm512_loadu_ps(x + i), vk));
		_mm512_storeu_ps(y + i + 16, _mm512_maskz_mul_ps(
		    (__mmask16)(keep >> 16), _mm512_loadu_ps(x + i + 16), vk));
	}
	return i;
}

#endif

void
bert_drop(float *y, const float *x, size_t n, float p, uint64_t seed,
    size_t base)
{
	float pk = 1.0f / (1.0f - p);
	unsigned thr = bert_drop_thr(p);
	size_t i = 0;
	/* to a multiple of 4, then 4 elements from each hash */
	for (; i < n && (base + i) % 4; i++)
		y[i] = bert_keep(seed, base + i, p) ? x[i] * pk : 0.0f;
#ifdef HAVE_AVX512_DROP
	if (thr <= 0xffff && cpu_has_avx512(cpu_get()))
		i += drop_avx512(y + i, x + i, n - i, pk, thr, seed,
		    (base + i) / 4);
#endif
	for (; i + 4 <= n; i += 4) {
		/* without branches: they would be mispredicted p of the time */
		uint64_t h = bert_hash4(seed, (base + i) / 4);
#ifdef __SSE2__
		__m128i f = _mm_unpacklo_epi16(_mm_cvtsi64_si128((long long)h),
		    _mm_setzero_si128());	/* the 4 fields, 0 to 3 */
		__m128i keep = _mm_cmpgt_epi32(f, _mm_set1_epi32((int)thr - 1));
		__m128 v = _mm_mul_ps(_mm_loadu_ps(x + i), _mm_set1_ps(pk));
		_mm_storeu_ps(y + i, _mm_and_ps(v, _mm_castsi128_ps(keep)));
#else
		for (unsigned u = 0; u < 4; u++) {
			float v = x[i + u] * pk;
			uint32_t bits;
			memcpy(&bits, &v, sizeof bits);
			bits &= -(uint32_t)((h >> (16 * u) & 0xffff) >= thr);
			memcpy(&y[i + u], &bits, sizeof bits);
		}
#endif
	}
	for (; i < n; i++)
		y[i] = bert_keep(seed, base + i, p) ? x[i] * pk : 0.0f;
}

void
bert_dropout_fwd(float *x, size_t n, float p, uint64_t seed)
{
	bert_drop(x, x, n, p, seed, 0);
}

void
bert_pool_fwd(float *pooled, const float *h, const size_t *off, size_t B,
    size_t C, int mode)
{
	for (size_t b = 0; b < B; b++) {
		size_t T = off[b + 1] - off[b];
		const float *hb = h + off[b] * C;
		float *o = pooled + b * C;
		if (mode == BERT_POOL_CLS) {
			memcpy(o, hb, C * sizeof(float));
		} else if (mode == BERT_POOL_MAX) {
			memcpy(o, hb, C * sizeof(float));
			for (size_t t = 1; t < T; t++)
				for (size_t i = 0; i < C; i++)
					if (hb[t * C + i] > o[i])
						o[i] = hb[t * C + i];
		} else {
			float div = mode == BERT_POOL_MEAN_SQRT ?
			    sqrtf((float)T) : (float)T;
			memset(o, 0, C * sizeof(float));
			for (size_t t = 0; t < T; t++)
				for (size_t i = 0; i < C; i++)
					o[i] += hb[t * C + i];
			for (size_t i = 0; i < C; i++)
				o[i] /= div;
		}
	}
}

void
bert_l2norm_fwd(float *y, float *norm, const float *x, size_t B, size_t C)
{
	for (size_t b = 0; b < B; b++) {
		double s = 0;
		for (size_t i = 0; i < C; i++)
			s += (double)x[b * C + i] * x[b * C + i];
		float n = (float)sqrt(s);
		norm[b] = n;
		float d = n > 1e-12f ? n : 1e-12f;
		for (size_t i = 0; i < C; i++)
			y[b * C + i] = x[b * C + i] / d;
	}
}

/* res, a sublayer's product on rows [q0, q1) (C wide), dropped out (site
 * seed ds), plus resid; y = LN(res) */
static void
rows_close(float *res, float *y, float *mean, float *rstd,
    const float *resid, const float *g, const float *lb, size_t q0,
    size_t q1, size_t C, float p, uint64_t ds, float eps)
{
	if (p > 0)
		bert_drop(res + q0 * C, res + q0 * C, (q1 - q0) * C, p, ds,
		    q0 * C);
	for (size_t i = q0 * C; i < q1 * C; i++)
		res[i] += resid[i];
	rows_ln(y, mean, rstd, res, g, lb, q0, q1, C, eps);
}

/* res = in w^T + b (in from in16's bf16 where it is not NULL), dropped
 * out (site seed ds), plus resid; y = LN(res): a sublayer's output on
 * rows [r0, r1) (IC inputs, C outputs) */
static void
rows_sublayer(float *res, float *y, float *mean, float *rstd, const float *in,
    const uint16_t *in16, const float *w, const float *b, const float *resid,
    const float *g, const float *lb, size_t r0, size_t r1, size_t IC,
    size_t C, float p, uint64_t ds, float eps)
{
	size_t rb = block_rows(w, C, r1 - r0);
	for (size_t q0 = r0; q0 < r1; q0 += rb) {
		size_t q1 = r1 - q0 < rb ? r1 : q0 + rb;
		rows_linear(res, NULL, in, in16, w, b, q0, q1, IC, C);
		rows_close(res, y, mean, rstd, resid, g, lb, q0, q1, C, p, ds,
		    eps);
	}
}

/* Layer l's FFN on rows [r0, r1): fch = ln1 W1^T + b1 (kept for the
 * backward, rounded to bf16 in a bf16 training forward, as autocast
 * does, and copied to fch16 where that is kept), fchg = GELU(fch) (fch
 * itself outside training), res2 = fchg W2^T + b2, then dropout, the
 * residual ln1 and LayerNorm into ln2.  By blocks of rows whose (rows,
 * F) activations stay in cache; where the kernel asks for slices of the
 * weights (blas_weight_slice), by blocks of 4 kernel blocks of rows and
 * slices of F: each slice of W1's rows and of W2's columns is read from
 * L3 once for the block, its activations stay in L2, and res2 sums the
 * slices in the order one product over F would (the same bits). */
static void
rows_ffn(struct bert_model *m, size_t l, size_t r0, size_t r1, float hp)
{
	const struct bert_config *c = &m->cfg;
	const struct bert_params *p = &m->p;
	struct bert_acts *a = &m->a;
	size_t C = c->C, F = c->F, Nx = m->Nmax;
	int gr = (m->flags & BERT_GRADS) != 0, a16 = bert_act16(m);
	int b16 = gr && blas_precision() == BLAS_PREC_BF16;
	size_t k = gr ? l : 0, k32 = bert_slot32(m, l);
	const float *ln1 = a->ln1 + k * Nx * C;
	float *fch = a->fch + k32 * Nx * F, *fchg = gr ? m->d.big : fch;
	float *res2 = a->res2 + k * Nx * C, *ln2 = a->ln2 + k * Nx * C;
	const float *w1 = p->fcw + l * F * C, *b1 = p->fcb + l * F;
	const float *w2 = p->fcprojw + l * C * F, *b2 = p->fcprojb + l * C;
	size_t fs = blas_weight_slice(w1), rb;

	rb = fs ? 4 * blas_block_rows() : block_rows(w1, F, r1 - r0);
	fs = fs && fs < F ? fs : F;
	for (size_t q0 = r0; q0 < r1; q0 += rb) {
		size_t q1 = r1 - q0 < rb ? r1 : q0 + rb, n = q1 - q0;
		float *o = res2 + q0 * C;
		/* in bf16, the block's rows converted once for its slices */
		uint16_t *x16 = fs < F && blas_precision() == BLAS_PREC_BF16 ?
		    scratch16(0, n * C) : NULL;
		if (x16)
			bf16_convert(x16, ln1 + q0 * C, n * C);
		for (size_t r = 0; r < n; r++)
			memcpy(o + r * C, b2, C * sizeof *o);
		for (size_t f0 = 0; f0 < F; f0 += fs) {
			/* the slice's (n, f) values end to end; where fch
			 * keeps them for the backward (fp32 activations),
			 * they are copied into its rows */
			size_t f = F - f0 < fs ? F - f0 : fs;
			int keep = gr && !a16 && f < F;
			float *h = (keep ? fchg : fch) + q0 * F;
			float *g = gr ? fchg + q0 * F : h;
			if (x16)
				blas_linear1_a16(h, f, x16, w1 + f0 * C,
				    b1 + f0, n, f, C);
			else
				blas_linear1(h, f, ln1 + q0 * C, w1 + f0 * C,
				    b1 + f0, n, f, C);
			for (size_t r = 0; (b16 || keep) && r < n; r++) {
				if (b16)	/* as autocast in training */
					bf16_trim(h + r * f, a16 ? a->fch16 +
					    (l * Nx + q0 + r) * F + f0 : NULL, f);
				if (keep)
					memcpy(fch + (q0 + r) * F + f0,
					    h + r * f, f * sizeof *h);
			}
			if (!x16) {
				bert_rows_gelu(g, h, 0, n * f);
				blas_gemm1(BLAS_NT, o, g, w2 + f0, n, C, f, f,
				    F, C, 1, 1);
				continue;
			}
			/* each row converted while it is in L1 */
			uint16_t *g16 = scratch16(1, n * f);
			for (size_t r = 0; r < n; r++) {
				bert_rows_gelu(g, h, r * f, (r + 1) * f);
				bf16_convert(g16 + r * f, g + r * f, f);
			}
			blas_gemm1_a16(BLAS_NT, o, g16, w2 + f0, n, C, f, f, F,
			    C, 1, 1);
		}
		rows_close(res2, ln2, a->ln2_mean + k * Nx, a->ln2_rstd +
		    k * Nx, ln1, p->ln2g + l * C, p->ln2b + l * C, q0, q1, C,
		    hp, bert_site_seed(m->seed, l, 3), c->eps);
	}
}

/* ---- the whole forward */

/* layer l's q, k and v in bf16, where the products are in bf16: kept for
 * the backward (BERT_ACT16), or the layer's (no gradients); else NULL */
static uint16_t *
qkv_16(const struct bert_model *m, size_t l)
{
	size_t N3 = m->Nmax * 3 * m->cfg.C;

	if (bert_act16(m))
		return m->a.qkv16 + l * N3;
	return !(m->flags & BERT_GRADS) &&
	    blas_precision() == BLAS_PREC_BF16 ? m->a.qkv16 : NULL;
}

/* layer l's q, k and v (and qkv_16) on rows [r0, r1), from x */
static void
rows_qkv(struct bert_model *m, size_t l, const float *x, size_t r0,
    size_t r1)
{
	size_t C = m->cfg.C, k = bert_slot32(m, l);

	rows_linear(m->a.qkv + k * m->Nmax * 3 * C, qkv_16(m, l), x, NULL,
	    m->p.qkvw + l * 3 * C * C, m->p.qkvb + l * 3 * C, r0, r1, C,
	    3 * C);
}

/* seed of dropout site k of layer l (l = L for the embeddings) */
uint64_t
bert_site_seed(uint64_t seed, size_t l, int k)
{
	return bert_mix(seed ^ bert_mix((uint64_t)l * 8 + (uint64_t)k + 1));
}

const float *
bert_hidden(const struct bert_model *m, size_t l)
{
	if (l == 0)
		return m->a.x0;
	if (l > m->cfg.L)
		return NULL;
	if (m->flags & BERT_GRADS)
		return m->a.ln2 + (l - 1) * m->Nmax * m->cfg.C;
	return l == m->cfg.L ? m->a.ln2 : NULL;
}

void
bert_forward(struct bert_model *m, const uint32_t *ids, const size_t *len,
    size_t B, int train, uint64_t seed)
{
	const struct bert_config *c = &m->cfg;
	size_t C = c->C, NH = c->NH, L = c->L, N, b;
	int gr = (m->flags & BERT_GRADS) != 0, a16 = bert_act16(m);
	size_t Nx = m->Nmax, ascr = m->asize[BERT_A_ATT] / (size_t)m->nthr;
	struct bert_params *p = &m->p;
	struct bert_acts *a = &m->a;
	float hp = train ? c->hidden_dropout : 0, ap = train ? c->attn_dropout : 0;

	if (B == 0 || B > m->Bmax)
		errx(EXIT_SOFTWARE, "bert_forward: %zu sequences (max %zu)", B,
		    m->Bmax);
	m->off[0] = m->attoff[0] = 0;
	for (b = 0; b < B; b++) {
		if (len[b] == 0 || len[b] > m->Tmax)
			errx(EXIT_SOFTWARE, "bert_forward: length %zu (max %zu)",
			    len[b], m->Tmax);
		m->len[b] = len[b];
		m->off[b + 1] = m->off[b] + len[b];
		m->attoff[b + 1] = m->attoff[b] + NH * len[b] * len[b];
	}
	N = m->off[B];
	if (N > m->Nmax)
		errx(EXIT_SOFTWARE, "bert_forward: %zu tokens (max %zu)", N,
		    m->Nmax);
	for (size_t r = 0; r < N; r++)
		if (ids[r] >= c->V)
			errx(EXIT_SOFTWARE, "bert_forward: token id %u >= %zu",
			    ids[r], c->V);
	for (b = 0; b < B; b++)
		for (size_t r = m->off[b]; r < m->off[b + 1]; r++)
			m->pos[r] = r - m->off[b];
	if (c->arch == BERT_ARCH_MPNET)	/* RoBERTa's: padding_idx + 1 on,
					 * padding ids at padding_idx */
		for (b = 0; b < B; b++) {
			size_t k = BERT_MPNET_PAD;
			for (size_t r = m->off[b]; r < m->off[b + 1]; r++)
				m->pos[r] = ids[r] == BERT_MPNET_PAD ?
				    BERT_MPNET_PAD : ++k;
		}
	if (c->NB > 0)	/* the bias by relative position, for every layer */
		for (size_t h = 0; h < NH; h++)
			for (size_t k = 0; k < 2 * m->Tmax - 1; k++)
				m->relbias[h * (2 * m->Tmax - 1) + k] =
				    p->relb[m->relbkt[k] * NH + h];
	m->B = B;
	m->N = N;
	m->train = train;
	m->seed = seed;
	if (ap > 0 && !gr)
		ap = 0;		/* attention dropout needs the training arena */

	/* One parallel region: each thread owns a block of rows for every
	 * row-wise step (linear layers as single-threaded sgemm on its rows,
	 * LayerNorm, GELU, dropout, residuals); attention is shared out by
	 * (sequence, head).  Two barriers per layer. */
	#pragma omp parallel num_threads(m->nthr)
	{
		size_t nt, tid, r0, r1;
		THREAD_ID(nt, tid);
		bert_span(N, 1, nt, tid, &r0, &r1);
		const float *xl = a->x0;
		float *scr = a->att + tid * ascr;

		for (size_t r = r0; r < r1; r++) {
			const float *w = p->wte + (size_t)ids[r] * C;
			const float *pp = p->wpe + m->pos[r] * C;
			float *o = a->emb + r * C;
			for (size_t i = 0; i < C; i++)
				o[i] = w[i] + pp[i] + (c->TV ? p->wtt[i] : 0.0f);
		}
		rows_ln(a->x0, a->emb_mean, a->emb_rstd, a->emb, p->emb_lng,
		    p->emb_lnb, r0, r1, C, c->eps);
		if (hp > 0)
			bert_drop(a->x0 + r0 * C, a->x0 + r0 * C, (r1 - r0) * C,
			    hp, bert_site_seed(seed, L, 0), r0 * C);
		for (size_t l = 0; l < L; l++) {
			size_t k = gr ? l : 0, k32 = bert_slot32(m, l);
			float *qkv = a->qkv + k32 * Nx * 3 * C;
			float *atty = a->atty + k32 * Nx * C;
			float *res1 = a->res1 + k * Nx * C;
			float *ln1 = a->ln1 + k * Nx * C;
			float *ln1m = a->ln1_mean + k * Nx, *ln1r = a->ln1_rstd + k * Nx;
			float *ln2 = a->ln2 + k * Nx * C;

			uint16_t *qkv16 = qkv_16(m, l);
			/* the attention's output in bf16 for the product
			 * after it (and training's kept copy), where every
			 * head writes it: from qkv16, without dropout */
			uint16_t *atty16 = qkv16 && (C / NH) % 32 == 0 &&
			    (!gr || ap == 0) ? a->atty16 + (a16 ? l * Nx * C :
			    0) : NULL;

			rows_qkv(m, l, xl, r0, r1);
			#pragma omp barrier
			#pragma omp for schedule(dynamic, 1)
			for (size_t bh = 0; bh < B * NH; bh++)
				attn_bh(atty, atty16, scr, qkv, qkv16, m->off,
				    m->attoff, C, NH, m->Tmax, ap,
				    bert_site_seed(seed, l, 1), bh, m->relbias);
			if (a16 && !atty16)	/* this thread's rows */
				bf16_convert(a->atty16 + (l * Nx + r0) * C,
				    atty + r0 * C, (r1 - r0) * C);
			rows_sublayer(res1, ln1, ln1m, ln1r, atty, atty16,
			    p->attprojw + l * C * C, p->attprojb + l * C, xl,
			    p->ln1g + l * C, p->ln1b + l * C, r0, r1, C, C, hp,
			    bert_site_seed(seed, l, 2), c->eps);
			rows_ffn(m, l, r0, r1, hp);
			xl = ln2;
		}
	}
	const float *x = bert_hidden(m, L);
	if (bert_skipping(m, B))
		for (b = 0; b < B; b++) {	/* the prompt's ids left out */
			size_t k = m->pool_skip[b], o2[2] = {0, 0};
			if (m->len[b] > k)
				o2[1] = m->len[b] - k;
			else	/* nothing left: sentence-transformers' 0 / 1e-9 */
				memset(a->pooled + b * C, 0, C * sizeof(float));
			if (o2[1] > 0)
				bert_pool_fwd(a->pooled + b * C, x + (m->off[b] + k) * C,
				    o2, 1, C, c->pooling);
		}
	else
		bert_pool_fwd(a->pooled, x, m->off, B, C, c->pooling);
	if (c->normalize)
		bert_l2norm_fwd(a->out, a->norm, a->pooled, B, C);
	else
		memcpy(a->out, a->pooled, B * C * sizeof(float));
}
