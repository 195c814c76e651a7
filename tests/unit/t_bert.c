/* t_bert: finite-difference checks of every bert_*_bwd kernel, and the tiny
 * model's forward, per-layer hidden states and parameter gradients against
 * fixtures/ref/tiny.safetensors (PyTorch, fixtures/gen/gen_tiny.py); the
 * same for the tiny MPNet (fixtures/ref/tiny-mpnet.safetensors,
 * fixtures/gen/gen_tiny_mpnet.py), its relative position buckets and bias. */
#include "check.h"

#include "bert.h"
#include "model.h"
#include "st.h"
#include "tensor.h"
#include "util.h"

#define EPS 1e-3
#define ATOL 1e-4
#define RTOL 1e-2

/* ---- finite differences: L = sum r*y (double), central differences */

typedef void (*fwd_fn)(void *ctx);

static double
loss_of(const float *y, const float *r, size_t ny)
{
	double s = 0;
	for (size_t i = 0; i < ny; i++)
		s += (double)r[i] * y[i];
	return s;
}

static double fd_atol = ATOL;

static void
fd_check(const char *name, float *x, size_t n, const float *analytic,
    const float *y, size_t ny, const float *r, fwd_fn f, void *ctx)
{
	float *num = xmalloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		float save = x[i];
		x[i] = save + (float)EPS;
		f(ctx);
		double lp = loss_of(y, r, ny);
		x[i] = save - (float)EPS;
		f(ctx);
		double lm = loss_of(y, r, ny);
		x[i] = save;
		num[i] = (float)((lp - lm) / (2 * EPS));
	}
	f(ctx);
	check_close(name, analytic, num, n, fd_atol, RTOL);
	free(num);
}

static float *
rnd(size_t n, float scale)
{
	float *x = xmalloc((n ? n : 1) * sizeof(float));
	check_fill(x, n, scale);
	return x;
}

