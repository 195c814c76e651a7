/* score: IR metrics of a run against judgments, as trec_eval computes them;
 * with --compare, a paired test of two runs. */
#include <err.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "qrels.h"
#include "util.h"

static const char usage_text[] =
    "usage: score -q QRELS [-Jjp] [-k K,...] [-m METRIC,...] [-l LEVEL] [RUN]\n"
    "       score --compare -q QRELS [-Jj] [-k K,...] [-m METRIC,...] "
    "[-l LEVEL] [-s SEED]\n"
    "             RUN_A RUN_B\n"
    "       score --version\n";

#define NRESAMPLE 10000	/* permutations and bootstrap resamples */
#define MAXK 32

static void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

struct opts {
	size_t ks[MAXK], nk;
	int mets[MET_N], nm;
	int level, perq, json, judged_only;
	uint64_t seed;
};

static void
parse_ks(struct opts *o, const char *arg)
{
	char *s = xstrdup(arg), *tok, *save = NULL;

	o->nk = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save)) {
		if (o->nk == MAXK)
			errx(EXIT_USAGE, "-k: at most %d cutoffs", MAXK);
		size_t k = (size_t)util_parse_int("-k", tok, 1, 1000000);
		for (size_t i = 0; i < o->nk; i++)
			if (o->ks[i] == k)
				errx(EXIT_USAGE, "-k: %zu: given twice", k);
		o->ks[o->nk++] = k;
	}
	if (o->nk == 0)
		errx(EXIT_USAGE, "-k: %s: no cutoff", arg);
	free(s);
}

static void
parse_mets(struct opts *o, const char *arg)
{
	const char *p = arg;

	o->nm = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		int m = metrics_lookup(p, n);
		if (m < 0)
			errx(EXIT_USAGE, "-m: %.*s: unknown metric (ndcg, mrr, "
			    "map, recall, precision, accuracy, rcap)", (int)n,
			    p);
		for (int i = 0; i < o->nm; i++)
			if (o->mets[i] == m)
				errx(EXIT_USAGE, "-m: %s: given twice",
				    metrics_name[m]);
		o->mets[o->nm++] = m;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

static void
dup_fail(const char *name, const char *qid, const char *doc)
{
	errx(EXIT_DATAERR, "%s: query \"%s\": document \"%s\" is listed "
	    "twice", name, qid, doc);
}

/* One query at a time; the hits of a query that comes again after other
 * queries (a run not grouped by query) are read again at the end, all
 * together. */
static void
evaluate(struct metrics_eval *e, const struct qrels *q, const char *path,
    const struct opts *o)
{
	struct run_reader rr;
	struct run_group g;
	const char *dd;

	run_open(&rr, path);
	metrics_begin(e, q, o->level, o->judged_only, o->ks, o->nk);
	while (run_next(&rr, &g)) {
		if (g.again && !rr.seekable)
			errx(EXIT_DATAERR, "%s: %s %zu: query \"%s\" again, "
			    "after other queries: a run read from a pipe must "
			    "keep each query's hits together", rr.name,
			    rr.unit, g.at, g.qid);
		if (!g.again && metrics_add(e, g.qid, g.h, g.n, &dd) != 0)
			dup_fail(rr.name, g.qid, dd);
	}
	if (rr.nagain) {
		struct run r;
		run_reread(&rr, &r);
		for (size_t i = 0; i < r.nq; i++)
			if (metrics_add(e, r.qid[i], r.h + r.start[i],
			    r.start[i + 1] - r.start[i], &dd) != 0)
				dup_fail(rr.name, r.qid[i], dd);
		run_free(&r);
	}
	metrics_end(e);
	if (e->nohits)
		warnx("%s: %zu of %zu judged queries have no %shits (each "
		    "counts 0)", rr.name, e->nohits, e->nq,
		    o->judged_only ? "judged " : "");
	run_close(&rr);
}

/* v[i] = value of metric m at cutoff j for every query */
static void
column(double *v, const struct metrics_eval *e, int m, size_t j)
{
	for (size_t i = 0; i < e->nq; i++)
		v[i] = e->v[(i * MET_N + (size_t)m) * e->nk + j];
}

static double
mean(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

static void
put_json(json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(17)) != 0 || putchar('\n') == EOF)
		err(EXIT_IOERR, "write");
	json_decref(j);
}

