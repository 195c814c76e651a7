/* t_metrics: trec_eval measures on hand-worked rankings; tie order;
 * randomization test against exact enumeration; bootstrap. */
#include "check.h"
#include "metrics.h"
#include "qrels.h"

#define NK 4
static const size_t ks[NK] = { 1, 2, 3, 10 };

static double
at(const double *out, int m, size_t j)
{
	return out[m * NK + j];
}

static void
close1(const char *name, double got, double want)
{
	float g = (float)got, w = (float)want;
	check_close(name, &g, &w, 1, 1e-7, 0);
}

static void
measures(void)
{
	double out[MET_N * NK];
	const int U = QRELS_UNJUDGED;

	/* graded: ranks 1..4 have rel 0, 2, unjudged, 1; judged rels 2, 1, 1
	 * (one relevant document not retrieved) */
	int rel[] = { 0, 2, U, 1 }, ideal[] = { 2, 1, 1 };
	metrics_query(out, rel, 4, ideal, 3, 3, 1, ks, NK);
	double l3 = log2(3), l5 = log2(5);
	close1("ndcg@1 = 0", at(out, MET_NDCG, 0), 0);
	close1("ndcg@2", at(out, MET_NDCG, 1), (2 / l3) / (2 + 1 / l3));
	close1("ndcg@3", at(out, MET_NDCG, 2), (2 / l3) / (2 + 1 / l3 + 0.5));
	close1("ndcg@10", at(out, MET_NDCG, 3), (2 / l3 + 1 / l5) /
	    (2 + 1 / l3 + 0.5));
	close1("mrr@1 = 0", at(out, MET_MRR, 0), 0);
	close1("mrr@2 = 1/2", at(out, MET_MRR, 1), 0.5);
	close1("map@10: (1/2 + 2/4) / 3", at(out, MET_MAP, 3), (0.5 + 0.5) / 3);
	close1("recall@3 = 1/3", at(out, MET_RECALL, 2), 1.0 / 3);
	close1("recall@10 = 2/3", at(out, MET_RECALL, 3), 2.0 / 3);
	close1("precision@10 divides by k", at(out, MET_P, 3), 0.2);
	close1("accuracy@1 = 0", at(out, MET_ACC, 0), 0);
	close1("accuracy@2 = 1", at(out, MET_ACC, 1), 1);
	/* R_cap@k divides by min(k, R): by k while k < R = 3, then by R */
	close1("rcap@1 = 0", at(out, MET_RCAP, 0), 0);
	close1("rcap@2 = 1/2 (recall@2 is 1/3)", at(out, MET_RCAP, 1), 0.5);
	close1("rcap@3 = 1/3", at(out, MET_RCAP, 2), 1.0 / 3);
	close1("rcap@10 = 2/3", at(out, MET_RCAP, 3), 2.0 / 3);

	/* level 2: only the rel-2 document is relevant (nrel 1); NDCG keeps
	 * its gains */
	double out2[MET_N * NK];
	metrics_query(out2, rel, 4, ideal, 3, 1, 2, ks, NK);
	close1("level 2: ndcg unchanged", at(out2, MET_NDCG, 3),
	    at(out, MET_NDCG, 3));
	close1("level 2: map@10 = 1/2", at(out2, MET_MAP, 3), 0.5);
	close1("level 2: recall@10 = 1", at(out2, MET_RECALL, 3), 1);
	close1("level 2: rcap@2 = 1/min(2, 1)", at(out2, MET_RCAP, 1), 1);
	close1("level 2: rcap@1 = 0", at(out2, MET_RCAP, 0), 0);

	/* no hits at all: every metric 0 */
	metrics_query(out, rel, 0, ideal, 3, 3, 1, ks, NK);
	double sum = 0;
	for (size_t i = 0; i < MET_N * NK; i++)
		sum += out[i];
	check_ok("no hits: all 0", sum == 0);
}

static void
ranking(void)
{
	struct metrics_hit h[] = {
		{ "d7", 0.5, 0 }, { "d70", 0.5, 0 }, { "a", 0.9, 0 },
		{ "z", 0.5, 0 }, { "b", -1, 0 }, { "d8", 0.5, 0 },
	};
	const char *want[] = { "a", "z", "d8", "d70", "d7", "b" }, *dup;
	int ok = metrics_rank(h, 6, &dup) == 0;
	for (int i = 0; i < 6; i++)
		ok &= strcmp(h[i].doc, want[i]) == 0;
	check_ok("rank: score desc, then id desc (strcmp)", ok);
	struct metrics_hit d[] = { { "x", 1, 0 }, { "y", 2, 0 }, { "x", 3, 0 } };
	check_ok("rank: duplicate found", metrics_rank(d, 3, &dup) != 0 &&
	    strcmp(dup, "x") == 0);
	check_ok("lookup", metrics_lookup("map", 3) == MET_MAP &&
	    metrics_lookup("mapx", 4) == -1 && metrics_lookup("ndcg,", 4) ==
	    MET_NDCG);
}

static void
tests(void)
{
	enum { n = 10, R = 10000 };
	double a[n], b[n], means[R], lo, hi;

	for (size_t i = 0; i < n; i++) {
		a[i] = 0.5 + 0.3 * check_rand();
		b[i] = a[i] + 0.05 + 0.1 * check_rand();
	}
	/* exact two-sided p over all 2^n sign patterns */
	double obs = 0;
	for (size_t i = 0; i < n; i++)
		obs += b[i] - a[i];
	size_t c = 0;
	for (unsigned s = 0; s < (1u << n); s++) {
		double t = 0;
		for (size_t i = 0; i < n; i++)
			t += ((s >> i) & 1 ? -1 : 1) * (b[i] - a[i]);
		c += fabs(t) >= fabs(obs) - 1e-12;
	}
	double exact = (double)c / (1u << n);
	double p = metrics_randomization(a, b, n, R, 1);
	printf("# randomization p %.4f, exact %.4f\n", p, exact);
	check_ok("randomization: within 0.015 of the exact p",
	    fabs(p - exact) < 0.015);
	check_ok("randomization: seeded, reproducible",
	    p == metrics_randomization(a, b, n, R, 1));
	check_ok("randomization: identical runs give p = 1",
	    metrics_randomization(a, a, n, R, 1) == 1);

	metrics_bootstrap(&lo, &hi, means, a, b, n, R, 0.95, 1);
	printf("# bootstrap [%.4f, %.4f], mean diff %.4f\n", lo, hi, obs / n);
	check_ok("bootstrap: interval holds the mean difference",
	    lo < obs / n && obs / n < hi);
	double lo2, hi2;
	metrics_bootstrap(&lo2, &hi2, means, a, b, n, R, 0.95, 1);
	check_ok("bootstrap: seeded, reproducible", lo == lo2 && hi == hi2);
	for (size_t i = 0; i < n; i++)
		b[i] = a[i] + 0.125;
	metrics_bootstrap(&lo, &hi, means, a, b, n, R, 0.95, 1);
	check_ok("bootstrap: constant difference, zero width",
	    fabs(lo - 0.125) < 1e-12 && fabs(hi - 0.125) < 1e-12);
	check_ok("randomization: all differences equal gives p = 3/10001 "
	    "or so", metrics_randomization(a, b, n, R, 1) < 0.01);
}

int
main(void)
{
	(void)check_fill;
	for (int it = check_iters(1); it > 0; it--) {
		measures();
		ranking();
		tests();
	}
	return check_done();
}
