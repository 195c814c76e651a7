/* topk: exact inner-product top-k of query embeddings against a corpus. */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "tensor.h"
#include "topk.h"
#include "util.h"

static const char usage_text[] =
    "usage: topk [-t] [--exclude-self] [-k K] [--precision fp32|bf16|auto]\n"
    "            -c CORPUS [-c CORPUS ...] [FILE]\n"
    "       topk --merge [-t] [-k K] RUN ...\n"
    "       topk --version\n";

#define QB_MAX 1024	/* queries per search call, at most */

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

/* Read an embeddings header; returns its dim, sets *model (or NULL). */
static size_t
read_header(struct rec_reader *rd, char **model)
{
	msgpack_object h;
	uint64_t dim;
	const char *s;
	size_t n;

	rec_header(rd, "embeddings", &h);
	if (rec_uint(&h, "dim", &dim) != 0 || dim == 0 || dim > (1u << 20))
		rec_fail(rd, "\"dim\": missing or not a uint in 1..1048576");
	*model = rec_str(&h, "model", &s, &n) == 0 ? xstrndup(s, n) : NULL;
	return (size_t)dim;
}

/* Read one {"id", "vec"} record into dst; returns the id (in the reader's
 * buffer, valid until the next record). */
static const char *
read_vec(struct rec_reader *rd, const msgpack_object *m, float *dst, size_t C,
    size_t *idn)
{
	const char *id, *p;
	size_t n, bad;

	if (rec_str(m, "id", &id, idn) != 0)
		rec_fail(rd, "\"id\": missing or not a str");
	if (rec_bin(m, "vec", &p, &n) != 0)
		rec_fail(rd, "\"vec\": missing or not a bin");
	if (n != C * sizeof(float))
		rec_fail(rd, "id \"%.*s\": \"vec\" has %zu bytes, expected %zu "
		    "(dim %zu)", (int)*idn, id, n, C * sizeof(float), C);
	topk_load_vec(dst, p, C);
	if ((bad = topk_nonfinite(dst, C)) < C)
		rec_fail(rd, "id \"%.*s\": \"vec\"[%zu] is %g", (int)*idn, id,
		    bad, dst[bad]);
	return id;
}

/* Load the corpus files as one corpus; ids must be unique across them. */
static void
load_corpus(struct topk_corpus *c, char **model, char *const *path,
    size_t np)
{
	struct rec_reader rd;
	msgpack_object m;
	float *tmp = NULL;
	size_t C = 0, idn, dup[2], f;
	size_t *end = xmalloc(np * sizeof *end);	/* rows to file f */

	for (f = 0; f < np; f++) {
		char *fmodel;
		size_t fC;

		rec_open(&rd, path[f]);
		fC = read_header(&rd, &fmodel);
		if (f == 0) {
			C = fC;
			*model = fmodel;
			topk_corpus_init(c, C);
			tmp = xaligned(C * sizeof *tmp);
		} else {
			if (fC != C)
				errx(EXIT_DATAERR, "%s: dim %zu, corpus %s has "
				    "dim %zu", path[f], fC, path[0], C);
			if ((fmodel == NULL) != (*model == NULL) || (fmodel &&
			    strcmp(fmodel, *model) != 0))
				warnx("%s: encoded by model \"%s\", %s by \"%s\"",
				    path[f], fmodel ? fmodel : "", path[0],
				    *model ? *model : "");
			free(fmodel);
		}
		while (rec_next(&rd, &m) == REC_OK) {
			const char *id = read_vec(&rd, &m, tmp, C, &idn);
			topk_corpus_add(c, id, idn, tmp);
		}
		rec_close(&rd);
		end[f] = c->N;
	}
	free(tmp);
	if (topk_corpus_finish(c, dup) != 0) {
		size_t fa = 0, fb = 0;
		while (end[fa] <= dup[0])
			fa++;
		while (end[fb] <= dup[1])
			fb++;
		if (fa == fb)
			errx(EXIT_DATAERR, "%s: duplicate id \"%s\"", path[fa],
			    topk_corpus_id(c, dup[0]));
		errx(EXIT_DATAERR, "%s: duplicate id \"%s\", also in %s",
		    path[fb], topk_corpus_id(c, dup[0]), path[fa]);
	}
	free(end);
}

struct out {
	int trec;
	struct rec_writer w;
};

