/* vec: exp, erf, softmax, LayerNorm and GELU rows: 16 lanes on AVX-512, 8 on
 * AVX2 with FMA (vec_rows.h, written once for both widths), else the
 * portable loops.  The vector ones do the portable ones' float operations
 * in the same order (no fused multiply-adds), so that they differ only
 * where vec.h says; exp and erf are computed inline (the AVX-512 and AVX2
 * ones give the same bits). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu.h"
#include "vec.h"

#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <immintrin.h>
#define HAVE_MVEC 1
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))
__m128 _ZGVbN4v_erff(__m128);
__m128 _ZGVbN4v_expf(__m128);
#endif

static int isa = -1;

/* whether this CPU can run the set */
static int
can(int set)
{
#ifdef HAVE_MVEC
	const struct cpu *c = cpu_get();
	if (set == VEC_AVX512)
		return c->avx512f;
	if (set == VEC_AVX2)
		return c->avx2 && c->fma;
#endif
	return set == VEC_PORTABLE;
}

int
vec_isa(void)
{
	if (isa < 0)	/* a race writes the same value */
		isa = can(VEC_AVX512) ? VEC_AVX512 : can(VEC_AVX2) ? VEC_AVX2 :
		    VEC_PORTABLE;
	return isa;
}

int
vec_use(int want)
{
	int was = vec_isa();
	if (can(want))
		isa = want;
	return was;
}

const char *
vec_name(int set)
{
	switch (set) {
	case VEC_AVX512:
		return "avx512, 16 lanes";
	case VEC_AVX2:
		return "avx2+fma, 8 lanes";
	}
#ifdef HAVE_MVEC
	return "portable (SSE2, libmvec)";
#else
	return "portable (libm)";
#endif
}

/* ---- portable: libmvec's 4 lanes (SSE) where glibc has them, else libm */
#ifdef HAVE_MVEC
static void
math_port(float *y, const float *x, size_t n, int erf)
{
	size_t i = 0;
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

static float
exps_port(float *r, size_t n, float scale)
{
	float mx = r[0];
	for (size_t j = 1; j < n; j++)
		mx = r[j] > mx ? r[j] : mx;
	mx *= scale;
	for (size_t j = 0; j < n; j++)
		r[j] = r[j] * scale - mx;
	math_port(r, r, n, 0);
	return sum4(r, n);
}

static void
softmax_port(float *r, size_t n)
{
	float inv = 1.0f / exps_port(r, n, 1.0f);
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
tail16(size_t m)
{
	return m >= 16 ? 0xffff : (__mmask16)((1u << m) - 1);
}

/* y, its sign bit clear, with x's sign */
AVX512 static inline __m512
sign16(__m512 y, __m512 x)
{
	__m512i s = _mm512_and_si512(_mm512_castps_si512(x),
	    _mm512_set1_epi32(INT32_MIN));
	return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), s));
}

#define VT AVX512
#define W 16
#define F __m512
#define D __m512d
#define I __m512i
#define SFX(f) f##_avx512
#define V_SET _mm512_set1_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_MAX _mm512_max_ps
#define V_MIN _mm512_min_ps
#define V_FMA _mm512_fmadd_ps
#define V_FNMA _mm512_fnmadd_ps
#define V_ROUND(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | \
    _MM_FROUND_NO_EXC)
#define V_SCALE _mm512_scalef_ps
#define V_ABS _mm512_abs_ps
#define V_SIGN sign16
#define V_TRUNC _mm512_cvttps_epi32
#define V_PERM(p, k) _mm512_permutexvar_ps(k, \
    _mm512_castps256_ps512(_mm256_loadu_ps(p)))
#define V_LOAD _mm512_loadu_ps
#define V_LOADZ(m, p) _mm512_maskz_loadu_ps(tail16(m), p)
#define V_LOADF(f, m, p) _mm512_mask_loadu_ps(f, tail16(m), p)
#define V_STORE(p, m, v) _mm512_mask_storeu_ps(p, tail16(m), v)
#define V_KEEP(m, v) _mm512_maskz_mov_ps(tail16(m), v)
#define V_RMAX _mm512_reduce_max_ps
#define V_RADD _mm512_reduce_add_ps
#define D_SET _mm512_set1_pd
#define D_ADD _mm512_add_pd
#define D_SUB _mm512_sub_pd
#define D_MUL _mm512_mul_pd
#define D_RADD _mm512_reduce_add_pd
#define D_LO(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define D_HI(v) _mm512_cvtps_pd(_mm256_castpd_ps( \
    _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
#include "vec_rows.h"

/* ---- AVX2 with FMA: 8 lanes, the fringe under a mask (whole vectors
 * loaded and stored plainly: AMD's masked moves are slow) */
AVX2 static inline __m256i
tail8(size_t m)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(m < 8 ? (int)m : 8),
	    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static inline __m256
