/* topk: exact inner-product top-k of query embeddings against a corpus. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "tensor.h"
#include "topk.h"
#include "util.h"

static const char usage_text[] =
    "usage: topk [-t] [--exclude-self] [-k K] [--precision fp32|bf16|auto]\n"
    "            -c CORPUS [FILE]\n"
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

static void
load_corpus(struct topk_corpus *c, char **model, const char *path)
{
	struct rec_reader rd;
	msgpack_object m;
	float *tmp;
	size_t C, idn, dup;

	rec_open(&rd, path);
	C = read_header(&rd, model);
	topk_corpus_init(c, C);
	tmp = xaligned(C * sizeof *tmp);
	while (rec_next(&rd, &m) == REC_OK) {
		const char *id = read_vec(&rd, &m, tmp, C, &idn);
		topk_corpus_add(c, id, idn, tmp);
	}
	free(tmp);
	rec_close(&rd);
	if (topk_corpus_finish(c, &dup) != 0)
		errx(EXIT_DATAERR, "%s: duplicate id \"%s\"", path,
		    topk_corpus_id(c, dup));
}

struct out {
	int trec;
	struct rec_writer w;
};

static void
emit(struct out *o, const char *qid, size_t qn, const struct topk_corpus *c,
    const float *sc, const uint32_t *ix, size_t n, size_t k, int exself)
{
	size_t i, m = 0, skip = (size_t)-1;

	/* --exclude-self: drop the hit whose id is the query's */
	if (exself)
		for (i = 0; i < n; i++) {
			const char *d = topk_corpus_id(c, ix[i]);
			if (strlen(d) == qn && memcmp(d, qid, qn) == 0) {
				skip = i;
				break;
			}
		}
	m = n - (skip != (size_t)-1);
	if (m > k)
		m = k;
	if (o->trec) {
		size_t rank = 0;
		for (i = 0; i < n && rank < m; i++) {
			if (i == skip)
				continue;
			if (printf("%.*s Q0 %s %zu %.9g embtune\n", (int)qn, qid,
			    topk_corpus_id(c, ix[i]), ++rank, sc[i]) < 0)
				err(EXIT_IOERR, "write");
		}
		return;
	}
	msgpack_packer *pk = rec_begin(&o->w);
	if (msgpack_pack_map(pk, 2) || rec_pack_str(pk, "qid") ||
	    rec_pack_strn(pk, qid, qn) || rec_pack_str(pk, "hits") ||
	    msgpack_pack_array(pk, m))
		goto fail;
	size_t done = 0;
	for (i = 0; i < n && done < m; i++) {
		if (i == skip)
			continue;
		if (msgpack_pack_array(pk, 2) ||
		    rec_pack_str(pk, topk_corpus_id(c, ix[i])) ||
		    msgpack_pack_float(pk, sc[i]))
			goto fail;
		done++;
	}
	rec_end(&o->w);
	return;
fail:
	errx(EXIT_SOFTWARE, "cannot pack a record");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exclude-self", no_argument, NULL, 'x' },
		{ "precision", required_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cpath = NULL, *qpath = NULL;
	size_t k = 10;
	int ch, exself = 0;
	struct out o = { 0 };

	while ((ch = getopt_long(argc, argv, "c:hk:t", longopts, NULL)) != -1)
		switch (ch) {
		case 'c': cpath = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'k': k = (size_t)util_parse_int("-k", optarg, 1, 1000000);
			break;
		case 't': o.trec = 1; break;
		case 'x': exself = 1; break;
		case 'P': blas_precision_opt(optarg); break;
		case 'V': blas_version("topk"); break;
		default: usage(stderr, EXIT_USAGE);
		}
	argc -= optind;
	argv += optind;
	if (cpath == NULL) {
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
	load_corpus(&c, &cmodel, cpath);

	struct rec_reader rd;
	rec_open(&rd, qpath);
	size_t C = read_header(&rd, &qmodel);
	if (C != c.C)
		errx(EXIT_DATAERR, "dimension mismatch: queries %s have dim %zu, "
		    "corpus %s has dim %zu", rd.name, C, cpath, c.C);
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

	if (!o.trec) {
		rec_writer_init(&o.w, stdout);
		msgpack_packer *pk = rec_begin(&o.w);
		if (rec_pack_header(pk, "hits", "topk", cmodel ? 2 : 1) ||
		    rec_pack_kv_uint(pk, "k", k) ||
		    (cmodel && rec_pack_kv_str(pk, "model", cmodel)))
			errx(EXIT_SOFTWARE, "cannot pack the header");
		rec_end(&o.w);
	}

	float *q = xaligned(QB * C * sizeof *q);
	float *sc = xaligned(QB * (keff ? keff : 1) * sizeof *sc);
	uint32_t *ix = xaligned(QB * (keff ? keff : 1) * sizeof *ix);
	size_t *qoff = xcalloc(QB, sizeof *qoff), *qn = xcalloc(QB, sizeof *qn);
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
			topk_search(&t, sc, ix, q, nq, c.x, c.rank, c.N);
		for (size_t i = 0; i < nq; i++)
			emit(&o, ids + qoff[i], qn[i], &c, sc + i * keff,
			    ix + i * keff, keff, k, exself);
	}
	rec_close(&rd);
	if (!o.trec)
		rec_writer_free(&o.w);
	util_fshut();
	return 0;
}
