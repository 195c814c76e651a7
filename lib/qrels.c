/* qrels: judgment and run readers for score(1). */
#include "qrels.h"
#include "tok.h"
#include "rec.h"
#include "util.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- string pool --- */

#define POOL_CHUNK (1u << 20)

static const char *
pool_dup(struct qrels_pool *p, const char *s, size_t n)
{
	if (n + 1 > p->left) {
		size_t sz = n + 1 > POOL_CHUNK ? n + 1 : POOL_CHUNK;
		p->chunk = xrealloc(p->chunk, (p->nchunk + 1) * sizeof *p->chunk);
		p->cur = p->chunk[p->nchunk++] = xmalloc(sz);
		p->left = sz;
	}
	char *d = p->cur;
	memcpy(d, s, n);
	d[n] = '\0';
	p->cur += n + 1;
	p->left -= n + 1;
	return d;
}

static void
pool_free(struct qrels_pool *p)
{
	for (size_t i = 0; i < p->nchunk; i++)
		free(p->chunk[i]);
	free(p->chunk);
	memset(p, 0, sizeof *p);
}

/* --- hash: (tag, string) -> value, open addressing --- */

static uint32_t
hash_key(uint32_t tag, const char *s, size_t n)
{
	uint64_t h = util_fnv1a(s, n) ^ ((uint64_t)tag * 0x9E3779B97F4A7C15ull);
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static struct qrels_slot *
map_slot(const struct qrels_map *m, uint32_t tag, const char *s, size_t n,
    uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;
	for (;; i = (i + 1) & mask) {
		struct qrels_slot *sl = &m->slot[i];
		if (sl->s == NULL)
			return sl;
		if (sl->h == h && sl->tag == tag && strncmp(sl->s, s, n) == 0 &&
		    sl->s[n] == '\0')
			return sl;
	}
}

static void
map_grow(struct qrels_map *m)
{
	struct qrels_map old = *m;
	m->cap = old.cap ? old.cap * 2 : 1024;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	for (size_t i = 0; i < old.cap; i++) {
		struct qrels_slot *o = &old.slot[i];
		if (o->s == NULL)
			continue;
		size_t mask = m->cap - 1, j = o->h & mask;
		while (m->slot[j].s != NULL)
			j = (j + 1) & mask;
		m->slot[j] = *o;
	}
	free(old.slot);
}

/* Find (tag, s); if absent, insert it (copying s to the pool) with val and
 * return 1, else return 0.  *slot gets the entry. */
static int
map_put(struct qrels_map *m, struct qrels_pool *p, uint32_t tag,
    const char *s, size_t n, size_t val, struct qrels_slot **slot,
    const char *interned)
{
	uint32_t h = hash_key(tag, s, n);
	if ((m->n + 1) * 4 > m->cap * 3)
		map_grow(m);
	struct qrels_slot *sl = map_slot(m, tag, s, n, h);
	*slot = sl;
	if (sl->s != NULL)
		return 0;
	sl->s = interned ? interned : pool_dup(p, s, n);
	sl->tag = tag;
	sl->h = h;
	sl->val = val;
	m->n++;
	return 1;
}

static const struct qrels_slot *
map_get(const struct qrels_map *m, uint32_t tag, const char *s)
{
	if (m->cap == 0)
		return NULL;
	size_t n = strlen(s);
	const struct qrels_slot *sl = map_slot(m, tag, s, n,
	    hash_key(tag, s, n));
	return sl->s ? sl : NULL;
}

/* --- grouping: triples (query index, string, value) in file order -> per
 * query, keeping file order within a query (counting sort) --- */

struct triple {
	size_t qi;
	const char *s;
	double v;
	size_t at;
};

static void
group(size_t nq, const struct triple *t, size_t n, size_t **startp,
    size_t **posp)
{
	size_t *start = xcalloc(nq + 1, sizeof *start);
	size_t *pos = xmalloc((n ? n : 1) * sizeof *pos);
	for (size_t i = 0; i < n; i++)
		start[t[i].qi + 1]++;
	for (size_t q = 0; q < nq; q++)
		start[q + 1] += start[q];
	size_t *fill = xmalloc((nq ? nq : 1) * sizeof *fill);
	memcpy(fill, start, (nq ? nq : 0) * sizeof *fill);
	for (size_t i = 0; i < n; i++)
		pos[fill[t[i].qi]++] = i;
	free(fill);
	*startp = start;
	*posp = pos;
}

/* --- line input --- */

static int
next_line(struct qrels_lines *l, char **s, size_t *n)
{
	ssize_t r;
	errno = 0;
	if ((r = getline(&l->buf, &l->cap, l->fp)) == -1) {
		if (ferror(l->fp))
			err(EXIT_IOERR, "%s", l->name);
		return 0;
	}
	l->lineno++;
	while (r > 0 && (l->buf[r - 1] == '\n' || l->buf[r - 1] == '\r'))
		l->buf[--r] = '\0';
	/* ids end up in JSON (score -j) and in streams: UTF-8, no NUL */
	size_t bad = tok_utf8_check(l->buf, (size_t)r);
	if (bad != (size_t)r)
		errx(EXIT_DATAERR, "%s: line %zu: invalid UTF-8 at byte %zu",
		    l->name, l->lineno, bad + 1);
	if (memchr(l->buf, '\0', (size_t)r) != NULL)
		errx(EXIT_DATAERR, "%s: line %zu: a NUL byte", l->name,
		    l->lineno);
	*s = l->buf;
	*n = (size_t)r;
	return 1;
}

/* Split s on sep (a char) or, with sep 0, on runs of blanks.  Returns the
 * field count (up to max; one more than max means "too many"). */
static size_t
split(char *s, char sep, char **f, size_t *fl, size_t max)
{
	size_t nf = 0;
	if (sep) {
		for (;;) {
			char *e = strchr(s, sep);
			if (nf == max)
				return max + 1;
			f[nf] = s;
			fl[nf] = e ? (size_t)(e - s) : strlen(s);
			nf++;
			if (e == NULL)
				return nf;
			s = e + 1;
		}
	}
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return nf;
		if (nf == max)
			return max + 1;
		f[nf] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		fl[nf] = (size_t)(s - f[nf]);
		nf++;
	}
}

