/* loss: training losses, forward + backward (see loss.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loss.h"
#include "tensor.h"

static const char *const names[LOSS_NKIND] = {
	"mnrl", "cmnrl", "cosine", "cosent", "triplet", "contrastive", "gist",
	"cgist",
};

void
loss_defaults(struct loss_cfg *lc, int kind)
{
	memset(lc, 0, sizeof *lc);
	lc->kind = kind;
	lc->scale = 20.0f;
	lc->margin = kind == LOSS_TRIPLET ? 5.0f : 0.5f;
	if (kind == LOSS_GIST || kind == LOSS_CGIST) {
		lc->scale = 1 / 0.01f;	/* temperature 0.01 */
		lc->margin = 0;
	}
}

int
loss_kind(const char *name)
{
	for (int i = 0; i < LOSS_NKIND; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
loss_name(int kind)
{
	return kind >= 0 && kind < LOSS_NKIND ? names[kind] : "?";
}

const char *
loss_st_name(const struct loss_cfg *lc)
{
	switch (lc->kind) {
	case LOSS_MNRL:
		return lc->symmetric ? "MultipleNegativesSymmetricRankingLoss" :
		    "MultipleNegativesRankingLoss";
	case LOSS_CMNRL:
		return lc->symmetric ?
		    "CachedMultipleNegativesSymmetricRankingLoss" :
		    "CachedMultipleNegativesRankingLoss";
	case LOSS_COSINE:
		return "CosineSimilarityLoss";
	case LOSS_COSENT:
		return "CoSENTLoss";
	case LOSS_TRIPLET:
		return "TripletLoss";
	case LOSS_CONTRASTIVE:
		return "ContrastiveLoss";
	case LOSS_GIST:
		return "GISTEmbedLoss";
	case LOSS_CGIST:
		return "CachedGISTEmbedLoss";
	}
	return "?";
}

int
loss_fits(int kind, size_t Kmin, size_t K, int has_label, const char **need)
{
	switch (kind) {
	case LOSS_MNRL:
	case LOSS_CMNRL:
	case LOSS_CGIST:
		*need = "(anchor, positive[, negatives...]) rows without labels";
		return Kmin >= 2 && !has_label ? 0 : -1;
	case LOSS_GIST:
		*need = "(anchor, positive[, negative]) rows without labels";
		return Kmin >= 2 && K <= 3 && !has_label ? 0 : -1;
	case LOSS_TRIPLET:
		*need = "(anchor, positive, negative) rows without labels";
		return Kmin == 3 && K == 3 && !has_label ? 0 : -1;
	case LOSS_COSINE:
	case LOSS_COSENT:
		*need = "(text, text) pairs with a float label";
		return Kmin == 2 && K == 2 && has_label ? 0 : -1;
	case LOSS_CONTRASTIVE:
		*need = "(text, text) pairs with a label 0 or 1";
		return Kmin == 2 && K == 2 && has_label ? 0 : -1;
	}
	*need = "?";
	return -1;
}

const char *
loss_fitting(size_t Kmin, size_t K, int has_label)
{
	static char buf[128];
	const char *need;
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < LOSS_NKIND; i++)
		if (loss_fits(i, Kmin, K, has_label, &need) == 0)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s",
			    n ? ", " : "", names[i]);
	return n ? buf : "none";
}

/* ---- pieces ---------------------------------------------------------- */

/* x (B, C) rows ldx apart -> y (B, C) contiguous, norm (B) */
void
loss_l2norm_fwd(float *y, float *norm, const float *x, size_t B, size_t C,
    size_t ldx)
{
	for (size_t b = 0; b < B; b++) {
		const float *xb = x + b * ldx;
		double s = 0;
		for (size_t c = 0; c < C; c++)
			s += (double)xb[c] * xb[c];
		double n = sqrt(s);
		norm[b] = (float)n;
		double inv = 1.0 / (n > 1e-12 ? n : 1e-12);
		for (size_t c = 0; c < C; c++)
			y[b * C + c] = (float)(xb[c] * inv);
	}
}

