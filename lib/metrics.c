/* metrics: IR measures exactly as trec_eval (and so pytrec_eval and BEIR)
 * computes them, plus the paired tests behind score --compare. */
#include "metrics.h"
#include "qrels.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const metrics_name[MET_N] = {
	"ndcg", "mrr", "map", "recall", "precision", "accuracy", "rcap"
};

int
metrics_lookup(const char *name, size_t n)
{
	for (int m = 0; m < MET_N; m++)
		if (strlen(metrics_name[m]) == n &&
		    memcmp(metrics_name[m], name, n) == 0)
			return m;
	return -1;
}

static int
cmp_doc(const void *pa, const void *pb)
{
	const struct metrics_hit *a = pa, *b = pb;
	return strcmp(a->doc, b->doc);
}

/* trec_eval's comp_sim_docno: score descending, then docno descending */
static int
cmp_rank(const void *pa, const void *pb)
{
	const struct metrics_hit *a = pa, *b = pb;
	if (a->score > b->score)
		return -1;
	if (a->score < b->score)
		return 1;
	return strcmp(b->doc, a->doc);
}

int
metrics_rank(struct metrics_hit *h, size_t n, const char **dup)
{
	if (n < 2)
		return 0;
	qsort(h, n, sizeof *h, cmp_doc);
	for (size_t i = 1; i < n; i++)
		if (strcmp(h[i - 1].doc, h[i].doc) == 0) {
			*dup = h[i].doc;
			return -1;
		}
	qsort(h, n, sizeof *h, cmp_rank);
	return 0;
}

/* ndcg, mrr, map, recall, P, success, R_cap of one ranked list at cutoff
 * k */
static void
at_cutoff(double *out, size_t stride, const int *rel, size_t n,
    const int *ideal, size_t nideal, size_t nrel, int level, size_t k)
{
	double dcg = 0, idcg = 0, ap = 0, rr = 0;
	size_t i, nhit = 0, m = n < k ? n : k;

	for (i = 0; i < m; i++) {
		if (rel[i] > 0)
			dcg += rel[i] / log2((double)(i + 2));
		if (rel[i] >= level) {
			nhit++;
			ap += (double)nhit / (double)(i + 1);
			if (rr == 0)
				rr = 1.0 / (double)(i + 1);
		}
	}
	m = nideal < k ? nideal : k;
	for (i = 0; i < m; i++)
		idcg += ideal[i] / log2((double)(i + 2));
	out[MET_NDCG * stride] = idcg > 0 ? dcg / idcg : 0;
	out[MET_MRR * stride] = rr;
	out[MET_MAP * stride] = ap / (double)nrel;
	out[MET_RECALL * stride] = (double)nhit / (double)nrel;
	out[MET_P * stride] = (double)nhit / (double)k;
	out[MET_ACC * stride] = nhit > 0;
	out[MET_RCAP * stride] = (double)nhit / (double)(nrel < k ? nrel : k);
}

void
metrics_query(double *out, const int *rel, size_t n, const int *ideal,
    size_t nideal, size_t nrel, int level, const size_t *ks, size_t nk)
{
	for (size_t j = 0; j < nk; j++)
		at_cutoff(out + j, nk, rel, n, ideal, nideal, nrel, level,
		    ks[j]);
}

/* uniform in [0, n) for n < 2^32 */
static size_t
below(uint64_t *state, size_t n)
{
	return (size_t)(((util_rand(state) >> 32) * (uint64_t)n) >> 32);
}

double
metrics_randomization(const double *a, const double *b, size_t n, size_t R,
    uint64_t seed)
{
	double obs = 0, tol;
	size_t c = 0;
	uint64_t st = seed;

	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		obs += b[i] - a[i];
	obs = fabs(obs);
	tol = 1e-9 * (obs > 1 ? obs : 1);
	for (size_t r = 0; r < R; r++) {
		double s = 0;
		uint64_t bits = 0;
		for (size_t i = 0; i < n; i++) {
			if (i % 64 == 0)
				bits = util_rand(&st);
			double d = b[i] - a[i];
			s += (bits & 1) ? -d : d;
			bits >>= 1;
		}
		if (fabs(s) >= obs - tol)
			c++;
	}
	return (double)(c + 1) / (double)(R + 1);
}

static int
cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

void
metrics_sort(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
}

double
metrics_quantile(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1), f = floor(pos);
	size_t i = (size_t)f;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - f) * (v[i + 1] - v[i]);
}

