/* qrels: relevance judgments and runs, as score(1) reads them.
 *
 * Judgments: BEIR TSV ("query-id TAB corpus-id TAB score", with or without
 * its header line) or TREC qrels ("qid iter docid rel", whitespace), told
 * apart by the first line.  Runs: a hits stream (embtune(7)) or TREC run
 * text ("qid Q0 docid rank score tag"), told apart by the first byte.
 * Readers exit 65 on bad data naming the file and line (or record), 66 if
 * the file cannot be opened. */
#ifndef QRELS_H
#define QRELS_H

#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "rec.h"

/* String pool (strings never move) and a string-keyed hash. */
struct qrels_pool {
	char *cur;
	size_t left;
	char **chunk;
	size_t nchunk;
};
struct qrels_map {
	struct qrels_slot { const char *s; uint32_t tag; uint32_t h;
	    size_t val; } *slot;
	size_t cap, n;
};

struct qrels_judg {
	const char *doc;
	int rel;
};

struct qrels {
	size_t nq;
	const char **qid;	/* (nq) in order of first appearance */
	size_t *start;		/* (nq + 1) judgments of query i are */
	struct qrels_judg *j;	/*   j[start[i] .. start[i+1]) */
	size_t nj;
	const char *format;	/* "beir" or "trec" */
	struct qrels_pool pool;
	struct qrels_map qmap;	/* qid -> index */
	struct qrels_map jmap;	/* (query index, doc) -> judgment index */
};

struct run_hit {
	const char *doc;
	double score;
	size_t at;		/* its line (TREC text) or record (hits) */
};

/* A whole run, grouped by query. */
struct run {
	size_t nq;
	const char **qid;	/* (nq) in order of first appearance */
	size_t *start;		/* (nq + 1) */
	struct run_hit *h;
	size_t nh;
	const char *name;	/* the file, or "stdin" */
	const char *format;	/* "hits" or "trec" */
	struct qrels_pool pool;
	struct qrels_map qmap;
};

/* A run read one query at a time, in constant memory: consecutive lines
 * (TREC text) or records (hits) with the same qid are one group. */
struct run_group {
	const char *qid;
	const struct run_hit *h;	/* (n) in input order */
	size_t n;
	size_t at;		/* line or record of the first hit */
	int again;		/* the query had an earlier group: the run is
				 * not grouped by query */
};
struct qrels_lines {
	FILE *fp;
	const char *name;
	char *buf;
	size_t cap, lineno;
};
struct run_reader {
	const char *name;	/* the file, or "stdin" */
	const char *format;	/* "hits" or "trec" */
	const char *unit;	/* "record" or "line" */
	int seekable;		/* run_reread can read it again */
	size_t nagain;		/* groups with again set */
	/* private */
	FILE *fp;
	struct rec_reader rd;
	struct qrels_lines l;
	msgpack_object m;	/* a record read ahead (pend) */
	int pend, reread;
	struct run_hit *h;
	size_t nh, hcap;
	struct qrels_pool gpool;	/* this group's strings */
	struct qrels_pool spool;	/* every qid so far ... */
	struct qrels_map seen;		/* ... -> 1 if it came again */
};

/* path NULL or "-": stdin */
void qrels_read(struct qrels *q, const char *path);
void qrels_free(struct qrels *q);
/* Index of a query, or -1. */
long qrels_find(const struct qrels *q, const char *qid);
/* Relevance of doc for query qi; QRELS_UNJUDGED (below every level, and
 * no gain) when it has no judgment. */
#define QRELS_UNJUDGED INT_MIN
int qrels_rel(const struct qrels *q, size_t qi, const char *doc);

void run_open(struct run_reader *rr, const char *path);
/* The next group into *g (valid until the next call): 1, or 0 at the end. */
int run_next(struct run_reader *rr, struct run_group *g);
/* After the end, when seekable: read the run again, keeping only the
 * queries that came again (every hit of theirs), as run_read would. */
void run_reread(struct run_reader *rr, struct run *r);
void run_close(struct run_reader *rr);

/* The whole run (run_open .. run_close). */
void run_read(struct run *r, const char *path);
void run_free(struct run *r);
long run_find(const struct run *r, const char *qid);

#endif
