/* eval: the retrieval quality of a model while it trains, as
 * sentence-transformers' InformationRetrievalEvaluator measures it: embed
 * the queries and the whole corpus with the current weights (eval mode, as
 * encode(1) does, embed.h), rank the corpus for every judged query (topk.h,
 * as topk(1) does) and average NDCG@10 over the queries (metrics.h, as
 * score(1) does), so that one evaluation gives what
 * `encode | topk | score -m ndcg -k 10` gives on the same files. */
#ifndef EVAL_H
#define EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "bert.h"
#include "embed.h"
#include "model.h"
#include "qrels.h"
#include "texts.h"
#include "topk.h"

#define EVAL_K 10	/* NDCG@10 */

struct eval {
	int level, judged_only;
	struct texts q, d;	/* query and corpus tokens */
	struct qrels qr;
	size_t nsel;		/* judged queries (a document >= level) */
	size_t *sel;		/* (nsel) their texts in q */
	size_t k;		/* hits per query: EVAL_K, or the whole corpus
				 * with judged_only (score -J then ranks every
				 * judged document) */
	struct bert_model m;	/* inference arena, the trained weights */
	struct embed em;
	struct topk_corpus c;	/* the corpus' ids, rank; x its embeddings */
	struct topk t;
	float *qv, *qs;		/* (q.n, C) every query; (t.QB, C) a block */
	float *sc;		/* (t.QB, k) */
	uint32_t *ix;		/* (t.QB, k) */
	struct run_hit *h;	/* (k) */
};

/* Read and check the evaluation set: tokens of queries (qpath) and corpus
 * (dpath) of md's vocabulary, each text 1..bert_max_len tokens, and
 * judgments (qrels); every query with a document of relevance >= level
 * must have its tokens.  Exits 65 naming the file and the problem, 66 if
 * one cannot be opened.  Then allocate everything an evaluation needs, the
 * weights being those of train (shared, not copied). */
void eval_open(struct eval *e, const char *qpath, const char *dpath,
    const char *qrels, int level, int judged_only, const struct model *md,
    const struct bert_model *train);
void eval_free(struct eval *e);
/* Mean NDCG@10 over the judged queries, with the weights as they are now. */
double eval_run(struct eval *e);

#endif
