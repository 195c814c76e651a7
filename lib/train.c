/* train: one training step (see train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"
#include "util.h"

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
}

void
train_free(struct train *t)
{
	free(t->emb);
	free(t->demb);
	free(t->scratch);
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

double
train_grad(struct train *t, const uint32_t *ids, const size_t *len,
    const float *label, size_t b, long step)
{
	struct bert_model *m = t->m;
	size_t C = m->cfg.C, S = t->K * b, mini = t->mini ? t->mini : S;

	bert_zero_grad(m);
	memset(t->demb, 0, S * C * sizeof *t->demb);
	if (mini >= S) {
		bert_forward(m, ids, len, S, t->dropout,
		    train_seed(t->seed, step, 0));
		t->loss = loss_fwd_bwd(t->demb, t->scratch, &t->lc, m->a.out,
		    label, b, t->K, C);
		bert_backward(m, ids, t->demb);
		return t->loss;
	}
	/* GradCache: embed, loss on the whole batch, re-forward + backward */
	size_t s0, j, tok;
	for (s0 = 0, j = 0, tok = 0; s0 < S; s0 += mini, j++) {
		size_t n = S - s0 < mini ? S - s0 : mini;
		bert_forward(m, ids + tok, len + s0, n, t->dropout,
		    train_seed(t->seed, step, j));
		memcpy(t->emb + s0 * C, m->a.out, n * C * sizeof *t->emb);
		for (size_t i = 0; i < n; i++)
			tok += len[s0 + i];
	}
	t->loss = loss_fwd_bwd(t->demb, t->scratch, &t->lc, t->emb, label, b,
	    t->K, C);
	for (s0 = 0, j = 0, tok = 0; s0 < S; s0 += mini, j++) {
		size_t n = S - s0 < mini ? S - s0 : mini;
		bert_forward(m, ids + tok, len + s0, n, t->dropout,
		    train_seed(t->seed, step, j));
		bert_backward(m, ids + tok, t->demb + s0 * C);
		for (size_t i = 0; i < n; i++)
			tok += len[s0 + i];
	}
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
	return 0;
}
