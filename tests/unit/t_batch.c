/* t_batch: the seeded shuffle and the NO_DUPLICATES batch sampler, with
 * rows of one width and of two. */
#include "batch.h"
#include "check.h"
#include "util.h"

#define NR 103
#define KK 3

static struct examples ex;

#define W(r) (ex.row[(r) + 1] - ex.row[r])

/* every row exactly once; no text twice in a batch; batches of 1..B rows
 * of one width */
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
			size_t x = s->order[r];
			if (seen[x]++ || W(x) != W(s->order[s->start[i]]))
				return 0;
			for (size_t q = s->start[i]; q < r; q++)
				for (size_t a = 0; a < W(x); a++)
					for (size_t c = 0; c < W(x); c++)
						if (ex.hash[ex.row[x] + a] ==
						    ex.hash[ex.row[s->order[q]] + c])
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
	ex.K = ex.Kmin = KK;
	ex.hash = xmalloc(NR * KK * sizeof *ex.hash);
	ex.row = xmalloc((NR + 1) * sizeof *ex.row);
	for (size_t r = 0; r <= NR; r++)
		ex.row[r] = r * KK;
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
	    s.start[10] == 100 && batch_steps(&ex, 10) == 11);
	batch_sampler_free(&s);
	/* every row the same positive: one row a batch */
	for (size_t r = 0; r < NR; r++)
		ex.hash[r * KK + 1] = 3;
	batch_sampler_init(&s, &ex, 10, 1);
	nb = batch_epoch(&s, 0);
	check_ok("one shared text: one row a batch", nb == NR && valid(&s, 10));
	batch_sampler_free(&s);

	/* two widths (mine-negatives --keep-pairs): every third row a
	 * (query, positive) pair, the rest triplets; distinct texts */
	static uint32_t one[NR];
	size_t npair = 0;
	ex.Kmin = 2;
	for (size_t r = 0; r < NR; r++) {
		ex.row[r + 1] = ex.row[r] + (r % 3 == 0 ? 2 : 3);
		npair += r % 3 == 0;
	}
	for (size_t i = 0; i < ex.row[NR]; i++)
		ex.hash[i] = 100 + i;
	batch_sampler_init(&s, &ex, 8, 5);
	nb = batch_epoch(&s, 0);
	check_ok("two widths: a valid plan, each batch of one width",
	    valid(&s, 8));
	/* full batches of each width but its last: ceil(35/8) + ceil(68/8) */
	check_ok("two widths: ceil(n/B) batches of each", npair == 35 &&
	    nb == 5 + 9);
	check_ok("two widths: an epoch is ceil(n/B) steps of each",
	    batch_steps(&ex, 8) == 5 + 9);
	size_t first2 = s.nbatch, last2 = 0, last3 = 0;
	for (size_t i = 0; i < s.nbatch; i++) {
		if (W(s.order[s.start[i]]) == 2) {
			if (first2 == s.nbatch)
				first2 = i;
			last2 = i;
		} else
			last3 = i;
	}
	/* interleaved, not one width after the other */
	check_ok("two widths: the batches interleave",
	    first2 < last3 && last2 > first2 && last2 > s.nbatch / 2);
	memcpy(one, s.order, sizeof one);
	batch_epoch(&s, 0);
	check_ok("two widths: the same seed and epoch, the same plan",
	    memcmp(one, s.order, sizeof one) == 0);
	/* batch_get hands out the batch's own width */
	{
		static uint32_t ids[8 * 3 * 4];
		static size_t len[8 * 3];
		/* every text one token: its own index */
		ex.off = xmalloc((ex.row[NR] + 1) * sizeof *ex.off);
		uint32_t *all = xmalloc(ex.row[NR] * sizeof *all);
		for (size_t i = 0; i <= ex.row[NR]; i++)
			ex.off[i] = i;
		for (size_t i = 0; i < ex.row[NR]; i++)
			all[i] = (uint32_t)i;
		ex.ids = all;
		int ok = 1;
		for (size_t i = 0; i < s.nbatch; i++) {
			size_t K, b = batch_get(&s, i, ids, len, NULL, &K);
			size_t x = s.order[s.start[i]];
			ok &= K == W(x) && b == s.start[i + 1] - s.start[i];
			/* text k of row r at k*b + r */
			for (size_t k = 0; k < K; k++)
				for (size_t r = 0; r < b; r++)
					ok &= len[k * b + r] == 1 && ids[k * b + r] ==
					    ex.row[s.order[s.start[i] + r]] + k;
		}
		check_ok("two widths: batch_get gives each batch's width, "
		    "column blocks", ok);
		free(all);
		free(ex.off);
	}
	batch_sampler_free(&s);
	free(ex.row);
	free(ex.hash);
	(void)check_fill;
	(void)check_close;
	return check_done();
}
