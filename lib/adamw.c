/* adamw: AdamW, gradient clipping, linear warm-up/decay (see adamw.h). */
#include <math.h>

#include "adamw.h"

void
adamw_defaults(struct adamw_hp *hp)
{
	hp->lr = 2e-5f;
	hp->beta1 = 0.9f;
	hp->beta2 = 0.999f;
	hp->eps = 1e-8f;
	hp->wd = 0.01f;
}

void
adamw_update(float *p, float *m, float *v, const float *g, size_t n,
    const struct adamw_hp *hp, float lr, int decay, long t)
{
	const float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps;
	const float keep = decay ? (float)(1.0 - (double)lr * hp->wd) : 1.0f;
	const float step = (float)(lr / (1.0 - pow(b1, (double)t)));
	const float bc2 = (float)sqrt(1.0 - pow(b2, (double)t));

#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i];
		float mi = b1 * m[i] + (1 - b1) * gi;
		float vi = b2 * v[i] + (1 - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] = p[i] * keep - step * mi / (sqrtf(vi) / bc2 + eps);
	}
}

void
adamw_update_ref(float *p, float *m, float *v, const float *g, size_t n,
    const struct adamw_hp *hp, float lr, int decay, long t)
{
	double b1 = hp->beta1, b2 = hp->beta2;
	for (size_t i = 0; i < n; i++) {
		double pi = p[i];
		if (decay)
			pi -= (double)lr * hp->wd * pi;
		double mi = b1 * m[i] + (1 - b1) * g[i];
		double vi = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
		double mh = mi / (1 - pow(b1, (double)t));
		double vh = vi / (1 - pow(b2, (double)t));
		pi -= lr * mh / (sqrt(vh) + hp->eps);
		m[i] = (float)mi;
		v[i] = (float)vi;
		p[i] = (float)pi;
	}
}

double
adamw_clip(float *g, size_t n, double max_norm)
{
	double s = 0;
#pragma omp parallel for reduction(+:s) schedule(static)
	for (size_t i = 0; i < n; i++)
		s += (double)g[i] * g[i];
	double norm = sqrt(s);
	if (max_norm > 0 && norm > max_norm) {
		float c = (float)(max_norm / (norm + 1e-6));
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++)
			g[i] *= c;
	}
	return norm;
}

double
adamw_schedule(long step, long warmup, long total)
{
	if (step < warmup)
		return (double)step / (double)(warmup > 1 ? warmup : 1);
	long d = total - warmup;
	double r = (double)(total - step) / (double)(d > 1 ? d : 1);
	return r > 0 ? r : 0;
}
