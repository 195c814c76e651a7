/* train: one optimizer step of sentence-embedding fine-tuning over a
 * bert_model: forward, loss, backward (directly, or GradCache-style in
 * mini-batches for cmnrl), global gradient clipping, AdamW.
 *
 * Cached MNRL (GradCache, Gao et al. 2021): embed every mini-batch of
 * sequences, compute the loss and d(embeddings) on the whole batch, then
 * forward each mini-batch again, with the same dropout seed, and backprop
 * its slice of d(embeddings).  Memory is one mini-batch of activations; the
 * gradients equal plain MNRL's up to float rounding. */
#ifndef TRAIN_H
#define TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "adamw.h"
#include "bert.h"
#include "loss.h"

struct train {
	struct bert_model *m;
	struct loss_cfg lc;
	struct adamw_hp hp;
	size_t B, K;		/* rows per batch, texts per row */
	size_t mini;		/* sequences per forward; 0: all at once */
	double max_grad_norm;	/* <= 0: no clipping */
	int dropout;		/* dropout on (training mode) */
	uint64_t seed;
	float *emb, *demb;	/* (K*B, C) */
	float *scratch;		/* loss scratch */
	/* results of the last step */
	double loss, grad_norm;
};

/* Allocate the step's buffers for batches of at most B rows of K texts
 * (m from bert_alloc with BERT_GRADS | BERT_ADAM). */
void train_init(struct train *t, struct bert_model *m,
    const struct loss_cfg *lc, const struct adamw_hp *hp, size_t B,
    size_t K, size_t mini);
void train_free(struct train *t);

/* Seed for the dropout of forward number j of step `step` */
uint64_t train_seed(uint64_t seed, long step, size_t j);

/* Loss and gradients (into m->grads, zeroed first) of one batch of b rows:
 * ids packed, len (K*b) in loss.h's column layout, label (b) or NULL.
 * Returns the loss (also in t->loss).  No clipping, no update. */
double train_grad(struct train *t, const uint32_t *ids, const size_t *len,
    const float *label, size_t b, long step);

/* Clip the gradients to t->max_grad_norm (global norm, t->grad_norm gets
 * the norm before clipping) and apply AdamW step number step+1 at lr.
 * -1, and no update, if the gradient norm is not finite. */
int train_update(struct train *t, long step, float lr);

#endif
