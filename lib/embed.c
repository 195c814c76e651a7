/* embed: encode(1)'s windows and batches (see embed.h). */
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "util.h"

void
embed_init(struct embed *e, struct bert_model *m)
{
	memset(e, 0, sizeof *e);
	e->m = m;
	e->cap_rec = EMBED_WINDOW;
	e->cap_tok = 4 * m->Nmax;
	e->order = xmalloc(e->cap_rec * sizeof *e->order);
	e->bids = xmalloc(m->Nmax * sizeof *e->bids);
	e->blen = xmalloc(m->Bmax * sizeof *e->blen);
}

void
embed_free(struct embed *e)
{
	free(e->order);
	free(e->bids);
	free(e->blen);
}

int
embed_full(const struct embed *e, size_t nrec, size_t ntok, size_t n)
{
	return nrec == e->cap_rec || ntok + n > e->cap_tok;
}

/* by length, then by position: a stable order */
static int
by_len(const void *a, const void *b, void *arg)
{
	const size_t *off = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	size_t lx = off[x + 1] - off[x], ly = off[y + 1] - off[y];

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* one window: sequences [r0, r1) */
static void
window(struct embed *e, float *vec, const uint32_t *ids, const size_t *off,
    size_t r0, size_t r1, int raw)
{
	struct bert_model *m = e->m;
	size_t C = m->cfg.C, n = r1 - r0, i, j;

	for (i = 0; i < n; i++)
		e->order[i] = r0 + i;
	qsort_r(e->order, n, sizeof *e->order, by_len, (void *)off);
	for (i = 0; i < n;) {
		size_t B = 0, N = 0;
		for (j = i; j < n && B < m->Bmax; j++) {
			size_t r = e->order[j], len = off[r + 1] - off[r];
			if (N + len > m->Nmax)
				break;
			memcpy(e->bids + N, ids + off[r], len * sizeof *ids);
			e->blen[B++] = len;
			N += len;
		}
		bert_forward(m, e->bids, e->blen, B, 0, 0);
		const float *src = raw ? m->a.pooled : m->a.out;
		for (size_t b = 0; b < B; b++)
			memcpy(vec + e->order[i + b] * C, src + b * C,
			    C * sizeof *vec);
		i = j;
	}
}

void
embed_run(struct embed *e, float *vec, const uint32_t *ids, const size_t *off,
    size_t n, int raw)
{
	size_t r0 = 0, r = 0;

	while (r < n) {
		size_t len = off[r + 1] - off[r];
		if (embed_full(e, r - r0, off[r] - off[r0], len)) {
			window(e, vec, ids, off, r0, r, raw);
			r0 = r;
		}
		r++;
	}
	if (r > r0)
		window(e, vec, ids, off, r0, r, raw);
}
