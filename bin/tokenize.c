/* tokenize: text -> tokens stream (or examples stream for training rows),
 * BERT WordPiece exactly as Hugging Face's fast tokenizer does it. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "textin.h"
#include "tok.h"
#include "util.h"

static const char usage_text[] =
    "usage: tokenize -m MODEL_DIR [-u] [-f jsonl|tsv|text] [-n MAX_LEN]\n"
    "                [--prompt NAME | --prefix TEXT | --no-prompt] "
    "[FILE ...]\n"
    "       tokenize --version\n";

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

struct out {
	struct rec_writer w;
	struct tok *t;
	uint32_t *ids;
	int started;		/* header written */
	enum textin_kind kind;
	size_t columns;
	/* the prompt put before every text (NULL: none), its name, and how
	 * many ids it makes at the start (sentence-transformers'
	 * prompt_length) */
	const char *prompt, *prompt_name;
	size_t prompt_len;
	char *buf;		/* prompt + text */
	size_t bufcap;
};

static void
header(struct out *o, enum textin_kind kind, size_t columns)
{
	msgpack_packer *pk = rec_begin(&o->w);
	char hex[17];
	int ex = kind == TEXTIN_ROW;

	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)o->t->vocab_hash);
	if (rec_pack_header(pk, ex ? "examples" : "tokens", "tokenize",
	    (ex ? 4 : 3) + (o->prompt ? 2 : 0) + (o->prompt_name ? 1 : 0)) ||
	    rec_pack_kv_str(pk, "model", o->t->model) ||
	    rec_pack_kv_str(pk, "vocab", hex) ||
	    rec_pack_kv_uint(pk, "max_len", o->t->max_len) ||
	    (ex && rec_pack_kv_uint(pk, "columns", columns)) ||
	    (o->prompt && (rec_pack_kv_str(pk, "prompt", o->prompt) ||
	    rec_pack_kv_uint(pk, "prompt_len", o->prompt_len))) ||
	    (o->prompt_name && rec_pack_kv_str(pk, "prompt_name",
	    o->prompt_name)))
		errx(EXIT_SOFTWARE, "header: cannot pack");
	rec_end(&o->w);
	o->started = 1;
	o->kind = kind;
	o->columns = columns;
}

static int
pack_ids(msgpack_packer *pk, const uint32_t *ids, size_t n)
{
	size_t i;

	if (msgpack_pack_array(pk, n))
		return -1;
	for (i = 0; i < n; i++)
		if (msgpack_pack_uint32(pk, ids[i]))
			return -1;
	return 0;
}

static void
encode(struct out *o, struct textin *in, size_t k, size_t *n)
{
	const char *s = in->text[k];
	size_t bad, len = in->tlen[k], pl = 0;

	if (o->prompt) {	/* prompt + text, as sentence-transformers */
		pl = strlen(o->prompt);
		if (pl + len > o->bufcap) {
			o->bufcap = (pl + len) * 2;
			o->buf = xrealloc(o->buf, o->bufcap);
		}
		memcpy(o->buf, o->prompt, pl);
		memcpy(o->buf + pl, s, len);
		s = o->buf;
		len += pl;
	}
	if (tok_encode(o->t, s, len, o->ids, n, &bad) != 0)
		textin_fail(in, "invalid UTF-8 at byte %zu of the text",
		    bad - pl + 1);
}

static void
record(struct out *o, struct textin *in)
{
	msgpack_packer *pk;
	size_t n, k;

	if (!o->started)
		header(o, in->kind, in->ntexts);
	if (in->kind != o->kind)
		textin_fail(in, o->kind == TEXTIN_DOC ?
		    "a training row among documents" :
		    "a document among training rows");
	if (in->kind == TEXTIN_DOC) {
		encode(o, in, 0, &n);
		pk = rec_begin(&o->w);
		if (msgpack_pack_map(pk, 2) ||
		    rec_pack_str(pk, "id") ||
		    rec_pack_strn(pk, in->id, in->idlen) ||
		    rec_pack_str(pk, "ids") ||
		    pack_ids(pk, o->ids, n))
			errx(EXIT_SOFTWARE, "cannot pack a record");
		rec_end(&o->w);
		return;
	}
	if (in->ntexts != o->columns)
		textin_fail(in, "%zu texts, the first row had %zu", in->ntexts,
		    o->columns);
	pk = rec_begin(&o->w);
	if (msgpack_pack_map(pk, in->has_label ? 2 : 1) ||
	    rec_pack_str(pk, "texts") ||
	    msgpack_pack_array(pk, in->ntexts))
		errx(EXIT_SOFTWARE, "cannot pack a record");
	for (k = 0; k < in->ntexts; k++) {
		encode(o, in, k, &n);
		if (pack_ids(pk, o->ids, n))
			errx(EXIT_SOFTWARE, "cannot pack a record");
	}
	if (in->has_label && (rec_pack_str(pk, "label") ||
	    msgpack_pack_double(pk, in->label)))
		errx(EXIT_SOFTWARE, "cannot pack a record");
	rec_end(&o->w);
}

