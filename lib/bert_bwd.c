/* bert_bwd: the backward pass, each kernel the reverse of its bert_fwd
 * twin.  Every kernel ADDS into its parameter gradients (and into dx where
 * the name says so); bert_zero_grad() runs once per step.
 *
 * Like the forward, bert_backward is one parallel region: row-wise steps
 * (LayerNorm backward, dropout, GELU, input gradients dX = dY W as
 * single-threaded sgemm) on each thread's block of rows, attention by
 * (sequence, head), and weight gradients dW += dY^T X as one sgemm per
 * thread over all rows and the thread's block of output features (no
 * reduction, and sums in the same order whatever the thread count). */
#include <err.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bert.h"
#include "bf16.h"
#include "tensor.h"
#include "util.h"

/* GCC's -O2 vectorizes only loops whose trip count is a known multiple of
 * the vector width (clang's vectorizes any); the row loops here have any. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

void
bert_zero_grad(struct bert_model *m)
{
	if (m->grads)
		memset(m->grads, 0, m->nparams * sizeof(float));
}

/* Columns [c0, c1) of the embedding gradients from dout (N,C); positions
 * pos (N) (NULL: 0..T-1), dwtt NULL without token types; rows whose id is
 * pad (-1: none) get no gradient, as nn.Embedding's padding_idx */
static void
cols_embed(float *dwte, float *dwpe, float *dwtt, const float *dout,
    const uint32_t *ids, const size_t *off, size_t B, size_t C, size_t c0,
    size_t c1, const size_t *pos, long pad)
{
	for (size_t b = 0; b < B; b++)
		for (size_t r = off[b]; r < off[b + 1]; r++) {
			const float *d = dout + r * C;
			float *w = dwte + (size_t)ids[r] * C;
			float *p = dwpe + (pos ? pos[r] : r - off[b]) * C;
			if ((long)ids[r] == pad)
				continue;
			if (dwtt == NULL) {
				for (size_t i = c0; i < c1; i++) {
					w[i] += d[i];
					p[i] += d[i];
				}
				continue;
			}
			for (size_t i = c0; i < c1; i++) {
				w[i] += d[i];
				p[i] += d[i];
				dwtt[i] += d[i];
			}
		}
}

void
bert_embed_bwd(float *dwte, float *dwpe, float *dwtt, const float *dout,
    const uint32_t *ids, const size_t *off, size_t B, size_t C)
{
	cols_embed(dwte, dwpe, dwtt, dout, ids, off, B, C, 0, C, NULL, -1);
}

/* LayerNorm backward, rows [r0, r1): dx += d(loss)/dx from dy */
static void
rows_ln_bwd(float *dx, const float *dy, const float *x, const float *g,
    const float *mean, const float *rstd, size_t r0, size_t r1, size_t C)
{
	for (size_t r = r0; r < r1; r++) {
		const float *xr = x + r * C, *dyr = dy + r * C;
		float *dxr = dx + r * C;
		float mu = mean[r], rs = rstd[r];
		double s1 = 0, s2 = 0;
		#pragma omp simd reduction(+:s1, s2)
		for (size_t i = 0; i < C; i++) {
			float n = (xr[i] - mu) * rs;
			float dn = dyr[i] * g[i];
			s1 += dn;
			s2 += (double)dn * n;
		}
		float m1 = (float)(s1 / (double)C), m2 = (float)(s2 / (double)C);
		for (size_t i = 0; i < C; i++) {
			float n = (xr[i] - mu) * rs;
			dxr[i] += rs * (dyr[i] * g[i] - m1 - n * m2);
		}
	}
}

/* LayerNorm dg, db, columns [c0, c1), summed over rows [0, N) */
static void
cols_ln_bwd(float *dg, float *db, const float *dy, const float *x,
    const float *mean, const float *rstd, size_t N, size_t C, size_t c0,
    size_t c1)
{
	for (size_t r = 0; r < N; r++) {
		const float *xr = x + r * C, *dyr = dy + r * C;
		float mu = mean[r], rs = rstd[r];
		for (size_t i = c0; i < c1; i++) {
			dg[i] += dyr[i] * (xr[i] - mu) * rs;
			db[i] += dyr[i];
		}
	}
}

void
bert_layernorm_bwd(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    size_t N, size_t C)
{
	rows_ln_bwd(dx, dy, x, g, mean, rstd, 0, N, C);
	cols_ln_bwd(dg, db, dy, x, mean, rstd, N, C, 0, C);
}

