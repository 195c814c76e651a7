/* mine-negatives: hard negatives from a ranked run, as training examples. */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mine.h"
#include "qrels.h"
#include "rec.h"
#include "texts.h"
#include "util.h"

static const char usage_text[] =
    "usage: mine-negatives -q QRELS -Q QUERY_TOKENS -C CORPUS_TOKENS [-n NUM]\n"
    "                      [--range-min R] [--range-max R] [--margin M]\n"
    "                      [--relative-margin M] [--max-score S] [--min-score S]\n"
    "                      [--sampling top|random] [--seed S] [--judged]\n"
    "                      [--per-positive-margin] [--keep-pairs] "
    "[--skip-missing]\n"
    "                      [--format triplet|ntuple|labeled-pair] [-l LEVEL] [RUN]\n"
    "       mine-negatives --version\n";

enum { FMT_TRIPLET, FMT_NTUPLE, FMT_PAIR };

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

static int
pack_text(msgpack_packer *pk, const struct texts *t, size_t i)
{
	size_t n = t->off[i + 1] - t->off[i];

	if (msgpack_pack_array(pk, n))
		return -1;
	for (size_t j = 0; j < n; j++)
		if (msgpack_pack_uint32(pk, t->ids[t->off[i] + j]))
			return -1;
	return 0;
}

/* One row: anchor q, then the corpus texts d (nd), with an optional label. */
static void
write_row(struct rec_writer *w, const struct texts *Q, size_t q,
    const struct texts *C, const size_t *d, size_t nd, double label)
{
	msgpack_packer *pk = rec_begin(w);

	if (msgpack_pack_map(pk, isnan(label) ? 1 : 2) ||
	    rec_pack_str(pk, "texts") || msgpack_pack_array(pk, 1 + nd) ||
	    pack_text(pk, Q, q))
		goto fail;
	for (size_t i = 0; i < nd; i++)
		if (pack_text(pk, C, d[i]))
			goto fail;
	if (!isnan(label) && (rec_pack_str(pk, "label") ||
	    msgpack_pack_double(pk, label)))
		goto fail;
	rec_end(w);
	return;
fail:
	errx(EXIT_SOFTWARE, "stdout: cannot pack a record");
}

/* Growing array of doubles for the statistics. */
struct dvec {
	double *x;
	size_t n, cap;
};

static void
dpush(struct dvec *v, double x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 1024;
		v->x = xrealloc(v->x, v->cap * sizeof *v->x);
	}
	v->x[v->n++] = x;
}

static void
report(struct dvec *pos, struct dvec *neg, struct dvec *diff)
{
	struct mine_stats s[3];
	static const char *name[] = { "mean", "median", "std", "min", "25%",
	    "50%", "75%", "max" };

	mine_stats(&s[0], pos->x, pos->n);
	mine_stats(&s[1], neg->x, neg->n);
	mine_stats(&s[2], diff->x, diff->n);
	fprintf(stderr, "mine-negatives: %-6s %10s %10s %10s\n", "score",
	    "positive", "negative", "difference");
	fprintf(stderr, "mine-negatives: %-6s %10zu %10zu %10zu\n", "count",
	    s[0].n, s[1].n, s[2].n);
	for (int r = 0; r < 8; r++) {
		fprintf(stderr, "mine-negatives: %-6s", name[r]);
		for (int c = 0; c < 3; c++) {
			const double *f = &s[c].mean;
			fprintf(stderr, " %10.4f", f[r]);
		}
		fputc('\n', stderr);
	}
}