static int
parse_rel(const char *s, size_t n, int *rel)
{
	char tmp[32], *e;
	long v;
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtol(tmp, &e, 10);
	if (*e != '\0' || errno || v < INT_MIN || v > INT_MAX)
		return -1;
	*rel = (int)v;
	return 0;
}

static FILE *
open_text(const char *path, const char **name)
{
	FILE *fp;
	if (path == NULL || strcmp(path, "-") == 0) {
		*name = "stdin";
		return stdin;
	}
	*name = path;
	if ((fp = fopen(path, "r")) == NULL)
		err(EXIT_NOINPUT, "%s", path);
	return fp;
}

/* --- qrels --- */

void
qrels_read(struct qrels *q, const char *path)
{
	struct qrels_lines l = { 0 };
	struct triple *t = NULL;
	size_t nt = 0, tcap = 0, qcap = 0;
	char *s, *f[5];
	size_t n, fl[5];
	int trec = -1;

	memset(q, 0, sizeof *q);
	l.fp = open_text(path, &l.name);
	while (next_line(&l, &s, &n)) {
		size_t nf, qi;
		int rel;
		struct qrels_slot *sl;

		if (n == 0)
			continue;
		if (trec == -1) {
			/* BEIR: three tab-separated fields, maybe a header */
			nf = split(s, '\t', f, fl, 4);
			trec = nf != 3;
			q->format = trec ? "trec" : "beir";
			if (!trec && parse_rel(f[2], fl[2], &rel) != 0)
				continue;	/* header line */
		}
		nf = trec ? split(s, 0, f, fl, 4) : split(s, '\t', f, fl, 3);
		if (nf != (trec ? 4u : 3u))
			errx(EXIT_DATAERR, "%s: line %zu: expected %s, got %s%zu "
			    "fields", l.name, l.lineno, trec ?
			    "4 fields (qid iter docid rel)" :
			    "3 tab-separated fields (query-id corpus-id score)",
			    nf > (trec ? 4u : 3u) ? "more than " : "",
			    nf > (trec ? 4u : 3u) ? nf - 1 : nf);
		char *qs = f[0], *ds = f[trec ? 2 : 1], *rs = f[trec ? 3 : 2];
		size_t ql = fl[0], dl = fl[trec ? 2 : 1], rl = fl[trec ? 3 : 2];
		if (ql == 0 || dl == 0)
			errx(EXIT_DATAERR, "%s: line %zu: empty %s id", l.name,
			    l.lineno, ql == 0 ? "query" : "document");
		if (parse_rel(rs, rl, &rel) != 0)
			errx(EXIT_DATAERR, "%s: line %zu: relevance \"%.*s\": "
			    "not an integer", l.name, l.lineno, (int)rl, rs);
		if (map_put(&q->qmap, &q->pool, 0, qs, ql, q->nq, &sl, NULL)) {
			if (q->nq == qcap) {
				qcap = qcap ? 2 * qcap : 256;
				q->qid = xrealloc(q->qid, qcap * sizeof *q->qid);
			}
			q->qid[q->nq++] = sl->s;
		}
		qi = sl->val;
		if (!map_put(&q->jmap, &q->pool, (uint32_t)qi + 1, ds, dl, nt,
		    &sl, NULL))
			errx(EXIT_DATAERR, "%s: line %zu: query \"%s\", document "
			    "\"%s\": judged twice", l.name, l.lineno, q->qid[qi],
			    sl->s);
		if (nt == tcap) {
			tcap = tcap ? 2 * tcap : 1024;
			t = xrealloc(t, tcap * sizeof *t);
		}
		t[nt].qi = qi;
		t[nt].s = sl->s;
		t[nt].v = rel;
		nt++;
	}
	free(l.buf);
	if (l.fp != stdin)
		fclose(l.fp);
	if (trec == -1)
		q->format = "beir";

	size_t *pos;
	group(q->nq, t, nt, &q->start, &pos);
	q->j = xmalloc((nt ? nt : 1) * sizeof *q->j);
	for (size_t i = 0; i < nt; i++) {
		const struct triple *x = &t[pos[i]];
		q->j[i].doc = x->s;
		q->j[i].rel = (int)x->v;
		/* re-point the (query, doc) entry at the grouped position */
		struct qrels_slot *sl;
		map_put(&q->jmap, &q->pool, (uint32_t)x->qi + 1, x->s,
		    strlen(x->s), 0, &sl, x->s);
		sl->val = i;
	}
	q->nj = nt;
	free(pos);
	free(t);
}

