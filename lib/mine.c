/* mine: hard-negative selection (see mine.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "mine.h"
#include "util.h"

size_t
mine_default_range_max(const struct mine_opts *o)
{
	if (o->has_abs || o->has_rel || o->has_max)
		return o->range_min + 10 * o->num;
	return o->range_min + o->num;
}

/* uniform in [0, n) without modulo bias */
static size_t
rand_below(uint64_t *s, size_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;
	do
		r = util_rand(s);
	while (r >= lim);
	return (size_t)(r % n);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

size_t
mine_select(size_t *out, size_t *tmp, const double *score,
    const unsigned char *ispos, size_t n, double P,
    const struct mine_opts *o, uint64_t *rng, struct mine_counts *c)
{
	size_t ncand = 0, nsurv = 0, w, k;
	/* A positive that is not ranked scores below every hit: no hit can
	 * be a margin away below it. */
	int below = isinf(P) && P < 0;
	double relthr = P - fabs(P) * o->rel_margin;

	for (size_t i = 0; i < n && ncand < o->range_max; i++) {
		double s = score[i];
		if (ispos[i])
			continue;
		ncand++;
		if (o->has_abs && (below || s + o->abs_margin > P)) {
			c->abs++;
			continue;
		}
		if (o->has_rel && (below || s > relthr)) {
			c->rel++;
			continue;
		}
		if (o->has_max && s > o->max_score) {
			c->max++;
			continue;
		}
		if (o->has_min && s < o->min_score) {
			c->min++;
			continue;
		}
		tmp[nsurv++] = i;
	}
	c->cand += ncand;

	/* the window: survivors [range_min, range_max) */
	if (nsurv <= o->range_min)
		return 0;
	w = nsurv - o->range_min;
	tmp += o->range_min;
	if (w <= o->num || o->sampling == MINE_TOP) {
		k = w < o->num ? w : o->num;
		memcpy(out, tmp, k * sizeof *out);
		return k;
	}
	/* partial Fisher-Yates: tmp[0..num) becomes a uniform sample */
	for (k = 0; k < o->num; k++) {
		size_t j = k + rand_below(rng, w - k), t = tmp[k];
		tmp[k] = tmp[j];
		tmp[j] = t;
	}
	memcpy(out, tmp, k * sizeof *out);
	qsort(out, k, sizeof *out, cmp_size);	/* back to rank order */
	return k;
}

void
mine_stats(struct mine_stats *st, double *x, size_t n)
{
	double sum = 0, ss = 0;

	st->n = n;
	if (n == 0) {
		st->mean = st->median = st->std = st->min = st->q25 =
		    st->q50 = st->q75 = st->max = NAN;
		return;
	}
	metrics_sort(x, n);
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	st->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - st->mean) * (x[i] - st->mean);
	st->std = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
	st->median = x[(n - 1) / 2];
	st->min = x[0];
	st->max = x[n - 1];
	st->q25 = metrics_quantile(x, n, 0.25);
	st->q50 = metrics_quantile(x, n, 0.5);
	st->q75 = metrics_quantile(x, n, 0.75);
}

void
mine_idmap_init(struct mine_idmap *m)
{
	m->cap = 1024;
	m->n = 0;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
}

void
mine_idmap_free(struct mine_idmap *m)
{
	free(m->slot);
	memset(m, 0, sizeof *m);
}

static struct mine_idslot *
find(const struct mine_idmap *m, const char *s, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		struct mine_idslot *sl = &m->slot[i];
		if (sl->s == NULL || (sl->h == h && sl->len == len &&
		    memcmp(sl->s, s, len) == 0))
			return sl;
	}
}

int
mine_idmap_put(struct mine_idmap *m, const char *s, size_t len, size_t val,
    size_t *old)
{
	uint64_t h = util_fnv1a(s, len);
	struct mine_idslot *sl;

	if (2 * (m->n + 1) > m->cap) {
		struct mine_idmap g = { xcalloc(2 * m->cap, sizeof *g.slot),
		    2 * m->cap, m->n };
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].s)
				*find(&g, m->slot[i].s, m->slot[i].len,
				    m->slot[i].h) = m->slot[i];
		free(m->slot);
		*m = g;
	}
	sl = find(m, s, len, h);
	if (sl->s) {
		*old = sl->val;
		return -1;
	}
	sl->s = s;
	sl->len = len;
	sl->val = val;
	sl->h = h;
	m->n++;
	return 0;
}

long
mine_idmap_get(const struct mine_idmap *m, const char *s, size_t len)
{
	const struct mine_idslot *sl = find(m, s, len, util_fnv1a(s, len));
	return sl->s ? (long)sl->val : -1;
}