static float *
zeros(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

/* shapes: B=2 sequences of lengths 3 and 2, C=4 */
enum { B = 2, C = 4, N = 5, NH = 2, OC = 6, V = 7, P = 4 };
static const size_t off[B + 1] = {0, 3, 5};
static const size_t attoff[B + 1] = {0, NH * 9, NH * 9 + NH * 4};

/* embed */
struct ectx { float *y, *wte, *wpe, *wtt; const uint32_t *ids; };
static void
e_fwd(void *c)
{
	struct ectx *x = c;
	bert_embed_fwd(x->y, x->ids, off, B, x->wte, x->wpe, x->wtt, C);
}
static void
test_embed(void)
{
	static const uint32_t ids[N] = {2, 5, 2, 6, 0};
	struct ectx x = {zeros(N * C), rnd(V * C, 1), rnd(P * C, 1),
	    rnd(2 * C, 1), ids};
	float *r = rnd(N * C, 1), *dwte = zeros(V * C), *dwpe = zeros(P * C),
	    *dwtt = zeros(2 * C);
	e_fwd(&x);
	bert_embed_bwd(dwte, dwpe, dwtt, r, ids, off, B, C);
	fd_check("embed_bwd dwte", x.wte, V * C, dwte, x.y, N * C, r, e_fwd, &x);
	fd_check("embed_bwd dwpe", x.wpe, P * C, dwpe, x.y, N * C, r, e_fwd, &x);
	fd_check("embed_bwd dwtt", x.wtt, 2 * C, dwtt, x.y, N * C, r, e_fwd, &x);
}

/* layernorm */
struct lctx { float *y, *mean, *rstd, *x, *g, *b; };
static void
l_fwd(void *c)
{
	struct lctx *x = c;
	bert_layernorm_fwd(x->y, x->mean, x->rstd, x->x, x->g, x->b, N, C, 1e-5f);
}
static void
test_layernorm(void)
{
	struct lctx x = {zeros(N * C), zeros(N), zeros(N), rnd(N * C, 1),
	    rnd(C, 1), rnd(C, 1)};
	float *r = rnd(N * C, 1), *dx = zeros(N * C), *dg = zeros(C),
	    *db = zeros(C);
	l_fwd(&x);
	bert_layernorm_bwd(dx, dg, db, r, x.x, x.g, x.mean, x.rstd, N, C);
	fd_check("layernorm_bwd dx", x.x, N * C, dx, x.y, N * C, r, l_fwd, &x);
	fd_check("layernorm_bwd dg", x.g, C, dg, x.y, N * C, r, l_fwd, &x);
	fd_check("layernorm_bwd db", x.b, C, db, x.y, N * C, r, l_fwd, &x);
}

/* linear */
struct nctx { float *y, *x, *w, *b; };
static void
n_fwd(void *c)
{
	struct nctx *x = c;
	bert_linear_fwd(x->y, x->x, x->w, x->b, N, C, OC);
}
static void
test_linear(void)
{
	struct nctx x = {zeros(N * OC), rnd(N * C, 1), rnd(OC * C, 1),
	    rnd(OC, 1)};
	float *r = rnd(N * OC, 1), *dx = zeros(N * C), *dw = zeros(OC * C),
	    *db = zeros(OC), *want = zeros(N * OC);
	n_fwd(&x);
	/* forward against the naive loop */
	for (size_t i = 0; i < N; i++)
		memcpy(want + i * OC, x.b, OC * sizeof(float));
	blas_gemm_ref(BLAS_NT, want, x.x, x.w, N, OC, C, C, C, OC, 1, 1);
	check_close("linear_fwd vs ref", x.y, want, N * OC, 1e-6, 1e-5);
	bert_linear_bwd(dx, dw, db, r, x.x, x.w, N, C, OC);
	fd_check("linear_bwd dx", x.x, N * C, dx, x.y, N * OC, r, n_fwd, &x);
	fd_check("linear_bwd dw", x.w, OC * C, dw, x.y, N * OC, r, n_fwd, &x);
	fd_check("linear_bwd db", x.b, OC, db, x.y, N * OC, r, n_fwd, &x);
}

/* attention */
struct actx { float *y, *scr, *qkv; float p; const float *rb; };
static void
a_fwd(void *c)
{
	struct actx *x = c;
	bert_attention_fwd(x->y, x->scr, x->qkv, off, attoff, B, C, NH, 3, x->p,
	    77, x->rb);
}
static void
test_attention(float p)
{
	char name[64];
	struct actx x = {zeros(N * C),
	    zeros(bert_attn_scratch(3)),
	    rnd(N * 3 * C, 1.5f), p, NULL};
	float *r = rnd(N * C, 1), *dqkv = zeros(N * 3 * C);
	a_fwd(&x);
	if (p == 0) {
		/* naive attention for the forward */
		float want[N * C];
		for (size_t b = 0; b < B; b++)
			for (size_t h = 0; h < NH; h++)
				for (size_t i = off[b]; i < off[b + 1]; i++) {
					double s[3], mx = -1e30, sum = 0;
					size_t T = off[b + 1] - off[b];
					for (size_t j = 0; j < T; j++) {
						double d = 0;
						for (size_t k = 0; k < 2; k++)
							d += (double)x.qkv[i * 12 + h * 2 + k] *
							    x.qkv[(off[b] + j) * 12 + 4 + h * 2 + k];
						s[j] = d / sqrt(2.0);
						mx = s[j] > mx ? s[j] : mx;
					}
					for (size_t j = 0; j < T; j++)
						sum += s[j] = exp(s[j] - mx);
					for (size_t k = 0; k < 2; k++) {
						double y = 0;
						for (size_t j = 0; j < T; j++)
							y += s[j] / sum * x.qkv[(off[b] + j) * 12 + 8 + h * 2 + k];
						want[i * C + h * 2 + k] = (float)y;
					}
				}
		check_close("attention_fwd vs naive", x.y, want, N * C, 1e-6, 1e-5);
	}
	bert_attention_bwd(dqkv, NULL, x.scr, r, x.qkv, off, attoff, B, C, NH, 3,
	    p, 77, NULL);
	snprintf(name, sizeof(name), "attention_bwd dqkv (dropout %.1f)", p);
	fd_check(name, x.qkv, N * 3 * C, dqkv, x.y, N * C, r, a_fwd, &x);
}

/* attention with a relative position bias (NH, 2*3-1): the bias gradient
 * by finite differences, summed over the sequences as the model does */
static void
test_attention_bias(void)
{
	size_t nr = 2 * 3 - 1;
	float *rb = rnd(NH * nr, 1.0f);
	struct actx x = {zeros(N * C), zeros(bert_attn_scratch(3)),
	    rnd(N * 3 * C, 1.5f), 0, rb};
	float *r = rnd(N * C, 1), *dqkv = zeros(N * 3 * C);
	float *drb = zeros(B * NH * nr), *dsum = zeros(NH * nr);

	a_fwd(&x);
	/* naive: score (i, j) of head h + rb[h][2 + j - i] */
	float want[N * C];
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < NH; h++)
			for (size_t i = off[b]; i < off[b + 1]; i++) {
				double sc[3], mx = -1e30, sum = 0;
				size_t T = off[b + 1] - off[b], qi = i - off[b];
				for (size_t j = 0; j < T; j++) {
					double d = 0;
					for (size_t k = 0; k < 2; k++)
						d += (double)x.qkv[i * 12 + h * 2 + k] *
						    x.qkv[(off[b] + j) * 12 + 4 + h * 2 + k];
					sc[j] = d / sqrt(2.0) + rb[h * nr + 2 + j - qi];
					mx = sc[j] > mx ? sc[j] : mx;
				}
				for (size_t j = 0; j < T; j++)
					sum += sc[j] = exp(sc[j] - mx);
				for (size_t k = 0; k < 2; k++) {
					double y = 0;
					for (size_t j = 0; j < T; j++)
						y += sc[j] / sum * x.qkv[(off[b] + j) * 12 + 8 + h * 2 + k];
					want[i * C + h * 2 + k] = (float)y;
				}
			}
	check_close("attention_fwd with relative bias vs naive", x.y, want,
	    N * C, 1e-6, 1e-5);
	bert_attention_bwd(dqkv, drb, x.scr, r, x.qkv, off, attoff, B, C, NH, 3,
	    0, 77, rb);
	for (size_t b = 0; b < B; b++)
		for (size_t i = 0; i < NH * nr; i++)
			dsum[i] += drb[b * NH * nr + i];
	fd_check("attention_bwd d(relative bias)", rb, NH * nr, dsum, x.y,
	    N * C, r, a_fwd, &x);
	fd_check("attention_bwd dqkv (relative bias)", x.qkv, N * 3 * C, dqkv,
	    x.y, N * C, r, a_fwd, &x);
	free(rb), free(x.y), free(x.scr), free(x.qkv), free(r), free(dqkv);
	free(drb), free(dsum);
}

