/* t_train: parity of the training step (lib/train.c over bert, loss, adamw)
 * with PyTorch + sentence-transformers, from references written by
 * fixtures/gen/gen_train.py: the loss, every parameter gradient of step 1,
 * and the parameters after 5 steps (clipping, AdamW, warm-up schedule), on
 * the tiny model for every loss and on all-MiniLM-L6-v2 for MNRL, CoSENT
 * and Cached MNRL (whose gradients must equal MNRL's); the tiny MPNet for
 * MNRL and CoSENT, its relative position bias table included; GIST and
 * Cached GIST on the tiny model and on all-MiniLM-L6-v2, the guide a frozen
 * copy of the base model (cgist's gradients must equal gist's). */
#include <unistd.h>

#include "check.h"
#include "model.h"
#include "st.h"
#include "tensor.h"
#include "train.h"
#include "util.h"

struct cfg {
	const char *name;
	int kind, sym, K, steps, warmup;
	float lr;
	size_t mini, ndims, dims[2];
	const char *ref;	/* reference config, if not name */
	float gmargin;		/* gist */
	int grel;
};

/* the same table as TINY_CFGS / MINI_CFGS in gen_train.py */
static const struct cfg tiny[] = {
	{"mnrl", LOSS_MNRL, 0, 3, 5, 2, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	{"cmnrl", LOSS_CMNRL, 0, 3, 5, 2, 1e-3f, 3, 0, {0}, NULL, 0, 0},
	{"cosent", LOSS_COSENT, 0, 2, 5, 2, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	{"mnrlsym", LOSS_MNRL, 1, 3, 1, 0, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	{"matryoshka", LOSS_MNRL, 0, 3, 1, 0, 1e-3f, 0, 2, {8, 4}, NULL, 0, 0},
	{"cosine", LOSS_COSINE, 0, 2, 1, 0, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	{"triplet", LOSS_TRIPLET, 0, 3, 1, 0, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	{"contrastive", LOSS_CONTRASTIVE, 0, 2, 1, 0, 1e-3f, 0, 0, {0}, NULL, 0, 0},
	/* GradCache in mini-batches of 5 sequences: MNRL's gradients */
	{"cmnrl5", LOSS_CMNRL, 0, 3, 5, 2, 1e-3f, 5, 0, {0}, "mnrl", 0, 0},
};
static const struct cfg tiny_mpnet[] = {
	{"mnrl", LOSS_MNRL, 0, 3, 5, 2, 1e-2f, 0, 0, {0}, NULL, 0, 0},
	{"cosent", LOSS_COSENT, 0, 2, 5, 2, 1e-2f, 0, 0, {0}, NULL, 0, 0},
};
/* all-mpnet-base-v2 on the MiniLM reference's 16 SciFact rows, max length
 * 64 (only where the model has been fetched) */
static const struct cfg mpnet[] = {
	{"mnrl", LOSS_MNRL, 0, 3, 5, 2, 2e-5f, 0, 0, {0}, NULL, 0, 0},
};
/* the same table as the --gist configs in gen_train.py */
static const struct cfg gist_tiny[] = {
	{"gist", LOSS_GIST, 0, 3, 5, 2, 1e-2f, 0, 0, {0}, NULL, 0, 0},
	{"cgist", LOSS_CGIST, 0, 3, 5, 2, 1e-2f, 3, 0, {0}, NULL, 0, 0},
	{"gist2", LOSS_GIST, 0, 2, 1, 0, 1e-2f, 0, 0, {0}, NULL, 0, 0},
	{"gistrel", LOSS_GIST, 0, 3, 1, 0, 1e-2f, 0, 0, {0}, NULL, 0.002f, 1},
	{"gistabs", LOSS_GIST, 0, 3, 1, 0, 1e-2f, 0, 0, {0}, NULL, 0.02f, 0},
	/* GradCache in mini-batches of 5 sequences: GIST's gradients */
	{"cgist5", LOSS_CGIST, 0, 3, 5, 2, 1e-2f, 5, 0, {0}, "gist", 0, 0},
};
static const struct cfg gist_minilm[] = {
	{"gist", LOSS_GIST, 0, 3, 5, 2, 2e-5f, 0, 0, {0}, NULL, 0, 0},
	{"cgist", LOSS_CGIST, 0, 3, 5, 2, 2e-5f, 8, 0, {0}, "gist", 0, 0},
};
static const struct cfg minilm[] = {
	{"mnrl", LOSS_MNRL, 0, 3, 5, 2, 2e-5f, 0, 0, {0}, NULL, 0, 0},
	{"cosent", LOSS_COSENT, 0, 2, 5, 2, 2e-5f, 0, 0, {0}, NULL, 0, 0},
	{"cmnrl", LOSS_CMNRL, 0, 3, 5, 2, 2e-5f, 8, 0, {0}, "mnrl", 0, 0},
};

static const struct st_tensor *
need(const struct st_file *f, const char *cfg, const char *what)
{
	char name[128];
	snprintf(name, sizeof name, "%s.%s", cfg, what);
	const struct st_tensor *t = st_find(f, name);
	if (t == NULL) {
		printf("# %s: missing in %s\n", name, f->path);
		check_ok(name, 0);
		exit(check_done());
	}
	return t;
}

static float *
get(const struct st_tensor *t)
{
	float *p = xmalloc(t->numel * sizeof *p);
	st_read_f32(p, t);
	return p;
}

/* ||a - b|| / ||b|| */
static double
relnorm(const float *a, const float *b, size_t n)
{
	double d = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
		s += (double)b[i] * b[i];
	}
	return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* compare every reference tensor PREFIX.NAME[.L] with the arena at base */
static void
compare(const char *model, const char *cfg, const struct st_file *f,
    const char *what, const struct bert_model *m, const float *base,
    double tol)
{
	char prefix[64], label[160];
	size_t np = (size_t)snprintf(prefix, sizeof prefix, "%s.%s.", cfg, what);
	double worst = 0;
	const char *wname = "";
	int nt = 0;

	for (size_t k = 0; k < f->n; k++) {
		const struct st_tensor *t = &f->t[k];
		if (strncmp(t->name, prefix, np) != 0)
			continue;
		char pn[32];
		const char *dot = strchr(t->name + np, '.');
		size_t l = 0, pl = dot ? (size_t)(dot - t->name - np) :
		    strlen(t->name + np);
		snprintf(pn, sizeof pn, "%.*s", (int)pl, t->name + np);
		if (dot)
			l = (size_t)atoi(dot + 1);
		int i;
		for (i = 0; i < BERT_NPARAM; i++)
			if (strcmp(bert_param_name(i), pn) == 0)
				break;
		size_t per = dot && i >= BERT_QKVW && i <= BERT_LN2B ?
		    m->psize[i] / m->cfg.L : m->psize[i];
		if (i == BERT_NPARAM || t->numel > per) {
			snprintf(label, sizeof label, "%s %s: %s fits the table",
			    model, cfg, t->name);
			check_ok(label, 0);
			continue;
		}
		float *want = get(t), *got = xmalloc(t->numel * sizeof *got);
		memcpy(got, base + m->poff[i] + l * per, t->numel * sizeof *got);
		if (i == BERT_QKVB && strcmp(what, "param") == 0) {
			/* The key bias has a zero gradient in exact arithmetic
			 * (softmax ignores a per-query constant), so AdamW turns
			 * float noise into steps of about lr: leave it out. */
			size_t C = m->cfg.C;
			for (size_t j = 0; j < t->numel; j++)
				if (j % (3 * C) >= C && j % (3 * C) < 2 * C)
					got[j] = want[j] = 0;
		}
		double r = relnorm(got, want, t->numel);
		free(got);
		if (!(r <= worst))
			worst = r, wname = t->name;
		if (!(r <= tol))
			printf("# %s: |diff|/|ref| = %.3g\n", t->name, r);
		free(want);
		nt++;
	}
	snprintf(label, sizeof label, "%s %s: %d %s tensors within %g "
	    "(worst %.2g, %s)", model, cfg, nt, what, tol, worst, wname);
	check_ok(label, nt > 0 && worst <= tol);
}

/* how run() trains: in fp32 against the reference, or in bf16 with the
 * weights' packs shared (made once per step) or made in every product, or
 * in bf16 with every activation kept in fp32 (not BERT_ACT16) */
enum { FP32_REF, BF16_SHARED, BF16_PERCALL, BF16_ACT32 };

/* the steps of c; returns a copy of the parameters after them */
static float *
run(const char *model, const char *dir, const char *refpath,
    const struct cfg *c, int mode, size_t *np)
{
	struct model md;
	struct bert_model m, g;
	struct st_file f;
	struct loss_cfg lc;
	struct adamw_hp hp;
	struct train t;
	const char *rn = c->ref ? c->ref : c->name;
	char label[160];

	model_open(&md, dir);
	st_open(&f, refpath);
	const struct st_tensor *tid = need(&f, rn, "ids"),
	    *tlen = need(&f, rn, "len");
	float *fid = get(tid), *flen = get(tlen), *lab = NULL;
	size_t N = tid->numel, S = tlen->numel, B = S / (size_t)c->K, Tmax = 0;
	uint32_t *ids = xmalloc(N * sizeof *ids);
	size_t *len = xmalloc(S * sizeof *len);
	for (size_t i = 0; i < N; i++)
		ids[i] = (uint32_t)fid[i];
	for (size_t i = 0; i < S; i++) {
		len[i] = (size_t)flen[i];
		Tmax = len[i] > Tmax ? len[i] : Tmax;
	}
	if (c->kind == LOSS_COSINE || c->kind == LOSS_COSENT ||
	    c->kind == LOSS_CONTRASTIVE)
		lab = get(need(&f, rn, "label"));

	size_t Sm = c->mini ? c->mini : S;
	/* as train allocates: bf16 activations with bf16 products */
	bert_alloc(&m, &md.cfg, Sm, Tmax, N, BERT_GRADS | BERT_ADAM |
	    (mode == FP32_REF || mode == BF16_ACT32 ? 0 : BERT_ACT16));
	model_load(&md, &m);
	if (mode == BF16_PERCALL)
		blas_weights_forget(m.params);
	blas_set_precision(mode == FP32_REF ? BLAS_PREC_FP32 : BLAS_PREC_BF16);
	loss_defaults(&lc, c->kind);
	lc.symmetric = c->sym;
	lc.ndims = c->ndims;
	for (size_t i = 0; i < c->ndims; i++)
		lc.dims[i] = c->dims[i], lc.weights[i] = 1;
	adamw_defaults(&hp);
	hp.lr = c->lr;
	int gist = c->kind == LOSS_GIST || c->kind == LOSS_CGIST;
	if (gist) {
		lc.margin = c->gmargin;
		lc.relative = c->grel;
	}
	train_init(&t, &m, &lc, &hp, B, (size_t)c->K, c->mini);
	t.dropout = 0;
	if (gist) {	/* the guide: the base model, frozen */
		bert_alloc(&g, &md.cfg, Sm, Tmax, N, 0);
		model_load(&md, &g);
		train_guide(&t, &g);
	}

	for (long s = 0; s < c->steps; s++) {
		double loss = train_grad(&t, ids, len, lab, B, (size_t)c->K, s);
		if (s == 0 && mode == FP32_REF) {
			float got = (float)loss, *want = get(need(&f, rn,
			    "loss"));
			snprintf(label, sizeof label, "%s %s: loss", model,
			    c->name);
			/* GIST's scale of 100 makes a score's fp32 rounding
			 * (~1e-7) ~1e-5 of a logit, and a loss near 0 moves
			 * by about that fraction of itself: 1e-6 absolute
			 * beside 1e-5 relative (gistabs 0.0436, 4.7e-7 off
			 * with OpenBLAS's AVX2 kernels) */
			check_close(label, &got, want, 1, 1e-6, 1e-5);
			free(want);
			compare(model, rn, &f, "grad", &m, m.grads, 1e-4);
		}
		float lr = c->lr * (float)adamw_schedule(s, c->warmup,
		    c->steps);
		train_update(&t, s, lr);
	}
	if (c->steps > 1 && mode == FP32_REF)
		compare(model, rn, &f, "param", &m, m.params, 1e-5);
	float *after = xmalloc(m.nparams * sizeof *after);
	*np = m.nparams;
	memcpy(after, m.params, m.nparams * sizeof *after);
	blas_set_precision(BLAS_PREC_FP32);
	train_free(&t);
	bert_free(&m);
	if (gist)
		bert_free(&g);
	st_close(&f);
	model_close(&md);
	free(fid), free(flen), free(lab), free(ids), free(len);
	return after;
}

/* bf16 steps with the weights packed once per step and shared by the
 * threads = the same steps packing them in every product, bit for bit (a
 * pack left stale by an AdamW update, or by the load, would differ) */
static void
bf16_packs(const char *model, const char *dir, const char *refpath,
    const struct cfg *c)
{
	size_t n;
	float *shared = run(model, dir, refpath, c, BF16_SHARED, &n);
	float *percall = run(model, dir, refpath, c, BF16_PERCALL, &n);
	float *fp32 = run(model, dir, refpath, c, FP32_REF, &n);
	char label[160];

	snprintf(label, sizeof label, "%s %s: %d bf16 steps with shared "
	    "weight packs = packing in every product, bit for bit (and not "
	    "the fp32 steps)", model, c->name, c->steps);
	check_ok(label, memcmp(shared, percall, n * sizeof *shared) == 0 &&
	    memcmp(shared, fp32, n * sizeof *shared) != 0);
	free(shared), free(percall), free(fp32);
}

/* bf16 steps keeping q, k, v and the attention output in bf16
 * (BERT_ACT16, what train --precision bf16 does) = the same steps on fp32
 * activations, bit for bit: only bf16 products read them */
static void
act16(const char *model, const char *dir, const char *refpath,
    const struct cfg *c)
{
	size_t n;
	char label[200];
	float *a16 = run(model, dir, refpath, c, BF16_SHARED, &n);
	float *a32 = run(model, dir, refpath, c, BF16_ACT32, &n);

	snprintf(label, sizeof label, "%s %s: %d bf16 steps with bf16 "
	    "activations = with fp32 ones, bit for bit", model, c->name,
	    c->steps);
	check_ok(label, memcmp(a16, a32, n * sizeof *a16) == 0);
	free(a16), free(a32);
}

/* the steps of c in fp32 against the reference */
static void
parity(const char *model, const char *dir, const char *refpath,
    const struct cfg *c)
{
	size_t n;
	free(run(model, dir, refpath, c, FP32_REF, &n));
}

/* The guide's embeddings kept by text (train.h): for rows that repeat
 * texts (one anchor in every row, a negative twice, an anchor's ids as a
 * negative), what the loss gets is the guide's own forward of the whole
 * batch, in the first step (each text embedded once), in later ones (from
 * what was kept) and after the kept ones are dropped (gstore full) */
static void
guide_memo(void)
{
	enum { B = 4, K = 3, T = 5, S = B * K };
	/* text k of row r is sequence k * B + r */
	static const uint32_t text[S][T] = {
		{2, 7, 9, 3, 0}, {2, 7, 9, 3, 0}, {2, 7, 9, 3, 0},
		{2, 7, 9, 3, 0},		/* the anchors: one text */
		{2, 11, 3, 0, 0}, {2, 12, 13, 3, 0}, {2, 14, 3, 0, 0},
		{2, 15, 16, 17, 3},		/* positives */
		{2, 21, 3, 0, 0}, {2, 22, 23, 3, 0}, {2, 21, 3, 0, 0},
		{2, 7, 9, 3, 0},		/* negatives */
	};
	static const size_t tl[S] = {4, 4, 4, 4, 3, 4, 3, 5, 3, 4, 3, 4};
	uint32_t ids[S * T];
	size_t len[S], N = 0, C;
	struct model md;
	struct bert_model m, g, ref;
	struct train t;
	struct loss_cfg lc;
	struct adamw_hp hp;
	char label[160];

	for (size_t i = 0; i < S; i++) {
		memcpy(ids + N, text[i], tl[i] * sizeof *ids);
		N += len[i] = tl[i];
	}
	model_open(&md, "fixtures/tiny");
	bert_alloc(&m, &md.cfg, S, T, N, BERT_GRADS | BERT_ADAM);
	model_load(&md, &m);
	bert_alloc(&g, &md.cfg, S, T, N, 0);
	model_load(&md, &g);
	bert_alloc(&ref, &md.cfg, S, T, N, 0);
	model_load(&md, &ref);
	C = md.cfg.C;
	bert_forward(&ref, ids, len, S, 0, 0);
	loss_defaults(&lc, LOSS_GIST);
	adamw_defaults(&hp);
	train_init(&t, &m, &lc, &hp, B, K, 0);
	t.dropout = 0;
	train_guide(&t, &g);
	for (long step = 0; step < 3; step++) {
		if (step == 2)
			t.gmax = t.gn;	/* full: starts again */
		train_grad(&t, ids, len, NULL, B, K, step);
		snprintf(label, sizeof label, "guide: kept embeddings = its "
		    "forward of the whole batch, step %ld", step);
		check_close(label, t.gemb, ref.a.out, S * C, 1e-6, 1e-6);
		snprintf(label, sizeof label, "guide: 8 texts kept (one "
		    "anchor, 4 positives, 3 negatives, one of them the "
		    "anchor's ids, kept apart), step %ld", step);
		check_ok(label, t.gn == 8);
	}
	train_free(&t);
	bert_free(&m);
	bert_free(&g);
	bert_free(&ref);
	model_close(&md);
}

/* GradCache with dropout on (the parity tests above run without): the
 * gradients of a step in mini-batches of 3 (8 sequences: 3, 3, 2) are
 * those of each mini-batch forwarded with its own seed, the loss on the
 * whole batch, and each mini-batch forwarded again and backpropagated in
 * turn, bit for bit -- the first mini-batch's activations kept from the
 * embedding pass (train.h) are that forward's */
static void
gradcache_dropout(void)
{
	enum { B = 4, K = 2, T = 6, S = B * K, MINI = 3 };
	static const size_t tl[S] = {4, 6, 3, 5, 6, 4, 5, 3};
	uint32_t ids[S * T];
	size_t len[S], N = 0, C;
	struct model md;
	struct bert_model m, r;
	struct train t;
	struct loss_cfg lc;
	struct adamw_hp hp;

	for (size_t i = 0; i < S; i++) {
		ids[N] = 2;
		for (size_t k = 1; k + 1 < tl[i]; k++)
			ids[N + k] = (uint32_t)(5 + (7 * i + 3 * k) % 40);
		ids[N + tl[i] - 1] = 3;
		N += len[i] = tl[i];
	}
	model_open(&md, "fixtures/tiny");
	C = md.cfg.C;
	bert_alloc(&m, &md.cfg, MINI, T, N, BERT_GRADS | BERT_ADAM);
	model_load(&md, &m);
	bert_alloc(&r, &md.cfg, MINI, T, N, BERT_GRADS);
	model_load(&md, &r);
	loss_defaults(&lc, LOSS_MNRL);
	adamw_defaults(&hp);
	train_init(&t, &m, &lc, &hp, B, K, MINI);
	for (long step = 0; step < 2; step++) {
		float *emb = xmalloc(S * C * sizeof *emb);
		float *demb = xcalloc(S * C, sizeof *demb);
		float *sc = xmalloc(loss_scratch(&lc, B, K, C) * sizeof *sc);
		double got = train_grad(&t, ids, len, NULL, B, K, step), want;
		size_t s0, j, tok;

		bert_zero_grad(&r);
		for (s0 = 0, j = 0, tok = 0; s0 < S; s0 += MINI, j++) {
			size_t n = S - s0 < MINI ? S - s0 : MINI;
			bert_forward(&r, ids + tok, len + s0, n, 1,
			    train_seed(t.seed, step, j));
			memcpy(emb + s0 * C, r.a.out, n * C * sizeof *emb);
			for (size_t i = 0; i < n; i++)
				tok += len[s0 + i];
		}
		want = loss_fwd_bwd(demb, sc, &lc, emb, NULL, NULL, B, K, C);
		for (s0 = 0, j = 0, tok = 0; s0 < S; s0 += MINI, j++) {
			size_t n = S - s0 < MINI ? S - s0 : MINI;
			bert_forward(&r, ids + tok, len + s0, n, 1,
			    train_seed(t.seed, step, j));
			bert_backward(&r, ids + tok, demb + s0 * C);
			for (size_t i = 0; i < n; i++)
				tok += len[s0 + i];
		}
		char label[160];
		snprintf(label, sizeof label, "gradcache, dropout on, step "
		    "%ld: loss and gradients = each mini-batch forwarded "
		    "again, bit for bit", step);
		check_ok(label, got == want && memcmp(m.grads, r.grads,
		    m.nparams * sizeof *m.grads) == 0);
		train_update(&t, step, 1e-3f);
		memcpy(r.params, m.params, m.nparams * sizeof *r.params);
		blas_weights_changed(r.params);
		free(emb), free(demb), free(sc);
	}
	train_free(&t);
	bert_free(&m);
	bert_free(&r);
	model_close(&md);
}

int
main(void)
{
	(void)check_fill;
	(void)check_iters;
	blas_threads(0);
	for (size_t i = 0; i < sizeof tiny / sizeof *tiny; i++)
		parity("tiny", "fixtures/tiny", "fixtures/train/ref-tiny.safetensors",
		    &tiny[i]);
	for (size_t i = 0; i < sizeof tiny_mpnet / sizeof *tiny_mpnet; i++)
		parity("tiny-mpnet", "fixtures/tiny-mpnet",
		    "fixtures/train/ref-tiny-mpnet.safetensors", &tiny_mpnet[i]);
	for (size_t i = 0; i < sizeof gist_tiny / sizeof *gist_tiny; i++)
		parity("tiny", "fixtures/tiny",
		    "fixtures/train/ref-gist-tiny.safetensors", &gist_tiny[i]);
	for (size_t i = 0; i < sizeof gist_minilm / sizeof *gist_minilm; i++)
		parity("minilm", "models/all-MiniLM-L6-v2",
		    "fixtures/train/ref-gist-minilm.safetensors",
		    &gist_minilm[i]);
	for (size_t i = 0; i < sizeof minilm / sizeof *minilm; i++)
		parity("minilm", "models/all-MiniLM-L6-v2",
		    "fixtures/train/ref-minilm.safetensors", &minilm[i]);
	guide_memo();
	gradcache_dropout();
	bf16_packs("tiny", "fixtures/tiny",
	    "fixtures/train/ref-tiny.safetensors", &tiny[0]);
	bf16_packs("tiny", "fixtures/tiny",
	    "fixtures/train/ref-tiny.safetensors", &tiny[1]);
	/* with a guide: two models' packs, the guide's never stale */
	bf16_packs("tiny", "fixtures/tiny",
	    "fixtures/train/ref-gist-tiny.safetensors", &gist_tiny[0]);
	bf16_packs("tiny-mpnet", "fixtures/tiny-mpnet",
	    "fixtures/train/ref-tiny-mpnet.safetensors", &tiny_mpnet[0]);
	act16("tiny-mpnet", "fixtures/tiny-mpnet",
	    "fixtures/train/ref-tiny-mpnet.safetensors", &tiny_mpnet[0]);
#if defined(__SANITIZE_ADDRESS__)
	/* without bf16 hardware the portable kernel runs MiniLM's bf16 steps
	 * at the sanitizers' -O1, ~0.5 GFLOP/s: over an hour for what the
	 * tiny models above check too (the normal build runs them) */
	if (strcmp(blas_kernel(BLAS_PREC_BF16), "portable") == 0)
		printf("ok - minilm bf16 steps # skip sanitizer build on "
		    "the portable bf16 kernel\n");
	else
#endif
	{
		bf16_packs("minilm", "models/all-MiniLM-L6-v2",
		    "fixtures/train/ref-minilm.safetensors", &minilm[0]);
		act16("minilm", "models/all-MiniLM-L6-v2",
		    "fixtures/train/ref-minilm.safetensors", &minilm[0]);
	}
#if defined(__SANITIZE_ADDRESS__)
	/* minutes under ASan for nothing the tiny MPNet does not cover */
	printf("ok - all-mpnet-base-v2 training parity # skip sanitizer build\n");
#else
	if (access("models/all-mpnet-base-v2/model.safetensors", R_OK) != 0)
		printf("ok - all-mpnet-base-v2 training parity # skip no "
		    "models/all-mpnet-base-v2\n");
	else
		for (size_t i = 0; i < sizeof mpnet / sizeof *mpnet; i++)
			parity("mpnet", "models/all-mpnet-base-v2",
			    "fixtures/train/ref-mpnet.safetensors", &mpnet[i]);
#endif
	return check_done();
}
