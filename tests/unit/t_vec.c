/* t_vec: exp, erf, softmax (whole, and its exps and sum), LayerNorm and
 * GELU rows (lib/vec.c), each kernel set in turn -- the portable loops, and
 * the AVX2 and AVX-512 ones where the CPU has them -- against scalar
 * references in double, over lengths that leave every kind of fringe (erf
 * also over a dense sweep and its edges); and the vector ones against the
 * portable ones and each other. */
#include "check.h"

#include <float.h>

#include "cpu.h"
#include "util.h"
#include "vec.h"

#define NMAX 1100	/* past GELU's 1024-element chunks */

/* erf's sweep: every 1/1024 of [-6, 6], then values at the edges */
static const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f,
    -1e-30f, 1e-45f, -1e-45f, 10, -10, 3.99f, -3.99f, 4, -4, FLT_MAX,
    -FLT_MAX};
#define NEDGE (sizeof edge / sizeof edge[0])
#define NSWEEP (12 * 1024 + 1 + NEDGE)

static const size_t lens[] = {1, 3, 7, 15, 16, 17, 31, 33, 64, 100, 240,
    384, 1100};
#define NLEN (sizeof lens / sizeof lens[0])

/* the outputs of one kernel set, every length, for each function */
struct out {
	float exp[NLEN][NMAX], erf[NLEN][NMAX], soft[NLEN][NMAX];
	float exps[NLEN][NMAX], esum[NLEN], exps1[NLEN][NMAX], esum1[NLEN];
	float ln[NLEN][NMAX], lnm[NLEN], lnr[NLEN], gelu[NLEN][NMAX];
	float sweep[NSWEEP];
};

static float x[NMAX], g[NMAX], b[NMAX], sx[NSWEEP];
static const float scale = 0.125f;	/* attention's 1 / sqrt(64) */

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
	for (size_t i = 0; i <= 12 * 1024; i++)
		sx[i] = (float)((int)i - 6 * 1024) / 1024;
	memcpy(sx + 12 * 1024 + 1, edge, sizeof edge);
}

static void
compute(struct out *o)
{
	for (size_t k = 0; k < NLEN; k++) {
		size_t n = lens[k];
		vec_exp(o->exp[k], x, n);
		vec_erf(o->erf[k], x, n);
		memcpy(o->soft[k], x, n * sizeof *x);
		memcpy(o->exps[k], x, n * sizeof *x);
		o->esum[k] = vec_softmax_exps(o->exps[k], n, scale);
		for (size_t i = 0; i < n; i++)	/* scaled first */
			o->exps1[k][i] = scale * x[i];
		o->esum1[k] = vec_softmax_exps(o->exps1[k], n, 1.0f);
		vec_softmax(o->soft[k], n);
		vec_layernorm(o->ln[k], &o->lnm[k], &o->lnr[k], x, g, b, n,
		    1e-12f);
		vec_gelu(o->gelu[k], x, n);
	}
	vec_erf(o->sweep, sx, NSWEEP);
}

/* erf over the sweep against double erf: the largest absolute error (here
 * 6.8e-8 portable, 5.9e-8 avx2 and avx512; the vector sets' is 8.9e-8 over
 * every float); |erf| <= 1, the sign kept (-0 too), NaN kept, +-1 at +-inf */
