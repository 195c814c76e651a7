/* t_loss: finite-difference checks of every loss backward, plus forward
 * values against naive double-precision formulas. */
#include "check.h"
#include "loss.h"
#include "util.h"

#define MAXN 4096

/* central differences of loss_fwd_bwd w.r.t. emb vs the analytic demb */
static void
fd_check(const char *name, const struct loss_cfg *lc, size_t B, size_t K,
    size_t C, const float *label0, const float *guide)
{
	static float emb[MAXN], demb[MAXN], num[MAXN], label[64];
	size_t n = K * B * C;
	float *scratch = xmalloc(loss_scratch(lc, B, K, C) * sizeof(float));
	const float eps = 1e-2f;

	check_fill(emb, n, 1.0f);
	if (label0)
		memcpy(label, label0, B * sizeof *label);
	memset(demb, 0, n * sizeof *demb);
	double l0 = loss_fwd_bwd(demb, scratch, lc, emb, guide, label0 ? label : NULL,
	    B, K, C);
	/* central differences with one Richardson step: O(eps^4) truncation
	 * error, so that eps can stay large against float rounding */
	for (size_t i = 0; i < n; i++) {
		double d[2];
		for (int k = 0; k < 2; k++) {
			float x = emb[i], h = k ? eps / 2 : eps;
			emb[i] = x + h;
			double lp = loss_fwd_bwd(NULL, scratch, lc, emb, guide,
			    label0 ? label : NULL, B, K, C);
			emb[i] = x - h;
			double lm = loss_fwd_bwd(NULL, scratch, lc, emb, guide,
			    label0 ? label : NULL, B, K, C);
			emb[i] = x;
			d[k] = (lp - lm) / (2.0 * h);
		}
		num[i] = (float)((4 * d[1] - d[0]) / 3);
	}
	char buf[160];
	snprintf(buf, sizeof buf, "%s: loss finite (%g)", name, l0);
	check_ok(buf, isfinite(l0));
	snprintf(buf, sizeof buf, "%s: backward vs finite differences", name);
	check_close(buf, demb, num, n, 1e-4, 1e-2);
	/* backward adds: a second call doubles the gradient */
	static float d2[MAXN];
	memcpy(d2, demb, n * sizeof *d2);
	loss_fwd_bwd(d2, scratch, lc, emb, guide, label0 ? label : NULL, B, K, C);
	for (size_t i = 0; i < n; i++)
		d2[i] *= 0.5f;
	snprintf(buf, sizeof buf, "%s: backward accumulates", name);
	check_close(buf, d2, demb, n, 1e-7, 1e-6);
	free(scratch);
}

static double
cosd(const float *a, const float *b, size_t C)
{
	double ab = 0, aa = 0, bb = 0;
	for (size_t c = 0; c < C; c++) {
		ab += (double)a[c] * b[c];
		aa += (double)a[c] * a[c];
		bb += (double)b[c] * b[c];
	}
	return ab / sqrt(aa * bb);
}

/* naive GIST: for anchor i, the candidates c_j (positives, negatives),
 * a_j, and p_j from p_i; left out where the guide's cos exceeds its
 * cos(a_i, p_i) less the margin, but p_i itself */
static double
gist_naive(const float *e, const float *g, size_t B, size_t K, size_t C,
    size_t Cg, const struct loss_cfg *lc)
{
	double loss = 0;
	for (size_t i = 0; i < B; i++) {
		const float *a = e + i * C, *p = e + (B + i) * C;
		const float *ga = g + i * Cg, *gp = g + (B + i) * Cg;
		double gs = cosd(ga, gp, Cg), thr = lc->relative ?
		    gs - fabs(gs) * lc->margin : gs - lc->margin, z = 0;
		for (size_t j = 0; j < (K + 1) * B; j++) {
			const float *q = j < (K - 1) * B ? a :
			    j < K * B ? a : p;
			const float *gq = j < (K - 1) * B ? ga : j < K * B ? ga :
			    gp;
			size_t r = j < (K - 1) * B ? B + j : j % B +
			    (j < K * B ? 0 : B);
			if (j != i && cosd(gq, g + r * Cg, Cg) > thr)
				continue;
			z += exp(lc->scale * cosd(q, e + r * C, C));
		}
		loss += log(z) - lc->scale * cosd(a, p, C);
	}
	return loss / B;
}

/* naive MNRL: mean_i [logsumexp_j(20 cos(a_i, c_j)) - 20 cos(a_i, p_i)] */
static double
mnrl_naive(const float *e, size_t B, size_t K, size_t C, int sym)
{
	double loss = 0;
	for (size_t i = 0; i < B; i++) {
		double z = 0, zc = 0;
		for (size_t j = 0; j < (K - 1) * B; j++)
			z += exp(20 * cosd(e + i * C, e + (B + j) * C, C));
		for (size_t j = 0; j < B; j++)
			zc += exp(20 * cosd(e + j * C, e + (B + i) * C, C));
		double lz = sym ? (log(z) + log(zc)) / 2 : log(z);
		loss += lz - 20 * cosd(e + i * C, e + (B + i) * C, C);
	}
	return loss / B;
}

