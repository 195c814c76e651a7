/* topk: exact inner-product top-k (blocked sgemm + bounded heaps). */
#include "topk.h"
#include "tensor.h"
#include "util.h"

#include <err.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

/* Corpus rows per block and query rows per tile: one product per corpus
 * block for up to 1024 queries (topk's batch), so that the block is packed
 * once per batch, not once per 128 queries as with tiles of 128 x 1024
 * (OpenBLAS's packing was 9% of an fp32 search, and bf16 converts the
 * block as it packs); the 2 MiB tile of scores is read back from L2 or L3
 * (bench/README.md: fp32 searches 6% faster, bf16 a quarter, on an AMD
 * EPYC with avx2 avx512f avx512_bf16). */
#ifndef TOPK_NB
#define TOPK_NB 512
#endif
#ifndef TOPK_QT
#define TOPK_QT 1024
#endif
#define TOPK_HEAP ((size_t)1 << 24)

/* --- corpus --- */

void
topk_corpus_init(struct topk_corpus *c, size_t C)
{
	memset(c, 0, sizeof *c);
	c->C = C;
}

void
topk_corpus_free(struct topk_corpus *c)
{
#ifdef __linux__
	if (c->x != NULL)
		munmap(c->x, c->cap * c->C * sizeof(float));
#else
	free(c->x);
#endif
	free(c->pool);
	free(c->idoff);
	free(c->rank);
	memset(c, 0, sizeof *c);
}

/* Grow the matrix to ncap rows.  On Linux an anonymous mapping grown with
 * mremap: page-aligned, and no copy and no second buffer on growth. */
static void
grow_matrix(struct topk_corpus *c, size_t ncap)
{
	size_t old = c->cap * c->C * sizeof(float);
	size_t new = ncap * c->C * sizeof(float);

	if (new == 0)
		new = 1;
#ifdef __linux__
	void *p = c->x == NULL
	    ? mmap(NULL, new, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
	    : mremap(c->x, old ? old : 1, new, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		err(EXIT_SOFTWARE, "corpus of %zu rows", ncap);
	c->x = p;
#else
	float *p = xaligned(new);
	if (old)
		memcpy(p, c->x, old);
	free(c->x);
	c->x = p;
#endif
	c->cap = ncap;
}

void
topk_load_vec(float *dst, const void *src, size_t C)
{
	memcpy(dst, src, C * sizeof(float));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < C; i++) {
		uint32_t u;
		memcpy(&u, dst + i, 4);
		u = __builtin_bswap32(u);
		memcpy(dst + i, &u, 4);
	}
#endif
}

size_t
topk_nonfinite(const float *v, size_t C)
{
	int bad = 0;	/* the common case first, in vectors */
	#pragma omp simd reduction(|:bad)
	for (size_t i = 0; i < C; i++)
		bad |= !(fabsf(v[i]) <= FLT_MAX);
	if (!bad)
		return C;
	for (size_t i = 0; i < C; i++)
		if (!isfinite(v[i]))
			return i;
	return C;
}

void
topk_corpus_add(struct topk_corpus *c, const char *id, size_t idn,
    const void *v)
{
	if (c->N == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 4096;
		grow_matrix(c, ncap);
		c->idoff = xrealloc(c->idoff, ncap * sizeof *c->idoff);
	}
	if (c->pooln + idn + 1 > c->poolcap) {
		c->poolcap = (c->poolcap + idn + 1) * 2;
		c->pool = xrealloc(c->pool, c->poolcap);
	}
	memcpy(c->pool + c->pooln, id, idn);
	c->pool[c->pooln + idn] = '\0';
	c->idoff[c->N] = c->pooln;
	c->pooln += idn + 1;
	topk_load_vec(c->x + c->N * c->C, v, c->C);
	c->N++;
}

struct idref {
	const char *s;
	uint32_t i;
};

static int
cmp_idref(const void *pa, const void *pb)
{
	const struct idref *a = pa, *b = pb;
	return strcmp(a->s, b->s);
}

int
topk_corpus_finish(struct topk_corpus *c, size_t dup[2])
{
	struct idref *r = xmalloc((c->N ? c->N : 1) * sizeof *r);
	size_t i;

	if (c->N > UINT32_MAX)
		errx(EXIT_DATAERR, "corpus of %zu rows: at most %u allowed",
		    c->N, UINT32_MAX);
	for (i = 0; i < c->N; i++) {
		r[i].s = topk_corpus_id(c, i);
		r[i].i = (uint32_t)i;
	}
	qsort(r, c->N, sizeof *r, cmp_idref);
	free(c->rank);
	c->rank = xmalloc((c->N ? c->N : 1) * sizeof *c->rank);
	for (i = 0; i < c->N; i++) {
		if (i > 0 && strcmp(r[i - 1].s, r[i].s) == 0) {
			dup[0] = r[i - 1].i < r[i].i ? r[i - 1].i : r[i].i;
			dup[1] = r[i - 1].i < r[i].i ? r[i].i : r[i - 1].i;
			free(r);
			return -1;
		}
		c->rank[r[i].i] = (uint32_t)i;
	}
	free(r);
	c->xnorm = topk_maxnorm(c->x, c->N, c->C);
	return 0;
}

/* --- search --- */

void
topk_init(struct topk *t, size_t C, size_t k, size_t QB, int nthreads)
{
	memset(t, 0, sizeof *t);
#ifdef _OPENMP
	t->T = nthreads > 0 ? nthreads : omp_get_max_threads();
#else
	(void)nthreads;
	t->T = 1;
#endif
	t->C = C;
	t->k = k;
	/* fp32: the heaps keep extra candidates for the exact rescoring */
	t->exact = blas_precision() == BLAS_PREC_FP32;
	t->ke = t->exact && k > 0 ? k + 16 + k / 8 : k;
	size_t ke = t->ke;
	/* cap the heaps at TOPK_HEAP entries: a huge k gets fewer queries */
	size_t fit = TOPK_HEAP / ((size_t)t->T * (ke ? ke : 1));
	t->QB = QB < fit ? QB : fit > 0 ? fit : 1;
	QB = t->QB;
	t->NB = TOPK_NB;
	t->QT = TOPK_QT;
	size_t T = (size_t)t->T;
	t->tile = xaligned(T * t->QT * t->NB * sizeof *t->tile);
	t->hs = xaligned(T * QB * ke * sizeof *t->hs);
	t->hd = xaligned(T * QB * ke * sizeof *t->hd);
	t->hn = xcalloc(T * QB, sizeof *t->hn);
}

void
topk_free(struct topk *t)
{
	free(t->tile);
	free(t->hs);
	free(t->hd);
	free(t->hn);
	memset(t, 0, sizeof *t);
}

/* Heap order: the root is the worst hit kept.  a is worse than b when its
 * score is lower, or equal with an id earlier in strcmp order. */
#define WORSE(sa, da, sb, db) \
	((sa) < (sb) || ((sa) == (sb) && rank[da] < rank[db]))

static void
sift_up(float *s, uint32_t *d, size_t i, const uint32_t *rank)
{
	float sv = s[i];
	uint32_t dv = d[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!WORSE(sv, dv, s[p], d[p]))
			break;
		s[i] = s[p];
		d[i] = d[p];
		i = p;
	}
	s[i] = sv;
	d[i] = dv;
}