void
qrels_free(struct qrels *q)
{
	free(q->qid);
	free(q->start);
	free(q->j);
	free(q->qmap.slot);
	free(q->jmap.slot);
	pool_free(&q->pool);
	memset(q, 0, sizeof *q);
}

long
qrels_find(const struct qrels *q, const char *qid)
{
	const struct qrels_slot *sl = map_get(&q->qmap, 0, qid);
	return sl ? (long)sl->val : -1;
}

int
qrels_rel(const struct qrels *q, size_t qi, const char *doc)
{
	const struct qrels_slot *sl = map_get(&q->jmap, (uint32_t)qi + 1, doc);
	return sl ? q->j[sl->val].rel : QRELS_UNJUDGED;
}

/* --- runs --- */

/* Empty p, keeping its first chunk for the next strings. */
static void
pool_clear(struct qrels_pool *p)
{
	if (p->nchunk == 0)
		return;
	for (size_t i = 1; i < p->nchunk; i++)
		free(p->chunk[i]);
	p->nchunk = 1;
	p->cur = p->chunk[0];
	p->left = POOL_CHUNK;
}

static void
group_hit(struct run_reader *rr, const char *ds, size_t dl, double score,
    size_t at)
{
	if (rr->nh == rr->hcap) {
		rr->hcap = rr->hcap ? 2 * rr->hcap : 1024;
		rr->h = xrealloc(rr->h, rr->hcap * sizeof *rr->h);
	}
	rr->h[rr->nh].doc = pool_dup(&rr->gpool, ds, dl);
	rr->h[rr->nh].score = score;
	rr->h[rr->nh].at = at;
	rr->nh++;
}

