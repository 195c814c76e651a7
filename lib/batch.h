/* batch: an examples stream (see embtune(7)) held compactly in memory, and
 * the batches of each epoch: a seeded shuffle per epoch and
 * sentence-transformers' NO_DUPLICATES batch sampler (a batch never holds
 * the same text twice).
 *
 * Rows may differ in width (mine-negatives --keep-pairs: (query, positive)
 * rows beside (query, positive, negative) ones).  A batch then holds rows of
 * one width only, as sentence-transformers batches a dict of datasets, one
 * dataset a batch: the next batch takes the width of the first row left in
 * the epoch's shuffled order, so the widths interleave in proportion to
 * their rows (its PROPORTIONAL sampling).  With rows of one width the plan
 * is the plain NO_DUPLICATES one.
 *
 * A batch of b rows of K texts is handed to the model as K*b sequences in
 * column blocks: sequence k*b + r is text k of row r (anchors, then
 * positives, then negatives), the layout loss.h expects. */
#ifndef BATCH_H
#define BATCH_H

#include <stddef.h>
#include <stdint.h>

struct examples {
	size_t n, K, Kmin;	/* rows, texts in the widest and narrowest */
	int has_label;
	size_t *row;		/* (n + 1): row r's texts are row[r] ..
				 * row[r + 1] - 1 (r*K .. when all are K wide) */
	uint32_t *ids;		/* every text's token ids, back to back */
	size_t *off;		/* (row[n] + 1): text t spans
				 * ids[off[t] .. off[t + 1]) */
	uint64_t *hash;		/* (row[n]) FNV-1a of each text's ids (never 0) */
	float *label;		/* (n), NULL without labels */
	size_t Tmax;		/* longest text */
	uint64_t fingerprint;	/* of all rows, to check a resumed run */
	size_t prompt_len[2];	/* header "prompt_len": ids of a prompt at
				 * the start of the anchors (column 0) and of
				 * the other texts (0: none) */
};

/* Read a whole examples stream (path NULL: stdin).  The header's "vocab"
 * must equal vocab (model names the model in messages); ids must be < V
 * and each text 1..Tlim tokens; every row must have 2 or more texts, and a
 * label in all rows or none.  Exits 65 naming the record
 * otherwise, 66 if path cannot be opened. */
void batch_read(struct examples *ex, const char *path, const char *model,
    const char *vocab, size_t V, size_t Tlim);
void batch_free(struct examples *ex);
/* Data-parallel (dist.h): rank 0's examples (read from standard input,
 * which mpirun hands to rank 0 only) to every other rank; a no-op in one
 * process. */
void batch_bcast(struct examples *ex);

struct sampler {
	const struct examples *ex;
	size_t B;		/* rows per batch */
	uint64_t seed;
	uint32_t *order;	/* (n) the epoch's rows, batch after batch */
	size_t *start;		/* (n + 1) where each batch starts in order */
	size_t nbatch;
	uint32_t *next, *perm;	/* (n) scratch */
	uint64_t *set;		/* hash set of a batch's texts */
	size_t setcap;
};

/* The steps of an epoch, as the Hugging Face trainer counts them for
 * sentence-transformers: rows/B rounded up, for each width of row. */
size_t batch_steps(const struct examples *ex, size_t B);
/* Allocate everything the sampler needs (nothing is allocated later). */
void batch_sampler_init(struct sampler *s, const struct examples *ex,
    size_t B, uint64_t seed);
void batch_sampler_free(struct sampler *s);
/* Plan epoch e (0-based): shuffle with a generator seeded from (seed, e),
 * then fill batches greedily in that order with rows of the batch's width
 * none of whose texts is already in the batch; rows skipped wait for a
 * later batch; the last batches may be short.  Returns the number of
 * batches. */
size_t batch_epoch(struct sampler *s, long e);
/* Copy batch i of the planned epoch: ids packed (sequence k*b + r is text
 * k of row r), len (K*b), label (b) if the data has labels; *K gets the
 * batch's width.  Returns b.  ids must hold K*B*Tmax, len K*B, label B. */
size_t batch_get(const struct sampler *s, size_t i, uint32_t *ids,
    size_t *len, float *label, size_t *K);

#endif
