/* vec_rows.h: the vector row kernels, written once for any width.  vec.c
 * includes it once per instruction set, having defined:
 *	VT		the function attribute (the target)
 *	W		float lanes; F, D, I the float, double and int32
 *			vector types
 *	SFX(f)		f's name for this set (f_avx512, ...)
 *	V_SET(x) V_ADD V_SUB V_MUL V_MAX V_MIN V_FMA(a, b, c) = a b + c
 *	V_FNMA(a, b, c) = c - a b	V_ROUND (to nearest)
 *	V_SCALE(p, n)	p 2^n for integral n in [-150, 128], rounded once
 *	V_ABS(x)	|x|
 *	V_SIGN(y, x)	y (its sign bit clear) with x's sign
 *	V_TRUNC(x)	x as int32, rounded towards 0 (NaN: INT32_MIN)
 *	V_PERM(p, k)	p[k] in each lane, from 8 floats at p, for k in
 *			[0, 8) or INT32_MIN (p[0])
 *	V_LOAD(p)	all W lanes of p
 *	V_LOADZ(m, p)	the first min(m, W) lanes of p, the rest 0
 *	V_LOADF(f, m, p) the same, the rest from f
 *	V_STORE(p, m, v) the first min(m, W) lanes of v to p
 *	V_KEEP(m, v)	v with lanes m and on set to 0
 *	V_RMAX V_RADD	the largest lane, the sum of the lanes
 *	D_SET D_ADD D_SUB D_MUL D_RADD	the same on doubles (W/2 lanes)
 *	D_LO(v) D_HI(v)	the low and high halves of v as doubles
 * Within a set, every function does the portable one's float operations in
 * the same order (no fused multiply-adds) but for exp and erf, which are
 * computed here, not by libm.  It undefines them at its end, for the next
 * set. */

/* exp(x), within 0.7 ulp (t_vec), inline: 2^n e^r, n = round(x log2 e),
 * r = x - n ln 2 in two parts (|r| <= ln 2 / 2), e^r by its Taylor
 * polynomial of degree 7 (error below 2^-27); x clamped so that n fits
 * (exp(-104) is 0 in float, exp(88.8) inf), NaN kept.  Half the time of
 * libmvec's call in a softmax row; the same bits at every width. */