/* The next line of TREC text that is not blank (or the one read ahead):
 * its qid, and its hit added to the group unless its qid is another
 * than want's.  0 at the end, -1 for another qid (the line is kept). */
static int
trec_unit(struct run_reader *rr, const char *want, const char **qs,
    size_t *ql)
{
	char *s, *f[7], tmp[64], *e;
	size_t n, fl[7], nf;
	double score;

	for (;;) {
		if (rr->pend) {
			s = rr->l.buf;
			rr->pend = 0;
		} else if (!next_line(&rr->l, &s, &n))
			return 0;
		if ((nf = split(s, 0, f, fl, 6)) != 0)
			break;
	}
	if (nf != 6)
		errx(EXIT_DATAERR, "%s: line %zu: expected 6 fields (qid Q0 "
		    "docid rank score tag), got %s%zu", rr->name, rr->l.lineno,
		    nf > 6 ? "more than " : "", nf > 6 ? (size_t)6 : nf);
	if (want && (strlen(want) != fl[0] || memcmp(want, f[0], fl[0]))) {
		rr->pend = 1;
		return -1;
	}
	if (fl[4] >= sizeof tmp)
		goto badscore;
	memcpy(tmp, f[4], fl[4]);
	tmp[fl[4]] = '\0';
	errno = 0;
	score = strtod(tmp, &e);
	if (*e != '\0' || e == tmp || !isfinite(score))
		goto badscore;
	*qs = f[0];
	*ql = fl[0];
	group_hit(rr, f[2], fl[2], score, rr->l.lineno);
	return 1;
badscore:
	errx(EXIT_DATAERR, "%s: line %zu: score \"%.*s\": not a finite "
	    "number", rr->name, rr->l.lineno, (int)fl[4], f[4]);
}

/* The same for the next record of a hits stream: all its hits. */
static int
hits_unit(struct run_reader *rr, const char *want, const char **qs,
    size_t *ql)
{
	struct rec_reader *rd = &rr->rd;
	const msgpack_object *a;
	size_t na;

	if (rr->pend)
		rr->pend = 0;
	else if (rec_next(rd, &rr->m) != REC_OK)
		return 0;
	if (rec_str(&rr->m, "qid", qs, ql) != 0)
		rec_fail(rd, "\"qid\": missing or not a str");
	if (tok_utf8_check(*qs, *ql) != *ql || memchr(*qs, '\0', *ql))
		rec_fail(rd, "\"qid\": not UTF-8 without NUL");
	if (rec_array(&rr->m, "hits", &a, &na) != 0)
		rec_fail(rd, "\"hits\": missing or not an array");
	if (want && (strlen(want) != *ql || memcmp(want, *qs, *ql))) {
		rr->pend = 1;
		return -1;
	}
	for (size_t i = 0; i < na; i++) {
		const msgpack_object *p = &a[i], *d, *sc;
		double v;
		if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2)
			rec_fail(rd, "\"hits\"[%zu]: expected [docid, score], "
			    "got %s", i, rec_typename(p));
		d = &p->via.array.ptr[0];
		sc = &p->via.array.ptr[1];
		if (d->type != MSGPACK_OBJECT_STR)
			rec_fail(rd, "\"hits\"[%zu][0]: expected str, got %s",
			    i, rec_typename(d));
		if (tok_utf8_check(d->via.str.ptr, d->via.str.size) !=
		    d->via.str.size ||
		    memchr(d->via.str.ptr, '\0', d->via.str.size))
			rec_fail(rd, "\"hits\"[%zu][0]: not UTF-8 without NUL",
			    i);
		switch (sc->type) {
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			v = sc->via.f64;
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			v = (double)sc->via.u64;
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			v = (double)sc->via.i64;
			break;
		default:
			rec_fail(rd, "\"hits\"[%zu][1]: expected a number, got "
			    "%s", i, rec_typename(sc));
		}
		if (!isfinite(v))
			rec_fail(rd, "\"hits\"[%zu][1]: score is not finite", i);
		group_hit(rr, d->via.str.ptr, d->via.str.size, v, rd->nrec);
	}
	return 1;
}

