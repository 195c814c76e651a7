/* encode: token stream -> embeddings stream (BERT forward + pooling). */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

#include "bert.h"
#include "embed.h"
#include "model.h"
#include "rec.h"
#include "tensor.h"
#include "util.h"

static const char usage_text[] =
    "usage: encode -m MODEL_DIR [-u] [-b BATCH_TOKENS] [-t THREADS] [-d DIM]\n"
    "              [--no-normalize] [--precision fp32|bf16|auto] [FILE]\n"
    "       encode --version\n";

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

/* One window of records (embed.h), written back in input order. */
struct window {
	size_t nrec, ntok;
	uint32_t *ids;			/* (cap_tok) token ids, record after record */
	size_t *off;			/* (cap_rec + 1) */
	char *names;			/* record ids, NUL-separated */
	size_t *name_off;		/* (cap_rec + 1) */
	size_t names_len, names_cap;
	float *vec;			/* (cap_rec, C) outputs */
};

struct opts {
	size_t dim;		/* output components */
	int normalize;		/* L2-normalize the output */
	int raw;		/* --no-normalize: pooled vectors */
};

/* The output header goes out with the first window (or at the end), so a
 * run that fails on its first records writes nothing at all. */
static struct {
	const char *model;
	int done;
} hdr;

static void
write_header(struct rec_writer *wr, const struct opts *o)
{
	msgpack_packer *pk;

	if (hdr.done)
		return;
	pk = rec_begin(wr);
	if (rec_pack_header(pk, "embeddings", "encode", 3) ||
	    rec_pack_kv_str(pk, "model", hdr.model) ||
	    rec_pack_kv_uint(pk, "dim", o->dim) ||
	    rec_pack_str(pk, "normalized") ||
	    (o->normalize ? msgpack_pack_true(pk) : msgpack_pack_false(pk)))
		errx(EXIT_SOFTWARE, "cannot pack the header");
	rec_end(wr);
	hdr.done = 1;
}

static void
run_window(struct window *w, struct embed *e, const struct opts *o,
    struct rec_writer *wr)
{
	size_t C = e->m->cfg.C, i, j;

