/* metrics: IR effectiveness measures as trec_eval computes them, and the
 * paired significance tests of score --compare.  See score(1) for the
 * formulas.
 *
 * A query is judged by a ranked list of relevance values (rel, best first,
 * QRELS_UNJUDGED, below any level, for a document without a judgment) and by its judgments: the positive
 * gains of every judged document sorted in descending order (ideal) and the
 * number of judged documents with rel >= level (nrel). */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

enum {
	MET_NDCG,	/* ndcg_cut: gain = rel, discount log2(rank + 1) */
	MET_MRR,	/* reciprocal rank of the first relevant hit within k */
	MET_MAP,	/* map_cut: sum of P@rank at relevant ranks <= k, / nrel */
	MET_RECALL,	/* relevant within k / nrel */
	MET_P,		/* relevant within k / k */
	MET_ACC,	/* success: 1 if any relevant within k */
	MET_RCAP,	/* BEIR's R_cap@k: relevant within k / min(k, nrel) */
	MET_N
};

/* "ndcg", "mrr", "map", "recall", "precision", "accuracy", "rcap" */
extern const char *const metrics_name[MET_N];
/* MET_* for a name, or -1 */
int metrics_lookup(const char *name, size_t n);

/* One hit of a run: its document, score and (filled in by the caller)
 * relevance. */
struct metrics_hit {
	const char *doc;
	double score;
	int rel;
};

/* Sort hits as trec_eval ranks them: score descending, then document id
 * descending (strcmp).  Returns 0, or -1 if two hits name the same document,
 * with *dup set to it. */
int metrics_rank(struct metrics_hit *h, size_t n, const char **dup);

/* out (MET_N, nk): every metric at every cutoff ks[0..nk) for one query.
 * rel (n) best first; ideal (nideal) positive gains, descending; nrel > 0
 * judged documents with rel >= level.  Pure. */
void metrics_query(double *out, const int *rel, size_t n, const int *ideal,
    size_t nideal, size_t nrel, int level, const size_t *ks, size_t nk);

/* Paired two-sided randomization test of mean(b - a) over n queries: R
 * random sign flips of the per-query differences (seeded); returns
 * (c + 1) / (R + 1) where c counts flips with |mean| >= the observed one. */
double metrics_randomization(const double *a, const double *b, size_t n,
    size_t R, uint64_t seed);
/* Percentile bootstrap of mean(b - a): R resamples of the n queries with
 * replacement (seeded); *lo, *hi = the (1-conf)/2 and (1+conf)/2 quantiles
 * (linear interpolation between order statistics).  means (R) is scratch. */
void metrics_bootstrap(double *lo, double *hi, double *means, const double *a,
    const double *b, size_t n, size_t R, double conf, uint64_t seed);

/* Sort v ascending; the q-quantile (0 <= q <= 1, n > 0) of sorted v by
 * linear interpolation between order statistics. */
void metrics_sort(double *v, size_t n);
double metrics_quantile(const double *v, size_t n, double q);


/* A run against judgments, one query at a time.  Evaluated: every judged
 * query with at least one document of rel >= level, in qrels order; a
 * judged query the run lacks counts 0 for every metric (trec_eval -c); a
 * judged query with no relevant document is skipped.  With judged_only
 * (trec_eval -J), a hit without a judgment of relevance >= 0 is removed
 * from its query's ranking before any measure, and the ranks close up. */
struct qrels;
struct run_hit;
struct metrics_eval {
	size_t nq;		/* queries evaluated */
	size_t nohits;		/*   of which the run has no hits (no
				 *   judged hits, with judged_only) */
	size_t skipped;		/* judged queries without a relevant doc */
	size_t nk;
	const char **qid;	/* (nq) */
	double *v;		/* (nq, MET_N, nk) */
	/* between metrics_begin and metrics_end */
	const struct qrels *q;
	const size_t *ks;
	int level, judged_only;
	unsigned char *hits;	/* (q->nq) the run has hits for it */
	struct metrics_hit *h;
	int *rel, *ideal;
	size_t cap;
};
void metrics_begin(struct metrics_eval *e, const struct qrels *q, int level,
    int judged_only, const size_t *ks, size_t nk);
/* All the hits of one query of the run (again, if the query came before:
 * the new values replace the old).  0, or -1 if it lists a document twice
 * (*dup), judged query or not. */
int metrics_add(struct metrics_eval *e, const char *qid,
    const struct run_hit *h, size_t n, const char **dup);
/* Keep the evaluated queries' values, in qrels order. */
void metrics_end(struct metrics_eval *e);
void metrics_eval_free(struct metrics_eval *e);

#endif