/* Start reading a hits stream at fd's position; c: a byte already read
 * from it (-1: none). */
static void
hits_start(struct run_reader *rr, int c)
{
	struct rec_reader *rd = &rr->rd;
	msgpack_object h;
	int fd = fileno(rr->fp);

	rec_open(rd, NULL);
	if (fd != STDIN_FILENO) {
		rd->fd = fd;
		rd->name = rr->name;
	}
	if (c >= 0) {
		/* hand the peeked byte to the unpacker */
		if (!msgpack_unpacker_reserve_buffer(&rd->up, 1))
			errx(EXIT_SOFTWARE, "%s: out of memory", rr->name);
		*msgpack_unpacker_buffer(&rd->up) = (char)c;
		msgpack_unpacker_buffer_consumed(&rd->up, 1);
		rd->nread = 1;
	}
	rec_header(rd, "hits", &h);
}

static void
hits_stop(struct run_reader *rr)
{
	rr->rd.fd = STDIN_FILENO;	/* rec_close must not close fp's fd */
	rec_close(&rr->rd);
}

void
run_open(struct run_reader *rr, const char *path)
{
	unsigned char c;
	ssize_t got;
	int fd;

	memset(rr, 0, sizeof *rr);
	/* Peek at the first byte: a msgpack map starts a hits stream,
	 * anything else is TREC run text. */
	rr->fp = open_text(path, &rr->name);
	fd = fileno(rr->fp);
	rr->seekable = lseek(fd, 0, SEEK_CUR) != -1;
	do
		got = read(fd, &c, 1);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		err(EXIT_IOERR, "%s", rr->name);
	if (got == 1 && ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)) {
		rr->format = "hits";
		rr->unit = "record";
		hits_start(rr, c);
	} else {
		rr->format = "trec";
		rr->unit = "line";
		rr->l.fp = rr->fp;
		rr->l.name = rr->name;
		if (got == 1 && ungetc(c, rr->fp) == EOF)
			errx(EXIT_SOFTWARE, "%s: ungetc", rr->name);
	}
}

int
run_next(struct run_reader *rr, struct run_group *g)
{
	int hits = rr->format[0] == 'h';
	const char *qs, *qid = NULL;
	size_t ql, at = 0;
	struct qrels_slot *sl;

	pool_clear(&rr->gpool);
	rr->nh = 0;
	while ((hits ? hits_unit : trec_unit)(rr, qid, &qs, &ql) == 1)
		if (qid == NULL) {
			qid = pool_dup(&rr->gpool, qs, ql);
			at = hits ? rr->rd.nrec : rr->l.lineno;
		}
	if (qid == NULL)
		return 0;
	g->qid = qid;
	g->h = rr->h;
	g->n = rr->nh;
	g->at = at;
	if (rr->reread) {
		const struct qrels_slot *s = map_get(&rr->seen, 0, qid);
		g->again = s != NULL && s->val;
	} else if (!map_put(&rr->seen, &rr->spool, 0, qid, strlen(qid), 0,
	    &sl, NULL)) {
		sl->val = 1;
		g->again = 1;
		rr->nagain++;
	} else
		g->again = 0;
	return 1;
}

