/* bert_bwd: the backward pass, each kernel the reverse of its bert_fwd
 * twin.  Every kernel ADDS into its parameter gradients (and into dx where
 * the name says so); bert_zero_grad() runs once per step. */
#include <err.h>
#include <math.h>
#include <string.h>

#include "bert.h"
#include "tensor.h"
#include "util.h"

void
bert_zero_grad(struct bert_model *m)
{
	if (m->grads)
		memset(m->grads, 0, m->nparams * sizeof(float));
}

/* dout (N,C) -> dwte, dwpe, dwtt (row 0) */
void
bert_embed_bwd(float *dwte, float *dwpe, float *dwtt, const float *dout,
    const uint32_t *ids, const size_t *off, size_t B, size_t C)
{
	for (size_t b = 0; b < B; b++)
		for (size_t r = off[b]; r < off[b + 1]; r++) {
			const float *d = dout + r * C;
			float *w = dwte + (size_t)ids[r] * C;
			float *p = dwpe + (r - off[b]) * C;
			for (size_t i = 0; i < C; i++) {
				w[i] += d[i];
				p[i] += d[i];
				dwtt[i] += d[i];
			}
		}
}

/* dy (N,C) -> dx (N,C) +=, dg, db (C) += */
void
bert_layernorm_bwd(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *g, const float *mean, const float *rstd,
    size_t N, size_t C)
{
	#pragma omp parallel for schedule(static)
	for (size_t r = 0; r < N; r++) {
		const float *xr = x + r * C, *dyr = dy + r * C;
		float *dxr = dx + r * C;
		float mu = mean[r], rs = rstd[r];
		double s1 = 0, s2 = 0;
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
	for (size_t r = 0; r < N; r++) {
		const float *xr = x + r * C, *dyr = dy + r * C;
		float mu = mean[r], rs = rstd[r];
		for (size_t i = 0; i < C; i++) {
			dg[i] += dyr[i] * (xr[i] - mu) * rs;
			db[i] += dyr[i];
		}
	}
}

/* dy (N,OC) -> dx (N,C) +=, dw (OC,C) +=, db (OC) += (db may be NULL) */
void
bert_linear_bwd(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, size_t N, size_t C, size_t OC)
{
	if (dx)
		blas_gemm_nn(dx, dy, w, N, C, OC, OC, C, C, 1.0f, 1.0f);
	blas_gemm_tn(dw, dy, x, OC, C, N, OC, C, C, 1.0f, 1.0f);
	if (db)
		for (size_t r = 0; r < N; r++)
			for (size_t o = 0; o < OC; o++)
				db[o] += dy[r * OC + o];
}

void
bert_attention_bwd(float *dqkv, float *datt, const float *dy,
    const float *qkv, const float *att, const size_t *off,
    const size_t *attoff, size_t B, size_t C, size_t NH, float p,
    uint64_t seed)
{
	size_t HS = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)HS);
	float pk = p > 0 ? 1.0f / (1.0f - p) : 1.0f;

	#pragma omp parallel for schedule(dynamic, 1)
	for (size_t bh = 0; bh < B * NH; bh++) {
		size_t b = bh / NH, h = bh % NH, T = off[b + 1] - off[b];
		size_t base = attoff[b] + h * T * T;
		const float *q = qkv + off[b] * C3 + h * HS;
		const float *k = q + C, *v = q + 2 * C;
		float *dq = dqkv + off[b] * C3 + h * HS;
		float *dk = dq + C, *dv = dq + 2 * C;
		const float *dyb = dy + off[b] * C + h * HS;
		const float *pr = att + base;
		float *ds = datt + base;

		/* y = D v, D = dropout(P): dv += D^T dy */
		if (p > 0) {
			for (size_t i = 0; i < T * T; i++)
				ds[i] = bert_keep(seed, base + i, p) ? pr[i] * pk : 0;
			blas_gemm_tn1(dv, ds, dyb, T, HS, T, T, C, C3, 1.0f, 1.0f);
		} else {
			blas_gemm_tn1(dv, pr, dyb, T, HS, T, T, C, C3, 1.0f, 1.0f);
		}
		/* dD = dy v^T; dP = dD * mask */
		blas_gemm_nt1(ds, dyb, v, T, T, HS, C, C3, T, 1.0f, 0.0f);
		if (p > 0) {
			for (size_t i = 0; i < T * T; i++)
				ds[i] = bert_keep(seed, base + i, p) ? ds[i] * pk : 0;
		}
		/* softmax backward, row by row, in place */
		for (size_t i = 0; i < T; i++) {
			float *r = ds + i * T;
			const float *pi = pr + i * T;
			float s = 0;
			for (size_t j = 0; j < T; j++)
				s += r[j] * pi[j];
			for (size_t j = 0; j < T; j++)
				r[j] = pi[j] * (r[j] - s);
		}
		/* S = scale q k^T */
		blas_gemm_nn1(dq, ds, k, T, HS, T, T, C3, C3, scale, 1.0f);
		blas_gemm_tn1(dk, ds, q, T, HS, T, T, C3, C3, scale, 1.0f);
	}
}

