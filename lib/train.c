/* train: one training step (see train.h). */
#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "tensor.h"
#include "train.h"
#include "util.h"

/* bytes of the guide's embeddings kept (train.h) */
#define GUIDE_MEMO ((size_t)256 << 20)

void
train_init(struct train *t, struct bert_model *m, const struct loss_cfg *lc,
    const struct adamw_hp *hp, size_t B, size_t K, size_t mini)
{
	size_t C = m->cfg.C;

	memset(t, 0, sizeof *t);
	t->m = m;
	t->lc = *lc;
	t->hp = *hp;
	t->B = B;
	t->K = K;
	t->mini = mini;
	t->max_grad_norm = 1.0;
	t->dropout = 1;
	t->emb = xaligned(K * B * C * sizeof *t->emb);
	t->demb = xaligned(K * B * C * sizeof *t->demb);
	t->scratch = xaligned(loss_scratch(lc, B, K, C) * sizeof *t->scratch);
	t->nproc = 1;
}

void
train_guide(struct train *t, struct bert_model *g)
{
	size_t Cg = g->cfg.C;

	t->guide = g;
	t->lc.guide_C = Cg;
	free(t->scratch);
	t->scratch = xaligned(loss_scratch(&t->lc, t->B, t->K, t->m->cfg.C) *
	    sizeof *t->scratch);
	t->gemb = xaligned(t->K * t->B * Cg * sizeof *t->gemb);
	t->gmax = GUIDE_MEMO / (Cg * sizeof *t->gstore);
	t->gmax = t->gmax < t->K * t->B ? t->K * t->B : t->gmax;
	for (t->gcap = 1024; t->gcap < 2 * t->gmax; t->gcap *= 2)
		;
	t->gkey = xcalloc(t->gcap, sizeof *t->gkey);
	t->gval = xmalloc(t->gcap * sizeof *t->gval);
	t->gsrc = xmalloc(t->K * t->B * sizeof *t->gsrc);
	t->gmiss = xmalloc(t->K * t->B * sizeof *t->gmiss);
	t->glen = xmalloc(t->K * t->B * sizeof *t->glen);
	if (t->nproc > 1) {	/* this rank's share, and every rank's */
		size_t Bl = (t->B + (size_t)t->nproc - 1) / (size_t)t->nproc;
		t->lgemb = xaligned(t->K * Bl * Cg * sizeof *t->lgemb);
		if (Cg > t->m->cfg.C) {
			free(t->gath);
			t->gath = xaligned(t->K * t->B * Cg * sizeof *t->gath);
		}
	}
}

void
train_dist(struct train *t, size_t Ntok)
{
	size_t C = t->m->cfg.C, Bl;

	t->rank = dist_rank();
	t->nproc = dist_size();
	if (t->nproc < 2)
		return;
	Bl = (t->B + (size_t)t->nproc - 1) / (size_t)t->nproc;
	t->lids = xmalloc((Ntok ? Ntok : 1) * sizeof *t->lids);
	t->llen = xmalloc(t->K * Bl * sizeof *t->llen);
	t->lemb = xaligned(t->K * Bl * C * sizeof *t->lemb);
	t->gath = xaligned(t->K * t->B * C * sizeof *t->gath);
	t->cnt = xmalloc((size_t)t->nproc * sizeof *t->cnt);
}

void
train_free(struct train *t)
{
	free(t->emb);
	free(t->demb);
	free(t->scratch);
	free(t->gemb);
	free(t->lgemb);
	free(t->lids);
	free(t->llen);
	free(t->lemb);
	free(t->gath);
	free(t->cnt);
	free(t->gkey);
	free(t->gval);
	free(t->gstore);
	free(t->gsrc);
	free(t->gmiss);
	free(t->glen);
	free(t->gids);
}