int
main(int argc, char **argv)
{
	enum { O_RMIN = 256, O_RMAX, O_MARGIN, O_REL, O_MAXS, O_MINS,
	    O_SAMPLING, O_SEED, O_FORMAT, O_JUDGED, O_PERPOS, O_KEEP,
	    O_SKIPMISS };
	static const struct option longopts[] = {
		{ "range-min", required_argument, NULL, O_RMIN },
		{ "range-max", required_argument, NULL, O_RMAX },
		{ "margin", required_argument, NULL, O_MARGIN },
		{ "relative-margin", required_argument, NULL, O_REL },
		{ "max-score", required_argument, NULL, O_MAXS },
		{ "min-score", required_argument, NULL, O_MINS },
		{ "sampling", required_argument, NULL, O_SAMPLING },
		{ "seed", required_argument, NULL, O_SEED },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "judged", no_argument, NULL, O_JUDGED },
		{ "per-positive-margin", no_argument, NULL, O_PERPOS },
		{ "keep-pairs", no_argument, NULL, O_KEEP },
		{ "skip-missing", no_argument, NULL, O_SKIPMISS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct mine_opts o = { .num = 3, .sampling = MINE_TOP };
	struct mine_counts cnt = { 0 };
	const char *qpath = NULL, *Qpath = NULL, *Cpath = NULL;
	int c, fmt = FMT_TRIPLET, level = 1, has_rmax = 0, judged = 0;
	int perpos = 0, keep = 0, skipmiss = 0;
	uint64_t rng = 0;
	struct qrels q;
	struct run r;
	struct texts Q, C;
	struct rec_writer w;
	msgpack_packer *pk;
	size_t *out, *tmp, *hidx, *posdoc, *kp, *row, cap = 0, pcap = 0,
	    ocap = 0;
	double *score, *possc;
	unsigned char *ispos, *posknown;
	size_t nq = 0, nnopos = 0, nshort = 0, nnone = 0, nunranked = 0,
	    nrows = 0, nposall = 0, nunjudged = 0, nkept = 0, npshort = 0,
	    npnone = 0, nmissq = 0, nmissd = 0;
	unsigned char *skipq;
	struct dvec spos = { 0 }, sneg = { 0 }, sdiff = { 0 };

	while ((c = getopt_long(argc, argv, "hq:Q:C:n:l:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout, 0); break;
		case 'V': util_version("mine-negatives", NULL); break;
		case 'q': qpath = optarg; break;
		case 'Q': Qpath = optarg; break;
		case 'C': Cpath = optarg; break;
		case 'n':
			o.num = (size_t)util_parse_int("-n", optarg, 0, 10000);
			break;
		case 'l':
			level = (int)util_parse_int("-l", optarg, 1, 1000000);
			break;
		case O_RMIN:
			o.range_min = (size_t)util_parse_int("--range-min",
			    optarg, 0, 1000000);
			break;
		case O_RMAX:
			o.range_max = (size_t)util_parse_int("--range-max",
			    optarg, 1, 1000000);
			has_rmax = 1;
			break;
		case O_MARGIN:
			o.abs_margin = util_parse_float("--margin", optarg, 0,
			    1e6);
			o.has_abs = 1;
			break;
		case O_REL:
			o.rel_margin = util_parse_float("--relative-margin",
			    optarg, 0, 1e6);
			o.has_rel = 1;
			break;
		case O_MAXS:
			o.max_score = util_parse_float("--max-score", optarg,
			    -1e30, 1e30);
			o.has_max = 1;
			break;
		case O_MINS:
			o.min_score = util_parse_float("--min-score", optarg,
			    -1e30, 1e30);
			o.has_min = 1;
			break;
		case O_SAMPLING:
			if (strcmp(optarg, "top") == 0)
				o.sampling = MINE_TOP;
			else if (strcmp(optarg, "random") == 0)
				o.sampling = MINE_RANDOM;
			else
				errx(EXIT_USAGE, "--sampling: %s: must be top "
				    "or random", optarg);
			break;
		case O_SEED:
			rng = (uint64_t)util_parse_int("--seed", optarg, 0,
			    4294967295L);
			break;
		case O_JUDGED:
			judged = 1;
			break;
		case O_PERPOS:
			perpos = 1;
			break;
		case O_SKIPMISS:
			skipmiss = 1;
			break;
		case O_KEEP:
			keep = 1;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "triplet") == 0)
				fmt = FMT_TRIPLET;
			else if (strcmp(optarg, "ntuple") == 0 ||
			    strcmp(optarg, "n-tuple") == 0)
				fmt = FMT_NTUPLE;
			else if (strcmp(optarg, "labeled-pair") == 0)
				fmt = FMT_PAIR;
			else
				errx(EXIT_USAGE, "--format: %s: must be "
				    "triplet, ntuple or labeled-pair", optarg);
			break;
		default: usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || !qpath || !Qpath || !Cpath)
		usage(stderr, EXIT_USAGE);
	if (!has_rmax)
		o.range_max = mine_default_range_max(&o);
	if (o.num == 0)
		;	/* pairs: no window to check */
	else if (o.range_min >= o.range_max)
		errx(EXIT_USAGE, "--range-min %zu: must be smaller than "
		    "--range-max %zu", o.range_min, o.range_max);
	if (o.num > 0 && o.num > o.range_max - o.range_min)
		errx(EXIT_USAGE, "-n %zu: only %zu candidates remain after "
		    "skipping the first %zu of --range-max %zu", o.num,
		    o.range_max - o.range_min, o.range_min, o.range_max);
	util_no_tty_stdout();

	/* all input is read (and checked) before the first output record */
	qrels_read(&q, qpath);
	texts_read(&Q, Qpath);
	texts_read(&C, Cpath);
	if (strcmp(Q.vocab, C.vocab) != 0)
		errx(EXIT_DATAERR, "%s: vocab %s (model \"%s\") does not match "
		    "%s: vocab %s (model \"%s\")", Qpath, Q.vocab, Q.model,
		    Cpath, C.vocab, C.model);
	run_read(&r, argc ? argv[0] : NULL);

	/* every judged query and document must have its tokens; with
	 * --skip-missing, a positive without them is not judged, a query
	 * without them not mined */
	skipq = xcalloc(q.nq ? q.nq : 1, 1);
	for (size_t qi = 0; qi < q.nq; qi++) {
		int any = 0;
		for (size_t j = q.start[qi]; j < q.start[qi + 1]; j++) {
			if (q.j[j].rel < level)
				continue;
			if (texts_find(&C, q.j[j].doc) >= 0)
				any = 1;
			else if (skipmiss) {
				q.j[j].rel = QRELS_UNJUDGED;
				nmissd++;
			} else
				errx(EXIT_DATAERR, "%s: query \"%s\": positive "
				    "\"%s\" is not in %s", qpath, q.qid[qi],
				    q.j[j].doc, Cpath);
		}
		if (any && texts_find(&Q, q.qid[qi]) < 0) {
			if (!skipmiss)
				errx(EXIT_DATAERR, "%s: query \"%s\" is not in "
				    "%s", qpath, q.qid[qi], Qpath);
			skipq[qi] = 1;
			nmissq++;
		}
	}
	for (size_t i = 0; i < r.nh; i++)
		if (texts_find(&C, r.h[i].doc) < 0)
			errx(EXIT_DATAERR, "%s: %s %zu: document \"%s\" is "
			    "not in %s", r.name, strcmp(r.format, "hits") == 0 ?
			    "record" : "line", r.h[i].at, r.h[i].doc, Cpath);

	rec_writer_init(&w, stdout);
	pk = rec_begin(&w);
	/* the prompts' ids: the queries' (anchors), the documents' (others) */
	int prompt = Q.prompt_len || C.prompt_len;
	if (rec_pack_header(pk, "examples", "mine-negatives", 4 + prompt) ||
	    rec_pack_kv_str(pk, "model", C.model) ||
	    rec_pack_kv_str(pk, "vocab", C.vocab) ||
	    rec_pack_kv_uint(pk, "max_len", Q.max_len > C.max_len ?
	    Q.max_len : C.max_len) ||
	    rec_pack_kv_uint(pk, "columns", o.num == 0 || fmt == FMT_PAIR ? 2 :
	    fmt == FMT_TRIPLET ? 3 : 2 + o.num) ||
	    (prompt && (rec_pack_str(pk, "prompt_len") ||
	    msgpack_pack_array(pk, 2) ||
	    msgpack_pack_uint64(pk, Q.prompt_len) ||
	    msgpack_pack_uint64(pk, C.prompt_len))))
		errx(EXIT_SOFTWARE, "stdout: cannot pack the header");
	rec_end(&w);

	out = kp = row = NULL;
	tmp = hidx = NULL;
	score = NULL;
	ispos = NULL;
	posdoc = NULL;
	possc = NULL;
	posknown = NULL;
	for (size_t qi = 0; qi < q.nq; qi++) {
		const char *qid = q.qid[qi];
		long ri = run_find(&r, qid), qt;
		size_t n = 0, np = 0, k;
		const struct run_hit *h = NULL;
		double P = INFINITY;

		if (skipq[qi])
			continue;
		for (size_t j = q.start[qi]; j < q.start[qi + 1]; j++) {
			if (q.j[j].rel < level)
				continue;
			if (np == pcap) {
				pcap = pcap ? 2 * pcap : 64;
				posdoc = xrealloc(posdoc, pcap * sizeof *posdoc);
				possc = xrealloc(possc, pcap * sizeof *possc);
				posknown = xrealloc(posknown, pcap);
			}
			posdoc[np] = (size_t)texts_find(&C, q.j[j].doc);
			posknown[np] = 0;
			possc[np++] = -INFINITY;
		}
		if (np == 0) {
			nnopos++;
			continue;
		}
		nq++;
		nposall += np;
		qt = texts_find(&Q, qid);
		if (ri >= 0) {
			h = r.h + r.start[ri];
			n = r.start[ri + 1] - r.start[ri];
		}
		if (n > cap) {
			cap = n;
			tmp = xrealloc(tmp, cap * sizeof *tmp);
			hidx = xrealloc(hidx, cap * sizeof *hidx);
			score = xrealloc(score, cap * sizeof *score);
			ispos = xrealloc(ispos, cap);
		}
		/* the run reader keeps file order: rank by score, stably */
		for (size_t i = 0; i < n; i++)
			hidx[i] = i;
		for (size_t i = 1; i < n; i++) {
			size_t x = hidx[i], j = i;
			if (h[hidx[j - 1]].score >= h[x].score)
				continue;
			while (j > 0 && h[hidx[j - 1]].score < h[x].score) {
				hidx[j] = hidx[j - 1];
				j--;
			}
			hidx[j] = x;
		}
		for (size_t i = 0; i < n; i++) {
			const struct run_hit *hi = &h[hidx[i]];
			size_t d = (size_t)texts_find(&C, hi->doc);
			score[i] = hi->score;
			int rel = qrels_rel(&q, qi, hi->doc);
			/* 1: a positive; 2: unjudged, not a candidate either
			 * with --judged */
			ispos[i] = rel >= level ? 1 :
			    judged && rel == QRELS_UNJUDGED ? 2 : 0;
			nunjudged += ispos[i] == 2;
			for (size_t p = 0; ispos[i] == 1 && p < np; p++)
				if (posdoc[p] == d && !posknown[p]) {
					posknown[p] = 1;
					possc[p] = hi->score;
				}
		}
		for (size_t p = 0; p < np; p++) {
			if (possc[p] < P)
				P = possc[p];
			if (posknown[p])
				dpush(&spos, possc[p]);
			else
				nunranked++;
		}

		/* negatives of positive p: kp[p] of them at neg(p), hit
		 * indices first, then corpus indices; one set shared by the
		 * query's positives unless --per-positive-margin */
#define NEG(p) (out + (perpos ? (p) * o.num : 0))
		if (np * (o.num ? o.num : 1) > ocap) {
			ocap = np * (o.num ? o.num : 1);
			out = xrealloc(out, ocap * sizeof *out);
			kp = xrealloc(kp, ocap * sizeof *kp);
			row = xrealloc(row, (1 + ocap) * sizeof *row);
		}
		for (size_t p = 0; p < np; p++) {
			if (o.num == 0)
				kp[p] = 0;
			else if (perpos || p == 0)
				kp[p] = mine_select(NEG(p), tmp, score, ispos,
				    n, perpos ? possc[p] : P, &o, &rng, &cnt);
			else
				kp[p] = kp[0];
			if (perpos && kp[p] < o.num)
				npshort++;
			if (perpos && kp[p] == 0)
				npnone++;
		}
		k = np ? kp[0] : 0;
		if (!perpos && k < o.num)
			nshort++;
		if (!perpos && k == 0)
			nnone++;
		for (size_t p = 0; p < np; p++)
			for (size_t i = 0; i < kp[p]; i++) {
				size_t x = NEG(p)[i];
				dpush(&sneg, score[x]);
				if (posknown[p])
					dpush(&sdiff, possc[p] - score[x]);
			}
		for (size_t p = 0; p < (perpos ? np : 1); p++)
			for (size_t i = 0; i < kp[p]; i++)
				NEG(p)[i] = (size_t)texts_find(&C,
				    h[hidx[NEG(p)[i]]].doc);

		for (size_t p = 0, nd = 0; p < np; p++) {
			int full = fmt == FMT_TRIPLET ? kp[p] > 0 :
			    kp[p] == o.num;
			if (fmt == FMT_PAIR) {
				write_row(&w, &Q, (size_t)qt, &C, &posdoc[p], 1,
				    1.0);
				nrows++;
				/* each negative once per query */
				for (size_t i = 0; i < kp[p]; i++) {
					size_t d = NEG(p)[i], j = 0;
					while (j < nd && row[j] != d)
						j++;
					if (j < nd)
						continue;
					row[nd++] = d;
				}
				if (p + 1 < np)
					continue;
				for (size_t j = 0; j < nd; j++, nrows++)
					write_row(&w, &Q, (size_t)qt, &C,
					    &row[j], 1, 0.0);
			} else if (o.num > 0 && full && fmt == FMT_TRIPLET) {
				for (size_t i = 0; i < kp[p]; i++, nrows++) {
					size_t d[2] = { posdoc[p], NEG(p)[i] };
					write_row(&w, &Q, (size_t)qt, &C, d, 2,
					    NAN);
				}
			} else if (o.num > 0 && full) {
				row[0] = posdoc[p];
				memcpy(row + 1, NEG(p), kp[p] * sizeof *row);
				write_row(&w, &Q, (size_t)qt, &C, row, 1 + kp[p],
				    NAN);
				nrows++;
			} else if (o.num == 0 || keep) {
				write_row(&w, &Q, (size_t)qt, &C, &posdoc[p], 1,
				    NAN);
				nkept += o.num > 0;
				nrows++;
			}
		}
#undef NEG
	}

	fprintf(stderr, "mine-negatives: %zu queries with positives (relevance "
	    ">= %d; %zu without), %zu positives (%zu not ranked), %zu rows\n",
	    nq, level, nnopos, nposall, nunranked, nrows);
	report(&spos, &sneg, &sdiff);
	if (skipmiss)
		fprintf(stderr, "mine-negatives: --skip-missing: left out %zu "
		    "positives not in %s and %zu queries not in %s\n", nmissd,
		    Cpath, nmissq, Qpath);
	if (judged)
		fprintf(stderr, "mine-negatives: --judged: skipped %zu unjudged "
		    "hits\n", nunjudged);
	if (o.has_abs)
		fprintf(stderr, "mine-negatives: skipped %zu of %zu candidates "
		    "for --margin %g\n", cnt.abs, cnt.cand, o.abs_margin);
	if (o.has_rel)
		fprintf(stderr, "mine-negatives: skipped %zu of %zu candidates "
		    "for --relative-margin %g\n", cnt.rel, cnt.cand,
		    o.rel_margin);
	if (o.has_max)
		fprintf(stderr, "mine-negatives: skipped %zu of %zu candidates "
		    "for --max-score %g\n", cnt.max, cnt.cand, o.max_score);
	if (o.has_min)
		fprintf(stderr, "mine-negatives: skipped %zu of %zu candidates "
		    "for --min-score %g\n", cnt.min, cnt.cand, o.min_score);
	if (o.num > 0 && perpos)
		fprintf(stderr, "mine-negatives: %zu of %zu positives got fewer "
		    "than %zu negatives (%zu got none)\n", npshort, nposall,
		    o.num, npnone);
	else if (o.num > 0)
		fprintf(stderr, "mine-negatives: %zu of %zu queries got fewer "
		    "than %zu negatives (%zu got none)\n", nshort, nq, o.num,
		    nnone);
	if (keep && o.num > 0)
		fprintf(stderr, "mine-negatives: --keep-pairs: %zu positives "
		    "kept as (query, positive) rows\n", nkept);

	free(skipq);
	free(out);
	free(kp);
	free(row);
	free(tmp);
	free(hidx);
	free(score);
	free(ispos);
	free(posdoc);
	free(possc);
	free(posknown);
	free(spos.x);
	free(sneg.x);
	free(sdiff.x);
	rec_writer_free(&w);
	run_free(&r);
	qrels_free(&q);
	util_fshut();
	return 0;
}