/* y = x w^T + b, w (OC,C): this thread's part of dw += dy^T x, db += sum dy
 * (output features [o0, o1), all N rows) */
static void
part_wgrad(float *dw, float *db, const float *dy, const float *x, size_t N,
    size_t C, size_t OC, size_t nt, size_t t)
{
	size_t o0, o1;
	bert_span(OC, 16, nt, t, &o0, &o1);
	if (o0 == o1)
		return;
	blas_gemm1(BLAS_TN, dw + o0 * C, dy + o0, x, o1 - o0, C, N, OC, C, C,
	    1.0f, 1.0f);
	if (db)
		for (size_t r = 0; r < N; r++) {
			const float *dyr = dy + r * OC;
			#pragma omp simd
			for (size_t o = o0; o < o1; o++)
				db[o] += dyr[o];
		}
}

/* dx = dy w (beta 0) or dx += dy w (beta 1), rows [r0, r1) */
static void
rows_dx(float *dx, const float *dy, const float *w, size_t r0, size_t r1,
    size_t C, size_t OC, float beta)
{
	blas_gemm1(BLAS_NN, dx + r0 * C, dy + r0 * OC, w, r1 - r0, C, OC, OC, C,
	    C, 1.0f, beta);
}

void
bert_linear_bwd(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, size_t N, size_t C, size_t OC)
{
	if (dx)
		rows_dx(dx, dy, w, 0, N, C, OC, 1.0f);
	part_wgrad(dw, db, dy, x, N, C, OC, 1, 0);
}

/* one (sequence, head) of the attention backward: the probabilities
 * recomputed into s (T,T), the dropped ones into s + Tmax^2, their gradient
 * in s + 2 Tmax^2; with a relative position bias, its gradient by relative
 * position written to drelbias + bh (2 Tmax-1) */
static void
attn_bwd_bh(float *dqkv, float *drelbias, float *s, const float *dy,
    const float *qkv, const size_t *off, const size_t *attoff, size_t C,
    size_t NH, size_t Tmax, float p, uint64_t seed, size_t bh,
    const float *relbias)
{
	size_t HS = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)HS);
	size_t b = bh / NH, h = bh % NH, T = off[b + 1] - off[b];
	size_t base = attoff[b] + h * T * T;
	const float *qb = qkv + off[b] * C3;
	const float *q = qb + h * HS, *k = q + C, *v = q + 2 * C;
	float *dq = dqkv + off[b] * C3 + h * HS;
	float *dk = dq + C, *dv = dq + 2 * C;
	const float *dyb = dy + off[b] * C + h * HS;
	float *pr = s, *dr = s + Tmax * Tmax, *ds = dr + Tmax * Tmax;

	bert_attn_probs(pr, qb, T, C, NH, h, relbias ? relbias +
	    h * (2 * Tmax - 1) + Tmax - 1 : NULL);
	/* y = D v, D = dropout(P): dv = D^T dy */
	if (p > 0)
		bert_drop(dr, pr, T * T, p, seed, base);
	blas_gemm1(BLAS_TN, dv, p > 0 ? dr : pr, dyb, T, HS, T, T, C, C3, 1.0f,
	    0.0f);
	/* dD = dy v^T; dP = dropout(dD), the same mask and scale as D's */
	blas_gemm1(BLAS_NT, ds, dyb, v, T, T, HS, C, C3, T, 1.0f, 0.0f);
	if (p > 0)
		bert_drop(ds, ds, T * T, p, seed, base);
	/* softmax backward, row by row, in place */
	for (size_t i = 0; i < T; i++) {
		float *r = ds + i * T;
		const float *pi = pr + i * T;
		float s4[4] = {0, 0, 0, 0}, sum;
		size_t j;
		for (j = 0; j + 4 <= T; j += 4)
			for (size_t u = 0; u < 4; u++)
				s4[u] += r[j + u] * pi[j + u];
		sum = (s4[0] + s4[1]) + (s4[2] + s4[3]);
		for (; j < T; j++)
			sum += r[j] * pi[j];
		for (j = 0; j < T; j++)
			r[j] = pi[j] * (r[j] - sum);
	}
	if (relbias) {	/* the bias was added to S: its gradient is dS's */
		float *db = drelbias + bh * (2 * Tmax - 1) + Tmax - 1;
		memset(db - (T - 1), 0, (2 * T - 1) * sizeof(float));
		for (size_t i = 0; i < T; i++)
			for (size_t j = 0; j < T; j++)
				db[(ptrdiff_t)j - (ptrdiff_t)i] += ds[i * T + j];
	}
	/* S = scale q k^T */
	blas_gemm1(BLAS_NN, dq, ds, k, T, HS, T, T, C3, C3, scale, 0.0f);
	blas_gemm1(BLAS_TN, dk, ds, q, T, HS, T, T, C3, C3, scale, 0.0f);
}

