/* t_mine: hard-negative selection (lib/mine.c) on hand-worked cases; the
 * reference comparison with sentence-transformers is in
 * tests/50-mine-negatives.bats. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mine.h"

/* ten hits, best first; hits 1 and 4 are positives */
static const double S[10] = { 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, -0.1,
    -0.35, -0.6 };
static const unsigned char POS[10] = { 0, 1, 0, 0, 1, 0, 0, 0, 0, 0 };

static int
same(const size_t *got, size_t ngot, const size_t *want, size_t nwant)
{
	if (ngot != nwant) {
		printf("# got %zu picks, want %zu\n", ngot, nwant);
		return 0;
	}
	for (size_t i = 0; i < ngot; i++)
		if (got[i] != want[i]) {
			printf("# pick %zu: got %zu want %zu\n", i, got[i],
			    want[i]);
			return 0;
		}
	return 1;
}

static size_t
pick(size_t *out, const struct mine_opts *o, double P, struct mine_counts *c)
{
	size_t tmp[10];
	uint64_t rng = 1;
	struct mine_counts dummy = { 0 };
	return mine_select(out, tmp, S, POS, 10, P, o, &rng, c ? c : &dummy);
}

static void
test_window(void)
{
	size_t out[10], k;
	struct mine_opts o = { .num = 3, .range_max = 100 };

	k = pick(out, &o, 0.6, NULL);
	check_ok("top 3 skip the positives",
	    same(out, k, (size_t[]){ 0, 2, 3 }, 3));
	o.range_min = 2;
	k = pick(out, &o, 0.6, NULL);
	check_ok("range_min counts non-positive hits",
	    same(out, k, (size_t[]){ 3, 5, 6 }, 3));
	o.range_min = 0;
	o.range_max = 2;
	k = pick(out, &o, 0.6, NULL);
	check_ok("range_max bounds the candidates",
	    same(out, k, (size_t[]){ 0, 2 }, 2));
	o.range_max = 100;
	o.range_min = 7;
	k = pick(out, &o, 0.6, NULL);
	check_ok("a window past the hits picks what is left",
	    same(out, k, (size_t[]){ 9 }, 1));
	o.range_min = 8;
	k = pick(out, &o, 0.6, NULL);
	check_ok("an empty window picks nothing", k == 0);
	check_ok("default range_max without filters",
	    mine_default_range_max(&(struct mine_opts){ .num = 3,
	    .range_min = 2 }) == 5);
	check_ok("default range_max with a margin",
	    mine_default_range_max(&(struct mine_opts){ .num = 3,
	    .range_min = 2, .has_rel = 1 }) == 32);
}

static void
test_filters(void)
{
	size_t out[10], k;
	struct mine_counts c = { 0 };
	struct mine_opts o = { .num = 3, .range_max = 100, .has_abs = 1,
	    .abs_margin = 0.15 };

	/* P = 0.6: keep s + 0.15 <= 0.6, i.e. s <= 0.45 */
	k = pick(out, &o, 0.6, &c);
	check_ok("absolute margin below the lowest positive",
	    same(out, k, (size_t[]){ 6, 7, 8 }, 3));
	check_ok("absolute margin counts what it removed",
	    c.abs == 4 && c.cand == 8);
	/* relative, P > 0: threshold 0.6 - 0.6 * 0.25 = 0.45 */
	o = (struct mine_opts){ .num = 2, .range_max = 100, .has_rel = 1,
	    .rel_margin = 0.25 };
	k = pick(out, &o, 0.6, NULL);
	check_ok("relative margin, positive P",
	    same(out, k, (size_t[]){ 6, 7 }, 2));
	/* relative, P < 0: threshold -0.2 - 0.2 * 0.5 = -0.3 (P (1 - m) would
	 * give -0.1 and keep hit 7) */
	o.rel_margin = 0.5;
	k = pick(out, &o, -0.2, NULL);
	check_ok("relative margin, negative P: P - |P| m",
	    same(out, k, (size_t[]){ 8, 9 }, 2));
	/* an unranked positive is below every hit: nothing qualifies */
	k = pick(out, &o, -INFINITY, NULL);
	check_ok("relative margin, unranked positive", k == 0);
	o = (struct mine_opts){ .num = 2, .range_max = 100, .has_abs = 1 };
	k = pick(out, &o, -INFINITY, NULL);
	check_ok("absolute margin 0, unranked positive", k == 0);
	o = (struct mine_opts){ .num = 3, .range_max = 100, .has_max = 1,
	    .max_score = 0.75, .has_min = 1, .min_score = -0.2 };
	memset(&c, 0, sizeof c);
	k = pick(out, &o, -INFINITY, &c);
	check_ok("max and min score, no margin: P unused",
	    same(out, k, (size_t[]){ 3, 5, 6 }, 3));
	o.num = 5;
	memset(&c, 0, sizeof c);
	k = pick(out, &o, -INFINITY, &c);
	check_ok("max and min score keep the band",
	    same(out, k, (size_t[]){ 3, 5, 6, 7 }, 4));
	check_ok("max and min score counts", c.max == 2 && c.min == 2);
	/* range_min applies to the survivors of the filters */
	o = (struct mine_opts){ .num = 2, .range_min = 1, .range_max = 100,
	    .has_max = 1, .max_score = 0.75 };
	k = pick(out, &o, 0.6, NULL);
	check_ok("range_min skips survivors, not hits",
	    same(out, k, (size_t[]){ 5, 6 }, 2));
}