/* dy (B, C), y (B, C) contiguous -> dx (B, C) rows ldx apart, added */
void
loss_l2norm_bwd(float *dx, const float *dy, const float *y, const float *norm,
    size_t B, size_t C, size_t ldx)
{
	for (size_t b = 0; b < B; b++) {
		const float *yb = y + b * C, *dyb = dy + b * C;
		float *dxb = dx + b * ldx;
		if (norm[b] > 1e-12f) {
			double dot = 0;
			for (size_t c = 0; c < C; c++)
				dot += (double)yb[c] * dyb[c];
			double inv = 1.0 / norm[b];
			for (size_t c = 0; c < C; c++)
				dxb[c] += (float)((dyb[c] - yb[c] * dot) * inv);
		} else {
			for (size_t c = 0; c < C; c++)
				dxb[c] += (float)(dyb[c] * 1e12);
		}
	}
}

static double
dot(const float *a, const float *b, size_t C)
{
	double s = 0;
	for (size_t c = 0; c < C; c++)
		s += (double)a[c] * b[c];
	return s;
}

/* ---- MNRL ------------------------------------------------------------ */

/* log sum exp s[j], j < n; some s[j] finite, others may be -inf */
static double
logsumexp(const float *s, size_t n)
{
	float mx = -INFINITY;
	double z = 0;

	for (size_t j = 0; j < n; j++)
		mx = s[j] > mx ? s[j] : mx;
	for (size_t j = 0; j < n; j++)
		z += exp((double)s[j] - mx);
	return mx + log(z);
}

/* u (K*B, C) normalized -> loss; du (K*B, C) added if not NULL.
 * S: B*(K-1)*B floats of scratch, lse: 2*B doubles' worth (4B floats). */
static double
mnrl(float *du, float *S, double *lse, const float *u, size_t B, size_t K,
    size_t C, float scale, int sym)
{
	size_t N = (K - 1) * B;
	const float *ua = u, *uc = u + B * C;
	double loss = 0;

	/* S (B, N) = scale ua uc^T */
	blas_gemm(BLAS_NT | BLAS_F32, S, ua, uc, B, N, C, C, C, N, scale, 0.0f);
	for (size_t i = 0; i < B; i++)
		lse[i] = logsumexp(S + i * N, N);
	if (sym) {
		/* doc-to-query: column i of the first B columns */
		for (size_t i = 0; i < B; i++) {
			float mx = S[i];
			for (size_t j = 1; j < B; j++)
				mx = S[j * N + i] > mx ? S[j * N + i] : mx;
			double z = 0;
			for (size_t j = 0; j < B; j++)
				z += exp((double)S[j * N + i] - mx);
			lse[B + i] = mx + log(z);
		}
	}
	for (size_t i = 0; i < B; i++) {
		double lz = sym ? (lse[i] + lse[B + i]) / 2 : lse[i];
		loss += lz - S[i * N + i];
	}
	loss /= (double)B;
	if (!du)
		return loss;

	/* dS in place: fused softmax + cross-entropy backward */
	double wr = sym ? 0.5 / (double)B : 1.0 / (double)B;
	/* dS_ij = softmax_row_i(S)_j w [+ softmax_col_j(S)_i w, j < B]
	 * - [i == j]/B; each element reads only its own score and the
	 * precomputed lse values, so it can be overwritten in place. */
	for (size_t i = 0; i < B; i++) {
		float *s = S + i * N;
		for (size_t j = 0; j < N; j++) {
			double g = exp((double)s[j] - lse[i]) * wr;
			if (sym && j < B)
				g += exp((double)s[j] - lse[B + j]) * wr;
			if (j == i)
				g -= 1.0 / (double)B;
			s[j] = (float)g;
		}
	}
	/* du_a += scale dS uc;  du_c += scale dS^T ua */
	blas_gemm(BLAS_NN | BLAS_F32, du, S, uc, B, C, N, N, C, C, scale,
	    1.0f);
	blas_gemm(BLAS_TN | BLAS_F32, du + B * C, S, ua, N, C, B, N, C, C,
	    scale, 1.0f);
	return loss;
}

/* ---- GIST ------------------------------------------------------------ */

/* The scores of anchor i, NS = (K+1)B of them, in S (B, NS): a_i . c_j for
 * the (K-1)B positives and negatives c (as MNRL), a_i . a_j, p_i . p_j;
 * times scale.  Those whose guide similarity G (same layout, unscaled) is
 * above the guide's a_i . p_i less the margin become -inf (left out of the
 * softmax), but a_i . p_i itself, as GISTEmbedLoss masks each block. */