/* gelu, dropout */
struct gctx { float *y, *x; float p; };
static void
g_fwd(void *c)
{
	struct gctx *x = c;
	bert_gelu_fwd(x->y, x->x, N * C);
}
static void
d_fwd(void *c)
{
	struct gctx *x = c;
	memcpy(x->y, x->x, N * C * sizeof(float));
	bert_dropout_fwd(x->y, N * C, x->p, 99);
}
static void
test_elementwise(void)
{
	struct gctx x = {zeros(N * C), rnd(N * C, 3), 0.4f};
	float *r = rnd(N * C, 1), *dx = zeros(N * C);
	g_fwd(&x);
	bert_gelu_bwd(dx, r, x.x, N * C);
	fd_check("gelu_bwd dx", x.x, N * C, dx, x.y, N * C, r, g_fwd, &x);
	d_fwd(&x);
	memcpy(dx, r, N * C * sizeof(float));
	bert_dropout_bwd(dx, N * C, x.p, 99);
	fd_check("dropout_bwd dx", x.x, N * C, dx, x.y, N * C, r, d_fwd, &x);
	size_t kept = 0, n = 100000;
	for (size_t i = 0; i < n; i++)
		kept += (size_t)bert_keep(5, i, 0.1f);
	check_ok("dropout keeps about 1-p", fabs((double)kept / n - 0.9) < 0.005);
	/* bert_drop at any offset and length is bert_keep element by element
	 * (long runs take the AVX-512 path where the CPU has it) */
	enum { LN = 1000 };
	static const float ps[] = {0.1f, 0.3f, 0.9999f, 1e-6f};
	float *lx = rnd(LN, 5), *ly = zeros(LN);
	int same = 1;
	for (size_t k = 0; k < sizeof ps / sizeof *ps; k++)
		for (size_t base = 0; base < 6; base++)
			for (size_t n = LN - 7; n <= LN; n += 7) {
				float pk = 1.0f / (1.0f - ps[k]);
				bert_drop(ly, lx, n, ps[k], 7 + k, base * 37);
				for (size_t i = 0; i < n; i++)
					same &= ly[i] == (bert_keep(7 + k,
					    base * 37 + i, ps[k]) ? lx[i] * pk :
					    0.0f);
			}
	check_ok("bert_drop agrees with bert_keep at every offset and "
	    "length", same);
	free(lx);
	free(ly);
}

