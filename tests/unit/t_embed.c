/* t_embed: embed_run against one forward per sequence, and its windows:
 * embedding window by window, as encode(1) hands them over, gives the same
 * floats as embedding everything at once (what train's evaluation does). */
#include "check.h"

#include "bert.h"
#include "embed.h"
#include "model.h"
#include "tensor.h"
#include "util.h"

#define NSEQ 300

int
main(void)
{
	struct model md;
	struct bert_model m, one;
	struct embed e;
	size_t off[NSEQ + 1], C, P;
	uint32_t *ids;

	blas_threads(1);
	model_open(&md, "fixtures/tiny");
	C = md.cfg.C;
	P = bert_max_len(&md.cfg);
	/* small batches (32 tokens) and windows (128 tokens) */
	bert_alloc(&m, &md.cfg, 32, P, 32, 0);
	model_load(&md, &m);
	bert_alloc(&one, &md.cfg, 1, P, P, 0);
	bert_share_params(&one, &m);
	embed_init(&e, &m);

	off[0] = 0;
	for (size_t i = 0; i < NSEQ; i++)
		off[i + 1] = off[i] + 1 + (size_t)((check_rand() + 1) / 2 * P) %
		    P;
	ids = xmalloc(off[NSEQ] * sizeof *ids);
	for (size_t j = 0; j < off[NSEQ]; j++)
		ids[j] = (uint32_t)((check_rand() + 1) / 2 * md.cfg.V) %
		    md.cfg.V;

	float *all = xaligned(NSEQ * C * sizeof *all);
	float *win = xaligned(NSEQ * C * sizeof *win);
	float *ref = xaligned(NSEQ * C * sizeof *ref);
	float *raw = xaligned(NSEQ * C * sizeof *raw);
	embed_run(&e, all, ids, off, NSEQ, 0);
	embed_run(&e, raw, ids, off, NSEQ, 1);
	for (size_t i = 0; i < NSEQ; i++) {
		size_t len = off[i + 1] - off[i];
		bert_forward(&one, ids + off[i], &len, 1, 0, 0);
		memcpy(ref + i * C, one.a.out, C * sizeof *ref);
	}
	check_close("embed_run = one forward per sequence, in input order",
	    all, ref, NSEQ * C, 1e-5, 1e-5);

	/* the windows as encode fills them, each embedded on its own */
	size_t r0 = 0, nwin = 0;
	for (size_t r = 0; r <= NSEQ; r++) {
		if (r < NSEQ && !embed_full(&e, r - r0, off[r] - off[r0],
		    off[r + 1] - off[r]))
			continue;
		size_t woff[NSEQ + 1];
		for (size_t i = r0; i <= r; i++)
			woff[i - r0] = off[i] - off[r0];
		embed_run(&e, win + r0 * C, ids + off[r0], woff, r - r0, 0);
		nwin++;
		r0 = r;
	}
	printf("# %zu windows\n", nwin);
	check_ok("window by window = all at once, bit for bit", nwin > 2 &&
	    memcmp(win, all, NSEQ * C * sizeof *win) == 0);

	/* raw: before Normalize; the tiny model normalizes */
	int unit = 1, rawunit = 1;
	for (size_t i = 0; i < NSEQ; i++) {
		double a = 0, b = 0;
		for (size_t c = 0; c < C; c++) {
			a += (double)all[i * C + c] * all[i * C + c];
			b += (double)raw[i * C + c] * raw[i * C + c];
		}
		unit &= fabs(a - 1) < 1e-5;
		rawunit &= fabs(b - 1) < 1e-5;
	}
	check_ok("raw: pooled vectors, the rest normalized", unit && !rawunit);

	embed_free(&e);
	bert_free(&one);
	bert_free(&m);
	model_close(&md);
	free(ids), free(all), free(win), free(ref), free(raw);
	(void)check_fill;
	(void)check_iters;
	return check_done();
}
