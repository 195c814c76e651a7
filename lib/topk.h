/* topk: exact inner-product top-k over a corpus held in memory.
 *
 * Scores come from blocked sgemm (a tile of queries against a block of
 * corpus rows, OpenBLAS single-threaded inside an OpenMP loop over corpus
 * blocks); each thread keeps a bounded min-heap of k hits per query, and the
 * heaps are merged at the end.  Ties are broken as trec_eval ranks them:
 * score descending, then document id descending, so that the output does
 * not depend on thread count or input order.  The caller supplies each
 * corpus row's position in id order (rank); a larger rank wins a tie. */
#ifndef TOPK_H
#define TOPK_H

#include <stddef.h>
#include <stdint.h>

/* Corpus: N rows of C floats in one page-aligned matrix, ids in a pool. */
struct topk_corpus {
	size_t N, C, cap;
	float *x;		/* (cap, C) */
	char *pool;		/* NUL-terminated ids */
	size_t pooln, poolcap;
	size_t *idoff;		/* (cap) offsets into pool */
	uint32_t *rank;		/* (N) position in strcmp order of ids */
};

void topk_corpus_init(struct topk_corpus *c, size_t C);
void topk_corpus_free(struct topk_corpus *c);
/* Append one row (v may be unaligned little-endian float32 bytes). */
void topk_corpus_add(struct topk_corpus *c, const char *id, size_t idn,
    const void *v);
static inline const char *
topk_corpus_id(const struct topk_corpus *c, size_t i)
{
	return c->pool + c->idoff[i];
}
/* Fill rank.  Returns 0, or -1 if two rows share an id (*dup = one row). */
int topk_corpus_finish(struct topk_corpus *c, size_t *dup);

/* Copy C little-endian float32 from unaligned bytes. */
void topk_load_vec(float *dst, const void *src, size_t C);
/* Index of the first non-finite element, or C if all are finite. */
size_t topk_nonfinite(const float *v, size_t C);

/* Search state: tiles and per-thread heaps for up to QB queries.
 * Allocated once by topk_init; topk_search allocates nothing. */
struct topk {
	size_t C, k, QB;	/* width, hits kept, queries per call */
	size_t NB, QT;		/* corpus block rows, query tile rows */
	int T;			/* threads */
	float *tile;		/* (T, QT*NB) */
	float *hs;		/* (T, QB, k) heap scores */
	uint32_t *hd;		/* (T, QB, k) heap rows */
	size_t *hn;		/* (T, QB) heap sizes */
};

/* Up to QB queries per call (fewer when T*QB*k heap entries would exceed
 * 2^24; t->QB is the number granted).  nthreads 0: OpenMP's default. */
void topk_init(struct topk *t, size_t C, size_t k, size_t QB, int nthreads);
void topk_free(struct topk *t);

/* q (NQ,C) queries, NQ <= QB; x (N,C) corpus, rank (N) tie order
 * -> sc, ix (NQ, k): scores and row indices, best first, min(k,N) per
 * query. */
void topk_search(struct topk *t, float *sc, uint32_t *ix, const float *q,
    size_t NQ, const float *x, const uint32_t *rank, size_t N);
/* The same, naive: one dot product (double accumulation, rounded to
 * float) per pair and a full sort.  Test oracle. */
void topk_search_ref(float *sc, uint32_t *ix, const float *q, size_t NQ,
    const float *x, const uint32_t *rank, size_t N, size_t C, size_t k);

#endif