static double
gist(float *du, float *S, float *G, double *lse, const float *u,
    const float *g, size_t B, size_t K, size_t C, size_t Cg,
    const struct loss_cfg *lc)
{
	size_t N = (K - 1) * B, NS = N + 2 * B;
	const float *ua = u, *uc = u + B * C, *ga = g, *gc = g + B * Cg;
	float sc = lc->scale;
	double loss = 0;

	blas_gemm(BLAS_NT | BLAS_F32, S, ua, uc, B, N, C, C, C, NS, sc, 0.0f);
	blas_gemm(BLAS_NT | BLAS_F32, S + N, ua, ua, B, B, C, C, C, NS, sc,
	    0.0f);
	blas_gemm(BLAS_NT | BLAS_F32, S + N + B, uc, uc, B, B, C, C, C, NS, sc,
	    0.0f);
	blas_gemm(BLAS_NT | BLAS_F32, G, ga, gc, B, N, Cg, Cg, Cg, NS, 1.0f,
	    0.0f);
	blas_gemm(BLAS_NT | BLAS_F32, G + N, ga, ga, B, B, Cg, Cg, Cg, NS, 1.0f,
	    0.0f);
	blas_gemm(BLAS_NT | BLAS_F32, G + N + B, gc, gc, B, B, Cg, Cg, Cg, NS,
	    1.0f, 0.0f);
	for (size_t i = 0; i < B; i++) {
		float *s = S + i * NS;
		const float *gs = G + i * NS;
		/* float arithmetic, as the reference compares */
		float thr = lc->relative ? gs[i] - fabsf(gs[i]) * lc->margin :
		    gs[i] - lc->margin;
		for (size_t j = 0; j < NS; j++)
			if (j != i && gs[j] > thr)
				s[j] = -INFINITY;
		lse[i] = logsumexp(s, NS);	/* s[i] is finite */
		loss += lse[i] - s[i];
	}
	loss /= (double)B;
	if (!du)
		return loss;

	/* dS in place: (softmax - onehot) / B; 0 where left out */
	for (size_t i = 0; i < B; i++) {
		float *s = S + i * NS;
		for (size_t j = 0; j < NS; j++)
			s[j] = (float)((exp((double)s[j] - lse[i]) -
			    (j == i)) / (double)B);
	}
	float *dua = du, *duc = du + B * C;
	/* a . c: as MNRL */
	blas_gemm(BLAS_NN | BLAS_F32, dua, S, uc, B, C, N, NS, C, C, sc, 1.0f);
	blas_gemm(BLAS_TN | BLAS_F32, duc, S, ua, N, C, B, NS, C, C, sc, 1.0f);
	/* a . a and p . p: both sides of each product */
	blas_gemm(BLAS_NN | BLAS_F32, dua, S + N, ua, B, C, B, NS, C, C, sc,
	    1.0f);
	blas_gemm(BLAS_TN | BLAS_F32, dua, S + N, ua, B, C, B, NS, C, C, sc,
	    1.0f);
	blas_gemm(BLAS_NN | BLAS_F32, duc, S + N + B, uc, B, C, B, NS, C, C, sc,
	    1.0f);
	blas_gemm(BLAS_TN | BLAS_F32, duc, S + N + B, uc, B, C, B, NS, C, C, sc,
	    1.0f);
	return loss;
}

/* ---- pairwise losses over (a, b) columns ----------------------------- */

/* u (2B, C) normalized, label (B) -> loss; dcos (B) set if not NULL */
static double
cosine_mse(double *dcos, const float *u, const float *label, size_t B,
    size_t C)
{
	double loss = 0;
	for (size_t i = 0; i < B; i++) {
		double d = dot(u + i * C, u + (B + i) * C, C) - label[i];
		loss += d * d;
		if (dcos)
			dcos[i] = 2 * d / (double)B;
	}
	return loss / (double)B;
}

/* CoSENT: log(1 + sum over label_i < label_j of exp(s_i - s_j)),
 * s = scale cos.  s (B) scratch doubles */