static void
sift_down(float *s, uint32_t *d, size_t n, size_t i, const uint32_t *rank)
{
	float sv = s[i];
	uint32_t dv = d[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && WORSE(s[c + 1], d[c + 1], s[c], d[c]))
			c++;
		if (!WORSE(s[c], d[c], sv, dv))
			break;
		s[i] = s[c];
		d[i] = d[c];
		i = c;
	}
	s[i] = sv;
	d[i] = dv;
}

/* Offer one hit to a heap of n (<= k) entries. */
static inline void
offer(float *s, uint32_t *d, size_t *n, size_t k, float sc, uint32_t doc,
    const uint32_t *rank)
{
	if (*n < k) {
		s[*n] = sc;
		d[*n] = doc;
		sift_up(s, d, (*n)++, rank);
	} else if (WORSE(s[0], d[0], sc, doc)) {
		s[0] = sc;
		d[0] = doc;
		sift_down(s, d, k, 0, rank);
	}
}

/* whether any of x[0..16) is not below t: one vector compare or a few,
 * where a full heap rejects almost every score */
static inline int
any16(const float *x, float t)
{
	int a = 0;
	#pragma omp simd reduction(|:a)
	for (int u = 0; u < 16; u++)
		a |= !(x[u] < t);
	return a;
}

/* Offer a row of nb scores for corpus rows doc0.. to one heap. */
static void
scan_row(float *s, uint32_t *d, size_t *hn, size_t k, const float *row,
    size_t nb, uint32_t doc0, const uint32_t *rank)
{
	size_t j = 0, n = *hn;

	while (n < k && j < nb) {
		offer(s, d, &n, k, row[j], doc0 + (uint32_t)j, rank);
		j++;
	}
	if (k == 0) {
		*hn = n;
		return;
	}
	float thr = s[0];
	while (j < nb) {
		if (j + 16 <= nb && !any16(row + j, thr)) {
			j += 16;
			continue;
		}
		for (size_t e = j + 16 < nb ? j + 16 : nb; j < e; j++)
			if (!(row[j] < thr)) {
				offer(s, d, &n, k, row[j], doc0 + (uint32_t)j,
				    rank);
				thr = s[0];
			}
	}
	*hn = n;
}