/* pooling, l2norm */
struct pctx { float *y, *h, *norm; int mode; };
static void
p_fwd(void *c)
{
	struct pctx *x = c;
	bert_pool_fwd(x->y, x->h, off, B, C, x->mode);
}
static void
o_fwd(void *c)
{
	struct pctx *x = c;
	bert_l2norm_fwd(x->y, x->norm, x->h, B, C);
}
static void
test_pool(void)
{
	static const char *const names[] = {"mean", "cls", "max", "mean_sqrt"};
	char name[64];
	for (int mode = 0; mode < 4; mode++) {
		struct pctx x = {zeros(B * C), rnd(N * C, 1), NULL, mode};
		float *r = rnd(B * C, 1), *dh = zeros(N * C);
		p_fwd(&x);
		bert_pool_bwd(dh, r, x.h, off, B, C, mode);
		snprintf(name, sizeof(name), "pool_bwd dh (%s)", names[mode]);
		fd_check(name, x.h, N * C, dh, x.y, B * C, r, p_fwd, &x);
	}
	struct pctx x = {zeros(B * C), rnd(B * C, 1), zeros(B), 0};
	float *r = rnd(B * C, 1), *dx = zeros(B * C);
	o_fwd(&x);
	bert_l2norm_bwd(dx, r, x.h, x.norm, B, C);
	fd_check("l2norm_bwd dx", x.h, B * C, dx, x.y, B * C, r, o_fwd, &x);
}

/* ---- the tiny model against PyTorch */

static float *
ref_get(struct st_file *f, const char *name, size_t *n)
{
	const struct st_tensor *t = st_find(f, name);
	if (t == NULL) {
		printf("# missing reference tensor %s\n", name);
		return NULL;
	}
	float *x = xmalloc(t->numel * sizeof(float));
	st_read_f32(x, t);
	if (n)
		*n = t->numel;
	return x;
}

/* the reference's packed token ids (n) and sequence lengths (nl) */
static void
ref_seqs(struct st_file *f, uint32_t **ids, size_t **len, size_t *n,
    size_t *nl)
{
	float *fids = ref_get(f, "ids", n), *flen = ref_get(f, "len", nl);

	*ids = xmalloc(*n * sizeof(uint32_t));
	*len = xmalloc(*nl * sizeof(size_t));
	for (size_t i = 0; i < *n; i++)
		(*ids)[i] = (uint32_t)fids[i];
	for (size_t i = 0; i < *nl; i++)
		(*len)[i] = (size_t)flen[i];
	free(fids), free(flen);
}

/* every hidden state of the last forward (n tokens, width 8) against the
 * reference's hidden.K */
static void
check_hidden(const char *model, const struct bert_model *m,
    struct st_file *ref, size_t n)
{
	char name[160];

