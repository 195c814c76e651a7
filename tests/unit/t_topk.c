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
		    rank, N, topk_maxnorm(x, N, C));
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
	/* fp32: sgemm preselects, the kept hits are rescored as the oracle
	 * scores them: the same rows and scores, bit for bit */
	check_ok(name, bad == 0);
	snprintf(name, sizeof name, "%s: NQ=%zu N=%zu C=%zu k=%zu T=%d: scores",
	    what, NQ, N, C, k, T);
	check_close(name, sc, sr, NQ * m, 0, 0);
	topk_free(&t);
	free(q), free(x), free(rank), free(sc), free(sr), free(ix), free(ir);
}

static void
corpus_case(void)
{
	struct topk_corpus c;
	float v[2] = { 1, 2 };
	size_t dup[2] = { 99, 99 };
	const char *ids[] = { "b", "a", "c", "aa" };

	topk_corpus_init(&c, 2);
	for (size_t i = 0; i < 4; i++)
		topk_corpus_add(&c, ids[i], strlen(ids[i]), v);
	check_ok("corpus: no duplicate", topk_corpus_finish(&c, dup) == 0);
	/* strcmp order: a < aa < b < c */
	check_ok("corpus: rank is id order", c.rank[0] == 2 && c.rank[1] == 0
	    && c.rank[2] == 3 && c.rank[3] == 1);
	check_ok("corpus: ids kept", strcmp(topk_corpus_id(&c, 3), "aa") == 0);
	for (size_t i = 0; i < 10000; i++)	/* growth past the first map */
		topk_corpus_add(&c, "z", 1, v);
	check_ok("corpus: duplicate found", topk_corpus_finish(&c, dup) != 0
	    && dup[0] >= 4 && dup[0] < dup[1] &&
	    strcmp(topk_corpus_id(&c, dup[1]), "z") == 0);
	check_ok("corpus: rows survive growth", c.x[2 * 10003 + 1] == 2 &&
	    c.x[1] == 2 && c.N == 10004);
	topk_corpus_free(&c);

	float nan[3] = { 0, NAN, 1 }, inf[3] = { 0, 1, INFINITY };
	check_ok("nonfinite: NaN found", topk_nonfinite(nan, 3) == 1);
	check_ok("nonfinite: inf found", topk_nonfinite(inf, 3) == 2);
	check_ok("nonfinite: finite", topk_nonfinite(v, 2) == 2);
}

/* The corpus split round-robin into S shards: each searched alone, the runs
 * merged, equals the search of the whole (ids, scores and tie order). */