static char *
key(int m, size_t k)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%s@%zu", metrics_name[m], k);
	return buf;
}

static void
report(const struct metrics_eval *e, const struct opts *o)
{
	double *col = xmalloc((e->nq ? e->nq : 1) * sizeof *col);
	size_t qw = 5;

	if (o->json) {
		json_t *root = json_object(), *mean_o = json_object();
		json_object_set_new(root, "level", json_integer(o->level));
		json_object_set_new(root, "judged_only",
		    json_boolean(o->judged_only));
		json_object_set_new(root, "queries", json_integer(
		    (json_int_t)e->nq));
		json_object_set_new(root, "no_hits", json_integer(
		    (json_int_t)e->nohits));
		json_object_set_new(root, "skipped", json_integer(
		    (json_int_t)e->skipped));
		for (int a = 0; a < o->nm; a++)
			for (size_t j = 0; j < o->nk; j++) {
				column(col, e, o->mets[a], j);
				json_object_set_new(mean_o, key(o->mets[a],
				    o->ks[j]), json_real(mean(col, e->nq)));
			}
		json_object_set_new(root, "mean", mean_o);
		if (o->perq) {
			json_t *pq = json_object();
			for (size_t i = 0; i < e->nq; i++) {
				json_t *qo = json_object();
				for (int a = 0; a < o->nm; a++)
					for (size_t j = 0; j < o->nk; j++)
						json_object_set_new(qo,
						    key(o->mets[a], o->ks[j]),
						    json_real(e->v[(i * MET_N +
						    (size_t)o->mets[a]) * e->nk
						    + j]));
				json_object_set_new(pq, e->qid[i], qo);
			}
			json_object_set_new(root, "per_query", pq);
		}
		put_json(root);
		free(col);
		return;
	}

	if (o->perq)
		for (size_t i = 0; i < e->nq; i++)
			if (strlen(e->qid[i]) > qw)
				qw = strlen(e->qid[i]);
	if (o->perq)
		printf("%-*s  ", (int)qw, "query");
	printf("%-9s", "metric");
	for (size_t j = 0; j < o->nk; j++) {
		char h[24];
		snprintf(h, sizeof h, "@%zu", o->ks[j]);
		printf(" %8s", h);
	}
	putchar('\n');
	if (o->perq)
		for (size_t i = 0; i < e->nq; i++)
			for (int a = 0; a < o->nm; a++) {
				printf("%-*s  %-9s", (int)qw, e->qid[i],
				    metrics_name[o->mets[a]]);
				for (size_t j = 0; j < o->nk; j++)
					printf(" %8.4f", e->v[(i * MET_N +
					    (size_t)o->mets[a]) * e->nk + j]);
				putchar('\n');
			}
	for (int a = 0; a < o->nm; a++) {
		if (o->perq)
			printf("%-*s  ", (int)qw, "all");
		printf("%-9s", metrics_name[o->mets[a]]);
		for (size_t j = 0; j < o->nk; j++) {
			column(col, e, o->mets[a], j);
			printf(" %8.4f", mean(col, e->nq));
		}
		putchar('\n');
	}
	free(col);
}