	embed_run(e, w->vec, w->ids, w->off, w->nrec, o->raw);
	write_header(wr, o);
	for (i = 0; i < w->nrec; i++) {
		float *v = w->vec + i * C;
		if (o->dim < C && o->normalize) {
			double s = 0;
			for (j = 0; j < o->dim; j++)
				s += (double)v[j] * v[j];
			float n = (float)sqrt(s);
			n = n > 1e-12f ? n : 1e-12f;
			for (j = 0; j < o->dim; j++)
				v[j] /= n;
		}
		const char *id = w->names + w->name_off[i];
		msgpack_packer *pk = rec_begin(wr);
		if (msgpack_pack_map(pk, 2) || rec_pack_str(pk, "id") ||
		    rec_pack_strn(pk, id, w->name_off[i + 1] - w->name_off[i] - 1) ||
		    rec_pack_str(pk, "vec") ||
		    msgpack_pack_bin(pk, o->dim * sizeof(float)) ||
		    msgpack_pack_bin_body(pk, v, o->dim * sizeof(float)))
			errx(EXIT_SOFTWARE, "cannot pack a record");
		rec_end(wr);
	}
	w->nrec = w->ntok = w->names_len = 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"no-normalize", no_argument, NULL, 'N'},
		{"precision", required_argument, NULL, 'P'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *mdir = NULL, *path = NULL;
	long btok = 2048, threads = 0, dim = 0;
	int ch, unbuffered = 0, raw = 0;
	struct model md;
	struct bert_model m;
	struct rec_reader rd;
	struct rec_writer wr;
	struct window w;
	struct embed e;
	struct opts o;
	msgpack_object h, rec;
	struct progress pg;
	size_t C, P, done = 0;

	while ((ch = getopt_long(argc, argv, "b:d:hm:t:u", longopts, NULL)) != -1)
		switch (ch) {
		case 'b': btok = util_parse_int("-b", optarg, 1, 1L << 24); break;
		case 'd': dim = util_parse_int("-d", optarg, 1, 1L << 20); break;
		case 'h': usage(stdout, 0); break;
		case 'm': mdir = optarg; break;
		case 't': threads = util_parse_int("-t", optarg, 1, 1024); break;
		case 'u': unbuffered = 1; break;
		case 'N': raw = 1; break;
		case 'P': blas_precision_opt(optarg); break;
		case 'V': util_version("encode", blas_sysinfo); break;
		default: usage(stderr, EXIT_USAGE);
		}
	argc -= optind;
	argv += optind;
	if (mdir == NULL || argc > 1)
		usage(stderr, EXIT_USAGE);
	if (argc == 1)
		path = argv[0];

	model_open(&md, mdir);
	C = md.cfg.C;
	P = bert_max_len(&md.cfg);
	if (dim > (long)C)
		errx(EXIT_USAGE, "-d: %ld: larger than the model's %zu dimensions",
		    dim, C);
	o.dim = dim ? (size_t)dim : C;
	o.raw = raw;
	o.normalize = !raw && md.cfg.normalize;

	/* everything is allocated before the first record */
	blas_threads((int)threads);
	size_t Nmax = (size_t)btok < P ? P : (size_t)btok;
	size_t Bmax = Nmax;
	bert_alloc(&m, &md.cfg, Bmax, P, Nmax, 0);
	model_load(&md, &m);
	st_close(&md.st);	/* weights copied: let the file's pages go */
	embed_init(&e, &m);
	memset(&w, 0, sizeof(w));
	w.ids = xmalloc(e.cap_tok * sizeof(uint32_t));
	w.off = xmalloc((e.cap_rec + 1) * sizeof(size_t));
	w.name_off = xmalloc((e.cap_rec + 1) * sizeof(size_t));
	w.names_cap = 65536;
	w.names = xmalloc(w.names_cap);
	w.vec = xaligned(e.cap_rec * C * sizeof(float));

	util_no_tty_stdout();
	rec_open(&rd, path);
	rec_header(&rd, "tokens", &h);
	{
		const msgpack_object *vo = rec_get(&h, "vocab");
		const char *v, *mn;
		size_t vn, mnn;
		/* a missing "vocab" is tolerated (hand-made streams) */
		if (vo != NULL && vo->type != MSGPACK_OBJECT_STR)
			rec_fail(&rd, "\"vocab\": expected str, got %s",
			    rec_typename(vo));
		if (rec_str(&h, "vocab", &v, &vn) == 0 &&
		    (vn != strlen(md.vocab) || memcmp(v, md.vocab, vn) != 0)) {
			if (rec_str(&h, "model", &mn, &mnn) != 0)
				mn = "?", mnn = 1;
			rec_fail(&rd, "tokens of model \"%.*s\" (vocab %.*s) do not "
			    "match model \"%s\" (vocab %s)", (int)mnn, mn,
			    (int)vn, v, md.name, md.vocab);
		}
	}
	/* tokens with a prompt: its ids are left out of the pooling where
	 * 1_Pooling's include_prompt is false */
	bert_skip(&m, (size_t)rec_opt_uint(&rd, &h, "prompt_len"));
	rec_writer_init(&wr, stdout);
	wr.unbuffered = unbuffered;
	hdr.model = md.name;
	util_progress_start(&pg, "records", 0);
	w.name_off[0] = 0;
	while (rec_next(&rd, &rec) == REC_OK) {
		const msgpack_object *a;
		const char *id;
		size_t idn, n, bad;

		if (rec_str(&rec, "id", &id, &idn) != 0)
			rec_fail(&rd, "\"id\": missing or not a str");
		a = rec_get(&rec, "ids");
		if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
			const msgpack_object *x = a;
			rec_fail(&rd, "id \"%.*s\": \"ids\": expected array of uint, "
			    "got %s", (int)idn, id, x ? rec_typename(x) : "nothing");
		}
		n = a->via.array.size;
		if (n == 0)
			rec_fail(&rd, "id \"%.*s\": \"ids\": empty sequence",
			    (int)idn, id);
		if (n > P)
			rec_fail(&rd, "id \"%.*s\": %zu tokens: longer than the "
			    "model's %zu positions", (int)idn, id, n, P);
		if (embed_full(&e, w.nrec, w.ntok, n)) {
			run_window(&w, &e, &o, &wr);
			util_progress(&pg, done);
		}
		if (rec_ids(a, w.ids + w.ntok, P, md.cfg.V, &n, &bad) != 0) {
			const msgpack_object *x = &a->via.array.ptr[bad];
			if (x->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				rec_fail(&rd, "id \"%.*s\": \"ids\"[%zu]: token id "
				    "%llu >= vocabulary size %zu", (int)idn, id,
				    bad, (unsigned long long)x->via.u64,
				    md.cfg.V);
			rec_fail(&rd, "id \"%.*s\": \"ids\"[%zu]: expected uint, "
			    "got %s", (int)idn, id, bad, rec_typename(x));
		}
		w.off[w.nrec] = w.ntok;
		w.ntok += n;
		w.off[w.nrec + 1] = w.ntok;
		if (w.names_len + idn + 1 > w.names_cap) {
			while (w.names_len + idn + 1 > w.names_cap)
				w.names_cap *= 2;
			w.names = xrealloc(w.names, w.names_cap);
		}
		memcpy(w.names + w.names_len, id, idn);
		w.names[w.names_len + idn] = '\0';
		w.names_len += idn + 1;
		w.nrec++;
		w.name_off[w.nrec] = w.names_len;
		done++;
	}
	if (w.nrec)
		run_window(&w, &e, &o, &wr);
	write_header(&wr, &o);
	util_progress_end(&pg, done);
	rec_close(&rd);
	rec_writer_free(&wr);
	util_fshut();
	embed_free(&e);
	bert_free(&m);
	model_close(&md);
	return 0;
}