static void
write_header(struct out *o, size_t k, const char *model)
{
	if (o->trec)
		return;
	rec_writer_init(&o->w, stdout);
	msgpack_packer *pk = rec_begin(&o->w);
	if (rec_pack_header(pk, "hits", "topk", model ? 2 : 1) ||
	    rec_pack_kv_uint(pk, "k", k) ||
	    (model && rec_pack_kv_str(pk, "model", model)))
		errx(EXIT_SOFTWARE, "cannot pack the header");
	rec_end(&o->w);
}

/* Write one query's m hits, best first. */
static void
emit(struct out *o, const char *qid, size_t qn, const char *const *id,
    const size_t *idn, const float *sc, size_t m)
{
	size_t i;

	if (o->trec) {
		for (i = 0; i < m; i++)
			if (printf("%.*s Q0 %.*s %zu %.9g embtune\n", (int)qn,
			    qid, (int)idn[i], id[i], i + 1, sc[i]) < 0)
				err(EXIT_IOERR, "write");
		return;
	}
	msgpack_packer *pk = rec_begin(&o->w);
	if (msgpack_pack_map(pk, 2) || rec_pack_str(pk, "qid") ||
	    rec_pack_strn(pk, qid, qn) || rec_pack_str(pk, "hits") ||
	    msgpack_pack_array(pk, m))
		goto fail;
	for (i = 0; i < m; i++)
		if (msgpack_pack_array(pk, 2) ||
		    rec_pack_strn(pk, id[i], idn[i]) ||
		    msgpack_pack_float(pk, sc[i]))
			goto fail;
	rec_end(&o->w);
	return;
fail:
	errx(EXIT_SOFTWARE, "cannot pack a record");
}

/* Hits of the search, n of them, into id, idn, s: at most k, without the
 * query itself under --exclude-self.  Returns how many. */
static size_t
hits_of(const char **id, size_t *idn, float *s, const char *qid, size_t qn,
    const struct topk_corpus *c, const float *sc, const uint32_t *ix,
    size_t n, size_t k, int exself)
{
	size_t i, m = 0, self = 0;

	for (i = 0; i < n && m < k; i++) {
		const char *d = topk_corpus_id(c, ix[i]);
		size_t dn = strlen(d);
		if (exself && !self && dn == qn && memcmp(d, qid, qn) == 0) {
			self = 1;
			continue;
		}
		id[m] = d;
		idn[m] = dn;
		s[m++] = sc[i];
	}
	return m;
}

/* --- --merge --- */

/* One run being merged: its reader, this query's record and hits. */
struct run {
	struct rec_reader rd;
	msgpack_object m;
	const char **id;
	size_t *idn;
	float *s;
	size_t cap;
	struct topk_list l;
	int ok;			/* a record was read */
};

/* Take the hits of r's current record into r->l. */
static void
run_hits(struct run *r)
{
	const msgpack_object *a;
	size_t n, i, bad;

	if (rec_array(&r->m, "hits", &a, &n) != 0)
		rec_fail(&r->rd, "\"hits\": missing or not an array");
	if (n > r->cap) {
		r->cap = n;
		r->id = xrealloc(r->id, n * sizeof *r->id);
		r->idn = xrealloc(r->idn, n * sizeof *r->idn);
		r->s = xrealloc(r->s, n * sizeof *r->s);
	}
	for (i = 0; i < n; i++) {
		const msgpack_object *p = &a[i], *d, *sc;
		if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2 ||
		    (d = &p->via.array.ptr[0])->type != MSGPACK_OBJECT_STR ||
		    ((sc = &p->via.array.ptr[1])->type != MSGPACK_OBJECT_FLOAT32
		    && sc->type != MSGPACK_OBJECT_FLOAT64))
			rec_fail(&r->rd, "\"hits\"[%zu]: expected [str, float]",
			    i);
		r->id[i] = d->via.str.ptr;
		r->idn[i] = d->via.str.size;
		r->s[i] = (float)sc->via.f64;
		if (!isfinite(r->s[i]))
			rec_fail(&r->rd, "\"hits\"[%zu]: score is %g", i,
			    r->s[i]);
	}
	r->l.n = n;
	r->l.s = r->s;
	r->l.id = r->id;
	r->l.idn = r->idn;
	if ((bad = topk_list_unordered(&r->l)) < n)
		rec_fail(&r->rd, "\"hits\"[%zu]: out of order (score, then id "
		    "descending): not a topk run", bad);
}

