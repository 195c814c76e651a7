/* eval: NDCG@10 of the weights being trained (see eval.h). */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "metrics.h"
#include "util.h"

#define EVAL_QB 1024	/* queries per topk_search call, at most */

/* tokens of md's vocabulary, each text 1..P tokens */
static void
read_texts(struct texts *t, const char *path, const struct model *md)
{
	size_t P = bert_max_len(&md->cfg);

	texts_read(t, path);
	if (strcmp(t->vocab, md->vocab) != 0)
		errx(EXIT_DATAERR, "%s: tokens of model \"%s\" (vocab %s) do "
		    "not match model \"%s\" (vocab %s)", path, t->model,
		    t->vocab, md->name, md->vocab);
	for (size_t i = 0; i < t->n; i++) {
		size_t n = t->off[i + 1] - t->off[i];
		if (n == 0 || n > P)
			errx(EXIT_DATAERR, "%s: record %zu: id \"%s\": %zu "
			    "tokens: %s", path, i + 1, texts_id(t, i), n,
			    n ? "longer than the model's positions" :
			    "empty sequence");
		for (size_t j = t->off[i]; j < t->off[i + 1]; j++)
			if (t->ids[j] >= md->cfg.V)
				errx(EXIT_DATAERR, "%s: record %zu: id \"%s\": "
				    "token id %u >= vocabulary size %zu", path,
				    i + 1, texts_id(t, i), t->ids[j], md->cfg.V);
	}
	if (t->n == 0)
		errx(EXIT_DATAERR, "%s: no texts", path);
}

void
eval_open(struct eval *e, const char *qpath, const char *dpath,
    const char *qrels, int level, int judged_only, const struct model *md,
    const struct bert_model *train)
{
	size_t C = md->cfg.C, P = bert_max_len(&md->cfg), dup[2];

	memset(e, 0, sizeof *e);
	e->level = level;
	e->judged_only = judged_only;
	qrels_read(&e->qr, qrels);
	read_texts(&e->q, qpath, md);
	read_texts(&e->d, dpath, md);

	/* the queries score(1) evaluates: those with a relevant document */
	e->sel = xmalloc(e->qr.nq * sizeof *e->sel);
	for (size_t i = 0; i < e->qr.nq; i++) {
		size_t j = e->qr.start[i];
		while (j < e->qr.start[i + 1] && e->qr.j[j].rel < level)
			j++;
		if (j == e->qr.start[i + 1])
			continue;
		long x = texts_find(&e->q, e->qr.qid[i]);
		if (x < 0)
			errx(EXIT_DATAERR, "%s: query \"%s\" is not in %s",
			    qrels, e->qr.qid[i], qpath);
		e->sel[e->nsel++] = (size_t)x;
	}
	if (e->nsel == 0)
		errx(EXIT_DATAERR, "%s: no query has a document with relevance "
		    ">= %d", qrels, level);

	/* the corpus as topk(1) holds it; its vectors come at each run */
	topk_corpus_init(&e->c, C);
	float *zero = xcalloc(C, sizeof *zero);
	for (size_t i = 0; i < e->d.n; i++) {
		const char *id = texts_id(&e->d, i);
		topk_corpus_add(&e->c, id, strlen(id), zero);
	}
	free(zero);
	if (topk_corpus_finish(&e->c, dup) != 0)	/* texts_read checked */
		errx(EXIT_SOFTWARE, "%s: duplicate id", dpath);

	/* an arena as encode's default (-b 2048), reading train's weights */
	size_t Nmax = 2048 < P ? P : 2048;
	bert_alloc(&e->m, &md->cfg, Nmax, P, Nmax, 0);
	bert_share_params(&e->m, train);
	embed_init(&e->em, &e->m);
	e->k = judged_only ? e->d.n : EVAL_K < e->d.n ? EVAL_K : e->d.n;
	topk_init(&e->t, C, e->k, EVAL_QB, 0);
	e->qv = xaligned(e->q.n * C * sizeof *e->qv);
	e->qs = xaligned(e->t.QB * C * sizeof *e->qs);
	e->sc = xaligned(e->t.QB * e->k * sizeof *e->sc);
	e->ix = xaligned(e->t.QB * e->k * sizeof *e->ix);
	e->h = xmalloc(e->k * sizeof *e->h);
}

void
eval_free(struct eval *e)
{
	free(e->qv), free(e->qs), free(e->sc), free(e->ix), free(e->h);
	free(e->sel);
	topk_free(&e->t);
	topk_corpus_free(&e->c);
	embed_free(&e->em);
	bert_free(&e->m);
	texts_free(&e->q);
	texts_free(&e->d);
	qrels_free(&e->qr);
}

double
eval_run(struct eval *e)
{
	const size_t C = e->c.C, ks[1] = {EVAL_K};
	struct metrics_eval me;
	const char *dup;
	double sum = 0;

	/* every text, as encode(1) embeds the whole file */
	bert_skip(&e->m, (size_t)e->q.prompt_len);
	embed_run(&e->em, e->qv, e->q.ids, e->q.off, e->q.n, 0);
	bert_skip(&e->m, (size_t)e->d.prompt_len);
	embed_run(&e->em, e->c.x, e->d.ids, e->d.off, e->d.n, 0);
	e->c.xnorm = topk_maxnorm(e->c.x, e->c.N, C);

	metrics_begin(&me, &e->qr, e->level, e->judged_only, ks, 1);
	for (size_t i0 = 0; i0 < e->nsel; i0 += e->t.QB) {
		size_t nq = e->nsel - i0 < e->t.QB ? e->nsel - i0 : e->t.QB;
		for (size_t i = 0; i < nq; i++)
			memcpy(e->qs + i * C, e->qv + e->sel[i0 + i] * C,
			    C * sizeof *e->qs);
		topk_search(&e->t, e->sc, e->ix, e->qs, nq, e->c.x, e->c.rank,
		    e->c.N, e->c.xnorm);
		for (size_t i = 0; i < nq; i++) {
			for (size_t j = 0; j < e->k; j++) {
				e->h[j].doc = topk_corpus_id(&e->c,
				    e->ix[i * e->k + j]);
				e->h[j].score = e->sc[i * e->k + j];
				e->h[j].at = j + 1;
			}
			if (metrics_add(&me, texts_id(&e->q, e->sel[i0 + i]),
			    e->h, e->k, &dup) != 0)
				errx(EXIT_SOFTWARE, "eval: document \"%s\" "
				    "ranked twice", dup);
		}
	}
	metrics_end(&me);
	for (size_t i = 0; i < me.nq; i++)
		sum += me.v[i * MET_N + MET_NDCG];
	sum = me.nq ? sum / (double)me.nq : 0;
	metrics_eval_free(&me);
	return sum;
}