/* The score of a pair as topk reports it in fp32: products exact in
 * double, summed in a fixed order (four running sums, one for each c mod
 * 4, then (s0 + s1) + (s2 + s3)), rounded once to float.  It depends on
 * nothing but the two vectors. */
static float
dot_exact(const float *a, const float *b, size_t C)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t c = 0;

	for (; c + 4 <= C; c += 4) {
		s0 += (double)a[c] * b[c];
		s1 += (double)a[c + 1] * b[c + 1];
		s2 += (double)a[c + 2] * b[c + 2];
		s3 += (double)a[c + 3] * b[c + 3];
	}
	if (c < C)
		s0 += (double)a[c] * b[c];
	if (c + 1 < C)
		s1 += (double)a[c + 1] * b[c + 1];
	if (c + 2 < C)
		s2 += (double)a[c + 2] * b[c + 2];
	return (float)((s0 + s1) + (s2 + s3));
}

/* Sort a heap of n best first (the root, the worst, goes last). */
static void
sort_heap(float *s, uint32_t *d, size_t n, const uint32_t *rank)
{
	for (size_t m = n; m > 1; m--) {
		float ts = s[0];
		uint32_t td = d[0];
		s[0] = s[m - 1];
		d[0] = d[m - 1];
		s[m - 1] = ts;
		d[m - 1] = td;
		sift_down(s, d, m - 1, 0, rank);
	}
}

/* Make a heap of n arbitrary entries. */
static void
make_heap(float *s, uint32_t *d, size_t n, const uint32_t *rank)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(s, d, n, i, rank);
}

/* Exact fp32 scores for query qv, whose ke-heap (s, d, n entries, sorted
 * best first by sgemm's scores) holds its candidates.  sgemm's rounding
 * depends on where a row sits in the corpus and on the BLAS core, by at
 * most delta = (C+2) u |q| max|x| (u = 2^-24, any order of summation), so
 * every row of the exact top k has an sgemm score of at least
 * theta - 2 delta, theta the k-th best sgemm score.  When the heap holds
 * every such row, its rows are rescored exactly and the best k kept;
 * otherwise (near-ties beyond the extra room) the whole corpus is scored
 * exactly for this query.  Returns the number kept, min(k, N). */
static size_t
rescore(float *s, uint32_t *d, size_t n, size_t k, size_t ke,
    const float *qv, const float *x, const uint32_t *rank, size_t N,
    size_t C, double xnorm)
{
	double qn = 0;
	size_t j;

	if (n == ke && n > k) {
		for (size_t c = 0; c < C; c++)
			qn += (double)qv[c] * qv[c];
		double u = 1.0 / (1 << 24), g = (double)(C + 2) * u;
		double delta = 1.01 * g / (1 - g) * sqrt(qn) * xnorm;
		if (!((double)s[ke - 1] < (double)s[k - 1] - 2 * delta)) {
			/* not enough room: every row, exactly */
			n = 0;
			for (j = 0; j < N; j++)
				offer(s, d, &n, k, dot_exact(qv, x + j * C, C),
				    (uint32_t)j, rank);
			sort_heap(s, d, n, rank);
			return n;
		}
	}
	for (j = 0; j < n; j++)
		s[j] = dot_exact(qv, x + (size_t)d[j] * C, C);
	make_heap(s, d, n, rank);
	sort_heap(s, d, n, rank);
	return n < k ? n : k;
}

void
topk_search(struct topk *t, float *sc, uint32_t *ix, const float *q,
    size_t NQ, const float *x, const uint32_t *rank, size_t N, float xnorm)
{
	const size_t C = t->C, k = t->k, ke = t->ke, QB = t->QB, NB = t->NB,
	    QT = t->QT;
	const size_t nblk = (N + NB - 1) / NB;
	int T = t->T, used = 1;

	if ((size_t)T > nblk)
		T = nblk > 0 ? (int)nblk : 1;
	memset(t->hn, 0, (size_t)t->T * QB * sizeof *t->hn);

	#pragma omp parallel num_threads(T) if (T > 1)
	{
		int me = 0, nt = 1;
#ifdef _OPENMP
		me = omp_get_thread_num();
		nt = omp_get_num_threads();
#endif
		if (me == 0)
			used = nt;
		float *tile = t->tile + (size_t)me * QT * NB;
		float *hs = t->hs + (size_t)me * QB * ke;
		uint32_t *hd = t->hd + (size_t)me * QB * ke;
		size_t *hn = t->hn + (size_t)me * QB;

		for (size_t b = (size_t)me; b < nblk; b += (size_t)nt) {
			size_t d0 = b * NB, nb = N - d0 < NB ? N - d0 : NB;
			for (size_t q0 = 0; q0 < NQ; q0 += QT) {
				size_t nq = NQ - q0 < QT ? NQ - q0 : QT;
				blas_gemm1(BLAS_NT, tile, q + q0 * C, x + d0 * C,
				    nq, nb, C, C, C, nb, 1.0f, 0.0f);
				for (size_t i = 0; i < nq; i++)
					scan_row(hs + (q0 + i) * ke,
					    hd + (q0 + i) * ke, hn + q0 + i, ke,
					    tile + i * nb, nb, (uint32_t)d0,
					    rank);
			}
		}
	}

	/* merge every thread's heap into thread 0's, then sort best first */
	#pragma omp parallel for schedule(dynamic, 16) if (NQ > 64 && t->T > 1)
	for (size_t i = 0; i < NQ; i++) {
		float *s = t->hs + i * ke;
		uint32_t *d = t->hd + i * ke;
		size_t n = t->hn[i];
		for (int th = 1; th < used; th++) {
			const float *s2 = t->hs + ((size_t)th * QB + i) * ke;
			const uint32_t *d2 = t->hd + ((size_t)th * QB + i) * ke;
			size_t n2 = t->hn[(size_t)th * QB + i];
			for (size_t j = 0; j < n2; j++)
				offer(s, d, &n, ke, s2[j], d2[j], rank);
		}
		sort_heap(s, d, n, rank);
		if (t->exact)
			n = rescore(s, d, n, k, ke, q + i * C, x, rank, N, C,
			    xnorm);
		memcpy(sc + i * k, s, n * sizeof *s);
		memcpy(ix + i * k, d, n * sizeof *d);
	}
}

