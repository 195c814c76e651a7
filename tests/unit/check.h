/* check.h: a tiny test harness for the C unit tests.  Each check prints one
 * TAP line ("ok - name" / "not ok - name"); check_done() returns the exit
 * status (1 if anything failed). */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static int check_nfail, check_npass;

static inline void
check_ok(const char *name, int ok)
{
	printf("%sok - %s\n", ok ? "" : "not ", name);
	if (ok)
		check_npass++;
	else
		check_nfail++;
	fflush(stdout);
}

/* |got - want| <= atol + rtol*|want| for every element; prints the first five
 * mismatches and the largest error. */
static inline int
check_close(const char *name, const float *got, const float *want, size_t n,
    double atol, double rtol)
{
	size_t i, nbad = 0;
	double maxerr = 0;
	for (i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);
		if (d > maxerr || isnan(d))
			maxerr = isnan(d) ? INFINITY : d;
		if (!(d <= atol + rtol * fabs((double)want[i]))) {
			if (nbad < 5)
				printf("# %s[%zu]: got %.9g want %.9g\n", name, i,
				    got[i], want[i]);
			nbad++;
		}
	}
	if (nbad)
		printf("# %s: %zu of %zu mismatched, max |err| %.3g\n", name,
		    nbad, n, maxerr);
	check_ok(name, nbad == 0);
	return nbad == 0;
}

/* Deterministic random numbers for tests (xorshift64*), uniform in [-1, 1). */
static uint64_t check_seed = 0x9E3779B97F4A7C15ull;
static inline float
check_rand(void)
{
	check_seed ^= check_seed >> 12;
	check_seed ^= check_seed << 25;
	check_seed ^= check_seed >> 27;
	return (float)((check_seed * 2685821657736338717ull >> 11) *
	    (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}
static inline void
check_fill(float *x, size_t n, float scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * check_rand();
}

static inline int
check_iters(int dflt)
{
	const char *s = getenv("CHECK_ITERS");
	return s ? atoi(s) : dflt;
}

static inline int
check_done(void)
{
	printf("# %d passed, %d failed\n", check_npass, check_nfail);
	return check_nfail != 0;
}

#endif
