/* mine: hard-negative selection, as sentence-transformers' mine_hard_negatives
 * does it, over one query's ranked hits.
 *
 * For one query: the hits (best first), a flag per hit saying whether it is
 * a known positive (or otherwise no candidate), and P, the query's lowest
 * positive score (-INFINITY when a positive is not ranked and its score is
 * unknown: it then scores below every hit).  mine_select drops the positives, keeps the first range_max
 * remaining hits as candidates, removes those that fail the margins and the
 * score bounds, skips the first range_min survivors and picks num of the
 * rest: the best ones ("top") or a uniform sample kept in rank order
 * ("random").  It returns the number picked (< num when too few survive). */
#ifndef MINE_H
#define MINE_H

#include <stddef.h>
#include <stdint.h>

enum { MINE_TOP, MINE_RANDOM };

struct mine_opts {
	size_t num;			/* negatives per query, >= 1 */
	size_t range_min, range_max;	/* window over non-positive hits */
	int has_abs, has_rel, has_max, has_min;
	double abs_margin;		/* drop s + abs_margin > P */
	double rel_margin;		/* drop s > P - |P| rel_margin */
	double max_score;		/* drop s > max_score */
	double min_score;		/* drop s < min_score */
	int sampling;			/* MINE_TOP or MINE_RANDOM */
};

/* What the filters removed, summed over queries (for the report). */
struct mine_counts {
	size_t cand;			/* candidates considered */
	size_t abs, rel, max, min;	/* removed by each filter, in order */
};

/* range_max for opts without one, as the reference derives it:
 * range_min + num (no filter) or range_min + 10 num (with a margin or
 * max_score).  The reference adds max_positives; our window already
 * excludes positives. */
size_t mine_default_range_max(const struct mine_opts *o);

/* Pick negatives among n hits: score (n) best first, ispos (n) nonzero for
 * known positives and other hits that are no candidates, P the lowest
 * positive score.  Writes the indices of the chosen hits to out (room for
 * o->num) in rank order; tmp needs room for n indices.  rng is a splitmix64 state, used only by MINE_RANDOM. */
size_t mine_select(size_t *out, size_t *tmp, const double *score,
    const unsigned char *ispos, size_t n, double P,
    const struct mine_opts *o, uint64_t *rng, struct mine_counts *c);

/* Summary statistics of x (n), as the reference's report prints them:
 * mean, median (the lower middle value, as torch.median), std (n - 1),
 * min, 25%, 50%, 75% (linear interpolation, as torch.quantile), max.
 * Sorts x in place.  With n == 0 every figure is NAN. */
struct mine_stats {
	size_t n;
	double mean, median, std, min, q25, q50, q75, max;
};
void mine_stats(struct mine_stats *st, double *x, size_t n);

/* A string -> index hash (ids of the token streams). Keys are not copied. */
struct mine_idmap {
	struct mine_idslot { const char *s; size_t len, val; uint64_t h; } *slot;
	size_t cap, n;
};
void mine_idmap_init(struct mine_idmap *m);
void mine_idmap_free(struct mine_idmap *m);
/* Insert; returns 0, or -1 when the key exists (*old = its value). */
int mine_idmap_put(struct mine_idmap *m, const char *s, size_t len, size_t val,
    size_t *old);
/* Value of key, or -1 */
long mine_idmap_get(const struct mine_idmap *m, const char *s, size_t len);

#endif