loadf8(__m256 f, size_t m, const float *p)
{
	if (m >= 8)
		return _mm256_loadu_ps(p);
	__m256i k = tail8(m);
	return _mm256_blendv_ps(f, _mm256_maskload_ps(p, k),
	    _mm256_castsi256_ps(k));
}

AVX2 static inline void
store8(float *p, size_t m, __m256 v)
{
	if (m >= 8)
		_mm256_storeu_ps(p, v);
	else
		_mm256_maskstore_ps(p, tail8(m), v);
}

AVX2 static inline __m256
keep8(size_t m, __m256 v)
{
	return m >= 8 ? v : _mm256_and_ps(v, _mm256_castsi256_ps(tail8(m)));
}

AVX2 static inline float
rmax8(__m256 v)
{
	__m128 a = _mm_max_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));
	a = _mm_max_ps(a, _mm_movehl_ps(a, a));
	return _mm_cvtss_f32(_mm_max_ss(a, _mm_shuffle_ps(a, a, 1)));
}

AVX2 static inline float
radd8(__m256 v)
{
	__m128 a = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));
	a = _mm_add_ps(a, _mm_movehl_ps(a, a));
	return _mm_cvtss_f32(_mm_add_ss(a, _mm_shuffle_ps(a, a, 1)));
}

AVX2 static inline double
radd4d(__m256d v)
{
	__m128d a = _mm_add_pd(_mm256_castpd256_pd128(v),
	    _mm256_extractf128_pd(v, 1));
	return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
}

/* 2^k for integral k in [-126, 127] */
AVX2 static inline __m256
pow2_8(__m256i k)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k,
	    _mm256_set1_epi32(127)), 23));
}

/* p 2^n, n in [-150, 128]: two exact-exponent halves, so that only the
 * last product rounds (as vscalefps does) */
AVX2 static inline __m256
scale8(__m256 p, __m256 n)
{
	__m256i k = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(k, 1);
	return _mm256_mul_ps(_mm256_mul_ps(p, pow2_8(h)),
	    pow2_8(_mm256_sub_epi32(k, h)));
}

#define VT AVX2
#define W 8
#define F __m256
#define D __m256d
#define I __m256i
#define SFX(f) f##_avx2
#define V_SET _mm256_set1_ps
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_MAX _mm256_max_ps
#define V_MIN _mm256_min_ps
#define V_FMA _mm256_fmadd_ps
#define V_FNMA _mm256_fnmadd_ps
#define V_ROUND(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | \
    _MM_FROUND_NO_EXC)
#define V_SCALE scale8
#define V_ABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define V_SIGN(y, x) _mm256_or_ps(y, _mm256_and_ps(x, \
    _mm256_set1_ps(-0.0f)))
#define V_TRUNC _mm256_cvttps_epi32
#define V_PERM(p, k) _mm256_permutevar8x32_ps(_mm256_loadu_ps(p), k)
#define V_LOAD _mm256_loadu_ps
#define V_LOADZ(m, p) loadf8(_mm256_setzero_ps(), m, p)
#define V_LOADF loadf8
#define V_STORE store8
#define V_KEEP keep8
#define V_RMAX rmax8
#define V_RADD radd8
#define D_SET _mm256_set1_pd
#define D_ADD _mm256_add_pd
#define D_SUB _mm256_sub_pd
#define D_MUL _mm256_mul_pd
#define D_RADD radd4d
#define D_LO(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define D_HI(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#include "vec_rows.h"

/* the set in use, else on to the portable loop */
#define ROWS(f, ...) switch (vec_isa()) { \
	case VEC_AVX512: f##_avx512(__VA_ARGS__); return; \
	case VEC_AVX2: f##_avx2(__VA_ARGS__); return; }
#else
#define ROWS(f, ...)
#endif

void
vec_exp(float *y, const float *x, size_t n)
{
	ROWS(math, y, x, n, 0);
	math_port(y, x, n, 0);
}

void
vec_erf(float *y, const float *x, size_t n)
{
	ROWS(math, y, x, n, 1);
	math_port(y, x, n, 1);
}

void
vec_softmax(float *x, size_t n)
{
	ROWS(softmax, x, n);
	softmax_port(x, n);
}

float
vec_softmax_exps(float *x, size_t n, float scale)
{
#ifdef HAVE_MVEC
	switch (vec_isa()) {
	case VEC_AVX512:
		return exps_avx512(x, n, scale);
	case VEC_AVX2:
		return exps_avx2(x, n, scale);
	}
#endif
	return exps_port(x, n, scale);
}

void
vec_layernorm(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t C, float eps)
{
	ROWS(layernorm, y, mean, rstd, x, g, b, C, eps);
	layernorm_port(y, mean, rstd, x, g, b, C, eps);
}

void
vec_gelu(float *y, const float *x, size_t n)
{
	ROWS(gelu, y, x, n);
	gelu_port(y, x, n);
}
