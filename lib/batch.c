/* batch: examples in memory; seeded shuffle + NO_DUPLICATES batches. */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "dist.h"
#include "rec.h"
#include "util.h"

static void
header(struct rec_reader *rd, const char *model, const char *vocab,
    size_t prompt_len[2])
{
	msgpack_object h;
	const msgpack_object *p;
	const char *s, *hm = "?";
	size_t n, nm = 1;

	rec_header(rd, "examples", &h);
	if (rec_str(&h, "model", &s, &n) == 0)
		hm = s, nm = n;
	if (rec_str(&h, "vocab", &s, &n) != 0)
		rec_fail(rd, "\"vocab\": missing or not a str");
	if (n != 16 || memcmp(s, vocab, 16) != 0)
		errx(EXIT_DATAERR, "%s: header: examples tokenized for model "
		    "\"%.*s\" (vocab %.*s) do not fit model \"%s\" (vocab %s)",
		    rd->name, (int)nm, hm, (int)n, s, model, vocab);
	/* a uint (every text) or [anchors, the other texts] */
	prompt_len[0] = prompt_len[1] = 0;
	if ((p = rec_get(&h, "prompt_len")) == NULL)
		return;
	if (p->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		prompt_len[0] = prompt_len[1] = (size_t)p->via.u64;
	else if (p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size == 2 &&
	    p->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    p->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		prompt_len[0] = (size_t)p->via.array.ptr[0].via.u64;
		prompt_len[1] = (size_t)p->via.array.ptr[1].via.u64;
	} else
		rec_fail(rd, "\"prompt_len\": expected a uint or [anchors, "
		    "others] (2 uints), got %s", rec_typename(p));
}

void
batch_read(struct examples *ex, const char *path, const char *model,
    const char *vocab, size_t V, size_t Tlim)
{
	struct rec_reader rd;
	msgpack_object m;
	size_t capids = 1 << 16, captext = 1024, caprow = 256;

	memset(ex, 0, sizeof *ex);
	rec_open(&rd, path);
	header(&rd, model, vocab, ex->prompt_len);
	ex->ids = xmalloc(capids * sizeof *ex->ids);
	ex->off = xmalloc(captext * sizeof *ex->off);
	ex->label = xmalloc(caprow * sizeof *ex->label);
	ex->row = xmalloc((caprow + 1) * sizeof *ex->row);
	ex->off[0] = 0;
	ex->row[0] = 0;
	while (rec_next(&rd, &m) == REC_OK) {
		const msgpack_object *a;
		size_t K, r = ex->n;
		double y;

		if (rec_array(&m, "texts", &a, &K) != 0)
			rec_fail(&rd, "\"texts\": expected array of arrays, "
			    "got %s", rec_get(&m, "texts") ?
			    rec_typename(rec_get(&m, "texts")) : "nothing");
		if (K < 2)
			rec_fail(&rd, "\"texts\": %zu text%s, a training row "
			    "needs at least 2", K, K == 1 ? "" : "s");
		if (r == 0 || K > ex->K)
			ex->K = K;
		if (r == 0 || K < ex->Kmin)
			ex->Kmin = K;
		int hl = rec_get(&m, "label") != NULL;
		if (hl && rec_num(&m, "label", &y) != 0)
			rec_fail(&rd, "\"label\": expected a number, got %s",
			    rec_typename(rec_get(&m, "label")));
		if (r == 0)
			ex->has_label = hl;
		else if (hl != ex->has_label)
			rec_fail(&rd, "%s \"label\", unlike record 1",
			    hl ? "has a" : "has no");
		if (r + 1 > caprow) {
			caprow *= 2;
			ex->label = xrealloc(ex->label,
			    caprow * sizeof *ex->label);
			ex->row = xrealloc(ex->row,
			    (caprow + 1) * sizeof *ex->row);
		}
		ex->label[r] = hl ? (float)y : 0;
		size_t t0 = ex->row[r];
		if (t0 + K + 1 > captext) {
			while (t0 + K + 1 > captext)
				captext *= 2;
			ex->off = xrealloc(ex->off, captext * sizeof *ex->off);
		}
		for (size_t k = 0; k < K; k++) {
			const msgpack_object *t = &a[k];
			size_t o = ex->off[t0 + k], nt, bad;
			if (o + Tlim > capids) {
				while (o + Tlim > capids)
					capids *= 2;
				ex->ids = xrealloc(ex->ids,
				    capids * sizeof *ex->ids);
			}
			if (rec_ids(t, ex->ids + o, Tlim, V, &nt, &bad) != 0) {
				if (t->type != MSGPACK_OBJECT_ARRAY)
					rec_fail(&rd, "\"texts\"[%zu]: expected "
					    "array of uint, got %s", k,
					    rec_typename(t));
				if (nt > Tlim)
					rec_fail(&rd, "\"texts\"[%zu]: %zu "
					    "tokens, the model takes at most "
					    "%zu", k, nt, Tlim);
				rec_fail(&rd, "\"texts\"[%zu][%zu]: not a "
				    "token id below %zu", k, bad, V);
			}
			if (nt == 0)
				rec_fail(&rd, "\"texts\"[%zu]: empty", k);
			if (nt > ex->Tmax)
				ex->Tmax = nt;
			ex->off[t0 + k + 1] = o + nt;
		}
		ex->row[r + 1] = t0 + K;
		ex->n++;
	}
	if (ex->n == 0)
		errx(EXIT_DATAERR, "%s: no training rows", rd.name);
	rec_close(&rd);
	if (!ex->has_label) {
		free(ex->label);
		ex->label = NULL;
	}
	size_t nt = ex->row[ex->n];
	ex->hash = xmalloc(nt * sizeof *ex->hash);
	for (size_t t = 0; t < nt; t++) {
		uint64_t h = util_fnv1a(ex->ids + ex->off[t],
		    (ex->off[t + 1] - ex->off[t]) * sizeof *ex->ids);
		ex->hash[t] = h ? h : 1;
	}
	uint64_t f = util_fnv1a(ex->hash, nt * sizeof *ex->hash);
	if (ex->label)
		f ^= util_fnv1a(ex->label, ex->n * sizeof *ex->label) *
		    0x9E3779B97F4A7C15ull;
	if (ex->Kmin != ex->K)	/* the widths, as they take part in batching */
		f ^= util_fnv1a(ex->row, (ex->n + 1) * sizeof *ex->row) *
		    0xC2B2AE3D27D4EB4Full;
	ex->fingerprint = f ^ ex->n ^ ((uint64_t)ex->K << 48);
}

void
batch_bcast(struct examples *ex)
{
	uint64_t h[8];
	size_t nt;

	if (dist_size() < 2)
		return;
	if (dist_rank() == 0) {
		h[0] = ex->n, h[1] = ex->K, h[2] = (uint64_t)ex->has_label;
		h[3] = ex->Tmax, h[4] = ex->fingerprint;
		h[5] = ex->off[ex->row[ex->n]];
		h[6] = ex->row[ex->n], h[7] = ex->Kmin;
	}
	dist_bcast(h, sizeof h);
	nt = (size_t)h[6];
	if (dist_rank() != 0) {
		memset(ex, 0, sizeof *ex);
		ex->n = (size_t)h[0], ex->K = (size_t)h[1];
		ex->has_label = (int)h[2], ex->Tmax = (size_t)h[3];
		ex->fingerprint = h[4], ex->Kmin = (size_t)h[7];
		ex->row = xmalloc((ex->n + 1) * sizeof *ex->row);
		ex->ids = xmalloc((h[5] ? h[5] : 1) * sizeof *ex->ids);
		ex->off = xmalloc((nt + 1) * sizeof *ex->off);
		ex->hash = xmalloc(nt * sizeof *ex->hash);
		if (ex->has_label)
			ex->label = xmalloc(ex->n * sizeof *ex->label);
	}
	dist_bcast(ex->row, (ex->n + 1) * sizeof *ex->row);
	dist_bcast(ex->ids, (size_t)h[5] * sizeof *ex->ids);
	dist_bcast(ex->off, (nt + 1) * sizeof *ex->off);
	dist_bcast(ex->hash, nt * sizeof *ex->hash);
	if (ex->has_label)
		dist_bcast(ex->label, ex->n * sizeof *ex->label);
}

void
batch_free(struct examples *ex)
{
	free(ex->row);
	free(ex->ids);
	free(ex->off);
	free(ex->hash);
	free(ex->label);
	memset(ex, 0, sizeof *ex);
}

void
batch_sampler_init(struct sampler *s, const struct examples *ex, size_t B,
    uint64_t seed)
{
	size_t n = ex->n;

	memset(s, 0, sizeof *s);
	s->ex = ex;
	s->B = B;
	s->seed = seed;
	s->order = xmalloc(n * sizeof *s->order);
	s->start = xmalloc((n + 1) * sizeof *s->start);
	s->next = xmalloc(n * sizeof *s->next);
	s->perm = xmalloc(n * sizeof *s->perm);
	s->setcap = 16;
	while (s->setcap < 2 * B * ex->K)
		s->setcap *= 2;
	s->set = xmalloc(s->setcap * sizeof *s->set);
}

void
batch_sampler_free(struct sampler *s)
{
	free(s->order);
	free(s->start);
	free(s->next);
	free(s->perm);
	free(s->set);
}

/* the texts of row r */
#define ROWK(ex, r) ((ex)->row[(r) + 1] - (ex)->row[r])

size_t
batch_steps(const struct examples *ex, size_t B)
{
	size_t *n = xcalloc(ex->K + 1, sizeof *n), steps = 0;

	for (size_t r = 0; r < ex->n; r++)
		n[ROWK(ex, r)]++;
	for (size_t k = 0; k <= ex->K; k++)
		steps += (n[k] + B - 1) / B;
	free(n);
	return steps;
}

/* 1 if h was already in the set; else inserts it */
static int
set_has(uint64_t *set, size_t cap, uint64_t h, int insert)
{
	size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
	while (set[i]) {
		if (set[i] == h)
			return 1;
		i = (i + 1) & (cap - 1);
	}
	if (insert)
		set[i] = h;
	return 0;
}

size_t
batch_epoch(struct sampler *s, long e)
{
	const struct examples *ex = s->ex;
	size_t n = ex->n, no = 0;
	uint64_t st = s->seed * 0x9E3779B97F4A7C15ull + (uint64_t)e;
	const uint32_t END = UINT32_MAX;

	/* Fisher-Yates */
	util_rand(&st);
	for (size_t i = 0; i < n; i++)
		s->perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(((unsigned __int128)util_rand(&st) *
		    (i + 1)) >> 64);
		uint32_t t = s->perm[i];
		s->perm[i] = s->perm[j];
		s->perm[j] = t;
	}
	/* remaining rows as a list in shuffled order; perm[] holds the
	 * links: head, then next[] */
	for (size_t i = 0; i < n; i++)
		s->next[i] = i + 1 < n ? (uint32_t)(i + 1) : END;
	uint32_t head = 0;
	s->nbatch = 0;
	while (head != END) {
		uint32_t *link = &head, cur;
		size_t b = 0, w = ROWK(ex, s->perm[head]);
		memset(s->set, 0, s->setcap * sizeof *s->set);
		s->start[s->nbatch] = no;
		while ((cur = *link) != END && b < s->B) {
			size_t r = s->perm[cur], K = ROWK(ex, r), k = 0;
			const uint64_t *h = ex->hash + ex->row[r];
			if (K == w)	/* the batch's width: its texts new? */
				while (k < K &&
				    !set_has(s->set, s->setcap, h[k], 0))
					k++;
			if (k < K) {	/* another width, or a text already
					 * in the batch */
				link = &s->next[cur];
				continue;
			}
			for (k = 0; k < K; k++)
				set_has(s->set, s->setcap, h[k], 1);
			s->order[no++] = (uint32_t)r;
			b++;
			*link = s->next[cur];	/* unlink */
		}
		s->nbatch++;
	}
	s->start[s->nbatch] = no;
	return s->nbatch;
}

size_t
batch_get(const struct sampler *s, size_t i, uint32_t *ids, size_t *len,
    float *label, size_t *Kp)
{
	const struct examples *ex = s->ex;
	size_t b = s->start[i + 1] - s->start[i], o = 0;
	const uint32_t *rows = s->order + s->start[i];
	size_t K = ROWK(ex, rows[0]);

	*Kp = K;
	for (size_t k = 0; k < K; k++)
		for (size_t r = 0; r < b; r++) {
			size_t t = ex->row[rows[r]] + k;
			size_t nt = ex->off[t + 1] - ex->off[t];
			memcpy(ids + o, ex->ids + ex->off[t], nt * sizeof *ids);
			len[k * b + r] = nt;
			o += nt;
		}
	if (label && ex->label)
		for (size_t r = 0; r < b; r++)
			label[r] = ex->label[rows[r]];
	return b;
}