VT static inline F
SFX(exp)(F x)
{
	static const float c[] = {1.0f / 5040, 1.0f / 720, 1.0f / 120,
	    1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
	x = V_MIN(V_SET(88.8f), V_MAX(V_SET(-104.0f), x)); /* NaN: x */
	F n = V_ROUND(V_MUL(x, V_SET(1.44269504f)));
	F r = V_FNMA(n, V_SET(0.693145752f), x);
	r = V_FNMA(n, V_SET(1.42860677e-6f), r);
	F p = V_SET(c[0]);
	for (int i = 1; i < 8; i++)
		p = V_FMA(p, r, V_SET(c[i]));
	return V_SCALE(p, n);
}

/* erf(x), within 8.9e-8 and 2.8 ulp (every float, checked once; t_vec
 * checks a sweep), inline: |x| in [0, 4) cut in 8 pieces of width 1/2, on
 * each a polynomial of degree 7 in t = |x| - the piece's middle
 * (near-minimax, from scripts/erf-fit), whose coefficients each lane takes
 * from a row of 8 by its piece's index (one permute a coefficient; AVX2's
 * permutes 8 floats, hence 8 pieces).  Piece 0 has t = |x| and no constant
 * term, so that erf(x) ~ 2x / sqrt(pi) keeps its relative precision near
 * 0.  |x| is clamped below 4, where erf rounds
 * to 1 (the last piece gives 1), NaN kept; the sign is put back.  libmvec's
 * erff works in double, a vector in two halves: this takes half its time
 * (GELU, the backward's Phi), and gives the same bits at every width.  On
 * the Xeon with AMX, GELU with its erf went from 10% of a one-thread bf16
 * encode's profile to 6%, the encode 3% faster (bench/ab).
 * A&S 7.1.26, 1 - t P(t) exp(-x^2), t = 1 / (1 + p|x|), is slower (a
 * division and an exp) and loses 5e-7 in float near 0, where its two
 * terms cancel; one rational function over [0, 4] loses 3e-7 near 1. */
VT static inline F
SFX(erf)(F x)
{
	/* the pieces' middles, then the coefficients of degree 7 to 0 */
	static const float c[9][8] = {
		{0, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75},
		{-0.0179326087, 0.017827414, 0.00375791034, -0.00591979036,
		    -0.000727110251, 0.000634699478, 0.00017399338,
		    1.72424352e-05},
		{-0.00807158835, -0.0265842415, 0.0205979515, 0.00904912315,
		    -0.00277959928, -0.0016678219, -0.000273757119,
		    -2.06922559e-05},
		{0.115914576, -0.0532107688, -0.0471879542, 0.00661702687,
		    0.0106606698, 0.00275641237, 0.000313585449,
		    1.83193679e-05},
		{-0.000574063277, 0.150675759, -0.00613205507, -0.0481054895,
		    -0.0190882534, -0.00325771305, -0.000286169554,
		    -1.37854249e-05},
		{-0.376076341, 0.0267881546, 0.167535931, 0.0901574343,
		    0.0217244942, 0.00276037655, 0.000195813991,
		    7.97066241e-06},
		{-1.62342928e-06, -0.482198149, -0.295651734, -0.092356205,
		    -0.0160701573, -0.00161226734, -9.48693269e-05,
		    -3.30607054e-06},
		{1.12837923, 0.642931044, 0.236521125, 0.0527749956,
		    0.00714231934, 0.00058627734, 2.9189001e-05,
		    8.81426217e-07},
		{0, 0.711155653, 0.92290014, 0.986671686, 0.998537302,
		    0.999899387, 0.999995708, 0.999999881},
	};
	F a = V_MIN(V_SET(3.99f), V_ABS(x));	/* NaN: a */
	I k = V_TRUNC(V_ADD(a, a));
	F t = V_SUB(a, V_PERM(c[0], k));
	F p = V_PERM(c[1], k);	/* written out: gcc -O2 keeps a loop */
	p = V_FMA(p, t, V_PERM(c[2], k));
	p = V_FMA(p, t, V_PERM(c[3], k));
	p = V_FMA(p, t, V_PERM(c[4], k));
	p = V_FMA(p, t, V_PERM(c[5], k));
	p = V_FMA(p, t, V_PERM(c[6], k));
	p = V_FMA(p, t, V_PERM(c[7], k));
	p = V_FMA(p, t, V_PERM(c[8], k));
	return V_SIGN(p, x);
}

VT static void
SFX(math)(float *y, const float *x, size_t n, int erf)
{
	for (size_t i = 0; i < n; i += W) {
		F v = V_LOADZ(n - i, x + i);
		V_STORE(y + i, n - i, erf ? SFX(erf)(v) : SFX(exp)(v));
	}
}

/* whole vectors first, the fringe after: no mask made for every vector
 * (the same operations, the same bits) */
VT static float
SFX(exps)(float *r, size_t n, float scale)
{
	F ninf = V_SET(-INFINITY), vm = ninf, vs = V_SET(0), sc = V_SET(scale);
	size_t j, nw = n / W * W;

	for (j = 0; j < nw; j += W)
		vm = V_MAX(vm, V_LOAD(r + j));
	if (j < n)
		vm = V_MAX(vm, V_LOADF(ninf, n - j, r + j));
	F mx = V_SET(scale * V_RMAX(vm));
	for (j = 0; j < nw; j += W) {
		F e = SFX(exp)(V_SUB(V_MUL(V_LOAD(r + j), sc), mx));
		V_STORE(r + j, W, e);
		vs = V_ADD(vs, e);
	}
	if (j < n) {
		F e = SFX(exp)(V_SUB(V_MUL(V_LOADZ(n - j, r + j), sc), mx));
		V_STORE(r + j, n - j, e);
		vs = V_ADD(vs, V_KEEP(n - j, e));
	}
	return V_RADD(vs);
}

VT static void
SFX(softmax)(float *r, size_t n)
{
	F inv = V_SET(1.0f / SFX(exps)(r, n, 1.0f));
	for (size_t j = 0; j < n; j += W)
		V_STORE(r + j, n - j, V_MUL(V_LOADZ(n - j, r + j), inv));
}

VT static void
SFX(layernorm)(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps)
{
	D s0 = D_SET(0), s1 = s0, v0 = s0, v1 = s0;
	size_t i;
	for (i = 0; i + W <= C; i += W) {
		F v = V_LOAD(x + i);
		s0 = D_ADD(s0, D_LO(v));
		s1 = D_ADD(s1, D_HI(v));
	}
	double s = D_RADD(D_ADD(s0, s1));
	for (size_t j = i; j < C; j++)
		s += x[j];
	float mu = (float)(s / (double)C);
	D dmu = D_SET((double)mu);
	for (i = 0; i + W <= C; i += W) {
		F v = V_LOAD(x + i);
		D d0 = D_SUB(D_LO(v), dmu), d1 = D_SUB(D_HI(v), dmu);
		v0 = D_ADD(v0, D_MUL(d0, d0));
		v1 = D_ADD(v1, D_MUL(d1, d1));
	}
	double var = D_RADD(D_ADD(v0, v1));
	for (size_t j = i; j < C; j++) {
		double d = (double)x[j] - mu;
		var += d * d;
	}
	float rs = (float)(1.0 / sqrt(var / (double)C + (double)eps));
	F vmu = V_SET(mu), vrs = V_SET(rs);
	for (i = 0; i < C; i += W) {
		F v = V_MUL(V_MUL(V_SUB(V_LOADZ(C - i, x + i), vmu), vrs),
		    V_LOADZ(C - i, g + i));
		V_STORE(y + i, C - i, V_ADD(v, V_LOADZ(C - i, b + i)));
	}
	*mean = mu;
	*rstd = rs;
}

/* GELU's input is mostly an FFN block FC1 has just written, partly pushed
 * out of L2 by the FFN's weights streaming through it, and a libmvec call
 * a vector left the hardware prefetcher behind: x is fetched GELU_AHEAD
 * floats (4 KiB) ahead.  On an Intel Xeon with AMX a bf16 encode spent
 * two thirds of this loop's time on its load, and ran 4% faster so (fp32
 * 2%).  With the inline erf it still pays, less: without it, bench/ab
 * 1.004-1.025 in bf16 and 1.016 in fp32 (one thread, 200 documents). */
#ifndef GELU_AHEAD
#define GELU_AHEAD 1024
#endif
VT static void
SFX(gelu)(float *y, const float *x, size_t n)
{
	F r2 = V_SET((float)M_SQRT1_2), h = V_SET(0.5f);
	for (size_t i = 0; i < n; i += W) {
		if (i + GELU_AHEAD < n)
			__builtin_prefetch(x + i + GELU_AHEAD);
		F v = V_LOADZ(n - i, x + i);
		F e = SFX(erf)(V_MUL(v, r2));
		V_STORE(y + i, n - i, V_MUL(v, V_ADD(h, V_MUL(h, e))));
	}
}

#undef VT
#undef W
#undef F
#undef D
#undef I
#undef SFX
#undef V_SET
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_MAX
#undef V_MIN
#undef V_FMA
#undef V_FNMA
#undef V_ROUND
#undef V_SCALE
#undef V_ABS
#undef V_SIGN
#undef V_TRUNC
#undef V_PERM
#undef V_LOAD
#undef V_LOADZ
#undef V_LOADF
#undef V_STORE
#undef V_KEEP
#undef V_RMAX
#undef V_RADD
#undef D_SET
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_RADD
#undef D_LO
#undef D_HI