void
metrics_bootstrap(double *lo, double *hi, double *means, const double *a,
    const double *b, size_t n, size_t R, double conf, uint64_t seed)
{
	uint64_t st = seed;

	if (n == 0 || R == 0) {
		*lo = *hi = 0;
		return;
	}
	for (size_t r = 0; r < R; r++) {
		double s = 0;
		for (size_t i = 0; i < n; i++) {
			size_t j = below(&st, n);
			s += b[j] - a[j];
		}
		means[r] = s / (double)n;
	}
	metrics_sort(means, R);
	*lo = metrics_quantile(means, R, (1 - conf) / 2);
	*hi = metrics_quantile(means, R, (1 + conf) / 2);
}

static int
cmp_int_desc(const void *pa, const void *pb)
{
	int a = *(const int *)pa, b = *(const int *)pb;
	return (a < b) - (a > b);
}

/* judged documents of query qi with rel >= level; ideal: positive gains,
 * descending (*nideal) */
static size_t
judged(const struct metrics_eval *e, size_t qi, size_t *nideal)
{
	const struct qrels *q = e->q;
	size_t nrel = 0;

	*nideal = 0;
	for (size_t j = q->start[qi]; j < q->start[qi + 1]; j++) {
		nrel += q->j[j].rel >= e->level;
		if (q->j[j].rel > 0)
			e->ideal[(*nideal)++] = q->j[j].rel;
	}
	return nrel;
}

void
metrics_begin(struct metrics_eval *e, const struct qrels *q, int level,
    int judged_only, const size_t *ks, size_t nk)
{
	size_t maxj = 0;

	memset(e, 0, sizeof *e);
	e->q = q;
	e->level = level;
	e->judged_only = judged_only;
	e->ks = ks;
	e->nk = nk;
	for (size_t i = 0; i < q->nq; i++)
		if (q->start[i + 1] - q->start[i] > maxj)
			maxj = q->start[i + 1] - q->start[i];
	e->ideal = xmalloc((maxj ? maxj : 1) * sizeof *e->ideal);
	e->hits = xcalloc(q->nq ? q->nq : 1, 1);
	e->qid = xmalloc((q->nq ? q->nq : 1) * sizeof *e->qid);
	/* a query without hits has every value 0 */
	e->v = xcalloc((q->nq ? q->nq : 1) * MET_N * nk, sizeof *e->v);
}

int
metrics_add(struct metrics_eval *e, const char *qid, const struct run_hit *h,
    size_t n, const char **dup)
{
	long qi = qrels_find(e->q, qid);
	size_t nrel = 0, nideal = 0;

	if (n > e->cap) {
		e->cap = n;
		e->h = xrealloc(e->h, n * sizeof *e->h);
		e->rel = xrealloc(e->rel, n * sizeof *e->rel);
	}
	for (size_t j = 0; j < n; j++) {
		e->h[j].doc = h[j].doc;
		e->h[j].score = h[j].score;
		e->h[j].rel = qi < 0 ? QRELS_UNJUDGED :
		    qrels_rel(e->q, (size_t)qi, h[j].doc);
	}
	/* a document twice for one query is an error, judged query or not */
	if (metrics_rank(e->h, n, dup) != 0)
		return -1;
	if (qi < 0 || (nrel = judged(e, (size_t)qi, &nideal)) == 0)
		return 0;
	qsort(e->ideal, nideal, sizeof *e->ideal, cmp_int_desc);
	/* -J: unjudged hits (and, as in trec_eval, negative judgments) leave
	 * the ranking; the rest keep their order */
	size_t m = 0;
	for (size_t j = 0; j < n; j++)
		if (!e->judged_only || e->h[j].rel >= 0)
			e->rel[m++] = e->h[j].rel;
	n = m;
	e->hits[qi] = n > 0;
	metrics_query(e->v + (size_t)qi * MET_N * e->nk, e->rel, n, e->ideal,
	    nideal, nrel, e->level, e->ks, e->nk);
	return 0;
}

void
metrics_end(struct metrics_eval *e)
{
	size_t row = MET_N * e->nk, nideal;

	for (size_t i = 0; i < e->q->nq; i++) {
		if (judged(e, i, &nideal) == 0) {
			e->skipped++;
			continue;
		}
		e->nohits += !e->hits[i];
		e->qid[e->nq] = e->q->qid[i];
		memmove(e->v + e->nq * row, e->v + i * row, row * sizeof *e->v);
		e->nq++;
	}
	free(e->hits);
	free(e->h);
	free(e->rel);
	free(e->ideal);
	e->hits = NULL;
	e->h = NULL;
	e->rel = e->ideal = NULL;
	e->cap = 0;
}

void
metrics_eval_free(struct metrics_eval *e)
{
	free(e->qid);
	free(e->v);
	memset(e, 0, sizeof *e);
}
