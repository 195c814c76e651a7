/* train: fine-tune a sentence-embedding model on an examples stream and
 * write a sentence-transformers model directory (see train(1)). */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "adamw.h"
#include "batch.h"
#include "bert.h"
#include "dist.h"
#include "eval.h"
#include "loss.h"
#include "model.h"
#include "st.h"
#include "tensor.h"
#include "train.h"
#include "util.h"

#define STATE "trainer_state.safetensors"
#define EXIT_INTR 130

static const char usage_text[] =
    "usage: train -m MODEL_DIR -o OUT_DIR [--loss "
    "mnrl|cmnrl|cosine|cosent|triplet|contrastive|gist|cgist]\n"
    "             [-e EPOCHS] [--max-steps N] [-b BATCH] [--lr LR] "
    "[--warmup N|RATIO]\n"
    "             [--weight-decay W] [--max-grad-norm G] [--mini-batch N] "
    "[--matryoshka DIMS]\n"
    "             [--symmetric] [--triplet-cosine] [--no-dropout] [--seed S] "
    "[--save-every STEPS]\n"
    "             [--resume] [--log FILE.tsv] [-t THREADS] "
    "[--precision fp32|bf16|auto]\n"
    "             [--guide DIR] [--guide-margin M] "
    "[--guide-margin-strategy absolute|relative]\n"
    "             [--temperature T]\n"
    "             [--eval-queries Q.tok --eval-corpus C.tok --eval-qrels "
    "QRELS\n"
    "             [--eval-every STEPS] [--eval-judged-only] "
    "[--eval-level L]] [FILE]\n"
    "       train --version\n";

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

static volatile sig_atomic_t stop;

static void
onsig(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	const char *model, *out, *in, *log;
	int loss, epochs, symmetric, tcos, dropout, resume;
	long batch, mini, save_every, stop_after, max_steps;
	double lr, warmup, wd, max_grad_norm;
	int warmup_ratio;
	unsigned long long seed;
	const char *dims;	/* --matryoshka as given */
	const char *st_loss;	/* sentence-transformers' name of the loss */
	/* gist, cgist: the guide (default: -m), margin, 1 / temperature */
	const char *guide, *gist_opt;	/* gist_opt: the first given */
	double gmargin, temperature;
	int grel;
	struct {		/* --eval-*: files, steps apart, -J, level */
		const char *q, *d, *qrels;
		long every;
		int judged, level;
	} ev;
};

/* the best evaluation so far (rank 0 keeps its weights) */
struct best {
	struct eval e;
	float *w;		/* (nparams) */
	long step;		/* -1: none yet */
	double v;
};

/* The options a resumed run must share with the checkpoint, as
 * key, value pairs for the state file's metadata. */
#define NKEEP 24
static int
opts_meta(const struct opts *o, uint64_t fp, long step, long total,
    char buf[NKEEP][2][48], const char *meta[2 * NKEEP + 1])
{
	int n = 0;
#define KV(k, ...) (snprintf(buf[n][0], 48, "%s", k), \
	snprintf(buf[n][1], 48, __VA_ARGS__), n++)
	KV("step", "%ld", step);
	KV("loss", "%s", loss_name(o->loss));
	KV("epochs", "%d", o->epochs);
	if (o->max_steps)	/* unset: "", as before the option was */
		KV("max_steps", "%ld", o->max_steps);
	else
		KV("max_steps", "%s", "");
	KV("batch", "%ld", o->batch);
	KV("lr", "%.9g", o->lr);
	KV("warmup", "%.9g%s", o->warmup, o->warmup_ratio ? "r" : "");
	KV("weight_decay", "%.9g", o->wd);
	KV("max_grad_norm", "%.9g", o->max_grad_norm);
	KV("mini_batch", "%ld", o->mini);
	KV("matryoshka", "%.40s", o->dims ? o->dims : "");
	KV("symmetric", "%d", o->symmetric);
	KV("triplet_cosine", "%d", o->tcos);
	KV("dropout", "%d", o->dropout);
	KV("seed", "%llu", o->seed);
	KV("data", "%016llx", (unsigned long long)fp);
	KV("total_steps", "%ld", total);
	if (o->ev.q)	/* the same evaluation, so the best stays comparable */
		KV("eval", "every %ld level %d judged-only %d", o->ev.every,
		    o->ev.level, o->ev.judged);
	else
		KV("eval", "%s", "");
	if (o->loss == LOSS_GIST || o->loss == LOSS_CGIST) {
		/* the whole path's hash, and its end to read: a path longer
		 * than the field must not pass for another with its start */
		const char *g = o->guide ? o->guide : o->model;
		size_t gl = strlen(g);
		KV("guide", "%016llx ...%s", (unsigned long long)util_fnv1a(g,
		    gl), g + (gl > 24 ? gl - 24 : 0));
		KV("gist", "%.9g %s %.9g", o->gmargin, o->grel ? "relative" :
		    "absolute", o->temperature);
	}