void
bert_gelu_bwd(float *dx, const float *dy, const float *x, size_t n)
{
	const float k = 0.3989422804014327f;	/* 1/sqrt(2 pi) */
	size_t nb = (n + 4095) / 4096;
	#pragma omp parallel for schedule(static)
	for (size_t b = 0; b < nb; b++) {
		size_t i0 = b * 4096, m = n - i0 < 4096 ? n - i0 : 4096;
		float phi[4096];
		bert_phi(phi, x + i0, m);
		for (size_t i = 0; i < m; i++) {
			float xi = x[i0 + i];
			float pdf = k * expf(-0.5f * xi * xi);
			dx[i0 + i] += dy[i0 + i] * (phi[i] + xi * pdf);
		}
	}
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

void
bert_backward(struct bert_model *m, const uint32_t *ids, const float *dout)
{
	const struct bert_config *c = &m->cfg;
	size_t C = c->C, F = c->F, NH = c->NH, L = c->L, N = m->N, B = m->B;
	size_t Nx = m->Nmax, NC = N * C;
	struct bert_params *p = &m->p, *g = &m->g;
	struct bert_acts *a = &m->a;
	struct bert_dacts *d = &m->d;
	float hp = m->train ? c->hidden_dropout : 0;
	float ap = m->train ? c->attn_dropout : 0;
	uint64_t seed = m->seed;

	if (!(m->flags & BERT_GRADS))
		errx(EXIT_SOFTWARE, "bert_backward: no gradient arena");

	/* output -> dpooled -> dx (gradient of the last hidden state) */
	memset(d->dpooled, 0, B * C * sizeof(float));
	if (c->normalize)
		bert_l2norm_bwd(d->dpooled, dout, a->pooled, a->norm, B, C);
	else
		memcpy(d->dpooled, dout, B * C * sizeof(float));
	memset(d->dx, 0, NC * sizeof(float));
	bert_pool_bwd(d->dx, d->dpooled, bert_hidden(m, L), m->off, B, C,
	    c->pooling);

	for (size_t l = L; l-- > 0;) {
		const float *x = l == 0 ? a->x0 : a->ln2 + (l - 1) * Nx * C;
		float *qkv = a->qkv + l * Nx * 3 * C;
		float *att = a->att + l * (m->asize[BERT_A_ATT] / L);
		float *atty = a->atty + l * Nx * C;
		float *res1 = a->res1 + l * Nx * C;
		float *ln1 = a->ln1 + l * Nx * C;
		float *ln1m = a->ln1_mean + l * Nx, *ln1r = a->ln1_rstd + l * Nx;
		float *fch = a->fch + l * Nx * F;
		float *fchg = a->fch_gelu + l * Nx * F;
		float *res2 = a->res2 + l * Nx * C;
		float *ln2m = a->ln2_mean + l * Nx, *ln2r = a->ln2_rstd + l * Nx;

		/* ln2 = LN(res2): dln = dres2 */
		memset(d->dln, 0, NC * sizeof(float));
		bert_layernorm_bwd(d->dln, g->ln2g + l * C, g->ln2b + l * C,
		    d->dx, res2, p->ln2g + l * C, ln2m, ln2r, N, C);
		/* res2 = ln1 + drop(fcproj): dx = dln1 part, dln = dfcproj */
		memcpy(d->dx, d->dln, NC * sizeof(float));
		if (hp > 0)
			bert_dropout_bwd(d->dln, NC, hp, bert_site_seed(seed, l, 3));
		memset(d->dfch_gelu, 0, N * F * sizeof(float));
		bert_linear_bwd(d->dfch_gelu, g->fcprojw + l * C * F,
		    g->fcprojb + l * C, d->dln, fchg, p->fcprojw + l * C * F, N,
		    F, C);
		memset(d->dfch, 0, N * F * sizeof(float));
		bert_gelu_bwd(d->dfch, d->dfch_gelu, fch, N * F);
		bert_linear_bwd(d->dx, g->fcw + l * F * C, g->fcb + l * F,
		    d->dfch, ln1, p->fcw + l * F * C, N, C, F);
		/* ln1 = LN(res1) */
		memset(d->dln, 0, NC * sizeof(float));
		bert_layernorm_bwd(d->dln, g->ln1g + l * C, g->ln1b + l * C,
		    d->dx, res1, p->ln1g + l * C, ln1m, ln1r, N, C);
		/* res1 = x + drop(attproj) */
		memcpy(d->dx, d->dln, NC * sizeof(float));
		if (hp > 0)
			bert_dropout_bwd(d->dln, NC, hp, bert_site_seed(seed, l, 2));
		memset(d->datty, 0, NC * sizeof(float));
		bert_linear_bwd(d->datty, g->attprojw + l * C * C,
		    g->attprojb + l * C, d->dln, atty, p->attprojw + l * C * C,
		    N, C, C);
		memset(d->dqkv, 0, N * 3 * C * sizeof(float));
		bert_attention_bwd(d->dqkv, d->datt, d->datty, qkv, att, m->off,
		    m->attoff, B, C, NH, ap, bert_site_seed(seed, l, 1));
		bert_linear_bwd(d->dx, g->qkvw + l * 3 * C * C,
		    g->qkvb + l * 3 * C, d->dqkv, x, p->qkvw + l * 3 * C * C, N,
		    C, 3 * C);
	}
	/* x0 = drop(LN(emb)) */
	if (hp > 0)
		bert_dropout_bwd(d->dx, NC, hp, bert_site_seed(seed, L, 0));
	memset(d->dln, 0, NC * sizeof(float));
	bert_layernorm_bwd(d->dln, g->emb_lng, g->emb_lnb, d->dx, a->emb,
	    p->emb_lng, a->emb_mean, a->emb_rstd, N, C);
	bert_embed_bwd(g->wte, g->wpe, g->wtt, d->dln, ids, m->off, B, C);
}