uint64_t
train_seed(uint64_t seed, long step, size_t j)
{
	uint64_t z = seed * 0x9E3779B97F4A7C15ull ^
	    ((uint64_t)step * 0xBF58476D1CE4E5B9ull + j + 1);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Sequences [s0, s0 + n) of columns of cb sequences each, as model x's
 * forward takes them: the prompt ids each starts with (those of its column:
 * the anchors' or the other texts'). */
static void
skips(const struct train *t, struct bert_model *x, size_t s0, size_t n,
    size_t cb)
{
	for (size_t i = 0; i < n; i++)
		x->pool_skip[i] = t->plen[(s0 + i) / cb > 0];
}

/* Embed S sequences (ids, len; columns of cb) into emb (S, C), mini at a
 * time; forward j draws its dropout from seed (step, j0 + j).  With demb
 * (S, C) instead (emb NULL): forward each again with that dropout, and
 * backpropagate.  The embedding pass takes mini-batch 0 last, so that the
 * backward pass, which takes it first, finds its activations in the arena
 * (t->kept) and need not forward it again: the same forward, the same
 * bits, and the gradients summed in the same order. */
static void
passes(struct train *t, float *emb, const float *demb, const uint32_t *ids,
    const size_t *len, size_t S, size_t cb, size_t mini, long step,
    size_t j0)
{
	struct bert_model *m = t->m;
	size_t C = m->cfg.C, nj = (S + mini - 1) / mini;

	for (size_t i = 0; i < nj; i++) {
		size_t j = emb ? (i + 1) % nj : i, s0 = j * mini, tok = 0;
		size_t n = S - s0 < mini ? S - s0 : mini;
		for (size_t k = 0; k < s0; k++)
			tok += len[k];
		skips(t, m, s0, n, cb);
		if (emb || j > 0 || !t->kept)
			bert_forward(m, ids + tok, len + s0, n, t->dropout,
			    train_seed(t->seed, step, j0 + j));
		if (demb)
			bert_backward(m, ids + tok, demb + s0 * C);
		else
			memcpy(emb + s0 * C, m->a.out, n * C * sizeof *emb);
	}
	t->kept = emb != NULL;
}

/* The row of gstore that holds the text of n ids (an anchor or not);
 * *fresh when it is a new row, its embedding still to be made */
static size_t
memo_row(struct train *t, const uint32_t *ids, size_t n, int anchor,
    int *fresh)
{
	uint64_t k = util_fnv1a(ids, n * sizeof *ids) ^ (anchor ? 0 :
	    0x9E3779B97F4A7C15ull);
	size_t i, mask = t->gcap - 1;

	k = k ? k : 1;
	for (i = k & mask; t->gkey[i] && t->gkey[i] != k; i = (i + 1) & mask)
		;
	*fresh = !t->gkey[i];
	if (*fresh) {
		t->gkey[i] = k;
		t->gval[i] = (uint32_t)t->gn++;
	}
	return t->gval[i];
}

/* The guide's embeddings of S sequences (columns of cb) into gemb (S,
 * guide C), dropout off: those of the texts it has embedded before kept
 * in gstore, the others (each once) embedded now, as many at a time as
 * its arena holds, and kept.  When gstore is full it starts again. */
static void
guide_embed(struct train *t, float *gemb, const uint32_t *ids,
    const size_t *len, size_t S, size_t cb)
{
	struct bert_model *g = t->guide;
	size_t Cg = g->cfg.C, nm = 0, nt = 0, tok, s, i, j, n;
	int fresh;

	if (t->gn + S > t->gmax) {	/* room for every text of the batch */
		memset(t->gkey, 0, t->gcap * sizeof *t->gkey);
		t->gn = 0;
	}
	for (s = 0, tok = 0; s < S; s++)
		tok += len[s];
	t->gids = xgrow(t->gids, &t->gids_n, tok * sizeof *t->gids);
	/* each sequence's row; the new texts' ids back to back */
	for (s = 0, tok = 0; s < S; tok += len[s++]) {
		t->gsrc[s] = memo_row(t, ids + tok, len[s], s / cb == 0,
		    &fresh);
		if (!fresh)
			continue;
		memcpy(t->gids + nt, ids + tok, len[s] * sizeof *ids);
		nt += len[s];
		t->gmiss[nm] = s;
		t->glen[nm++] = len[s];
	}
	if (t->gn * Cg > t->gstore_n) {	/* kept rows and all */
		t->gstore_n = t->gn * Cg > 2 * t->gstore_n ? t->gn * Cg :
		    2 * t->gstore_n;
		t->gstore = xrealloc(t->gstore, t->gstore_n *
		    sizeof *t->gstore);
	}
	for (i = 0, tok = 0; i < nm; i += n) {
		n = nm - i < g->Bmax ? nm - i : g->Bmax;
		for (j = 0; j < n; j++)
			g->pool_skip[j] = t->plen[t->gmiss[i + j] / cb > 0];
		bert_forward(g, t->gids + tok, t->glen + i, n, 0, 0);
		for (j = 0; j < n; j++) {
			memcpy(t->gstore + t->gsrc[t->gmiss[i + j]] * Cg,
			    g->a.out + j * Cg, Cg * sizeof *gemb);
			tok += t->glen[i + j];
		}
	}
	for (s = 0; s < S; s++)
		memcpy(gemb + s * Cg, t->gstore + t->gsrc[s] * Cg,
		    Cg * sizeof *gemb);
}

/* Every rank's rows (src: its K*bl, W wide) into dst (K*b, W), the
 * batch's column layout. */
static void
gather(struct train *t, float *dst, const float *src, size_t b, size_t K,
    size_t W)
{
	const int P = t->nproc;

	for (int q = 0; q < P; q++) {
		size_t qlo, qhi;
		dist_share(b, q, P, &qlo, &qhi);
		t->cnt[q] = K * (qhi - qlo) * W;
	}
	double t0 = util_now();
	dist_allgatherv(t->gath, src, t->cnt);
	t->t_gather += util_now() - t0;
	src = t->gath;
	for (int q = 0; q < P; q++) {
		size_t qlo, qhi;
		dist_share(b, q, P, &qlo, &qhi);
		for (size_t k = 0; k < K; k++, src += (qhi - qlo) * W)
			memcpy(dst + (k * b + qlo) * W, src,
			    (qhi - qlo) * W * sizeof *src);
	}
}

/* train_grad over nproc ranks: this rank's rows [lo, hi) of each column
 * block are its K*bl sequences. */
static double
train_grad_dist(struct train *t, const uint32_t *ids, const size_t *len,
    const float *label, size_t b, size_t K, long step)
{
	struct bert_model *m = t->m;
	const size_t C = m->cfg.C;
	const int P = t->nproc;
	size_t lo, hi, bl, Sl, k, r, g, tok, ntok;
	/* forwards of rank r draw dropout seeds apart from other ranks' */
	const size_t j0 = (size_t)t->rank << 20;

	bert_zero_grad(m);
	dist_share(b, t->rank, P, &lo, &hi);
	bl = hi - lo;
	Sl = K * bl;
	/* this rank's sequences, packed: sequence k*bl + (r - lo) is
	 * sequence k*b + r of the batch */
	for (g = 0, tok = 0, ntok = 0; g < K * b; g++) {
		k = g / b;
		r = g % b;
		if (r >= lo && r < hi) {
			memcpy(t->lids + ntok, ids + tok, len[g] * sizeof *ids);
			ntok += len[g];
			t->llen[k * bl + (r - lo)] = len[g];
		}
		tok += len[g];
	}
	size_t mini = t->mini ? t->mini : Sl;
	const float *send = t->lemb;
	if (Sl > 0) {
		if (mini >= Sl) {
			skips(t, m, 0, Sl, bl);
			bert_forward(m, t->lids, t->llen, Sl, t->dropout,
			    train_seed(t->seed, step, j0));
			send = m->a.out;	/* kept for the backward */
		} else
			passes(t, t->lemb, NULL, t->lids, t->llen, Sl, bl, mini,
			    step, j0);
	}
	gather(t, t->emb, send, b, K, C);
	if (t->guide) {
		guide_embed(t, t->lgemb, t->lids, t->llen, Sl, bl);
		gather(t, t->gemb, t->lgemb, b, K, t->guide->cfg.C);
	}
	/* the loss of the whole batch, the same on every rank */
	memset(t->demb, 0, K * b * C * sizeof *t->demb);
	t->loss = loss_fwd_bwd(t->demb, t->scratch, &t->lc, t->emb, t->gemb,
	    label, b, K, C);
	/* this rank's slice of d(embeddings), backpropagated */
	for (k = 0; k < K; k++)
		memcpy(t->lemb + k * bl * C, t->demb + (k * b + lo) * C,
		    bl * C * sizeof *t->lemb);
	if (Sl > 0) {
		if (mini >= Sl)
			bert_backward(m, t->lids, t->lemb);
		else
			passes(t, NULL, t->lemb, t->lids, t->llen, Sl, bl,
			    mini, step, j0);
	}
	double t0 = util_now();
	dist_allreduce_sum(m->grads, m->nparams);
	t->t_reduce += util_now() - t0;
	return t->loss;
}

double
train_grad(struct train *t, const uint32_t *ids, const size_t *len,
    const float *label, size_t b, size_t K, long step)
{
	struct bert_model *m = t->m;
	size_t C = m->cfg.C, S = K * b, mini = t->mini ? t->mini : S;

	if (K > t->K || b > t->B)
		errx(EXIT_SOFTWARE, "train_grad: %zu rows of %zu texts, "
		    "allocated for %zu of %zu", b, K, t->B, t->K);
	if (t->nproc > 1)
		return train_grad_dist(t, ids, len, label, b, K, step);
	bert_zero_grad(m);
	memset(t->demb, 0, S * C * sizeof *t->demb);
	if (t->guide)
		guide_embed(t, t->gemb, ids, len, S, b);
	if (mini >= S) {
		skips(t, m, 0, S, b);
		bert_forward(m, ids, len, S, t->dropout,
		    train_seed(t->seed, step, 0));
		t->loss = loss_fwd_bwd(t->demb, t->scratch, &t->lc, m->a.out,
		    t->gemb, label, b, K, C);
		bert_backward(m, ids, t->demb);
		return t->loss;
	}
	/* GradCache: embed, loss on the whole batch, re-forward + backward */
	passes(t, t->emb, NULL, ids, len, S, b, mini, step, 0);
	t->loss = loss_fwd_bwd(t->demb, t->scratch, &t->lc, t->emb, t->gemb,
	    label, b, K, C);
	passes(t, NULL, t->demb, ids, len, S, b, mini, step, 0);
	return t->loss;
}

int
train_update(struct train *t, long step, float lr)
{
	struct bert_model *m = t->m;

	t->grad_norm = adamw_clip(m->grads, m->nparams, t->max_grad_norm);
	if (!isfinite(t->grad_norm))
		return -1;
	for (int i = 0; i < BERT_NPARAM; i++) {
		size_t o = m->poff[i];
		if (m->psize[i] == 0)
			continue;
		adamw_update(m->params + o, m->adam_m + o, m->adam_v + o,
		    m->grads + o, m->psize[i], &t->hp, lr, bert_param_decay(i),
		    step + 1);
	}
	blas_weights_changed(m->params);	/* the bf16 packs of the weights are stale */
	return 0;
}