	for (size_t k = 0; k <= m->cfg.L; k++) {
		snprintf(name, sizeof(name), "hidden.%zu", k);
		float *want = ref_get(ref, name, NULL);
		snprintf(name, sizeof(name), "%s: hidden state %zu", model, k);
		check_close(name, bert_hidden(m, k), want, n * 8, 1e-5, 1e-5);
		free(want);
	}
}

/* every parameter gradient in m->g against the reference's gsum.NAME;
 * 1 if all match; *saw: whether a name holds the substring sub */
static int
check_grads(const char *model, const struct bert_model *m,
    struct st_file *ref, const char *sub, int *saw)
{
	struct model_tensor *e = xcalloc(model_ntensors(&m->cfg), sizeof(*e));
	size_t ne = model_tensors(e, &m->cfg, &m->g);
	char name[160];
	int allok = 1;

	*saw = 0;
	for (size_t i = 0; i < ne; i++) {
		if (strncmp(e[i].name, "pooler.", 7) == 0)
			continue;
		snprintf(name, sizeof(name), "gsum.%s", e[i].name);
		size_t nw;
		float *want = ref_get(ref, name, &nw);
		if (want == NULL) {
			allok = 0;
			continue;
		}
		*saw |= strstr(e[i].name, sub) != NULL;
		snprintf(name, sizeof(name), "%s: dS/d%s", model, e[i].name);
		allok &= check_close(name, e[i].data, want, nw, 1e-5, 1e-4);
		free(want);
	}
	free(e);
	return allok;
}

struct mctx { struct bert_model *m; const uint32_t *ids; const size_t *len;
    size_t B; };
static void
m_fwd(void *c)
{
	struct mctx *x = c;
	blas_weights_changed(x->m->params);	/* fd_check moved one */
	bert_forward(x->m, x->ids, x->len, x->B, 1, 4242);
}

static void
test_tiny(void)
{
	struct model md;
	struct bert_model m;
	struct st_file ref;
	size_t n, nl, k;
	char name[160];

	model_open(&md, "fixtures/tiny");
	st_open(&ref, "fixtures/ref/tiny.safetensors");
	uint32_t *ids;
	size_t *len;
	ref_seqs(&ref, &ids, &len, &n, &nl);
	bert_alloc(&m, &md.cfg, nl, 16, n, BERT_GRADS);
	model_load(&md, &m);
	check_ok("tiny: config", m.cfg.C == 8 && m.cfg.L == 2 && m.cfg.NH == 2 &&
	    m.cfg.normalize && m.cfg.pooling == BERT_POOL_MEAN);

	bert_forward(&m, ids, len, nl, 0, 0);
	check_hidden("tiny", &m, &ref, n);
	float *want = ref_get(&ref, "pooled", NULL);
	check_close("tiny: pooled", m.a.pooled, want, nl * 8, 1e-5, 1e-5);
	free(want);
	want = ref_get(&ref, "out", NULL);
	check_close("tiny: out", m.a.out, want, nl * 8, 1e-6, 1e-5);
	free(want);

	/* parameter gradients of S = sum(r * out) */
	float *r = ref_get(&ref, "r", NULL);
	bert_zero_grad(&m);
	bert_backward(&m, ids, r);
	int saw;
	check_ok("tiny: every parameter gradient matches PyTorch",
	    check_grads("tiny", &m, &ref, "", &saw));

	/* the whole backward with dropout on, by finite differences on a
	 * sample of parameters */
	struct mctx x = {&m, ids, len, nl};
	m_fwd(&x);
	bert_zero_grad(&m);
	bert_backward(&m, ids, r);
	/* float32 noise of a whole 2-layer forward through central differences
	 * is ~1e-4 here (e.g. the key bias, whose true gradient is 0) */
	fd_atol = 5e-4;
	int iters = check_iters(1);
	for (int it = 0; it < iters; it++) {
		static const int which[] = {BERT_WTE, BERT_WPE, BERT_EMB_LNG,
		    BERT_QKVW, BERT_QKVB, BERT_ATTPROJW, BERT_LN1B, BERT_FCW,
		    BERT_FCPROJB, BERT_LN2G};
		for (k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
			float *pp = m.params + m.poff[which[k]];
			float *gg = m.grads + m.poff[which[k]];
			size_t cnt = m.psize[which[k]] < 24 ? m.psize[which[k]] : 24;
			size_t start = (size_t)(it * 37) % (m.psize[which[k]] - cnt + 1);
			if (which[k] == BERT_WTE)
				start = 2 * 8;	/* [CLS] row, used by every sequence */
			snprintf(name, sizeof(name),
			    "tiny with dropout: FD d%s[%zu..]",
			    bert_param_name(which[k]), start);
			fd_check(name, pp + start, cnt, gg + start, m.a.out,
			    nl * 8, r, m_fwd, &x);
		}
	}
	free(r), free(ids), free(len);
	bert_free(&m);
	st_close(&ref);
	model_close(&md);
}