static void
test_random(void)
{
	struct mine_opts o = { .num = 2, .range_max = 100,
	    .sampling = MINE_RANDOM };
	size_t out[10], tmp[10], k, hist[10] = { 0 };
	uint64_t rng = 42, rng2 = 42;
	struct mine_counts c = { 0 };
	int ordered = 1, valid = 1, same_seed = 1;
	const int N = 8000 * check_iters(1);

	for (int t = 0; t < N; t++) {
		size_t out2[10];
		k = mine_select(out, tmp, S, POS, 10, 0, &o, &rng, &c);
		mine_select(out2, tmp, S, POS, 10, 0, &o, &rng2, &c);
		same_seed &= same(out, k, out2, k);
		valid &= k == 2;
		for (size_t i = 0; i < k; i++) {
			valid &= !POS[out[i]];
			hist[out[i]]++;
			if (i)
				ordered &= out[i - 1] < out[i];
		}
	}
	check_ok("random: num picks, never a positive", valid);
	check_ok("random: picks in rank order", ordered);
	check_ok("random: the same seed gives the same picks", same_seed);
	/* each of the 8 candidates is picked with probability 2/8 */
	double want = N * 2.0 / 8, worst = 0;
	for (int i = 0; i < 10; i++)
		if (!POS[i] && fabs(hist[i] - want) > worst)
			worst = fabs(hist[i] - want);
	printf("# largest deviation from %g picks: %g\n", want, worst);
	check_ok("random: uniform over the window", worst < 5 * sqrt(want));
	o.num = 9;
	o.range_max = 100;
	k = mine_select(out, tmp, S, POS, 10, 0, &o, &rng, &c);
	check_ok("random: fewer candidates than num takes them all, in order",
	    same(out, k, (size_t[]){ 0, 2, 3, 5, 6, 7, 8, 9 }, 8));
}

static void
test_stats(void)
{
	double x[] = { 4, 1, 3, 2 };
	struct mine_stats st;

	mine_stats(&st, x, 4);
	check_ok("stats: mean, lower median, min, max",
	    st.mean == 2.5 && st.median == 2 && st.min == 1 && st.max == 4);
	check_ok("stats: std with n - 1",
	    fabs(st.std - sqrt(5.0 / 3)) < 1e-12);
	check_close("stats: quantiles interpolate (torch.quantile)",
	    (float[]){ (float)st.q25, (float)st.q50, (float)st.q75 },
	    (float[]){ 1.75f, 2.5f, 3.25f }, 3, 1e-7, 0);
	mine_stats(&st, x, 0);
	check_ok("stats: empty gives NAN", isnan(st.mean) && st.n == 0);
}

static void
test_idmap(void)
{
	struct mine_idmap m;
	char keys[5000][8];
	size_t old;
	int ok = 1;

	mine_idmap_init(&m);
	for (int i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof keys[i], "d%d", i);
		ok &= mine_idmap_put(&m, keys[i], strlen(keys[i]),
		    (size_t)i, &old) == 0;
	}
	for (int i = 0; i < 5000; i++)
		ok &= mine_idmap_get(&m, keys[i], strlen(keys[i])) == i;
	check_ok("idmap: 5000 keys in, each found after growing", ok);
	check_ok("idmap: a duplicate is refused with the old value",
	    mine_idmap_put(&m, "d17", 3, 99, &old) == -1 && old == 17);
	check_ok("idmap: a missing key gives -1",
	    mine_idmap_get(&m, "d5000", 5) == -1 &&
	    mine_idmap_get(&m, "", 0) == -1);
	mine_idmap_free(&m);
}

int
main(void)
{
	test_window();
	test_filters();
	test_random();
	test_stats();
	test_idmap();
	(void)check_fill;
	return check_done();
}