static void
merge_case(const char *what, size_t NQ, size_t N, size_t C, size_t k,
    size_t S, int mode)
{
	float *q = xmalloc(NQ * C * sizeof *q), *x = xmalloc(N * C * sizeof *x);
	struct topk_corpus all, *sh = xcalloc(S, sizeof *sh);
	size_t dup[2], nw = k < N ? k : N, bad = 0;
	char id[32];

	if (mode == 0) {	/* small integers: exact, many ties */
		fill_int(q, NQ * C, 2);
		fill_int(x, N * C, 1);
	} else {		/* reals: sgemm rounds by position */
		check_fill(q, NQ * C, 1);
		check_fill(x, N * C, 1);
	}
	if (mode == 2)		/* rows repeated: ties beyond the heaps' room */
		for (size_t j = 0; j < N; j++)
			memcpy(x + j * C, x + (j % 40) * C, C * sizeof *x);
	topk_corpus_init(&all, C);
	for (size_t s = 0; s < S; s++)
		topk_corpus_init(&sh[s], C);
	for (size_t j = 0; j < N; j++) {
		/* ids out of row order, of different lengths */
		int n = snprintf(id, sizeof id, "d%zu", (j * 7919) % N);
		topk_corpus_add(&all, id, (size_t)n, x + j * C);
		topk_corpus_add(&sh[j % S], id, (size_t)n, x + j * C);
	}
	topk_corpus_finish(&all, dup);
	float *sc = xmalloc(NQ * k * sizeof *sc), *ss = xmalloc(S * NQ * k * 4);
	uint32_t *ix = xmalloc(NQ * k * 4), *is = xmalloc(S * NQ * k * 4);
	struct topk t;
	topk_init(&t, C, nw, NQ, 2);
	topk_search(&t, sc, ix, q, NQ, all.x, all.rank, all.N, all.xnorm);
	topk_free(&t);
	size_t *ns = xmalloc(S * sizeof *ns);
	for (size_t s = 0; s < S; s++) {
		topk_corpus_finish(&sh[s], dup);
		ns[s] = k < sh[s].N ? k : sh[s].N;
		topk_init(&t, C, ns[s], NQ, 1);
		topk_search(&t, ss + s * NQ * k, is + s * NQ * k, q, NQ,
		    sh[s].x, sh[s].rank, sh[s].N, sh[s].xnorm);
		topk_free(&t);
	}
	const char **lid = xmalloc(S * k * sizeof *lid);
	size_t *lidn = xmalloc(S * k * sizeof *lidn), *head = xmalloc(S * 8), m;
	float *ls = xmalloc(S * k * sizeof *ls);
	struct topk_list *l = xmalloc(S * sizeof *l);
	uint32_t *from = xmalloc(k * 4), *at = xmalloc(k * 4);
	for (size_t i = 0; i < NQ; i++) {
		for (size_t s = 0; s < S; s++) {
			const float *s0 = ss + s * NQ * k + i * ns[s];
			const uint32_t *i0 = is + s * NQ * k + i * ns[s];
			for (size_t h = 0; h < ns[s]; h++) {
				lid[s * k + h] = topk_corpus_id(&sh[s], i0[h]);
				lidn[s * k + h] = strlen(lid[s * k + h]);
				ls[s * k + h] = s0[h];
			}
			l[s] = (struct topk_list){ ns[s], ls + s * k,
			    lid + s * k, lidn + s * k };
			if (topk_list_unordered(&l[s]) != ns[s])
				bad++;
		}
		if (topk_merge(from, at, &m, head, l, S, k) != 0 || m != nw)
			bad++;
		for (size_t j = 0; j < m && j < nw; j++)
			if (strcmp(l[from[j]].id[at[j]],
			    topk_corpus_id(&all, ix[i * nw + j])) != 0 ||
			    l[from[j]].s[at[j]] != sc[i * nw + j])
				bad++;
	}
	char name[96];
	snprintf(name, sizeof name, "merge: %s: NQ=%zu N=%zu C=%zu k=%zu, %zu "
	    "shards = unsharded", what, NQ, N, C, k, S);
	check_ok(name, bad == 0);
	/* a shard given twice: the overlap is found */
	l[1] = l[0];
	check_ok("merge: overlapping shards refused",
	    topk_merge(from, at, &m, head, l, S, k) != 0 && m >= 1 &&
	    from[m - 1] != from[m]);
	/* order: a list out of order is found */
	struct topk_list u = l[0];
	float us[3] = { 2, 1, 1 };
	const char *uid[3] = { "x", "a", "b" };
	size_t uidn[3] = { 1, 1, 1 };
	u.n = 3, u.s = us, u.id = uid, u.idn = uidn;
	check_ok("merge: equal scores must be in id descending order",
	    topk_list_unordered(&u) == 2);
	uid[1] = "ab";
	uidn[1] = 2;
	uid[2] = "a";
	check_ok("merge: \"ab\" ranks before \"a\" on a tie",
	    topk_list_unordered(&u) == 3);
	for (size_t s = 0; s < S; s++)
		topk_corpus_free(&sh[s]);
	topk_corpus_free(&all);
	free(q), free(x), free(sh), free(sc), free(ss), free(ix), free(is);
	free(ns), free(lid), free(lidn), free(head), free(ls), free(l);
	free(from), free(at);
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
	one_case("two query tiles", 1100, 1500, 8, 5, 2, 1);
	merge_case("ties", 40, 3000, 6, 10, 3, 0);
	merge_case("ties", 9, 20, 3, 8, 3, 0);	/* shards smaller than k */
	merge_case("k > N", 5, 4, 2, 10, 2, 0);
	merge_case("reals", 150, 3000, 384, 20, 3, 1);
	merge_case("repeated rows", 20, 3000, 64, 10, 3, 2);
	for (int it = check_iters(1); it > 0; it--)
		one_case("random", 130, 3000, 64, 20, 2, 0);
	return check_done();
}