/* the tiny MPNet: buckets, forward, every gradient (the relative bias
 * table's included) against PyTorch, the whole backward by finite
 * differences */
static void
test_tiny_mpnet(void)
{
	struct model md;
	struct bert_model m;
	struct st_file ref;
	size_t n, nl, k, i, nrel;
	char name[160];

	model_open(&md, "fixtures/tiny-mpnet");
	st_open(&ref, "fixtures/ref/tiny-mpnet.safetensors");
	check_ok("tiny-mpnet: config", md.cfg.arch == BERT_ARCH_MPNET &&
	    md.cfg.NB == 32 && md.cfg.TV == 0 && md.cfg.C == 8 &&
	    bert_max_len(&md.cfg) == 64);

	float *rel = ref_get(&ref, "rel", &nrel), *bkt = ref_get(&ref, "bucket", NULL);
	size_t nbad = 0;
	for (i = 0; i < nrel; i++)
		if (bert_rel_bucket((long)rel[i], 32, 128) != (size_t)bkt[i]) {
			if (nbad++ < 5)
				printf("# bucket(%ld) = %zu, want %zu\n", (long)rel[i],
				    bert_rel_bucket((long)rel[i], 32, 128),
				    (size_t)bkt[i]);
		}
	check_ok("tiny-mpnet: relative position buckets -600..600", nbad == 0);
	free(rel), free(bkt);

	uint32_t *ids;
	size_t *len;
	ref_seqs(&ref, &ids, &len, &n, &nl);
	bert_alloc(&m, &md.cfg, nl, 64, n, BERT_GRADS);
	model_load(&md, &m);

	bert_forward(&m, ids, len, nl, 0, 0);
	check_hidden("tiny-mpnet", &m, &ref, n);
	float *want = ref_get(&ref, "out", NULL);
	check_close("tiny-mpnet: out", m.a.out, want, nl * 8, 1e-6, 1e-5);
	free(want);

	float *r = ref_get(&ref, "r", NULL);
	bert_zero_grad(&m);
	bert_backward(&m, ids, r);
	int sawrel, allok = check_grads("tiny-mpnet", &m, &ref,
	    "relative_attention_bias", &sawrel);
	check_ok("tiny-mpnet: every parameter gradient matches PyTorch "
	    "(relative bias table included)", allok && sawrel);

	/* the whole backward with dropout on, by finite differences */
	struct mctx x = {&m, ids, len, nl};
	m_fwd(&x);
	bert_zero_grad(&m);
	bert_backward(&m, ids, r);
	fd_atol = 5e-4;
	static const int which[] = {BERT_RELB, BERT_WTE, BERT_WPE, BERT_QKVW,
	    BERT_LN1B, BERT_FCW};
	for (k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
		float *pp = m.params + m.poff[which[k]];
		float *gg = m.grads + m.poff[which[k]];
		size_t cnt = m.psize[which[k]] < 64 ? m.psize[which[k]] : 64;
		/* from row 2: row 1 (<pad>, and position padding_idx) gets no
		 * gradient, by design (nn.Embedding's padding_idx; PyTorch's
		 * zero for it is checked above) */
		size_t start = which[k] == BERT_WTE || which[k] == BERT_WPE ?
		    2 * 8 : 0;
		snprintf(name, sizeof(name), "tiny-mpnet with dropout: FD d%s[%zu..]",
		    bert_param_name(which[k]), start);
		fd_check(name, pp + start, cnt, gg + start, m.a.out, nl * 8, r,
		    m_fwd, &x);
	}
	/* prompts left out of the mean (include_prompt false): 4 ids in every
	 * sequence (the second, 3 ids, has nothing left: a zero vector), then
	 * each sequence its own (as train's columns: the anchors' and the
	 * other texts') */
	m.cfg.include_prompt = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t b = 0; b < nl; b++)
			m.pool_skip[b] = pass ? b % 3 : 4;
		m_fwd(&x);
		bert_zero_grad(&m);
		bert_backward(&m, ids, r);
		if (pass == 0)
			check_ok("tiny-mpnet, prompt skipped: a sequence no "
			    "longer than the prompt pools to zero",
			    m.a.pooled[8] == 0 && m.a.pooled[15] == 0);
		for (k = 0; k < 3; k++) {
			snprintf(name, sizeof(name), pass ? "tiny-mpnet, 0-2 "
			    "ids skipped by sequence: FD d%s" : "tiny-mpnet, "
			    "prompt skipped: FD d%s", bert_param_name(which[k]));
			size_t st = which[k] == BERT_WTE ||
			    which[k] == BERT_WPE ? 16 : 0;
			fd_check(name, m.params + m.poff[which[k]] + st, 32,
			    m.grads + m.poff[which[k]] + st, m.a.out, nl * 8, r,
			    m_fwd, &x);
		}
	}
	bert_skip(&m, 0);
	m.cfg.include_prompt = 1;
	fd_atol = ATOL;
	free(r), free(ids), free(len);
	bert_free(&m);
	st_close(&ref);
	model_close(&md);
}

