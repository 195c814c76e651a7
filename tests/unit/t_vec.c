/* t_vec: exp, erf, softmax, LayerNorm and GELU rows (lib/vec.c), each kernel
 * set in turn -- the portable loops, and the AVX-512 ones where the CPU has
 * them -- against scalar references in double, over lengths that leave
 * every kind of fringe; and the AVX-512 ones against the portable ones. */
#include "check.h"

#include "cpu.h"
#include "util.h"
#include "vec.h"

#define NMAX 1100	/* past GELU's 1024-element chunks */

static const size_t lens[] = {1, 3, 7, 15, 16, 17, 31, 33, 64, 100, 240,
    384, 1100};
#define NLEN (sizeof lens / sizeof lens[0])

/* the outputs of one kernel set, every length, for each function */
struct out {
	float exp[NLEN][NMAX], erf[NLEN][NMAX], soft[NLEN][NMAX];
	float ln[NLEN][NMAX], lnm[NLEN], lnr[NLEN], gelu[NLEN][NMAX];
};

static float x[NMAX], g[NMAX], b[NMAX];

static void
inputs(void)
{
	check_fill(x, NMAX, 6);
	check_fill(g, NMAX, 1);
	check_fill(b, NMAX, 1);
	x[5] = -100;	/* exp underflows to 0, erf saturates */
	x[6] = 0;
	x[7] = 88.5f;	/* exp near the largest float */
	x[8] = -90;	/* exp a denormal */
	x[9] = 12;
}

static void
compute(struct out *o)
{
	for (size_t k = 0; k < NLEN; k++) {
		size_t n = lens[k];
		vec_exp(o->exp[k], x, n);
		vec_erf(o->erf[k], x, n);
		memcpy(o->soft[k], x, n * sizeof *x);
		vec_softmax(o->soft[k], n);
		vec_layernorm(o->ln[k], &o->lnm[k], &o->lnr[k], x, g, b, n,
		    1e-12f);
		vec_gelu(o->gelu[k], x, n);
	}
}

/* one kernel set against the references */
static void
against_ref(const struct out *o, const char *set)
{
	static float want[NMAX];
	char name[128];

	for (size_t k = 0; k < NLEN; k++) {
		size_t n = lens[k];
		double mx = -INFINITY, s = 0, mu = 0, v = 0;

		for (size_t i = 0; i < n; i++)
			want[i] = (float)exp((double)x[i]);
		snprintf(name, sizeof name, "%s exp, n = %zu", set, n);
		check_close(name, o->exp[k], want, n, 1e-30, 4e-7);
		for (size_t i = 0; i < n; i++)
			want[i] = (float)erf((double)x[i]);
		snprintf(name, sizeof name, "%s erf, n = %zu", set, n);
		check_close(name, o->erf[k], want, n, 1e-7, 4e-7);

		for (size_t i = 0; i < n; i++)
			mx = x[i] > mx ? x[i] : mx;
		/* exp of the float differences, as the definition: below
		 * exp(-17) their rounding moves the result by 1e-6 */
		for (size_t i = 0; i < n; i++)
			s += exp((double)(x[i] - (float)mx));
		for (size_t i = 0; i < n; i++)
			want[i] = (float)(exp((double)(x[i] - (float)mx)) / s);
		snprintf(name, sizeof name, "%s softmax, n = %zu", set, n);
		check_close(name, o->soft[k], want, n, 1e-30, 1e-6);

		for (size_t i = 0; i < n; i++)
			mu += x[i];
		mu /= (double)n;
		for (size_t i = 0; i < n; i++)
			v += (x[i] - mu) * (x[i] - mu);
		double rs = 1 / sqrt(v / (double)n + 1e-12);
		for (size_t i = 0; i < n; i++)
			want[i] = (float)((x[i] - mu) * rs * g[i] + b[i]);
		snprintf(name, sizeof name, "%s LayerNorm, n = %zu", set, n);
		check_close(name, o->ln[k], want, n, 1e-6, 1e-6);
		float wm = (float)mu, wr = (float)rs;
		snprintf(name, sizeof name, "%s LayerNorm mean and rstd, n = %zu",
		    set, n);
		int ok = check_close(name, &o->lnm[k], &wm, 1, 1e-7, 1e-6);
		if (ok && n > 1)	/* one element: variance 0, rstd 1e6 */
			check_close(name, &o->lnr[k], &wr, 1, 0, 1e-6);

		for (size_t i = 0; i < n; i++)
			want[i] = (float)(x[i] * 0.5 * (1 + erf(x[i] /
			    sqrt(2.0))));
		/* where erf is near -1, x (1 + erf) cancels: erf's error of
		 * about 1e-7, times |x| < 6 */
		snprintf(name, sizeof name, "%s GELU, n = %zu", set, n);
		check_close(name, o->gelu[k], want, n, 1e-6, 1e-6);
	}
}

int
main(void)
{
	struct out *port = xmalloc(sizeof *port), *avx = xmalloc(sizeof *avx);
	int hw = cpu_get()->avx512f;

	(void)check_iters;
	inputs();
	vec_use(VEC_PORTABLE);
	check_ok("vec_use: portable", vec_isa() == VEC_PORTABLE);
	compute(port);
	against_ref(port, "portable");
	vec_use(VEC_AVX512);
	if (!hw) {
		check_ok("vec_use: no AVX-512 here, the portable kernels stay",
		    vec_isa() == VEC_PORTABLE);
		printf("# no AVX-512 on this CPU: the portable kernels alone\n");
		return check_done();
	}
	check_ok("vec_use: avx512", vec_isa() == VEC_AVX512);
	compute(avx);
	against_ref(avx, "avx512");
	/* what must not move at all: the LayerNorm statistics are double
	 * sums rounded once, the products the same float operations */
	int same = 1;
	for (size_t k = 0; k < NLEN; k++)
		same &= avx->lnm[k] == port->lnm[k] && avx->lnr[k] == port->lnr[k];
	check_ok("avx512 LayerNorm mean and rstd = portable", same);
	free(port);
	free(avx);
	return check_done();
}
