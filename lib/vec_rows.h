/* vec_rows.h: the vector row kernels, written once for any width.  vec.c
 * includes it once per instruction set, having defined:
 *	VT		the function attribute (the target)
 *	W		float lanes; F, D the float and double vector types
 *	SFX(f)		f's name for this set (f_avx512, ...)
 *	V_SET(x) V_ADD V_SUB V_MUL V_MAX V_MIN V_FMA(a, b, c) = a b + c
 *	V_FNMA(a, b, c) = c - a b	V_ROUND (to nearest)
 *	V_SCALE(p, n)	p 2^n for integral n in [-150, 128], rounded once
 *	V_LOAD(p)	all W lanes of p
 *	V_LOADZ(m, p)	the first min(m, W) lanes of p, the rest 0
 *	V_LOADF(f, m, p) the same, the rest from f
 *	V_STORE(p, m, v) the first min(m, W) lanes of v to p
 *	V_KEEP(m, v)	v with lanes m and on set to 0
 *	V_RMAX V_RADD	the largest lane, the sum of the lanes
 *	V_ERF		libmvec's erf
 *	D_SET D_ADD D_SUB D_MUL D_RADD	the same on doubles (W/2 lanes)
 *	D_LO(v) D_HI(v)	the low and high halves of v as doubles
 * Within a set, every function does the portable one's float operations in
 * the same order (no fused multiply-adds) but for exp's polynomial.  It
 * undefines them at its end, for the next set. */

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

VT static void
SFX(math)(float *y, const float *x, size_t n, int erf)
{
	for (size_t i = 0; i < n; i += W) {
		F v = V_LOADZ(n - i, x + i);
		V_STORE(y + i, n - i, erf ? V_ERF(v) : SFX(exp)(v));
	}
}

VT static float
SFX(exps)(float *r, size_t n, float scale)
{
	F ninf = V_SET(-INFINITY), vm = ninf, vs = V_SET(0), sc = V_SET(scale);
	for (size_t j = 0; j < n; j += W)
		vm = V_MAX(vm, V_LOADF(ninf, n - j, r + j));
	F mx = V_SET(scale * V_RMAX(vm));
	for (size_t j = 0; j < n; j += W) {
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
 * a vector leaves the hardware prefetcher behind: x is fetched GELU_AHEAD
 * floats (4 KiB) ahead.  On an Intel Xeon with AMX a bf16 encode spent
 * two thirds of this loop's time on its load, and runs 4% faster so (fp32
 * 2%). */
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
		F e = V_ERF(V_MUL(v, r2));
		V_STORE(y + i, n - i, V_MUL(v, V_ADD(h, V_MUL(h, e))));
	}
}

#undef VT
#undef W
#undef F
#undef D
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
#undef V_LOAD
#undef V_LOADZ
#undef V_LOADF
#undef V_STORE
#undef V_KEEP
#undef V_RMAX
#undef V_RADD
#undef V_ERF
#undef D_SET
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_RADD
#undef D_LO
#undef D_HI