#undef KV
	for (int i = 0; i < n; i++) {
		meta[2 * i] = buf[i][0];
		meta[2 * i + 1] = buf[i][1];
	}
	meta[2 * n] = NULL;
	return n;
}

/* The safetensors file's __metadata__ (a JSON object; NULL if none). */
static json_t *
st_meta(const struct st_file *f)
{
	const unsigned char *p = f->map;
	uint64_t n = 0;
	json_t *j, *mt;

	if (f->maplen < 8)
		return NULL;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | p[i];
	if (n > f->maplen - 8 || (j = json_loadb((const char *)p + 8, n, 0,
	    NULL)) == NULL)
		return NULL;
	mt = json_object_get(j, "__metadata__");
	if (mt)
		json_incref(mt);
	json_decref(j);
	return mt;
}

static const char *
meta_str(json_t *mt, const char *key)
{
	json_t *v = mt ? json_object_get(mt, key) : NULL;
	return v && json_is_string(v) ? json_string_value(v) : NULL;
}

static void
parse_dims(struct loss_cfg *lc, const char *s, size_t C)
{
	char *dup = xstrdup(s), *tok, *save = NULL;

	lc->ndims = 0;
	for (tok = strtok_r(dup, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		if (lc->ndims == LOSS_MAXDIMS)
			errx(EXIT_USAGE, "--matryoshka: more than %d dims",
			    LOSS_MAXDIMS);
		size_t d = (size_t)util_parse_int("--matryoshka", tok, 1,
		    (long)C);
		size_t i = lc->ndims++;
		/* sorted descending, as sentence-transformers does */
		while (i > 0 && lc->dims[i - 1] < d) {
			lc->dims[i] = lc->dims[i - 1];
			i--;
		}
		lc->dims[i] = d;
	}
	for (size_t i = 0; i < lc->ndims; i++)
		lc->weights[i] = 1;
	if (lc->ndims == 0)
		errx(EXIT_USAGE, "--matryoshka: no dims");
	free(dup);
}

/* Most tokens any batch of B rows can hold: for each column, the sum of
 * its B longest texts (and for mini-batches of S sequences, the S longest
 * texts overall). */
static size_t
longest(const size_t *hist, size_t T, size_t n)
{
	size_t total = 0;

	for (size_t l = T; l > 0 && n; l--) {
		size_t c = hist[l] < n ? hist[l] : n;
		total += c * l;
		n -= c;
	}
	return total;
}

static size_t
max_tokens(const struct examples *ex, size_t B, size_t S)
{
	size_t T = ex->Tmax, *hist = xcalloc(T + 1, sizeof *hist);
	size_t total = 0;

	if (S == 0) {	/* column k: of the rows that have one */
		for (size_t k = 0; k < ex->K; k++) {
			memset(hist, 0, (T + 1) * sizeof *hist);
			for (size_t r = 0; r < ex->n; r++) {
				size_t t = ex->row[r] + k;
				if (t < ex->row[r + 1])
					hist[ex->off[t + 1] - ex->off[t]]++;
			}
			total += longest(hist, T, B);
		}
	} else {
		for (size_t t = 0; t < ex->row[ex->n]; t++)
			hist[ex->off[t + 1] - ex->off[t]]++;
		total = longest(hist, T, S);
	}
	free(hist);
	return total;
}

/* the optimizer state, and the best evaluation's weights (best: NULL
 * without --eval-*) */
static void
save_state(const char *out, const struct bert_model *m, const float *best,
    const char **meta)
{
	char *p = xmalloc(strlen(out) + sizeof STATE + 2);
	struct st_out t[3] = {
		{"adam_m", 1, {m->nparams}, m->adam_m},
		{"adam_v", 1, {m->nparams}, m->adam_v},
		{"best", 1, {m->nparams}, (float *)best},
	};
	sprintf(p, "%s/%s", out, STATE);
	st_write(p, t, best ? 3 : 2, meta);
	free(p);
}

/* Write OUT: the model, and the optimizer state unless final, both in one
 * directory committed as a whole (a kill at any moment leaves the previous
 * checkpoint or this one, never a model without its state). */
static void
save(const struct opts *o, const struct model *md, const struct bert_model *m,
    const struct best *b, uint64_t fp, long step, long total, int final)
{
	char buf[NKEEP][2][48], sbuf[32];
	const char *meta[2 * NKEEP + 1];
	const char *mmeta[] = {"producer", "embtune train", "step", sbuf,
	    "loss", o->st_loss, NULL};

	snprintf(sbuf, sizeof sbuf, "%ld", step);
	char *tmp = model_write_tmp(o->out, md, m, mmeta);
	if (!final) {
		int n = opts_meta(o, fp, step, total, buf, meta);
		if (o->ev.q) {	/* the best so far: its step and figure */
			snprintf(buf[n][0], 48, "best_step");
			snprintf(buf[n][1], 48, "%ld", b->step);
			snprintf(buf[n + 1][0], 48, "best_ndcg@10");
			snprintf(buf[n + 1][1], 48, "%.17g", b->v);
			for (int i = n; i < n + 2; i++) {
				meta[2 * i] = buf[i][0];
				meta[2 * i + 1] = buf[i][1];
			}
			meta[2 * n + 4] = NULL;
		}
		save_state(tmp, m, o->ev.q ? b->w : NULL, meta);
	}
	util_commit_dir(tmp, o->out);
}

/* Evaluate the weights after `step` steps: rank 0 does, every rank gets
 * the figure and so agrees on the best (ties: the earlier step).  A line
 * on stderr; returns the figure for the log. */
static double
evaluate(struct best *b, const struct bert_model *m, long step, long total)
{
	double v = 0, t = util_now();

	if (dist_rank() == 0)
		v = eval_run(&b->e);
	dist_bcast(&v, sizeof v);
	if (v > b->v) {
		b->v = v;
		b->step = step;
		if (b->w)
			memcpy(b->w, m->params, m->nparams * sizeof *b->w);
	}
	if (dist_rank() == 0)
		fprintf(stderr, "%strain: eval at step %ld/%ld: ndcg@10 %.4f "
		    "(best %.4f at step %ld), %.1f s\n", isatty(2) ?
		    "\r\033[K" : "", step, total, v, b->v, b->step,
		    util_now() - t);
	return v;
}

static void
progress(const struct opts *o, long epoch, long step, long total,
    double loss, float lr, double eps, double t0, double *tlast, int force)
{
	double now = util_now();
	if (dist_rank() != 0 || !isatty(2) || (!force && now - *tlast < 0.25))
		return;
	*tlast = now;
	double el = now - t0, eta = step > 0 ? el / step * (total - step) : 0;
	long s = (long)eta;
	fprintf(stderr, "\rtrain: epoch %ld/%d step %ld/%ld loss %.4f lr %.3g "
	    "%.1f ex/s ETA %ld:%02ld:%02ld\033[K%s", epoch + 1, o->epochs,
	    step, total, loss, lr, eps, s / 3600, s / 60 % 60, s % 60,
	    force ? "\n" : "");
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{"loss", required_argument, NULL, 'L'},
		{"lr", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"weight-decay", required_argument, NULL, 'W'},
		{"max-grad-norm", required_argument, NULL, 'G'},
		{"mini-batch", required_argument, NULL, 'M'},
		{"matryoshka", required_argument, NULL, 'D'},
		{"symmetric", no_argument, NULL, 'S'},
		{"triplet-cosine", no_argument, NULL, 'T'},
		{"no-dropout", no_argument, NULL, 'N'},
		{"seed", required_argument, NULL, 's'},
		{"save-every", required_argument, NULL, 'E'},
		{"resume", no_argument, NULL, 'R'},
		{"log", required_argument, NULL, 'l'},
		{"stop-after", required_argument, NULL, 'X'},	/* tests */
		{"precision", required_argument, NULL, 'P'},
		{"eval-queries", required_argument, NULL, 0x100},
		{"eval-corpus", required_argument, NULL, 0x101},
		{"eval-qrels", required_argument, NULL, 0x102},
		{"eval-every", required_argument, NULL, 0x103},
		{"eval-judged-only", no_argument, NULL, 0x104},
		{"eval-level", required_argument, NULL, 0x105},
		{"max-steps", required_argument, NULL, 0x106},
		{"guide", required_argument, NULL, 'u'},
		{"guide-margin", required_argument, NULL, 'y'},
		{"guide-margin-strategy", required_argument, NULL, 'z'},
		{"temperature", required_argument, NULL, 'Y'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {
		.loss = LOSS_MNRL, .epochs = 1, .dropout = 1, .batch = 32,
		.lr = 2e-5, .warmup = 0.1, .warmup_ratio = 1, .wd = 0.01,
		.max_grad_norm = 1.0, .save_every = 500, .seed = 42,
		.ev.level = 1,
		.temperature = 0.01,
	};
	int c, mini_set = 0, threads = 0, ev_set = 0;

	/* under mpirun: one of P ranks (rank 0 alone writes); see dist.h */
	dist_init(&argc, &argv, "train");
	const int rank = dist_rank(), P = dist_size();
	while ((c = getopt_long(argc, argv, "m:o:e:b:t:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.model = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'e':
			o.epochs = (int)util_parse_int("-e", optarg, 1, 100000);
			break;
		case 'b':
			o.batch = util_parse_int("-b", optarg, 1, 1 << 20);
			break;
		case 't':
			threads = (int)util_parse_int("-t", optarg, 1, 1024);
			break;
		case 'L':
			if ((o.loss = loss_kind(optarg)) < 0)
				errx(EXIT_USAGE, "--loss: %s: expected mnrl, "
				    "cmnrl, cosine, cosent, triplet, "
				    "contrastive, gist or cgist", optarg);
			break;
		case 'r':
			o.lr = util_parse_float("--lr", optarg, 0, 1);
			break;
		case 'w':
			o.warmup = util_parse_float("--warmup", optarg, 0, 1e9);
			o.warmup_ratio = o.warmup < 1;
			if (!o.warmup_ratio && o.warmup != floor(o.warmup))
				errx(EXIT_USAGE, "--warmup: %s: expected a whole "
				    "number of steps or a ratio below 1",
				    optarg);
			break;
		case 'W':
			o.wd = util_parse_float("--weight-decay", optarg, 0, 1);
			break;
		case 'G':
			o.max_grad_norm = util_parse_float("--max-grad-norm",
			    optarg, 0, 1e9);
			break;
		case 'M':
			o.mini = util_parse_int("--mini-batch", optarg, 1,
			    1 << 20);
			mini_set = 1;
			break;
		case 'D':
			o.dims = optarg;
			break;
		case 'S':
			o.symmetric = 1;
			break;
		case 'T':
			o.tcos = 1;
			break;
		case 'N':
			o.dropout = 0;
			break;
		case 's':
			o.seed = (unsigned long long)util_parse_int("--seed",
			    optarg, 0, 0x7fffffffL);
			break;
		case 'E':
			o.save_every = util_parse_int("--save-every", optarg,
			    0, 0x7fffffffL);
			break;
		case 'R':
			o.resume = 1;
			break;
		case 'l':
			o.log = optarg;
			break;
		case 'X':
			o.stop_after = util_parse_int("--stop-after", optarg,
			    1, 0x7fffffffL);
			break;
		case 'P':
			blas_precision_opt(optarg);
			break;
		case 0x100: o.ev.q = optarg; break;
		case 0x101: o.ev.d = optarg; break;
		case 0x102: o.ev.qrels = optarg; break;
		case 0x103:
			o.ev.every = util_parse_int("--eval-every", optarg, 1,
			    0x7fffffffL);
			ev_set = 1;
			break;
		case 0x104: o.ev.judged = ev_set = 1; break;
		case 0x105:
			o.ev.level = (int)util_parse_int("--eval-level", optarg,
			    1, 1000000);
			ev_set = 1;
			break;
		case 0x106:
			o.max_steps = util_parse_int("--max-steps", optarg, 1,
			    0x7fffffffL);
			break;
		case 'u':
			o.guide = optarg;
			o.gist_opt = o.gist_opt ? o.gist_opt : "--guide";
			break;
		case 'y':
			o.gmargin = util_parse_float("--guide-margin", optarg,
			    -10, 10);
			o.gist_opt = o.gist_opt ? o.gist_opt : "--guide-margin";
			break;
		case 'z':
			if (strcmp(optarg, "absolute") != 0 &&
			    strcmp(optarg, "relative") != 0)
				errx(EXIT_USAGE, "--guide-margin-strategy: %s: "
				    "expected absolute or relative", optarg);
			o.grel = optarg[0] == 'r';
			o.gist_opt = o.gist_opt ? o.gist_opt :
			    "--guide-margin-strategy";
			break;
		case 'Y':
			o.temperature = util_parse_float("--temperature",
			    optarg, 1e-4, 100);
			o.gist_opt = o.gist_opt ? o.gist_opt : "--temperature";
			break;
		case 'V':
			util_version("train", blas_sysinfo);
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || o.model == NULL || o.out == NULL)
		usage(stderr, EXIT_USAGE);
	o.in = argc == 1 && strcmp(argv[0], "-") != 0 ? argv[0] : NULL;
	int gist = o.loss == LOSS_GIST || o.loss == LOSS_CGIST,
	    cached = o.loss == LOSS_CMNRL || o.loss == LOSS_CGIST;
	if (mini_set && !cached)
		errx(EXIT_USAGE, "--mini-batch: only with --loss cmnrl or "
		    "cgist");
	if (cached && !mini_set)
		o.mini = 32;	/* CachedMultipleNegativesRankingLoss */
	if (o.gist_opt && !gist)
		errx(EXIT_USAGE, "%s: only with --loss gist or cgist",
		    o.gist_opt);
	if (o.symmetric && o.loss != LOSS_MNRL && o.loss != LOSS_CMNRL)
		errx(EXIT_USAGE, "--symmetric: only with --loss mnrl or cmnrl");
	if (o.tcos && o.loss != LOSS_TRIPLET)
		errx(EXIT_USAGE, "--triplet-cosine: only with --loss triplet");
	if ((o.ev.q || o.ev.d || o.ev.qrels || ev_set) &&
	    !(o.ev.q && o.ev.d && o.ev.qrels))
		errx(EXIT_USAGE, "--eval-*: --eval-queries, --eval-corpus and "
		    "--eval-qrels go together");

	signal(SIGINT, onsig);
	signal(SIGTERM, onsig);

	/* OUT is replaced as a whole: refuse to replace anything but a model */
	struct stat sb;
	if (stat(o.out, &sb) == 0) {
		char *cp = xmalloc(strlen(o.out) + 16);
		sprintf(cp, "%s/config.json", o.out);
		if (!S_ISDIR(sb.st_mode) || stat(cp, &sb) != 0)
			errx(EXIT_CANTCREAT, "%s: exists and is not a model "
			    "directory; not replacing it", o.out);
		free(cp);
	}

	/* the model: the checkpoint in OUT when resuming */
	struct model md;
	model_open(&md, o.model);
	if (o.resume) {
		char *sp = xmalloc(strlen(o.out) + sizeof STATE + 2);
		sprintf(sp, "%s/%s", o.out, STATE);
		if (stat(sp, &sb) != 0)
			errx(EXIT_NOINPUT, "--resume: %s: no training state to "
			    "resume from", o.out);
		free(sp);
		struct model mo;
		model_open(&mo, o.out);
		if (strcmp(mo.vocab, md.vocab) != 0)
			errx(EXIT_DATAERR, "--resume: %s: vocabulary differs "
			    "from %s", o.out, o.model);
		model_close(&md);
		md = mo;
	}
	/* the guide: the model the run starts from unless --guide */
	struct model gmd;
	const char *gdir = o.guide ? o.guide : o.model;
	if (gist) {
		model_open(&gmd, gdir);
		if (strcmp(gmd.vocab, md.vocab) != 0)
			errx(EXIT_DATAERR, "--guide: %s: vocabulary differs "
			    "from %s; the guide must read the same token ids",
			    gdir, o.model);
	}
	size_t C = md.cfg.C;
	struct loss_cfg lc;
	loss_defaults(&lc, o.loss);
	lc.symmetric = o.symmetric;
	lc.cosine = o.tcos;
	if (gist) {
		lc.scale = (float)(1 / o.temperature);
		lc.margin = (float)o.gmargin;
		lc.relative = o.grel;
	}
	o.st_loss = loss_st_name(&lc);
	if (o.dims)
		parse_dims(&lc, o.dims, C);

	/* the data, all of it: every epoch reshuffles it */
	struct examples ex;
	const char *need;
	if (o.in == NULL && P > 1) {	/* stdin: rank 0's only */
		if (rank == 0)
			batch_read(&ex, NULL, md.name, md.vocab, md.cfg.V,
			    bert_max_len(&md.cfg));
		batch_bcast(&ex);
	} else
		batch_read(&ex, o.in, md.name, md.vocab, md.cfg.V,
		    bert_max_len(&md.cfg));
	if (loss_fits(o.loss, ex.Kmin, ex.K, ex.has_label, &need) != 0) {
		char w[48];
		snprintf(w, sizeof w, ex.Kmin == ex.K ? "%zu" : "%zu to %zu",
		    ex.Kmin, ex.K);
		errx(EXIT_DATAERR, "%s: --loss %s takes %s; this data has %s "
		    "texts per row %s labels, which fit: %s",
		    o.in ? o.in : "stdin", loss_name(o.loss), need, w,
		    ex.has_label ? "with" : "without",
		    loss_fitting(ex.Kmin, ex.K, ex.has_label));
	}
	if (stop)
		exit(EXIT_INTR);

	/* plan: an epoch is ceil(n/B) steps (of each width of row), as the
	 * Hugging Face trainer counts it for sentence-transformers; when
	 * NO_DUPLICATES plans more
	 * batches than that, the rows of the batches left over wait for a
	 * later epoch's shuffle */
	struct sampler smp;
	size_t B = (size_t)o.batch;
	if (B < (size_t)P)
		errx(EXIT_USAGE, "-b %zu: less than one row for each of the %d "
		    "processes", B, P);
	batch_sampler_init(&smp, &ex, B, o.seed);
	long spe = (long)batch_steps(&ex, B), total = spe * o.epochs;
	if (o.max_steps && o.max_steps < total) {
		if (rank == 0)
			fprintf(stderr, "train: --max-steps %ld: %ld of the %ld "
			    "steps of %d epoch%s of %zu rows\n", o.max_steps,
			    o.max_steps, total, o.epochs, o.epochs > 1 ? "s" :
			    "", ex.n);
		total = o.max_steps;
	}
	long warmup = o.warmup_ratio ? (long)ceil(total * o.warmup) :
	    (long)o.warmup;

	/* one arena for the model, sized for this rank's share of a batch
	 * (all of it in one process); batch buffers; nothing allocated later */
	size_t Bl = (B + (size_t)P - 1) / (size_t)P, S = ex.K * Bl,
	    Smax = o.mini && (size_t)o.mini < S ? (size_t)o.mini : S;
	size_t Nmax = max_tokens(&ex, Bl, Smax < S ? Smax : 0);
	struct bert_model m;
	blas_threads(threads);
	bert_alloc(&m, &md.cfg, Smax, ex.Tmax, Nmax, BERT_GRADS | BERT_ADAM |
	    (blas_precision() == BLAS_PREC_BF16 ? BERT_ACT16 : 0));
	model_load(&md, &m);
	uint32_t *ids = xmalloc(max_tokens(&ex, B, 0) * sizeof *ids);
	size_t *len = xmalloc(ex.K * B * sizeof *len);
	float *label = xmalloc(B * sizeof *label);
	struct adamw_hp hp;
	adamw_defaults(&hp);
	hp.lr = (float)o.lr;
	hp.wd = (float)o.wd;
	struct train tr;
	train_init(&tr, &m, &lc, &hp, B, ex.K, Smax < S ? Smax : 0);
	tr.max_grad_norm = o.max_grad_norm;
	tr.dropout = o.dropout;
	tr.seed = o.seed;
	tr.plen[0] = ex.prompt_len[0];	/* the prompts' ids, out of pooling */
	tr.plen[1] = ex.prompt_len[1];
	train_dist(&tr, max_tokens(&ex, Bl, 0));
	struct bert_model g;
	if (gist) {	/* frozen, forward only, as many texts at a time */
		/* sentence-transformers would re-tokenize and truncate */
		if (ex.Tmax > gmd.max_seq_length)
			errx(EXIT_DATAERR, "--guide: %s: takes at most %zu "
			    "tokens; this data has texts of %zu", gdir,
			    gmd.max_seq_length, ex.Tmax);
		bert_alloc(&g, &gmd.cfg, Smax, ex.Tmax, Nmax, 0);
		model_load(&gmd, &g);
		train_guide(&tr, &g);
	}
	struct best bst = {.step = -1, .v = -1};
	long every = o.ev.every ? o.ev.every : spe;	/* default: each epoch */
	if (o.ev.q && rank == 0) {
		eval_open(&bst.e, o.ev.q, o.ev.d, o.ev.qrels, o.ev.level,
		    o.ev.judged, &md, &m);
		bst.w = xaligned(m.nparams * sizeof *bst.w);
	}

	long step = 0;
	if (o.resume) {
		char buf[NKEEP][2][48];
		const char *meta[2 * NKEEP + 1];
		struct st_file sf;
		char *sp = xmalloc(strlen(o.out) + sizeof STATE + 2);
		sprintf(sp, "%s/%s", o.out, STATE);
		st_open(&sf, sp);
		const struct st_tensor *tm = st_find(&sf, "adam_m"),
		    *tv = st_find(&sf, "adam_v");
		if (!tm || !tv || tm->numel != m.nparams ||
		    tv->numel != m.nparams || st_read_f32(m.adam_m, tm) ||
		    st_read_f32(m.adam_v, tv))
			errx(EXIT_DATAERR, "%s: optimizer state does not fit "
			    "the model", sp);
		/* the same options and data as the checkpoint */
		json_t *mt = st_meta(&sf), *mm = st_meta(&md.st);
		opts_meta(&o, ex.fingerprint, 0, total, buf, meta);
		for (int k = 1; meta[2 * k]; k++) {
			const char *v = meta_str(mt, meta[2 * k]);
			/* absent: an option added since, at its default */
			if (v == NULL && meta[2 * k + 1][0] == '\0')
				continue;
			if (v == NULL || strcmp(v, meta[2 * k + 1]) != 0)
				errx(EXIT_USAGE, "--resume: %s: %s is %s here, "
				    "%s in the checkpoint", o.out, meta[2 * k],
				    meta[2 * k + 1][0] ? meta[2 * k + 1] : "unset",
				    v == NULL ? "absent" : v[0] ? v : "unset");
		}
		const char *ss = meta_str(mt, "step"), *ms = meta_str(mm,
		    "step");
		if (ss == NULL || ms == NULL || strcmp(ss, ms) != 0)
			errx(EXIT_DATAERR, "--resume: %s: the optimizer state "
			    "(step %s) does not match the model (step %s)",
			    o.out, ss ? ss : "?", ms ? ms : "?");
		step = util_parse_int("step", ss, 1, total - 1);
		if (o.ev.q) {	/* the best so far, as the run left it */
			const char *bs = meta_str(mt, "best_step"),
			    *bv = meta_str(mt, "best_ndcg@10");
			const struct st_tensor *tb = st_find(&sf, "best");
			if (!bs || !bv || !tb || tb->numel != m.nparams ||
			    (bst.w && st_read_f32(bst.w, tb)))
				errx(EXIT_DATAERR, "%s: no best evaluation in "
				    "the training state", sp);
			bst.step = util_parse_int("best_step", bs, 0, step);
			bst.v = util_parse_float("best_ndcg@10", bv, 0, 1);
		}
		json_decref(mt);
		json_decref(mm);
		st_close(&sf);
		free(sp);
	}

	FILE *logf = NULL;
	if (o.log && rank == 0) {
		if ((logf = fopen(o.log, o.resume ? "a" : "w")) == NULL)
			err(EXIT_CANTCREAT, "%s", o.log);
		if (!o.resume)
			fprintf(logf, "step\tloss\tlr\tgrad_norm\t"
			    "examples_per_s%s\n", o.ev.q ? "\tndcg@10" : "");
	}
	if (o.ev.q && !o.resume) {	/* the base model */
		double v = evaluate(&bst, &m, 0, total);
		if (logf)
			fprintf(logf, "0\t\t\t\t\t%.9g\n", v);
	}

	double t0 = util_now(), tlast = 0, run = 0;
	long nrun = 0, last_save = step, first = step;
	char lbuf[PATH_MAX + 32] = "";
	size_t left = 0;	/* rows of batches past an epoch's end */
	for (long e = step / spe, i0 = step % spe; step < total; e++, i0 = 0) {
		batch_epoch(&smp, e);
		left += ex.n - smp.start[spe];
		for (size_t i = (size_t)i0; i < (size_t)spe && step < total;
		    i++) {
			double ts = util_now();
			size_t K, b = batch_get(&smp, i, ids, len, label, &K);
			float lr = (float)(o.lr * adamw_schedule(step, warmup,
			    total));
			double loss = train_grad(&tr, ids, len,
			    ex.has_label ? label : NULL, b, K, step);
			if (!isfinite(loss) || train_update(&tr, step, lr) != 0) {
				if (last_save > 0)
					snprintf(lbuf, sizeof lbuf, "%ld in %s",
					    last_save, o.out);
				errx(EXIT_SOFTWARE, "step %ld: %s is %s; %s%s",
				    step + 1, isfinite(loss) ? "gradient norm" :
				    "loss", isfinite(loss) ? "not finite" :
				    isnan(loss) ? "nan" : "infinite",
				    last_save > 0 ? "kept the checkpoint of step " :
				    "nothing written", lbuf);
			}
			step++;
			run = nrun ? 0.98 * run + 0.02 * loss : loss;
			nrun++;
			double dt = util_now() - ts;
			double eps = (double)(step - first) * B /
			    (util_now() - t0);
			double v = o.ev.q && (step % every == 0 ||
			    step == total) ? evaluate(&bst, &m, step, total) :
			    NAN;
			if (logf) {
				fprintf(logf, "%ld\t%.6g\t%.6g\t%.6g\t%.2f",
				    step, loss, lr, tr.grad_norm,
				    dt > 0 ? b / dt : 0);
				if (o.ev.q && !isnan(v))
					fprintf(logf, "\t%.9g", v);
				else if (o.ev.q)
					fputc('\t', logf);
				fputc('\n', logf);
				fflush(logf);
			}
			progress(&o, e, step, total, run, lr, eps, t0, &tlast,
			    0);
			if (o.stop_after && step >= o.stop_after)
				stop = 1;
			if (P > 1) {	/* a signal to any rank stops them all */
				stop = dist_allreduce_max(stop);
				if ((step % 100 == 0 || step == total) &&
				    !dist_same(util_fnv1a(m.params, m.nparams *
				    sizeof *m.params)))
					errx(EXIT_SOFTWARE, "step %ld: the "
					    "parameters differ between the %d "
					    "processes", step, P);
			}
			if (stop && step < total) {
				if (rank == 0)
					save(&o, &md, &m, &bst, ex.fingerprint,
					    step, total, 0);
				if (logf && fclose(logf) != 0)
					err(EXIT_IOERR, "%s", o.log);
				if (rank == 0)
					fprintf(stderr, "train: interrupted at "
					    "step %ld of %ld; %s saved (--resume "
					    "goes on)\n", step, total, o.out);
				dist_allreduce_max(0);	/* rank 0 has saved */
				dist_finalize();
				exit(EXIT_INTR);
			}
			if (o.save_every && step % o.save_every == 0 &&
			    step < total) {
				if (rank == 0)
					save(&o, &md, &m, &bst, ex.fingerprint,
					    step, total, 0);
				last_save = step;
			}
		}
	}
	progress(&o, step > 0 ? (step - 1) / spe : 0, step, total, run, 0,
	    (double)(step - first) * B / (util_now() - t0), t0, &tlast, 1);
	long kept = step;
	if (o.ev.q && bst.step != step) {	/* the best evaluation's weights */
		if (rank == 0)
			memcpy(m.params, bst.w, m.nparams * sizeof *m.params);
		blas_weights_changed(m.params);
		kept = bst.step;
	}
	if (rank == 0)
		save(&o, &md, &m, &bst, ex.fingerprint, kept, total, 1);
	if (o.ev.q && rank == 0)
		fprintf(stderr, "train: best eval ndcg@10 %.4f at step %ld; %s "
		    "is that model\n", bst.v, bst.step, o.out);
	if (P > 1 && rank == 0)
		fprintf(stderr, "train: %d processes, %ld steps in %.1f s: "
		    "%.2f s in MPI_Allgatherv, %.2f s in MPI_Allreduce "
		    "(rank 0)\n", P, step - first, util_now() - t0,
		    tr.t_gather, tr.t_reduce);
	if (left && rank == 0)
		fprintf(stderr, "train: %zu rows skipped, over all epochs: an "
		    "epoch is %ld steps (rows/batch, rounded up, as in "
		    "sentence-transformers) and NO_DUPLICATES made more "
		    "batches\n", left, spe);
	if (logf && fclose(logf) != 0)
		err(EXIT_IOERR, "%s", o.log);
	if (o.ev.q && rank == 0) {
		eval_free(&bst.e);
		free(bst.w);
	}
	train_free(&tr);
	if (gist) {
		bert_free(&g);
		model_close(&gmd);
	}
	free(ids);
	free(len);
	free(label);
	bert_free(&m);
	batch_sampler_free(&smp);
	batch_free(&ex);
	model_close(&md);
	dist_allreduce_max(0);	/* rank 0 has written OUT */
	dist_finalize();
	util_fshut();
	return 0;
}
