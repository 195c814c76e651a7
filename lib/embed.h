/* embed: the sentence embeddings of many token sequences, as encode(1)
 * computes them: in windows of at most EMBED_WINDOW sequences and
 * 4 Nmax tokens, each sorted by length (shortest first) and cut into
 * batches of at most Nmax tokens, so that every tool that embeds the same
 * texts with the same arena gets the same floats. */
#ifndef EMBED_H
#define EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "bert.h"

#define EMBED_WINDOW 2048

struct embed {
	struct bert_model *m;	/* inference arena (bert_alloc, flags 0) */
	size_t cap_rec, cap_tok;	/* a window's limits */
	size_t *order;		/* (cap_rec) scratch */
	const size_t *off;	/*   (for the sort) */
	uint32_t *bids;		/* (Nmax) batch staging */
	size_t *blen;		/* (Bmax) */
};

/* Allocate the scratch for arena m (Bmax = Nmax, as encode sizes it). */
void embed_init(struct embed *e, struct bert_model *m);
void embed_free(struct embed *e);
/* 1 if a window of nrec sequences and ntok tokens has no room for one more
 * of n tokens */
int embed_full(const struct embed *e, size_t nrec, size_t ntok, size_t n);
/* vec (n, C) = the embeddings (raw: m->a.pooled, before Normalize) of the
 * n sequences ids[off[i] .. off[i+1]) (each 1..Tmax tokens), window after
 * window as embed_full cuts them; in eval mode (no dropout). */
void embed_run(struct embed *e, float *vec, const uint32_t *ids,
    const size_t *off, size_t n, int raw);

#endif