static double
cosent(double *dcos, double *s, const float *u, const float *label, size_t B,
    size_t C, float scale)
{
	double mx = 0, z;
	for (size_t i = 0; i < B; i++)
		s[i] = (double)(float)dot(u + i * C, u + (B + i) * C, C) * scale;
	for (size_t i = 0; i < B; i++)
		for (size_t j = 0; j < B; j++)
			if (label[i] < label[j] && s[i] - s[j] > mx)
				mx = s[i] - s[j];
	z = exp(-mx);
	for (size_t i = 0; i < B; i++)
		for (size_t j = 0; j < B; j++)
			if (label[i] < label[j])
				z += exp(s[i] - s[j] - mx);
	double loss = mx + log(z);
	if (dcos) {
		for (size_t i = 0; i < B; i++)
			dcos[i] = 0;
		for (size_t i = 0; i < B; i++)
			for (size_t j = 0; j < B; j++)
				if (label[i] < label[j]) {
					double p = exp(s[i] - s[j] - loss);
					dcos[i] += p * scale;
					dcos[j] -= p * scale;
				}
	}
	return loss;
}

/* contrastive: d = 1 - cos; 0.5 (y d^2 + (1-y) relu(m - d)^2), mean */
static double
contrastive(double *dcos, const float *u, const float *label, size_t B,
    size_t C, float margin)
{
	double loss = 0;
	for (size_t i = 0; i < B; i++) {
		double d = 1 - dot(u + i * C, u + (B + i) * C, C);
		double y = label[i], h = margin - d > 0 ? margin - d : 0;
		loss += 0.5 * (y * d * d + (1 - y) * h * h);
		if (dcos)	/* dl/dcos = -dl/dd */
			dcos[i] = -(y * d - (1 - y) * h) / (double)B;
	}
	return loss / (double)B;
}

/* dcos (B) -> du: d cos(a_i, b_i) = u_b_i da + u_a_i db (normalized u) */
static void
pair_bwd(float *du, const double *dcos, const float *u, size_t B, size_t C)
{
	for (size_t i = 0; i < B; i++) {
		const float *ua = u + i * C, *ub = u + (B + i) * C;
		float *da = du + i * C, *db = du + (B + i) * C;
		for (size_t c = 0; c < C; c++) {
			da[c] += (float)(dcos[i] * ub[c]);
			db[c] += (float)(dcos[i] * ua[c]);
		}
	}
}

/* triplet over x (3B, C): euclidean on raw x, or cosine on normalized x */
static double
triplet(float *dx, const float *x, size_t B, size_t C, float margin,
    int cosine)
{
	double loss = 0;
	for (size_t i = 0; i < B; i++) {
		const float *a = x + i * C, *p = x + (B + i) * C,
		    *n = x + (2 * B + i) * C;
		double dp, dn;
		if (cosine) {
			dp = 1 - dot(a, p, C);
			dn = 1 - dot(a, n, C);
		} else {
			double sp = 0, sn = 0;
			for (size_t c = 0; c < C; c++) {
				sp += ((double)a[c] - p[c]) * ((double)a[c] - p[c]);
				sn += ((double)a[c] - n[c]) * ((double)a[c] - n[c]);
			}
			dp = sqrt(sp);
			dn = sqrt(sn);
		}
		double h = dp - dn + margin;
		if (h <= 0)
			continue;
		loss += h;
		if (!dx)
			continue;
		float *da = dx + i * C, *dpp = dx + (B + i) * C,
		    *dnn = dx + (2 * B + i) * C;
		double w = 1.0 / (double)B;
		if (cosine) {
			/* d(-a.p + a.n) */
			for (size_t c = 0; c < C; c++) {
				da[c] += (float)(w * (n[c] - p[c]));
				dpp[c] += (float)(-w * a[c]);
				dnn[c] += (float)(w * a[c]);
			}
		} else {
			double ip = dp > 0 ? w / dp : 0, in = dn > 0 ? w / dn : 0;
			for (size_t c = 0; c < C; c++) {
				double gp = ((double)a[c] - p[c]) * ip;
				double gn = ((double)a[c] - n[c]) * in;
				da[c] += (float)(gp - gn);
				dpp[c] += (float)(-gp);
				dnn[c] += (float)gn;
			}
		}
	}
	return loss / (double)B;
}

/* ---- one loss at one width ------------------------------------------- */

static int
guided(const struct loss_cfg *lc)
{
	return lc->kind == LOSS_GIST || lc->kind == LOSS_CGIST;
}

/* scores per row: MNRL's (K-1)B, GIST's (K+1)B */
static size_t
ncand(const struct loss_cfg *lc, size_t B, size_t K)
{
	return (K - 1 + (guided(lc) ? 2 : 0)) * B;
}

