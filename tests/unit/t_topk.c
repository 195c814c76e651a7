/* t_topk: blocked sgemm + heaps against the naive oracle, ties included. */
#include "check.h"
#include "tensor.h"
#include "topk.h"
#include "util.h"

/* small integers: every dot product is exact in any order, so scores tie
 * often and the tie order (id descending) is exercised for real */
static void
fill_int(float *x, size_t n, int span)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)((int)((check_rand() + 1) * 0.5f * (2 * span + 1))
		    - span);
}

/* rank: a fixed permutation, as if ids were shuffled */
static void
fill_rank(uint32_t *rank, size_t N)
{
	for (size_t i = 0; i < N; i++)
		rank[i] = (uint32_t)i;
	for (size_t i = N; i > 1; i--) {
		size_t j = (size_t)((check_rand() + 1) * 0.5f * (float)i);
		if (j >= i)
			j = i - 1;
		uint32_t t = rank[i - 1];
		rank[i - 1] = rank[j];
		rank[j] = t;
	}
}

static void
one_case(const char *what, size_t NQ, size_t N, size_t C, size_t k, int T,
    int exact)
{
	float *q = xmalloc(NQ * C * sizeof *q), *x = xmalloc(N * C * sizeof *x);
	uint32_t *rank = xmalloc((N ? N : 1) * sizeof *rank);
	size_t m = k < N ? k : N, ke = m ? m : 1;
	float *sc = xcalloc(NQ * ke, sizeof *sc), *sr = xcalloc(NQ * ke, 4);
	uint32_t *ix = xcalloc(NQ * ke, 4), *ir = xcalloc(NQ * ke, 4);
	struct topk t;
	char name[160];

	if (exact) {
		fill_int(q, NQ * C, 2);
		fill_int(x, N * C, 1);
	} else {
		check_fill(q, NQ * C, 1);
		check_fill(x, N * C, 1);
	}
	fill_rank(rank, N);
	topk_init(&t, C, m, NQ, T);
	for (size_t q0 = 0; q0 < NQ; q0 += t.QB) {
		size_t nq = NQ - q0 < t.QB ? NQ - q0 : t.QB;
		topk_search(&t, sc + q0 * m, ix + q0 * m, q + q0 * C, nq, x,
		    rank, N);
	}
	topk_search_ref(sr, ir, q, NQ, x, rank, N, C, m);
	size_t bad = 0;
	for (size_t i = 0; i < NQ * m; i++)
		if (ix[i] != ir[i]) {
			if (bad++ < 3)
				printf("# %s: hit %zu: row %u, want %u (%g vs "
				    "%g)\n", what, i, ix[i], ir[i], sc[i],
				    sr[i]);
		}
	snprintf(name, sizeof name, "%s: NQ=%zu N=%zu C=%zu k=%zu T=%d: rows",
	    what, NQ, N, C, k, T);
	if (exact)
		check_ok(name, bad == 0);
	else	/* sgemm rounds differently: near-ties may swap; few only */
		check_ok(name, bad <= NQ * m / 50);
	snprintf(name, sizeof name, "%s: NQ=%zu N=%zu C=%zu k=%zu T=%d: scores",
	    what, NQ, N, C, k, T);
	check_close(name, sc, sr, NQ * m, exact ? 0 : 1e-5, exact ? 0 : 1e-5);
	topk_free(&t);
	free(q), free(x), free(rank), free(sc), free(sr), free(ix), free(ir);
}

static void
corpus_case(void)
{
	struct topk_corpus c;
	float v[2] = { 1, 2 };
	size_t dup = 99;
	const char *ids[] = { "b", "a", "c", "aa" };

	topk_corpus_init(&c, 2);
	for (size_t i = 0; i < 4; i++)
		topk_corpus_add(&c, ids[i], strlen(ids[i]), v);
	check_ok("corpus: no duplicate", topk_corpus_finish(&c, &dup) == 0);
	/* strcmp order: a < aa < b < c */
	check_ok("corpus: rank is id order", c.rank[0] == 2 && c.rank[1] == 0
	    && c.rank[2] == 3 && c.rank[3] == 1);
	check_ok("corpus: ids kept", strcmp(topk_corpus_id(&c, 3), "aa") == 0);
	for (size_t i = 0; i < 10000; i++)	/* growth past the first map */
		topk_corpus_add(&c, "z", 1, v);
	check_ok("corpus: duplicate found", topk_corpus_finish(&c, &dup) != 0
	    && strcmp(topk_corpus_id(&c, dup), "z") == 0);
	check_ok("corpus: rows survive growth", c.x[2 * 10003 + 1] == 2 &&
	    c.x[1] == 2 && c.N == 10004);
	topk_corpus_free(&c);

	float nan[3] = { 0, NAN, 1 }, inf[3] = { 0, 1, INFINITY };
	check_ok("nonfinite: NaN found", topk_nonfinite(nan, 3) == 1);
	check_ok("nonfinite: inf found", topk_nonfinite(inf, 3) == 2);
	check_ok("nonfinite: finite", topk_nonfinite(v, 2) == 2);
}

int
main(void)
{
	blas_threads(0);
	corpus_case();
	/* ties, tails of blocks and tiles, k > N, one query, many threads */
	one_case("ties", 7, 50, 8, 5, 1, 1);
	one_case("ties", 7, 50, 8, 5, 2, 1);
	one_case("ties", 300, 2500, 16, 10, 2, 1);
	one_case("ties", 300, 2500, 16, 10, 3, 1);
	one_case("ties", 1, 3000, 4, 100, 2, 1);
	one_case("k > N", 5, 3, 4, 10, 2, 1);
	one_case("k = 1", 200, 4100, 12, 1, 2, 1);
	for (int it = check_iters(1); it > 0; it--)
		one_case("random", 130, 3000, 64, 20, 2, 0);
	return check_done();
}