void
bert_attention_bwd(float *dqkv, float *drelbias, float *scr, const float *dy,
    const float *qkv, const size_t *off, const size_t *attoff, size_t B,
    size_t C, size_t NH, size_t Tmax, float p, uint64_t seed,
    const float *relbias)
{
	for (size_t bh = 0; bh < B * NH; bh++)
		attn_bwd_bh(dqkv, drelbias, scr, dy, qkv, off, attoff, C, NH,
		    Tmax, p, seed, bh, relbias);
}

/* heads [h0, h1) of the relative bias table's gradient drelb (NB, NH) from
 * the per-(sequence, head) gradients by relative position, summed over the
 * sequences in order (the same sums whatever the thread count) */
static void
heads_relb_bwd(float *drelb, const float *drelbias, const size_t *relbkt,
    const size_t *off, size_t B, size_t NH, size_t Tmax, size_t h0,
    size_t h1)
{
	size_t nr = 2 * Tmax - 1;
	for (size_t h = h0; h < h1; h++)
		for (size_t b = 0; b < B; b++) {
			size_t T = off[b + 1] - off[b];
			const float *d = drelbias + (b * NH + h) * nr;
			for (size_t k = Tmax - T; k < Tmax + T - 1; k++)
				drelb[relbkt[k] * NH + h] += d[k];
		}
}

/* dx[i] = dx[i] (accumulate ? : 0) + dy[i] gelu'(x[i]), i in [i0, i1);
 * dx may be dy */
static void
rows_gelu_bwd(float *dx, const float *dy, const float *x, size_t i0,
    size_t i1, int accumulate)
{
	float phi[1024], pdf[1024];
	for (size_t i = i0; i < i1; i += 1024) {
		size_t m = i1 - i < 1024 ? i1 - i : 1024;
		bert_phi(phi, x + i, m);
		bert_pdf(pdf, x + i, m);
		#pragma omp simd
		for (size_t j = 0; j < m; j++)
			phi[j] = dy[i + j] * (phi[j] + x[i + j] * pdf[j]);
		if (!accumulate)
			memcpy(dx + i, phi, m * sizeof *phi);
		else {
			#pragma omp simd
			for (size_t j = 0; j < m; j++)
				dx[i + j] += phi[j];
		}
	}
}

void
bert_gelu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
	rows_gelu_bwd(dx, dy, x, 0, n, 1);
}

/* in place: dx *= keep/(1-p) */
void
bert_dropout_bwd(float *dx, size_t n, float p, uint64_t seed)
{
	bert_dropout_fwd(dx, n, p, seed);
}

void
bert_pool_bwd(float *dh, const float *dpooled, const float *h,
    const size_t *off, size_t B, size_t C, int mode)
{
	for (size_t b = 0; b < B; b++) {
		size_t T = off[b + 1] - off[b];
		const float *hb = h + off[b] * C, *d = dpooled + b * C;
		float *dhb = dh + off[b] * C;
		if (mode == BERT_POOL_CLS) {
			for (size_t i = 0; i < C; i++)
				dhb[i] += d[i];
		} else if (mode == BERT_POOL_MAX) {
			for (size_t i = 0; i < C; i++) {
				size_t am = 0;
				for (size_t t = 1; t < T; t++)
					if (hb[t * C + i] > hb[am * C + i])
						am = t;
				dhb[am * C + i] += d[i];
			}
		} else {
			float inv = mode == BERT_POOL_MEAN_SQRT ?
			    1.0f / sqrtf((float)T) : 1.0f / (float)T;
			for (size_t t = 0; t < T; t++)
				for (size_t i = 0; i < C; i++)
					dhb[t * C + i] += d[i] * inv;
		}
	}
}

/* y = x/n: dx += (dy - y (y.dy)) / n */
void
bert_l2norm_bwd(float *dx, const float *dy, const float *x, const float *norm,
    size_t B, size_t C)
{
	for (size_t b = 0; b < B; b++) {
		const float *xb = x + b * C, *dyb = dy + b * C;
		float n = norm[b];
		if (!(n > 1e-12f)) {
			for (size_t i = 0; i < C; i++)
				dx[b * C + i] += dyb[i] / 1e-12f;
			continue;
		}
		double s = 0;
		for (size_t i = 0; i < C; i++)
			s += (double)xb[i] * dyb[i];
		float sn = (float)(s / ((double)n * n));
		for (size_t i = 0; i < C; i++)
			dx[b * C + i] += (dyb[i] - xb[i] * sn) / n;
	}
}