static double
cosent_naive(const float *e, const float *y, size_t B, size_t C)
{
	double z = 1;
	for (size_t i = 0; i < B; i++)
		for (size_t j = 0; j < B; j++)
			if (y[i] < y[j])
				z += exp(20 * (cosd(e + i * C, e + (B + i) * C, C) -
				    cosd(e + j * C, e + (B + j) * C, C)));
	return log(z);
}

static void
forward_checks(void)
{
	static float emb[MAXN];
	struct loss_cfg lc;
	size_t B = 4, C = 5;
	float y[4] = {0.1f, 0.9f, 0.5f, 0.3f};
	float *scratch = xmalloc(1 << 20);
	char buf[128];

	for (size_t K = 2; K <= 4; K++)
		for (int sym = 0; sym < 2; sym++) {
			check_fill(emb, K * B * C, 1.0f);
			loss_defaults(&lc, LOSS_MNRL);
			lc.symmetric = sym;
			float got = (float)loss_fwd_bwd(NULL, scratch, &lc, emb, NULL,
			    NULL, B, K, C);
			float want = (float)mnrl_naive(emb, B, K, C, sym);
			snprintf(buf, sizeof buf, "mnrl K=%zu sym=%d: value", K,
			    sym);
			check_close(buf, &got, &want, 1, 1e-5, 1e-5);
		}
	check_fill(emb, 2 * B * C, 1.0f);
	loss_defaults(&lc, LOSS_COSENT);
	float got = (float)loss_fwd_bwd(NULL, scratch, &lc, emb, NULL, y, B, 2, C);
	float want = (float)cosent_naive(emb, y, B, C);
	check_close("cosent: value", &got, &want, 1, 1e-5, 1e-5);

	/* Matryoshka with one full-width dim on normalized input = plain */
	loss_defaults(&lc, LOSS_MNRL);
	float g1 = (float)loss_fwd_bwd(NULL, scratch, &lc, emb, NULL, NULL, B, 2, C);
	lc.ndims = 1;
	lc.dims[0] = C;
	lc.weights[0] = 1;
	float g2 = (float)loss_fwd_bwd(NULL, scratch, &lc, emb, NULL, NULL, B, 2, C);
	check_close("matryoshka: full dim = plain loss", &g2, &g1, 1, 1e-6,
	    1e-6);

	/* GIST, K = 2..4, each margin strategy, a guide of another width */
	static float guide[MAXN];
	for (size_t K = 2; K <= 4; K++)
		for (int rel = 0; rel < 2; rel++) {
			check_fill(emb, K * B * C, 1.0f);
			check_fill(guide, K * B * 7, 1.0f);
			loss_defaults(&lc, LOSS_GIST);
			lc.guide_C = 7;
			lc.relative = rel;
			lc.margin = rel ? 0.3f : 0.1f;
			float *sg = xmalloc(loss_scratch(&lc, B, K, C) *
			    sizeof *sg);
			lc.scale = 5;	/* exp(100 cos) overflows the naive sum */
			got = (float)loss_fwd_bwd(NULL, sg, &lc, emb, guide, NULL,
			    B, K, C);
			want = (float)gist_naive(emb, guide, B, K, C, 7, &lc);
			snprintf(buf, sizeof buf, "gist K=%zu %s: value", K,
			    rel ? "relative" : "absolute");
			check_close(buf, &got, &want, 1, 1e-5, 1e-5);
			free(sg);
		}
	/* a margin past any cosine: every candidate but the positive left
	 * out, and the loss is 0 */
	loss_defaults(&lc, LOSS_GIST);
	lc.guide_C = 7;
	lc.margin = 3;
	float *sg = xmalloc(loss_scratch(&lc, B, 3, C) * sizeof *sg);
	got = (float)loss_fwd_bwd(NULL, sg, &lc, emb, guide, NULL, B, 3, C);
	float zero = 0;
	check_close("gist margin 3: only the positive left, loss 0", &got,
	    &zero, 1, 1e-7, 0);
	free(sg);
	free(scratch);
}

static void
fits_checks(void)
{
	const char *need;
	check_ok("fits: mnrl takes triplets",
	    loss_fits(LOSS_MNRL, 3, 3, 0, &need) == 0);
	check_ok("fits: cosine refuses unlabeled triplets",
	    loss_fits(LOSS_COSINE, 3, 3, 0, &need) != 0);
	check_ok("fits: triplets fit mnrl, cmnrl, triplet, gist, cgist",
	    strcmp(loss_fitting(3, 3, 0), "mnrl, cmnrl, triplet, gist, cgist") ==
	    0);
	check_ok("fits: 4 texts a row fit mnrl, cmnrl, cgist (gist: 2 or 3)",
	    strcmp(loss_fitting(4, 4, 0), "mnrl, cmnrl, cgist") == 0);
	check_ok("fits: labeled pairs fit cosine, cosent, contrastive",
	    strcmp(loss_fitting(2, 2, 1), "cosine, cosent, contrastive") == 0);
	check_ok("fits: labeled triplets fit nothing",
	    strcmp(loss_fitting(3, 3, 1), "none") == 0);
	check_ok("fits: pairs beside triplets fit mnrl, cmnrl, gist, cgist",
	    strcmp(loss_fitting(2, 3, 0), "mnrl, cmnrl, gist, cgist") == 0);
	check_ok("fits: pairs beside 4-text rows fit mnrl, cmnrl, cgist",
	    strcmp(loss_fitting(2, 4, 0), "mnrl, cmnrl, cgist") == 0);
	check_ok("fits: triplet refuses pairs beside triplets",
	    loss_fits(LOSS_TRIPLET, 2, 3, 0, &need) != 0);
}