static size_t
inner_scratch(const struct loss_cfg *lc, size_t B, size_t K, size_t C)
{
	size_t KB = K * B, NS = ncand(lc, B, K);
	/* doubles: 4B + 8; u, du (KB, C); norm (KB); S (B, NS) */
	size_t n = 2 * (4 * B + 8) + 2 * KB * C + KB + B * NS;
	if (guided(lc))	/* G (B, NS); the guide's u (KB, Cg), norm (KB) */
		n += B * NS + KB * lc->guide_C + KB;
	return n;
}

size_t
loss_scratch(const struct loss_cfg *lc, size_t B, size_t K, size_t C)
{
	size_t n = inner_scratch(lc, B, K, C);
	if (lc->ndims)	/* truncated y, dy (KB, C); norm (KB) */
		n += 2 * K * B * C + K * B;
	return n;
}

static double
inner(float *dx, float *scratch, const struct loss_cfg *lc, const float *x,
    const float *guide, const float *label, size_t B, size_t K, size_t C)
{
	size_t KB = K * B, Cg = lc->guide_C;
	/* scratch is 64-byte aligned: the doubles first */
	double *dd = (double *)(void *)scratch;
	float *u = scratch + 2 * (4 * B + 8), *du = u + KB * C,
	    *norm = du + KB * C, *S = norm + KB, *G = S + B * ncand(lc, B, K),
	    *ug = G + B * ncand(lc, B, K), *gnorm = ug + KB * Cg;
	double loss;

	if (lc->kind == LOSS_TRIPLET && !lc->cosine)
		return triplet(dx, x, B, C, lc->margin, 0);
	loss_l2norm_fwd(u, norm, x, KB, C, C);
	if (dx)
		memset(du, 0, KB * C * sizeof *du);
	switch (lc->kind) {
	case LOSS_MNRL:
	case LOSS_CMNRL:
		loss = mnrl(dx ? du : NULL, S, dd, u, B, K, C, lc->scale,
		    lc->symmetric);
		break;
	case LOSS_GIST:
	case LOSS_CGIST:
		loss_l2norm_fwd(ug, gnorm, guide, KB, Cg, Cg);
		loss = gist(dx ? du : NULL, S, G, dd, u, ug, B, K, C, Cg, lc);
		break;
	case LOSS_TRIPLET:
		loss = triplet(dx ? du : NULL, u, B, C, lc->margin, 1);
		break;
	case LOSS_COSINE:
		loss = cosine_mse(dx ? dd : NULL, u, label, B, C);
		break;
	case LOSS_COSENT:
		loss = cosent(dx ? dd : NULL, dd + B, u, label, B, C,
		    lc->scale);
		break;
	case LOSS_CONTRASTIVE:
		loss = contrastive(dx ? dd : NULL, u, label, B, C,
		    lc->margin);
		break;
	default:
		return NAN;
	}
	if (!dx)
		return loss;
	if (lc->kind == LOSS_COSINE || lc->kind == LOSS_COSENT ||
	    lc->kind == LOSS_CONTRASTIVE)
		pair_bwd(du, dd, u, B, C);
	loss_l2norm_bwd(dx, du, u, norm, KB, C, C);
	return loss;
}

double
loss_fwd_bwd(float *demb, float *scratch, const struct loss_cfg *lc,
    const float *emb, const float *guide, const float *label, size_t B,
    size_t K, size_t C)
{
	size_t KB = K * B;
	double loss = 0;

	if (!lc->ndims)
		return inner(demb, scratch, lc, emb, guide, label, B, K, C);
	/* Matryoshka: shrink = truncate to d, L2-normalize; weighted sum */
	float *y = scratch + inner_scratch(lc, B, K, C), *dy = y + KB * C,
	    *norm = dy + KB * C;
	for (size_t k = 0; k < lc->ndims; k++) {
		size_t d = lc->dims[k];
		float w = lc->weights[k];
		loss_l2norm_fwd(y, norm, emb, KB, d, C);
		if (demb)
			memset(dy, 0, KB * d * sizeof *dy);
		loss += w * inner(demb ? dy : NULL, scratch, lc, y, guide,
		    label, B, K, d);
		if (!demb)
			continue;
		for (size_t i = 0; i < KB * d; i++)
			dy[i] *= w;
		loss_l2norm_bwd(demb, dy, y, norm, KB, d, C);
	}
	return loss;
}
