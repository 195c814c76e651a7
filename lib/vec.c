/* vec: exp, erf, softmax, LayerNorm and GELU rows, 16 lanes on AVX-512,
 * else the portable loops.  The AVX-512 ones do the portable ones' float
 * operations in the same order (no fused multiply-adds), so that they differ
 * only where vec.h says.  exp is computed inline on AVX-512 (exp16). */
#include <math.h>
#include <stdlib.h>

#include "cpu.h"
#include "vec.h"

#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <immintrin.h>
#define HAVE_MVEC 1
#define AVX512 __attribute__((target("avx512f")))
__m128 _ZGVbN4v_erff(__m128);
__m128 _ZGVbN4v_expf(__m128);
__attribute__((target("avx2"))) __m256 _ZGVdN8v_erff(__m256);
__attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256);
AVX512 __m512 _ZGVeN16v_erff(__m512);
#endif

static int isa = -1;

int
vec_isa(void)
{
	if (isa < 0) {	/* a race writes the same value */
#ifdef HAVE_MVEC
		isa = cpu_get()->avx512f ? VEC_AVX512 : VEC_PORTABLE;
#else
		isa = VEC_PORTABLE;
#endif
	}
	return isa;
}

int
vec_use(int want)
{
	int was = vec_isa();
#ifdef HAVE_MVEC
	if (want == VEC_PORTABLE || cpu_get()->avx512f)
		isa = want;
#else
	(void)want;
#endif
	return was;
}

/* ---- portable: libmvec's 8 lanes where the CPU has AVX2, else 4 (SSE);
 * plain libm elsewhere */
#ifdef HAVE_MVEC
__attribute__((target("avx2")))
static size_t
math8(float *y, const float *x, size_t n, int erf)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		_mm256_storeu_ps(y + i, erf ? _ZGVdN8v_erff(v) : _ZGVdN8v_expf(v));
	}
	return i;
}

static void
math_port(float *y, const float *x, size_t n, int erf)
{
	size_t i = 0;
	if (cpu_get()->avx2)
		i = math8(y, x, n, erf);
	for (; i + 4 <= n; i += 4) {
		__m128 v = _mm_loadu_ps(x + i);
		_mm_storeu_ps(y + i, erf ? _ZGVbN4v_erff(v) : _ZGVbN4v_expf(v));
	}
	for (; i < n; i++)
		y[i] = erf ? erff(x[i]) : expf(x[i]);
}
#else
static void
math_port(float *y, const float *x, size_t n, int erf)
{
	for (size_t i = 0; i < n; i++)
		y[i] = erf ? erff(x[i]) : expf(x[i]);
}
#endif

/* sum of x[0..n) (4 partial sums, so that it vectorizes) */
static float
sum4(const float *x, size_t n)
{
	float s4[4] = {0, 0, 0, 0}, s;
	size_t j;
	for (j = 0; j + 4 <= n; j += 4)
		for (size_t u = 0; u < 4; u++)
			s4[u] += x[j + u];
	s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
	for (; j < n; j++)
		s += x[j];
	return s;
}

static void
softmax_port(float *r, size_t n)
{
	float mx = r[0];
	for (size_t j = 1; j < n; j++)
		mx = r[j] > mx ? r[j] : mx;
	for (size_t j = 0; j < n; j++)
		r[j] -= mx;
	math_port(r, r, n, 0);
	float inv = 1.0f / sum4(r, n);
	for (size_t j = 0; j < n; j++)
		r[j] *= inv;
}

/* the mean and 1/sqrt(variance + eps) of x[0..C), summed in double */
static void
moments(float *mean, float *rstd, const float *x, size_t C, float eps)
{
	double s = 0, v = 0;
	for (size_t i = 0; i < C; i++)
		s += x[i];
	float mu = (float)(s / (double)C);
	for (size_t i = 0; i < C; i++) {
		double d = (double)x[i] - mu;
		v += d * d;
	}
	*mean = mu;
	*rstd = (float)(1.0 / sqrt(v / (double)C + (double)eps));
}

static void
layernorm_port(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps)
{
	moments(mean, rstd, x, C, eps);
	float mu = *mean, rs = *rstd;
	for (size_t i = 0; i < C; i++)
		y[i] = (x[i] - mu) * rs * g[i] + b[i];
}

static void
gelu_port(float *y, const float *x, size_t n)
{
	float phi[1024];
	for (size_t i = 0; i < n; i += 1024) {
		size_t m = n - i < 1024 ? n - i : 1024;
		for (size_t j = 0; j < m; j++)
			phi[j] = x[i + j] * (float)M_SQRT1_2;
		math_port(phi, phi, m, 1);
		for (size_t j = 0; j < m; j++)
			y[i + j] = x[i + j] * (0.5f + 0.5f * phi[j]);
	}
}

/* ---- AVX-512: 16 lanes, the fringe under a mask */
#ifdef HAVE_MVEC
static inline __mmask16
tail(size_t n)
{
	return n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
}

/* exp(x), within 0.7 ulp (t_vec), inline: 2^n e^r, n = round(x log2 e),
 * r = x - n ln 2 in two parts (|r| <= ln 2 / 2), e^r by its Taylor
 * polynomial of degree 7 (error below 2^-27); x clamped so that n fits
 * (exp(-104) is 0 in float, exp(88.8) inf), NaN kept.  Half the time of
 * libmvec's call in a softmax row. */
