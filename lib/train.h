/* train: one optimizer step of sentence-embedding fine-tuning over a
 * bert_model: forward, loss, backward (directly, or GradCache-style in
 * mini-batches for cmnrl), global gradient clipping, AdamW.
 *
 * Cached MNRL (GradCache, Gao et al. 2021): embed every mini-batch of
 * sequences, compute the loss and d(embeddings) on the whole batch, then
 * forward each mini-batch again, with the same dropout seed, and backprop
 * its slice of d(embeddings).  Memory is one mini-batch of activations; the
 * gradients equal plain MNRL's up to float rounding.  The embedding pass
 * takes the first mini-batch last, and the second pass starts from its
 * activations, still in the arena: one forward fewer a step, the same
 * bits.
 *
 * Data-parallel (dist.h, train under mpirun), as sentence-transformers' DDP
 * with gather_across_devices: every rank gets the whole batch and embeds
 * its share of the rows; the embeddings are all-gathered, so that every
 * anchor sees the candidates of the whole batch; every rank computes the
 * same loss and d(embeddings) and backpropagates its own rows' slice; the
 * gradients are summed over the ranks.  Every rank then clips and steps
 * alike, and the parameters stay the same everywhere.
 *
 * GIST (gist, cgist): a frozen guide model embeds the same sequences,
 * forward only, dropout off, as many at a time as the model's forwards;
 * the loss masks candidates by the guide's similarities (loss.h).  The
 * guide embeds each text once: rows repeat texts (an anchor in every row
 * of its query, the negatives of ACORD's judged rows: a fifth as many
 * texts as places in them), and the embeddings it made are kept. */
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
	size_t B, K;		/* rows per batch, texts per row (at most) */
	size_t mini;		/* sequences per forward; 0: all at once */
	int kept;		/* the arena holds the first mini-batch's
				 * activations from the embedding pass */
	double max_grad_norm;	/* <= 0: no clipping */
	int dropout;		/* dropout on (training mode) */
	uint64_t seed;
	size_t plen[2];		/* prompt ids at the start of the anchors and
				 * of the other texts (0: none); a model whose
				 * include_prompt is false leaves them out of
				 * its pooling */
	float *emb, *demb;	/* (K*B, C) */
	float *scratch;		/* loss scratch */
	struct bert_model *guide;	/* gist, cgist: the guide (train_guide) */
	float *gemb;		/* (K*B, guide C) its embeddings */
	/* the guide's embeddings of the texts it has embedded, by a hash of
	 * each text's ids and column kind (anchor or not): a frozen guide
	 * gives a text the same embedding every time */
	size_t gmax;		/* texts it keeps (256 MiB of them, at
				 * least a batch) */
	size_t gn, gcap;	/* texts kept; slots of the table */
	uint64_t *gkey;		/* (gcap) a text's key, 0: empty */
	uint32_t *gval;		/* (gcap) its row of gstore */
	float *gstore;		/* (gn, guide C) */
	size_t gstore_n;	/* floats allocated there */
	size_t *gsrc;		/* (K*B) each sequence's row of gstore */
	size_t *gmiss, *glen;	/* (K*B) the sequences to embed, lengths */
	uint32_t *gids;		/* their ids */
	size_t gids_n;		/* bytes allocated there */
	/* data-parallel (train_dist): this rank's share of each batch */
	int rank, nproc;
	uint32_t *lids;		/* its sequences' token ids */
	size_t *llen;		/* (K*Bl) their lengths */
	float *lemb;		/* (K*Bl, C) its embeddings, then its d(emb) */
	float *lgemb;		/* (K*Bl, guide C) its guide embeddings */
	float *gath;		/* (K*B, max(C, guide C)) every rank's, rank
				 * after rank */
	size_t *cnt;		/* (nproc) floats each rank sends */
	double t_gather, t_reduce;	/* seconds in the collectives */
	/* results of the last step */
	double loss, grad_norm;
};

/* Allocate the step's buffers for batches of at most B rows of K texts
 * (m from bert_alloc with BERT_GRADS | BERT_ADAM). */
void train_init(struct train *t, struct bert_model *m,
    const struct loss_cfg *lc, const struct adamw_hp *hp, size_t B,
    size_t K, size_t mini);
void train_free(struct train *t);
/* The guide of a gist or cgist loss: g from bert_alloc with no flags and
 * the same Bmax, Tmax and Nmax as the model, its weights loaded, the same
 * token ids meaning the same tokens; after train_dist. */
void train_guide(struct train *t, struct bert_model *g);
/* Take part in a data-parallel run of dist_size() processes: allocate the
 * share of a batch (at most ceil(B/nproc) rows, Ntok tokens).  Without it,
 * or with one process, train_grad works on the whole batch alone. */
void train_dist(struct train *t, size_t Ntok);

/* Seed for the dropout of forward number j of step `step` */
uint64_t train_seed(uint64_t seed, long step, size_t j);

/* Loss and gradients (into m->grads, zeroed first) of one batch of b rows
 * of K texts (b <= B, K <= the K of train_init): ids packed, len (K*b) in
 * loss.h's column layout, label (b) or NULL.
 * Returns the loss (also in t->loss).  No clipping, no update.
 * Data-parallel: the same batch on every rank; the gradients of the whole
 * batch, summed over the ranks, on every rank. */
double train_grad(struct train *t, const uint32_t *ids, const size_t *len,
    const float *label, size_t b, size_t K, long step);

/* Clip the gradients to t->max_grad_norm (global norm, t->grad_norm gets
 * the norm before clipping) and apply AdamW step number step+1 at lr.
 * -1, and no update, if the gradient norm is not finite. */
int train_update(struct train *t, long step, float lr);

#endif