int
main(void)
{
	struct loss_cfg lc;
	float yc[4] = {0.1f, 0.9f, 0.5f, 0.3f};	/* distinct: cosent, cosine */
	float yb[4] = {1, 0, 1, 0};		/* contrastive */
	size_t B = 4, C = 4;
	int iters = check_iters(1);
	char name[64];

	for (int it = 0; it < iters; it++) {
		for (size_t K = 2; K <= 3; K++)
			for (int sym = 0; sym < 2; sym++) {
				loss_defaults(&lc, LOSS_MNRL);
				lc.symmetric = sym;
				snprintf(name, sizeof name, "mnrl K=%zu sym=%d", K,
				    sym);
				fd_check(name, &lc, B, K, C, NULL, NULL);
			}
		loss_defaults(&lc, LOSS_CMNRL);
		fd_check("cmnrl", &lc, B, 3, C, NULL, NULL);
		loss_defaults(&lc, LOSS_COSINE);
		fd_check("cosine", &lc, B, 2, C, yc, NULL);
		loss_defaults(&lc, LOSS_COSENT);
		fd_check("cosent", &lc, B, 2, C, yc, NULL);
		loss_defaults(&lc, LOSS_TRIPLET);
		fd_check("triplet euclidean", &lc, B, 3, C, NULL, NULL);
		lc.margin = -100;	/* every row inactive: zero */
		fd_check("triplet euclidean margin -100", &lc, B, 3, C, NULL, NULL);
		loss_defaults(&lc, LOSS_TRIPLET);
		lc.cosine = 1;
		fd_check("triplet cosine", &lc, B, 3, C, NULL, NULL);
		loss_defaults(&lc, LOSS_CONTRASTIVE);
		fd_check("contrastive", &lc, B, 2, C, yb, NULL);
		lc.margin = 1.5f;	/* negatives inside the margin */
		fd_check("contrastive margin 1.5", &lc, B, 2, C, yb, NULL);

		/* GIST: a guide of width 6 (random, so that it masks some
		 * candidates and keeps others), temperature 0.2 (at 0.01 the
		 * softmax is too steep for differences of 1e-2) */
		static float guide[MAXN];
		check_fill(guide, 4 * B * 6, 1.0f);
		for (size_t K = 2; K <= 4; K++)
			for (int rel = 0; rel < 2; rel++) {
				loss_defaults(&lc, K == 4 ? LOSS_CGIST :
				    LOSS_GIST);
				lc.scale = 5;
				lc.guide_C = 6;
				lc.relative = rel;
				lc.margin = rel ? 0.2f : 0.05f;
				snprintf(name, sizeof name, "%s K=%zu %s",
				    loss_name(lc.kind), K, rel ? "relative" :
				    "absolute");
				fd_check(name, &lc, B, K, C, NULL, guide);
			}
		loss_defaults(&lc, LOSS_GIST);
		lc.scale = 5;
		lc.guide_C = 6;
		lc.ndims = 2;
		lc.dims[0] = 8, lc.dims[1] = 4;
		lc.weights[0] = lc.weights[1] = 1;
		fd_check("matryoshka(gist)", &lc, B, 3, 8, NULL, guide);

		/* Matryoshka around each (dims 8, 6, 4 of C = 8) */
		static const int kinds[] = {LOSS_MNRL, LOSS_COSENT,
		    LOSS_TRIPLET, LOSS_CONTRASTIVE, LOSS_COSINE};
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
			loss_defaults(&lc, kinds[k]);
			lc.ndims = 3;
			lc.dims[0] = 8, lc.dims[1] = 6, lc.dims[2] = 4;
			lc.weights[0] = lc.weights[1] = lc.weights[2] = 1;
			size_t K = kinds[k] == LOSS_MNRL ||
			    kinds[k] == LOSS_TRIPLET ? 3 : 2;
			const float *y = kinds[k] == LOSS_CONTRASTIVE ? yb :
			    kinds[k] == LOSS_MNRL || kinds[k] == LOSS_TRIPLET ?
			    NULL : yc;
			snprintf(name, sizeof name, "matryoshka(%s)",
			    loss_name(kinds[k]));
			fd_check(name, &lc, B, K, 8, y, NULL);
		}
	}
	forward_checks();
	fits_checks();
	return check_done();
}