static void
erf_sweep(const float *y, const char *set)
{
	double mx = 0;
	float xm = 0;
	int in = 1, sign = 1, nan = 1, inf;
	char name[128];

	for (size_t i = 0; i < NSWEEP; i++) {
		if (isnan(sx[i])) {
			nan &= isnan(y[i]) != 0;
			continue;
		}
		double d = fabs((double)y[i] - erf((double)sx[i]));
		if (!(d <= mx))	/* NaN too */
			mx = d, xm = sx[i];
		in &= fabsf(y[i]) <= 1;
		sign &= signbit(y[i]) == signbit(sx[i]);
	}
	printf("# %s erf: max |err| %.3g (at %.9g) over the sweep\n", set, mx,
	    xm);
	snprintf(name, sizeof name, "%s erf, every 1/1024 of [-6, 6] and the "
	    "edges: |err| <= 1e-7", set);
	check_ok(name, mx <= 1e-7);
	snprintf(name, sizeof name, "%s erf: |erf| <= 1, the sign kept", set);
	check_ok(name, in && sign);
	inf = 1;
	for (size_t i = 12 * 1024 + 1; i < NSWEEP; i++)
		if (isinf(sx[i]))
			inf &= y[i] == (sx[i] > 0 ? 1 : -1);
	snprintf(name, sizeof name, "%s erf(NaN) NaN, erf(+-inf) = +-1", set);
	check_ok(name, nan && inf);
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

		/* the exps of the scaled row, as the definition; the scale
		 * inside or applied first, the same bits */
		float smx = scale * (float)mx, ws;
		s = 0;
		for (size_t i = 0; i < n; i++)
			s += want[i] = (float)exp((double)(scale * x[i] - smx));
		ws = (float)s;
		snprintf(name, sizeof name, "%s softmax exps, n = %zu", set, n);
		check_close(name, o->exps[k], want, n, 1e-30, 4e-7);
		snprintf(name, sizeof name, "%s softmax exps' sum, n = %zu",
		    set, n);
		check_close(name, &o->esum[k], &ws, 1, 0, 1e-6);
		snprintf(name, sizeof name, "%s softmax exps, scaled inside = "
		    "scaled first, n = %zu", set, n);
		check_ok(name, memcmp(o->exps[k], o->exps1[k], n *
		    sizeof *x) == 0 && o->esum[k] == o->esum1[k]);

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

static const char *const setname[] = {
	[VEC_PORTABLE] = "portable", [VEC_AVX2] = "avx2",
	[VEC_AVX512] = "avx512",
};

int
main(void)
{
	struct out *o[VEC_AVX512 + 1] = {0};
	const struct cpu *c = cpu_get();
	int hw[] = {
		[VEC_PORTABLE] = 1,
		[VEC_AVX2] = c->avx2 && c->fma,
		[VEC_AVX512] = c->avx512f,
	};
	char name[128];

	(void)check_iters;
	check_ok("the first choice is the widest set the CPU has", vec_isa() ==
	    (hw[VEC_AVX512] ? VEC_AVX512 : hw[VEC_AVX2] ? VEC_AVX2 :
	    VEC_PORTABLE));
	inputs();
	for (int set = VEC_PORTABLE; set <= VEC_AVX512; set++) {
		vec_use(VEC_PORTABLE);
		vec_use(set);
		snprintf(name, sizeof name, "vec_use: %s %s", setname[set],
		    hw[set] ? "chosen" : "refused on this CPU");
		check_ok(name, vec_isa() == (hw[set] ? set : VEC_PORTABLE));
		if (!hw[set]) {
			printf("# no %s on this CPU\n", setname[set]);
			continue;
		}
		o[set] = xcalloc(1, sizeof *o[set]);	/* compared whole */
		compute(o[set]);
		against_ref(o[set], setname[set]);
		erf_sweep(o[set]->sweep, setname[set]);
	}
	for (int set = VEC_AVX2; set <= VEC_AVX512; set++) {
		if (!o[set])
			continue;
		/* what must not move at all: the LayerNorm statistics are
		 * double sums rounded once, the products the same float
		 * operations */
		int same = 1;
		for (size_t k = 0; k < NLEN; k++)
			same &= o[set]->lnm[k] == o[0]->lnm[k] &&
			    o[set]->lnr[k] == o[0]->lnr[k];
		snprintf(name, sizeof name, "%s LayerNorm mean and rstd = "
		    "portable", setname[set]);
		check_ok(name, same);
	}
	if (o[VEC_AVX2] && o[VEC_AVX512]) {
		check_ok("avx2 exp = avx512 exp, bit for bit", memcmp(
		    o[VEC_AVX2]->exp, o[VEC_AVX512]->exp,
		    sizeof o[0]->exp) == 0);
		check_ok("avx2 erf = avx512 erf, bit for bit", memcmp(
		    o[VEC_AVX2]->erf, o[VEC_AVX512]->erf,
		    sizeof o[0]->erf) == 0 && memcmp(o[VEC_AVX2]->sweep,
		    o[VEC_AVX512]->sweep, sizeof o[0]->sweep) == 0);
	}
	for (int set = 0; set <= VEC_AVX512; set++)
		free(o[set]);
	return check_done();
}
