/* t_batch: the seeded shuffle and the NO_DUPLICATES batch sampler. */
#include "batch.h"
#include "check.h"
#include "util.h"

#define NR 103
#define KK 3

static struct examples ex;

/* every row exactly once; no text twice in a batch; batches of 1..B */
static int
valid(const struct sampler *s, size_t B)
{
	static int seen[NR];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < s->nbatch; i++) {
		size_t b = s->start[i + 1] - s->start[i];
		if (b < 1 || b > B)
			return 0;
		for (size_t r = s->start[i]; r < s->start[i + 1]; r++) {
			if (seen[s->order[r]]++)
				return 0;
			for (size_t q = s->start[i]; q < r; q++)
				for (size_t a = 0; a < KK; a++)
					for (size_t c = 0; c < KK; c++)
						if (ex.hash[s->order[r] * KK + a] ==
						    ex.hash[s->order[q] * KK + c])
							return 0;
		}
	}
	for (size_t r = 0; r < NR; r++)
		if (seen[r] != 1)
			return 0;
	return s->start[s->nbatch] == NR;
}

int
main(void)
{
	struct sampler s;
	static uint32_t o1[NR], o2[NR];
	size_t nb;

	ex.n = NR;
	ex.K = KK;
	ex.hash = xmalloc(NR * KK * sizeof *ex.hash);
	/* distinct texts, but a fifth of the rows share a positive and some
	 * anchors repeat as other rows' negatives */
	for (size_t r = 0; r < NR; r++) {
		ex.hash[r * KK] = 1000 + r;
		ex.hash[r * KK + 1] = r % 5 == 0 ? 7 : 5000 + r;
		ex.hash[r * KK + 2] = r % 7 == 0 ? 1000 + (r + 1) % NR : 9000 + r;
	}
	for (int it = 0; it < check_iters(1); it++) {
		batch_sampler_init(&s, &ex, 8, 42 + it);
		nb = batch_epoch(&s, 0);
		check_ok("epoch 0: a valid plan", valid(&s, 8) && nb == s.nbatch);
		/* 21 rows share text 7: at least 21 batches */
		check_ok("rows sharing a text go to different batches", nb >= 21);
		memcpy(o1, s.order, sizeof o1);
		batch_epoch(&s, 1);
		check_ok("epoch 1: a valid plan", valid(&s, 8));
		check_ok("epoch 1 is shuffled otherwise",
		    memcmp(o1, s.order, sizeof o1) != 0);
		batch_epoch(&s, 0);
		memcpy(o2, s.order, sizeof o2);
		check_ok("the same seed and epoch: the same plan",
		    memcmp(o1, o2, sizeof o1) == 0);
		batch_sampler_free(&s);
		batch_sampler_init(&s, &ex, 8, 43 + it);
		batch_epoch(&s, 0);
		check_ok("another seed: another order",
		    memcmp(o1, s.order, sizeof o1) != 0);
		batch_sampler_free(&s);
	}
	/* no duplicates at all: full batches, the last one short */
	for (size_t i = 0; i < NR * KK; i++)
		ex.hash[i] = 100 + i;
	batch_sampler_init(&s, &ex, 10, 1);
	nb = batch_epoch(&s, 0);
	check_ok("distinct texts: ceil(n/B) batches", nb == 11 && valid(&s, 10) &&
	    s.start[10] == 100);
	batch_sampler_free(&s);
	/* every row the same positive: one row a batch */
	for (size_t r = 0; r < NR; r++)
		ex.hash[r * KK + 1] = 3;
	batch_sampler_init(&s, &ex, 10, 1);
	nb = batch_epoch(&s, 0);
	check_ok("one shared text: one row a batch", nb == NR && valid(&s, 10));
	batch_sampler_free(&s);
	free(ex.hash);
	(void)check_fill;
	(void)check_close;
	return check_done();
}
