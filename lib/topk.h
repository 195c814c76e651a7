/* topk: exact inner-product top-k over a corpus held in memory.
 *
 * Scores come from blocked sgemm (a tile of queries against a block of
 * corpus rows, OpenBLAS single-threaded inside an OpenMP loop over corpus
 * blocks); each thread keeps a bounded min-heap of k hits per query, and the
 * heaps are merged at the end.  In fp32 the hits kept are then rescored
 * exactly (topk_search), so that a score depends only on the two vectors,
 * not on where the row sits in the corpus nor on the BLAS core: the runs of
 * corpus shards merge into exactly the unsharded run (topk_merge).
 * Ties are broken as trec_eval ranks them:
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
	float xnorm;		/* the largest row norm (rounded up) */
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
/* Fill rank and xnorm.  Returns 0, or -1 if two rows share an id (dup[0] < dup[1]:
 * the two rows). */
int topk_corpus_finish(struct topk_corpus *c, size_t dup[2]);

/* Copy C little-endian float32 from unaligned bytes. */
void topk_load_vec(float *dst, const void *src, size_t C);
/* Index of the first non-finite element, or C if all are finite. */
size_t topk_nonfinite(const float *v, size_t C);

/* Search state: tiles and per-thread heaps for up to QB queries.
 * Allocated once by topk_init; topk_search allocates nothing. */
struct topk {
	size_t C, k, QB;	/* width, hits kept, queries per call */
	size_t ke;		/* heap room: k, plus extra for rescoring */
	int exact;		/* fp32: rescore the hits exactly */
	size_t NB, QT;		/* corpus block rows, query tile rows */
	int T;			/* threads */
	float *tile;		/* (T, QT*NB) */
	float *hs;		/* (T, QB, ke) heap scores */
	uint32_t *hd;		/* (T, QB, ke) heap rows */
	size_t *hn;		/* (T, QB) heap sizes */
	float *pad;		/* (NB, C) the last block, padded */
};

/* Up to QB queries per call (fewer when T*QB*ke heap entries would exceed
 * 2^24; t->QB is the number granted).  nthreads 0: OpenMP's default.
 * The precision (blas_precision) must be set before. */
void topk_init(struct topk *t, size_t C, size_t k, size_t QB, int nthreads);
void topk_free(struct topk *t);

/* q (NQ,C) queries, NQ <= QB; x (N,C) corpus, rank (N) tie order, xnorm
 * at least its largest row norm (topk_maxnorm) -> sc, ix (NQ, k): scores and
 * row indices, best first, min(k,N) per query.  In fp32 the scores are
 * exactly those of topk_search_ref (double accumulation rounded to float),
 * and so are the rows: sgemm only preselects candidates, with room for its
 * rounding error; in bf16 they are the bf16 kernel's, which rounds the
 * same wherever a row sits. */
void topk_search(struct topk *t, float *sc, uint32_t *ix, const float *q,
    size_t NQ, const float *x, const uint32_t *rank, size_t N, float xnorm);
/* The largest norm of N rows of C, rounded up. */
float topk_maxnorm(const float *x, size_t N, size_t C);
/* The same, naive: one dot product (products exact in double, summed in
 * a fixed order, rounded to float) per pair and a full sort.  Test
 * oracle. */
void topk_search_ref(float *sc, uint32_t *ix, const float *q, size_t NQ,
    const float *x, const uint32_t *rank, size_t N, size_t C, size_t k);

/* --- merging runs of the same queries against corpus shards --- */

/* a ranks before b: a higher score, or an equal one and an id later in
 * strcmp order (ids compared as byte strings, shorter first on a tie of
 * the common prefix, as strcmp does for ids without NUL) */
int topk_before(float sa, const char *a, size_t an, float sb, const char *b,
    size_t bn);

/* One run's hits for a query: n hits, best first. */
struct topk_list {
	size_t n;
	const float *s;		/* (n) scores */
	const char *const *id;	/* (n) ids, not NUL-terminated */
	const size_t *idn;	/* (n) their lengths */
};

/* Index of the first hit of l that ranks before the one above it, or l->n
 * when the list is in order. */
size_t topk_list_unordered(const struct topk_list *l);

/* Merge nl lists, each in order, into the best k of their union:
 * (from[j], at[j]) is the list and index of the j-th hit, j < *n; head
 * (nl) is scratch.
 * Returns 0, or -1 when a document comes twice with the same score (two
 * lists hold it: two shards overlap); then hits *n - 1 and *n are the two.
 * The result is the one topk_search gives on the union of the shards, if
 * each list holds its shard's best k. */
int topk_merge(uint32_t *from, uint32_t *at, size_t *n, size_t *head,
    const struct topk_list *l, size_t nl, size_t k);

#endif
