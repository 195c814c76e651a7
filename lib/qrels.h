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
};

struct run {
	size_t nq;
	const char **qid;	/* (nq) in order of first appearance */
	size_t *start;		/* (nq + 1) */
	struct run_hit *h;
	size_t nh;
	const char *format;	/* "hits" or "trec" */
	struct qrels_pool pool;
	struct qrels_map qmap;
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

void run_read(struct run *r, const char *path);
void run_free(struct run *r);
long run_find(const struct run *r, const char *qid);

#endif