/* The LayerNorm y = LN(x) backward inside the region: dln = dx(dy), the
 * parameter gradients, then dx = dln and dln = dropout(dln) (the residual
 * input of x and the output of the sublayer before it; site seed ds, no
 * dropout if p = 0).  dx must be complete (a barrier since its last
 * write); ends with a barrier. */
static void
ln_residual_bwd(float *dx, float *dln, float *dg, float *db, const float *x,
    const float *g, const float *mean, const float *rstd, size_t N, size_t C,
    float p, uint64_t ds, size_t nt, size_t t, size_t r0, size_t r1)
{
	size_t c0, c1;
	bert_span(C, 16, nt, t, &c0, &c1);
	memset(dln + r0 * C, 0, (r1 - r0) * C * sizeof(float));
	rows_ln_bwd(dln, dx, x, g, mean, rstd, r0, r1, C);
	cols_ln_bwd(dg, db, dx, x, mean, rstd, N, C, c0, c1);
	#pragma omp barrier
	memcpy(dx + r0 * C, dln + r0 * C, (r1 - r0) * C * sizeof(float));
	if (p > 0)
		bert_drop(dln + r0 * C, dln + r0 * C, (r1 - r0) * C, p, ds,
		    r0 * C);
	#pragma omp barrier
}

void
bert_backward(struct bert_model *m, const uint32_t *ids, const float *dout)
{
	const struct bert_config *c = &m->cfg;
	size_t C = c->C, F = c->F, NH = c->NH, L = c->L, N = m->N, B = m->B;
	size_t Nx = m->Nmax, ascr = m->asize[BERT_A_ATT] / (size_t)m->nthr;
	struct bert_params *p = &m->p, *g = &m->g;
	struct bert_acts *a = &m->a;
	struct bert_dacts *d = &m->d;
	float hp = m->train ? c->hidden_dropout : 0;
	float ap = m->train ? c->attn_dropout : 0;
	uint64_t seed = m->seed;
	int a16 = bert_act16(m);

	if (!(m->flags & BERT_GRADS))
		errx(EXIT_SOFTWARE, "bert_backward: no gradient arena");

	/* output -> dpooled -> dx (gradient of the last hidden state) */
	memset(d->dpooled, 0, B * C * sizeof(float));
	if (c->normalize)
		bert_l2norm_bwd(d->dpooled, dout, a->pooled, a->norm, B, C);
	else
		memcpy(d->dpooled, dout, B * C * sizeof(float));
	memset(d->dx, 0, N * C * sizeof(float));
	if (bert_skipping(m, B))
		for (size_t b = 0; b < B; b++) {	/* as bert_forward */
			size_t k = m->pool_skip[b], o2[2] = {0, 0};
			o2[1] = m->len[b] > k ? m->len[b] - k : 0;
			if (o2[1] > 0)
				bert_pool_bwd(d->dx + (m->off[b] + k) * C,
				    d->dpooled + b * C, bert_hidden(m, L) +
				    (m->off[b] + k) * C, o2, 1, C, c->pooling);
		}
	else
		bert_pool_bwd(d->dx, d->dpooled, bert_hidden(m, L), m->off, B, C,
		    c->pooling);

	/* dx: gradient of the layer's output, then of its input; d->big holds
	 * the recomputed GELU output, d(fch), then datty | dqkv */
	float *dx = d->dx, *dln = d->dln, *big = d->big;
	float *datty = big, *dqkv = big + N * C;
	#pragma omp parallel num_threads(m->nthr)
	{
		size_t nt, t, r0, r1, c0, c1;
		THREAD_ID(nt, t);
		bert_span(N, 1, nt, t, &r0, &r1);
		float *scr = a->att + t * ascr;

		for (size_t l = L; l-- > 0;) {
			const float *x = l == 0 ? a->x0 : a->ln2 + (l - 1) * Nx * C;
			size_t k32 = bert_slot32(m, l);
			const float *qkv = a->qkv + k32 * Nx * 3 * C;
			const float *atty = a->atty + k32 * Nx * C;
			const float *res1 = a->res1 + l * Nx * C;
			const float *ln1 = a->ln1 + l * Nx * C;
			const float *fch = a->fch + k32 * Nx * F;
			const float *res2 = a->res2 + l * Nx * C;

			if (a16) {	/* the layer's bf16 values, this thread's
					 * rows; the barriers below publish them */
				bf16_expand(a->qkv + r0 * 3 * C, a->qkv16 +
				    (l * Nx + r0) * 3 * C, (r1 - r0) * 3 * C);
				bf16_expand(a->atty + r0 * C, a->atty16 +
				    (l * Nx + r0) * C, (r1 - r0) * C);
				bf16_expand(a->fch + r0 * F, a->fch16 +
				    (l * Nx + r0) * F, (r1 - r0) * F);
			}

			/* ln2 = LN(res2), res2 = ln1 + drop(fcproj):
			 * dx = d ln1 (residual part), dln = d fcproj */
			ln_residual_bwd(dx, dln, g->ln2g + l * C, g->ln2b + l * C,
			    res2, p->ln2g + l * C, a->ln2_mean + l * Nx,
			    a->ln2_rstd + l * Nx, N, C, hp,
			    bert_site_seed(seed, l, 3), nt, t, r0, r1);
			/* fcproj: the GELU output again, its weight gradient,
			 * then d(GELU output) over it, then d fch in place */
			bert_rows_gelu(big, fch, r0 * F, r1 * F);
			#pragma omp barrier
			part_wgrad(g->fcprojw + l * C * F, g->fcprojb + l * C,
			    dln, big, N, F, C, nt, t);
			#pragma omp barrier
			rows_dx(big, dln, p->fcprojw + l * C * F, r0, r1, F, C,
			    0.0f);
			rows_gelu_bwd(big, big, fch, r0 * F, r1 * F, 0);
			#pragma omp barrier
			part_wgrad(g->fcw + l * F * C, g->fcb + l * F, big, ln1,
			    N, C, F, nt, t);
			rows_dx(dx, big, p->fcw + l * F * C, r0, r1, C, F, 1.0f);
			#pragma omp barrier
			/* ln1 = LN(res1), res1 = x + drop(attproj) */
			ln_residual_bwd(dx, dln, g->ln1g + l * C, g->ln1b + l * C,
			    res1, p->ln1g + l * C, a->ln1_mean + l * Nx,
			    a->ln1_rstd + l * Nx, N, C, hp,
			    bert_site_seed(seed, l, 2), nt, t, r0, r1);
			part_wgrad(g->attprojw + l * C * C, g->attprojb + l * C,
			    dln, atty, N, C, C, nt, t);
			rows_dx(datty, dln, p->attprojw + l * C * C, r0, r1, C, C,
			    0.0f);
			#pragma omp barrier
			#pragma omp for schedule(dynamic, 1)
			for (size_t bh = 0; bh < B * NH; bh++)
				attn_bwd_bh(dqkv, m->drelbias, scr, datty, qkv,
				    m->off, m->attoff, C, NH, m->Tmax, ap,
				    bert_site_seed(seed, l, 1), bh, m->relbias);
			if (c->NB > 0) {	/* after the loop's barrier */
				size_t h0, h1;
				bert_span(NH, 1, nt, t, &h0, &h1);
				heads_relb_bwd(g->relb, m->drelbias, m->relbkt,
				    m->off, B, NH, m->Tmax, h0, h1);
			}
			part_wgrad(g->qkvw + l * 3 * C * C, g->qkvb + l * 3 * C,
			    dqkv, x, N, C, 3 * C, nt, t);
			rows_dx(dx, dqkv, p->qkvw + l * 3 * C * C, r0, r1, C,
			    3 * C, 1.0f);
			#pragma omp barrier
		}
		/* x0 = drop(LN(emb)) */
		if (hp > 0)
			bert_drop(dx + r0 * C, dx + r0 * C, (r1 - r0) * C, hp,
			    bert_site_seed(seed, L, 0), r0 * C);
		#pragma omp barrier
		bert_span(C, 16, nt, t, &c0, &c1);
		memset(dln + r0 * C, 0, (r1 - r0) * C * sizeof(float));
		rows_ln_bwd(dln, dx, a->emb, p->emb_lng, a->emb_mean, a->emb_rstd,
		    r0, r1, C);
		cols_ln_bwd(g->emb_lng, g->emb_lnb, dx, a->emb, a->emb_mean,
		    a->emb_rstd, N, C, c0, c1);
		#pragma omp barrier
		cols_embed(g->wte, g->wpe, c->TV ? g->wtt : NULL, dln, ids,
		    m->off, B, C, c0, c1, m->pos, c->arch == BERT_ARCH_MPNET ?
		    BERT_MPNET_PAD : -1);
	}
}