/* The global top k of runs of the same queries against corpus shards. */
static void
merge(struct out *o, char *const *path, size_t nr, size_t k, int kset)
{
	struct run *r = xcalloc(nr, sizeof *r);
	char *model = NULL;
	uint64_t kmin = UINT64_MAX;
	size_t f, kf = 0, nq = 0;

	for (f = 0; f < nr; f++) {
		msgpack_object h;
		const char *s;
		uint64_t hk;
		size_t n;

		rec_open(&r[f].rd, path[f]);
		rec_header(&r[f].rd, "hits", &h);
		if (rec_uint(&h, "k", &hk) != 0 || hk == 0)
			rec_fail(&r[f].rd, "\"k\": missing or not a uint >= 1");
		if (hk < kmin) {
			kmin = hk;
			kf = f;
		}
		if (rec_str(&h, "model", &s, &n) != 0)
			continue;
		if (model == NULL)
			model = xstrndup(s, n);
		else if (strlen(model) != n || memcmp(model, s, n) != 0)
			warnx("%s: hits of model \"%.*s\", the first run's are "
			    "of \"%s\"", r[f].rd.name, (int)n, s, model);
	}
	if (!kset)
		k = (size_t)kmin;
	else if (k > kmin)
		errx(EXIT_DATAERR, "%s: k is %llu: the best %zu of the union "
		    "need the best %zu of every shard", r[kf].rd.name,
		    (unsigned long long)kmin, k, k);

	const char **id = xmalloc(k * sizeof *id);
	size_t *idn = xmalloc(k * sizeof *idn), *head = xmalloc(nr * sizeof *head);
	float *sc = xmalloc(k * sizeof *sc);
	uint32_t *from = xmalloc(k * sizeof *from), *at = xmalloc(k * sizeof *at);
	struct topk_list *l = xmalloc(nr * sizeof *l);

	for (;;) {
		size_t got = 0, q0n = 0, qn, m, j;
		const char *q0 = NULL, *q;
		for (f = 0; f < nr; f++)
			got += (r[f].ok = rec_next(&r[f].rd, &r[f].m) == REC_OK);
		if (got == 0)
			break;
		for (f = 0; f < nr && got < nr; f++)
			if (!r[f].ok)
				errx(EXIT_DATAERR, "%s: ends after %zu queries, "
				    "other runs have more", r[f].rd.name, nq);
		for (f = 0; f < nr; f++) {
			if (rec_str(&r[f].m, "qid", &q, &qn) != 0)
				rec_fail(&r[f].rd, "\"qid\": missing or not a "
				    "str");
			if (f == 0) {
				q0 = q;
				q0n = qn;
			} else if (qn != q0n || memcmp(q, q0, qn) != 0)
				rec_fail(&r[f].rd, "qid \"%.*s\", %s has \"%.*s\"",
				    (int)qn, q, r[0].rd.name, (int)q0n, q0);
			run_hits(&r[f]);
			l[f] = r[f].l;
		}
		if (topk_merge(from, at, &m, head, l, nr, k) != 0)
			errx(EXIT_DATAERR, "query \"%.*s\": document \"%.*s\" "
			    "in %s and in %s: the shards overlap", (int)q0n, q0,
			    (int)l[from[m]].idn[at[m]], l[from[m]].id[at[m]],
			    r[from[m - 1]].rd.name, r[from[m]].rd.name);
		for (j = 0; j < m; j++) {
			id[j] = l[from[j]].id[at[j]];
			idn[j] = l[from[j]].idn[at[j]];
			sc[j] = l[from[j]].s[at[j]];
		}
		if (nq++ == 0)	/* a first query that fails writes nothing */
			write_header(o, k, model);
		emit(o, q0, q0n, id, idn, sc, m);
	}
	if (nq == 0)
		write_header(o, k, model);
	for (f = 0; f < nr; f++) {
		rec_close(&r[f].rd);
		free(r[f].id), free(r[f].idn), free(r[f].s);
	}
	free(r), free(model), free(id), free(idn), free(head), free(sc);
	free(from), free(at), free(l);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exclude-self", no_argument, NULL, 'x' },
		{ "merge", no_argument, NULL, 'M' },
		{ "precision", required_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *qpath = NULL;
	char **cpath = NULL;
	size_t k = 10, nc = 0;
	int ch, exself = 0, domerge = 0, kset = 0, prec = 0;
	struct out o = { 0 };

	while ((ch = getopt_long(argc, argv, "c:hk:t", longopts, NULL)) != -1)
		switch (ch) {
		case 'c':
			cpath = xrealloc(cpath, (nc + 1) * sizeof *cpath);
			cpath[nc++] = optarg;
			break;
		case 'h': usage(stdout, 0); break;
		case 'k': k = (size_t)util_parse_int("-k", optarg, 1, 1000000);
			kset = 1;
			break;
		case 'M': domerge = 1; break;
		case 't': o.trec = 1; break;
		case 'x': exself = 1; break;
		case 'P': blas_precision_opt(optarg); prec = 1; break;
		case 'V': util_version("topk", blas_sysinfo); break;
		default: usage(stderr, EXIT_USAGE);
		}
	argc -= optind;
	argv += optind;
	if (domerge) {
		if (nc > 0 || exself || prec) {
			warnx("--merge: -c, --exclude-self and --precision "
			    "belong to the runs merged");
			usage(stderr, EXIT_USAGE);
		}
		if (argc == 0) {
			warnx("--merge: no RUN given");
			usage(stderr, EXIT_USAGE);
		}
		if (!o.trec)
			util_no_tty_stdout();
		merge(&o, argv, (size_t)argc, k, kset);
		if (!o.trec)
			rec_writer_free(&o.w);
		util_fshut();
		return 0;
	}
	if (nc == 0) {
		warnx("-c CORPUS is required");
		usage(stderr, EXIT_USAGE);
	}
	if (argc > 1)
		usage(stderr, EXIT_USAGE);
	if (argc == 1)
		qpath = argv[0];
	if (!o.trec)
		util_no_tty_stdout();

	blas_threads(0);	/* OpenBLAS single-threaded; OpenMP outside */

	struct topk_corpus c;
	char *cmodel, *qmodel;
	load_corpus(&c, &cmodel, cpath, nc);

	struct rec_reader rd;
	rec_open(&rd, qpath);
	size_t C = read_header(&rd, &qmodel);
	if (C != c.C)
		errx(EXIT_DATAERR, "dimension mismatch: queries %s have dim %zu, "
		    "corpus %s has dim %zu", rd.name, C, cpath[0], c.C);
	if (cmodel && qmodel && strcmp(cmodel, qmodel) != 0)
		warnx("queries were encoded by model \"%s\", the corpus by "
		    "\"%s\"", qmodel, cmodel);

	/* hits kept per query: one more to drop the query itself */
	size_t keff = k + (size_t)exself;
	if (keff > c.N)
		keff = c.N;

	struct topk t;
	size_t QB = QB_MAX;
	if (keff > 0) {
		topk_init(&t, C, keff, QB_MAX, 0);
		QB = t.QB;
	}
	write_header(&o, k, cmodel);

	float *q = xaligned(QB * C * sizeof *q);
	float *sc = xaligned(QB * (keff ? keff : 1) * sizeof *sc);
	uint32_t *ix = xaligned(QB * (keff ? keff : 1) * sizeof *ix);
	size_t *qoff = xcalloc(QB, sizeof *qoff), *qn = xcalloc(QB, sizeof *qn);
	const char **hid = xmalloc((keff ? keff : 1) * sizeof *hid);
	size_t *hidn = xmalloc((keff ? keff : 1) * sizeof *hidn);
	float *hs = xmalloc((keff ? keff : 1) * sizeof *hs);
	size_t idcap = 4096, idlen;
	char *ids = xmalloc(idcap);	/* this block's query ids */
	int eof = 0;

	while (!eof) {
		size_t nq = 0;
		msgpack_object m;
		idlen = 0;
		while (nq < QB) {
			if (rec_next(&rd, &m) != REC_OK) {
				eof = 1;
				break;
			}
			const char *id = read_vec(&rd, &m, q + nq * C, C,
			    &qn[nq]);
			if (idlen + qn[nq] > idcap) {
				idcap = 2 * (idlen + qn[nq]);
				ids = xrealloc(ids, idcap);
			}
			memcpy(ids + idlen, id, qn[nq]);
			qoff[nq] = idlen;
			idlen += qn[nq];
			nq++;
		}
		if (nq == 0)
			break;
		if (keff > 0)
			topk_search(&t, sc, ix, q, nq, c.x, c.rank, c.N,
			    c.xnorm);
		for (size_t i = 0; i < nq; i++) {
			size_t mh = hits_of(hid, hidn, hs, ids + qoff[i], qn[i],
			    &c, sc + i * keff, ix + i * keff, keff, k, exself);
			emit(&o, ids + qoff[i], qn[i], hid, hidn, hs, mh);
		}
	}
	rec_close(&rd);
	if (!o.trec)
		rec_writer_free(&o.w);
	util_fshut();
	return 0;
}