/* BERT_ACT16: the training arena's activations of all-mpnet-base-v2's
 * shape (96 sequences of 256 tokens: an MNRL batch of 32 triplets) are
 * at most 3/4 of the fp32 ones (q, k, v, the attention output and the
 * FFN's pre-GELU values in bf16: 0.73); without BERT_GRADS the flag
 * changes nothing */
static void
test_act16_sizes(void)
{
	struct bert_config c = {.V = 30527, .P = 514, .C = 768, .L = 12,
	    .NH = 12, .F = 3072, .arch = BERT_ARCH_MPNET, .NB = 32};
	size_t ps[BERT_NPARAM], as[2][BERT_NACT], ds[BERT_NDACT], tot[2];
	size_t inf[2][BERT_NACT];

	for (int k = 0; k < 2; k++) {
		bert_sizes(&c, 96, 256, 96 * 256, BERT_GRADS |
		    (k ? BERT_ACT16 : 0), 2, ps, as[k], ds);
		bert_sizes(&c, 96, 256, 96 * 256, k ? BERT_ACT16 : 0, 2, ps,
		    inf[k], ds);
		tot[k] = 0;
		for (int i = 0; i < BERT_NACT; i++)
			tot[k] += as[k][i];
	}
	printf("# activations: %zu floats in fp32, %zu with BERT_ACT16\n",
	    tot[0], tot[1]);
	check_ok("BERT_ACT16: the training activations at most 3/4 of fp32's",
	    tot[1] > 0 && tot[1] <= tot[0] / 4 * 3);
	check_ok("BERT_ACT16 without BERT_GRADS: the same inference arena",
	    memcmp(inf[0], inf[1], sizeof inf[0]) == 0);
}

int
main(void)
{
	blas_threads(0);
	test_embed();
	test_layernorm();
	test_linear();
	test_attention(0);
	test_attention(0.3f);
	test_elementwise();
	test_pool();
	test_tiny();
	test_attention_bias();
	test_tiny_mpnet();
	test_act16_sizes();
	return check_done();
}