int
main(int argc, char *argv[])
{
	struct tok t;
	struct out o;
	struct textin in;
	struct progress prog;
	static const struct option longopts[] = {
		{"prompt", required_argument, NULL, 'P'},
		{"prefix", required_argument, NULL, 'X'},
		{"no-prompt", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *pname = NULL, *prefix = NULL;
	enum textin_fmt fmt = TEXTIN_JSONL;
	int c, have_fmt = 0, unbuffered = 0, i, noprompt = 0;
	long maxlen = 0;
	size_t nrec = 0;

	while ((c = getopt_long(argc, argv, "f:hm:n:u", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pname = optarg;
			break;
		case 'X':
			prefix = optarg;
			break;
		case 'N':
			noprompt = 1;
			break;
		case 'f':
			if (textin_fmt_parse(optarg, &fmt) != 0) {
				warnx("-f: %s: expected jsonl, tsv or text", optarg);
				usage(stderr, EXIT_USAGE);
			}
			have_fmt = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			util_version("tokenize", NULL);
			break;
		case 'm':
			model = optarg;
			break;
		case 'n':
			maxlen = util_parse_int("-n", optarg, 2, 100000);
			break;
		case 'u':
			unbuffered = 1;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (model == NULL) {
		warnx("-m MODEL_DIR is required");
		usage(stderr, EXIT_USAGE);
	}
	if ((pname != NULL) + (prefix != NULL) + noprompt > 1) {
		warnx("--prompt, --prefix and --no-prompt exclude each other");
		usage(stderr, EXIT_USAGE);
	}
	if (prefix && tok_utf8_check(prefix, strlen(prefix)) != strlen(prefix))
		errx(EXIT_USAGE, "--prefix: not valid UTF-8");
	for (i = 0; i < argc; i++)	/* fail before any output */
		if (strcmp(argv[i], "-") != 0 && access(argv[i], R_OK) != 0)
			err(EXIT_NOINPUT, "%s", argv[i]);
	tok_load(&t, model);
	if (maxlen > 0)
		t.max_len = (size_t)maxlen;
	util_no_tty_stdout();

	memset(&o, 0, sizeof o);
	o.t = &t;
	o.ids = xmalloc(t.max_len * sizeof *o.ids);
	/* the prompt: --prompt NAME, --prefix TEXT, else the model's
	 * default_prompt_name unless --no-prompt (SentenceTransformer.encode) */
	if (pname == NULL && prefix == NULL && !noprompt)
		pname = t.default_prompt;
	if (pname != NULL && (o.prompt = tok_prompt(&t, pname)) == NULL) {
		size_t k, m = 0;
		char names[1024] = "";
		for (k = 0; k < t.nprompts && m < sizeof names; k++)
			m += (size_t)snprintf(names + m, sizeof names - m, "%s%s",
			    k ? ", " : "", t.prompts[k].name);
		errx(EXIT_USAGE, "--prompt: %s: not a prompt of %s/"
		    "config_sentence_transformers.json (%s)", pname, model,
		    t.nprompts ? names : "it has none");
	}
	o.prompt_name = pname;
	if (prefix != NULL)
		o.prompt = prefix;
	if (o.prompt != NULL && *o.prompt == '\0')
		o.prompt = o.prompt_name = NULL;	/* as "if prompt:" */
	o.prompt_len = tok_prompt_len(&t, o.prompt, o.ids);
	rec_writer_init(&o.w, stdout);
	o.w.unbuffered = unbuffered;
	util_progress_start(&prog, "records", 0);	/* only on a terminal */
	for (i = 0; i == 0 || i < argc; i++) {
		const char *path = argc > 0 ? argv[i] : NULL;

		textin_open(&in, path, have_fmt ? fmt : textin_fmt_guess(path));
		in.nrec = nrec;
		while (textin_next(&in)) {
			record(&o, &in);
			if ((in.nrec & 255) == 0)
				util_progress(&prog, in.nrec);
		}
		nrec = in.nrec;
		textin_close(&in);
	}
	if (!o.started)
		header(&o, TEXTIN_DOC, 0);
	util_progress_end(&prog, nrec);
	rec_writer_free(&o.w);
	free(o.ids);
	free(o.buf);
	tok_free(&t);
	util_fshut();
	return 0;
}
