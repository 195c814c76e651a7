/* metrics: IR measures exactly as trec_eval (and so pytrec_eval and BEIR)
 * computes them, plus the paired tests behind score --compare. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const metrics_name[MET_N] = {
	"ndcg", "mrr", "map", "recall", "precision", "accuracy"
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

/* ndcg, mrr, map, recall, P, success of one ranked list at cutoff k */
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
}

void
metrics_query(double *out, const int *rel, size_t n, const int *ideal,
    size_t nideal, size_t nrel, int level, const size_t *ks, size_t nk)
{
	for (size_t j = 0; j < nk; j++)
		at_cutoff(out + j, nk, rel, n, ideal, nideal, nrel, level,
		    ks[j]);
}

uint64_t
metrics_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [0, n) for n < 2^32 */
static size_t
below(uint64_t *state, size_t n)
{
	return (size_t)(((metrics_rand(state) >> 32) * (uint64_t)n) >> 32);
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
				bits = metrics_rand(&st);
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

static double
quantile(const double *v, size_t R, double q)
{
	double pos = q * (double)(R - 1), f = floor(pos);
	size_t i = (size_t)f;
	if (i + 1 >= R)
		return v[R - 1];
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
	qsort(means, R, sizeof *means, cmp_double);
	*lo = quantile(means, R, (1 - conf) / 2);
	*hi = quantile(means, R, (1 + conf) / 2);
}