AVX512 static inline __m512
exp16(__m512 x)
{
	static const float c[] = {1.0f / 5040, 1.0f / 720, 1.0f / 120,
	    1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
	x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(
	    _mm512_set1_ps(-104.0f), x));	/* NaN: the second operand */
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x,
	    _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT |
	    _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
	__m512 p = _mm512_set1_ps(c[0]);
	for (int i = 1; i < 8; i++)
		p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c[i]));
	return _mm512_scalef_ps(p, n);
}

AVX512 static void
math_avx512(float *y, const float *x, size_t n, int erf)
{
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 k = tail(n - i);
		__m512 v = _mm512_maskz_loadu_ps(k, x + i);
		_mm512_mask_storeu_ps(y + i, k, erf ? _ZGVeN16v_erff(v) :
		    exp16(v));
	}
}

AVX512 static void
softmax_avx512(float *r, size_t n)
{
	__m512 ninf = _mm512_set1_ps(-INFINITY), vm = ninf;
	__m512 vs = _mm512_setzero_ps();
	for (size_t j = 0; j < n; j += 16)
		vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(ninf, tail(n - j),
		    r + j));
	__m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
	for (size_t j = 0; j < n; j += 16) {
		__mmask16 k = tail(n - j);
		__m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, r + j),
		    mx));
		_mm512_mask_storeu_ps(r + j, k, e);
		vs = _mm512_add_ps(vs, _mm512_maskz_mov_ps(k, e));
	}
	__m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
	for (size_t j = 0; j < n; j += 16) {
		__mmask16 k = tail(n - j);
		_mm512_mask_storeu_ps(r + j, k, _mm512_mul_ps(
		    _mm512_maskz_loadu_ps(k, r + j), inv));
	}
}

AVX512 static void
layernorm_avx512(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps)
{
	__m512d s0 = _mm512_setzero_pd(), s1 = s0, v0 = s0, v1 = s0;
	size_t i;
	for (i = 0; i + 16 <= C; i += 16) {
		__m512 v = _mm512_loadu_ps(x + i);
		s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(
		    _mm512_castps512_ps256(v)));
		s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(
		    _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
	}
	double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
	for (size_t j = i; j < C; j++)
		s += x[j];
	float mu = (float)(s / (double)C);
	__m512d dmu = _mm512_set1_pd((double)mu);
	for (i = 0; i + 16 <= C; i += 16) {
		__m512 v = _mm512_loadu_ps(x + i);
		__m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(
		    _mm512_castps512_ps256(v)), dmu);
		__m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_castpd_ps(
		    _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), dmu);
		v0 = _mm512_add_pd(v0, _mm512_mul_pd(d0, d0));
		v1 = _mm512_add_pd(v1, _mm512_mul_pd(d1, d1));
	}
	double var = _mm512_reduce_add_pd(_mm512_add_pd(v0, v1));
	for (size_t j = i; j < C; j++) {
		double d = (double)x[j] - mu;
		var += d * d;
	}
	float rs = (float)(1.0 / sqrt(var / (double)C + (double)eps));
	__m512 vmu = _mm512_set1_ps(mu), vrs = _mm512_set1_ps(rs);
	for (i = 0; i < C; i += 16) {
		__mmask16 k = tail(C - i);
		__m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(
		    _mm512_maskz_loadu_ps(k, x + i), vmu), vrs),
		    _mm512_maskz_loadu_ps(k, g + i));
		_mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(v,
		    _mm512_maskz_loadu_ps(k, b + i)));
	}
	*mean = mu;
	*rstd = rs;
}

AVX512 static void
gelu_avx512(float *y, const float *x, size_t n)
{
	__m512 r2 = _mm512_set1_ps((float)M_SQRT1_2), h = _mm512_set1_ps(0.5f);
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 k = tail(n - i);
		__m512 v = _mm512_maskz_loadu_ps(k, x + i);
		__m512 e = _ZGVeN16v_erff(_mm512_mul_ps(v, r2));
		_mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(v, _mm512_add_ps(h,
		    _mm512_mul_ps(h, e))));
	}
}
#define AVX(f, ...) if (vec_isa() == VEC_AVX512) { f(__VA_ARGS__); return; }
#else
#define AVX(f, ...)
#endif

void
vec_exp(float *y, const float *x, size_t n)
{
	AVX(math_avx512, y, x, n, 0);
	math_port(y, x, n, 0);
}

void
vec_erf(float *y, const float *x, size_t n)
{
	AVX(math_avx512, y, x, n, 1);
	math_port(y, x, n, 1);
}

void
vec_softmax(float *x, size_t n)
{
	AVX(softmax_avx512, x, n);
	softmax_port(x, n);
}

void
vec_layernorm(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps)
{
	AVX(layernorm_avx512, y, mean, rstd, x, g, b, C, eps);
	layernorm_port(y, mean, rstd, x, g, b, C, eps);
}

void
vec_gelu(float *y, const float *x, size_t n)
{
	AVX(gelu_avx512, y, x, n);
	gelu_port(y, x, n);
}