float
topk_maxnorm(const float *x, size_t N, size_t C)
{
	double m = 0;
	for (size_t j = 0; j < N; j++) {
		const float *v = x + j * C;
		double a = (double)dot_exact(v, v, C);
		if (a > m)
			m = a;
	}
	/* a bound: |q.x| <= |q| |x| <= |q| sqrt(m), m rounded up */
	return nextafterf((float)sqrt(m * (1 + 1e-6)), INFINITY);
}

void
topk_search_ref(float *sc, uint32_t *ix, const float *q, size_t NQ,
    const float *x, const uint32_t *rank, size_t N, size_t C, size_t k)
{
	float *all = xmalloc((N ? N : 1) * sizeof *all);
	uint32_t *ord = xmalloc((N ? N : 1) * sizeof *ord);
	size_t m = k < N ? k : N;

	for (size_t i = 0; i < NQ; i++) {
		for (size_t j = 0; j < N; j++) {
			all[j] = dot_exact(q + i * C, x + j * C, C);
			ord[j] = (uint32_t)j;
		}
		/* selection by insertion: fine for a test oracle */
		for (size_t a = 0; a < m; a++) {
			size_t best = a;
			for (size_t b = a + 1; b < N; b++)
				if (WORSE(all[ord[best]], ord[best],
				    all[ord[b]], ord[b]))
					best = b;
			uint32_t tmp = ord[a];
			ord[a] = ord[best];
			ord[best] = tmp;
			sc[i * k + a] = all[ord[a]];
			ix[i * k + a] = ord[a];
		}
	}
	free(all);
	free(ord);
}

/* --- merge --- */

int
topk_before(float sa, const char *a, size_t an, float sb, const char *b,
    size_t bn)
{
	if (sa != sb)
		return sa > sb;
	int c = memcmp(a, b, an < bn ? an : bn);
	return c != 0 ? c > 0 : an > bn;
}

size_t
topk_list_unordered(const struct topk_list *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (!topk_before(l->s[i - 1], l->id[i - 1], l->idn[i - 1],
		    l->s[i], l->id[i], l->idn[i]))
			return i;
	return l->n;
}

int
topk_merge(uint32_t *from, uint32_t *at, size_t *n, size_t *head,
    const struct topk_list *l, size_t nl, size_t k)
{
	size_t j, r;

	for (r = 0; r < nl; r++)
		head[r] = 0;
	/* the lists are few (one per shard): scan their heads for the best */
	for (j = 0; j < k; j++) {
		size_t b = nl;
		for (r = 0; r < nl; r++)
			if (head[r] < l[r].n && (b == nl ||
			    topk_before(l[r].s[head[r]], l[r].id[head[r]],
			    l[r].idn[head[r]], l[b].s[head[b]],
			    l[b].id[head[b]], l[b].idn[head[b]])))
				b = r;
		if (b == nl)
			break;
		from[j] = (uint32_t)b;
		at[j] = (uint32_t)head[b]++;
		if (j > 0) {
			const struct topk_list *p = &l[from[j - 1]];
			size_t i = at[j - 1];
			if (p->s[i] == l[b].s[at[j]] && p->idn[i] ==
			    l[b].idn[at[j]] && memcmp(p->id[i], l[b].id[at[j]],
			    p->idn[i]) == 0) {
				*n = j;
				return -1;
			}
		}
	}
	*n = j;
	return 0;
}