static void
compare(const struct metrics_eval *ea, const struct metrics_eval *eb,
    const struct opts *o)
{
	size_t n = ea->nq;
	double *a = xmalloc((n ? n : 1) * sizeof *a);
	double *b = xmalloc((n ? n : 1) * sizeof *b);
	double *scratch = xmalloc(NRESAMPLE * sizeof *scratch);
	json_t *root = NULL, *mo = NULL;

	if (o->json) {
		root = json_object();
		mo = json_object();
		json_object_set_new(root, "level", json_integer(o->level));
		json_object_set_new(root, "judged_only",
		    json_boolean(o->judged_only));
		json_object_set_new(root, "queries", json_integer(
		    (json_int_t)n));
		json_object_set_new(root, "permutations",
		    json_integer(NRESAMPLE));
		json_object_set_new(root, "bootstrap", json_integer(NRESAMPLE));
		json_object_set_new(root, "seed", json_integer(
		    (json_int_t)o->seed));
	} else
		printf("%-14s %8s %8s %8s %8s  %s\n", "metric", "A", "B",
		    "B-A", "p", "95% CI of B-A");
	for (int m = 0; m < o->nm; m++)
		for (size_t j = 0; j < o->nk; j++) {
			double lo, hi, p, ma, mb;
			column(a, ea, o->mets[m], j);
			column(b, eb, o->mets[m], j);
			ma = mean(a, n);
			mb = mean(b, n);
			p = metrics_randomization(a, b, n, NRESAMPLE, o->seed);
			metrics_bootstrap(&lo, &hi, scratch, a, b, n,
			    NRESAMPLE, 0.95, o->seed);
			if (o->json) {
				json_t *x = json_object();
				json_object_set_new(x, "a", json_real(ma));
				json_object_set_new(x, "b", json_real(mb));
				json_object_set_new(x, "diff",
				    json_real(mb - ma));
				json_object_set_new(x, "p", json_real(p));
				json_object_set_new(x, "ci95", json_pack(
				    "[ff]", lo, hi));
				json_object_set_new(mo, key(o->mets[m],
				    o->ks[j]), x);
			} else
				printf("%-14s %8.4f %8.4f %+8.4f %8.4f  "
				    "[%+.4f, %+.4f]\n", key(o->mets[m],
				    o->ks[j]), ma, mb, mb - ma, p, lo, hi);
		}
	if (o->json) {
		json_object_set_new(root, "metrics", mo);
		put_json(root);
	}
	free(a);
	free(b);
	free(scratch);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "compare", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "judged-only", no_argument, NULL, 'J' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .nk = 0, .level = 1, .seed = 1 };
	const char *qpath = NULL;
	int ch, cmp = 0;

	parse_ks(&o, "1,3,5,10,100");
	parse_mets(&o, "ndcg,mrr,map,recall,precision,accuracy");
	while ((ch = getopt_long(argc, argv, "hJjk:l:m:pq:s:", longopts,
	    NULL)) != -1)
		switch (ch) {
		case 'C': cmp = 1; break;
		case 'h': usage(stdout, 0); break;
		case 'J': o.judged_only = 1; break;
		case 'V': util_version("score", NULL); break;
		case 'j': o.json = 1; break;
		case 'k': parse_ks(&o, optarg); break;
		case 'l': o.level = (int)util_parse_int("-l", optarg, 1,
			    1000000);
			break;
		case 'm': parse_mets(&o, optarg); break;
		case 'p': o.perq = 1; break;
		case 'q': qpath = optarg; break;
		case 's': o.seed = (uint64_t)util_parse_int("-s", optarg, 0,
			    2147483647);
			break;
		default: usage(stderr, EXIT_USAGE);
		}
	argc -= optind;
	argv += optind;
	if (qpath == NULL) {
		warnx("-q QRELS is required");
		usage(stderr, EXIT_USAGE);
	}
	if (cmp ? argc != 2 : argc > 1)
		usage(stderr, EXIT_USAGE);
	if (cmp && o.perq) {
		warnx("-p does not apply to --compare");
		usage(stderr, EXIT_USAGE);
	}

	struct qrels q;
	qrels_read(&q, qpath);
	if (q.nq == 0)
		errx(EXIT_DATAERR, "%s: no judgments", qpath);

	struct metrics_eval ea, eb;
	evaluate(&ea, &q, cmp || argc == 1 ? argv[0] : NULL, &o);
	if (ea.nq == 0)
		errx(EXIT_DATAERR, "%s: no query has a document with relevance "
		    ">= %d", qpath, o.level);
	if (cmp) {
		evaluate(&eb, &q, argv[1], &o);
		compare(&ea, &eb, &o);
		metrics_eval_free(&eb);
	} else
		report(&ea, &o);
	metrics_eval_free(&ea);
	qrels_free(&q);
	util_fshut();
	return 0;
}