void
run_close(struct run_reader *rr)
{
	if (rr->format[0] == 'h')
		hits_stop(rr);
	if (rr->fp != stdin)
		fclose(rr->fp);
	free(rr->l.buf);
	free(rr->h);
	free(rr->seen.slot);
	pool_free(&rr->gpool);
	pool_free(&rr->spool);
	memset(rr, 0, sizeof *rr);
}

/* --- whole runs --- */

struct runbuild {
	struct run *r;
	struct triple *t;
	size_t nt, tcap, qcap;
};

/* add g's query (if new) and its hits */
static void
add_group(struct runbuild *b, const struct run_group *g)
{
	struct run *r = b->r;
	struct qrels_slot *sl;

	if (map_put(&r->qmap, &r->pool, 0, g->qid, strlen(g->qid), r->nq,
	    &sl, NULL)) {
		if (r->nq == b->qcap) {
			b->qcap = b->qcap ? 2 * b->qcap : 256;
			r->qid = xrealloc(r->qid, b->qcap * sizeof *r->qid);
		}
		r->qid[r->nq++] = sl->s;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (b->nt == b->tcap) {
			b->tcap = b->tcap ? 2 * b->tcap : 4096;
			b->t = xrealloc(b->t, b->tcap * sizeof *b->t);
		}
		b->t[b->nt].qi = sl->val;
		b->t[b->nt].s = pool_dup(&r->pool, g->h[i].doc,
		    strlen(g->h[i].doc));
		b->t[b->nt].v = g->h[i].score;
		b->t[b->nt].at = g->h[i].at;
		b->nt++;
	}
}

/* Read rr's groups (those that came again, with only) into r. */
static void
build(struct run *r, struct run_reader *rr, int only)
{
	struct runbuild b = { .r = r };
	struct run_group g;
	size_t *pos;

	memset(r, 0, sizeof *r);
	r->name = rr->name;
	r->format = rr->format;
	while (run_next(rr, &g))
		if (!only || g.again)
			add_group(&b, &g);
	group(r->nq, b.t, b.nt, &r->start, &pos);
	r->h = xmalloc((b.nt ? b.nt : 1) * sizeof *r->h);
	for (size_t i = 0; i < b.nt; i++) {
		r->h[i].doc = b.t[pos[i]].s;
		r->h[i].score = b.t[pos[i]].v;
		r->h[i].at = b.t[pos[i]].at;
	}
	r->nh = b.nt;
	free(pos);
	free(b.t);
}

void
run_reread(struct run_reader *rr, struct run *r)
{
	if (fseek(rr->fp, 0, SEEK_SET) != 0)
		err(EXIT_IOERR, "%s", rr->name);
	rr->pend = 0;
	rr->reread = 1;
	if (rr->format[0] == 'h') {
		hits_stop(rr);
		hits_start(rr, -1);
	} else
		rr->l.lineno = 0;
	build(r, rr, 1);
}

void
run_read(struct run *r, const char *path)
{
	struct run_reader rr;

	run_open(&rr, path);
	build(r, &rr, 0);
	run_close(&rr);
}

void
run_free(struct run *r)
{
	free(r->qid);
	free(r->start);
	free(r->h);
	free(r->qmap.slot);
	pool_free(&r->pool);
	memset(r, 0, sizeof *r);
}

long
run_find(const struct run *r, const char *qid)
{
	const struct qrels_slot *sl = map_get(&r->qmap, 0, qid);
	return sl ? (long)sl->val : -1;
}
