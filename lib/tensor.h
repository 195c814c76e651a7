/* tensor: the one interface for matrix products, with the kernels behind it
 * chosen from what the CPU can do (cpu.h), plus a naive loop used as the
 * test oracle.
 *
 * fp32 products run on OpenBLAS's sgemm.  OpenBLAS is loaded at the first
 * use, after its core has been chosen from the CPUID feature bits (AVX-512
 * with BF16: Cooperlake; AVX-512: SkylakeX; AVX2: Haswell, or Zen on AMD),
 * so that a CPU newer than the library still gets its wide kernels;
 * OPENBLAS_CORETYPE in the environment wins.  OpenBLAS is kept
 * single-threaded; the products are threaded with OpenMP over independent
 * row blocks (PERF.md: its own threading gives nothing inside small calls
 * and fights the OpenMP loops).  On a CPU with AVX2 and FMA, the fp32
 * products with the weights (below) run on embtune's own kernels (fp32.h:
 * AVX-512 where the CPU has it, else AVX2) over panels packed once per
 * model instead, and each head's attention is fused there;
 * EMBTUNE_FP32_KERNEL=openblas, avx2 or avx512 chooses by name.
 *
 * bf16 products (bf16.h) round both operands to bfloat16 and accumulate in
 * fp32: on AMX tiles where the CPU and the OS allow them, else on
 * vdpbf16ps where the CPU has AVX512_BF16, else in portable C (on AVX2
 * lanes where vec's rows use them: the same bits).
 * EMBTUNE_KERNEL=portable forces the portable one (and allows bf16 on a
 * CPU without bf16 hardware); EMBTUNE_KERNEL=amx or avx512bf16 insists on
 * that hardware kernel.
 *
 * All matrices are row-major with explicit leading dimensions. */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Use n threads (OpenMP) for the kernels; OpenBLAS is set to 1 thread.
 * n = 0: leave OpenMP's default. */
void blas_threads(int n);
int blas_nthreads(void);

/* which operands are transposed */
enum blas_op {
	BLAS_NN,	/* a (M,K), b (K,N) */
	BLAS_NT,	/* a (M,K), b (N,K): a b^T */
	BLAS_TN,	/* a (K,M), b (K,N): a^T b */
};

/* the precision of the operands of every product, fp32 unless a tool set
 * it (--precision); BLAS_F32 or-ed into op keeps one product in fp32 */
enum blas_prec {
	BLAS_PREC_FP32,
	BLAS_PREC_BF16,
};
enum { BLAS_F32 = 0x10 };

/* Parse a --precision argument ("fp32", "bf16", "auto"), check
 * that this CPU can run it, and make it the precision of every later
 * product.  bf16 without bf16 hardware (and without EMBTUNE_KERNEL=portable)
 * exits 64 naming what is missing; "auto" then falls back to fp32 and says
 * so once on stderr. */
int blas_precision_opt(const char *arg);
void blas_set_precision(int prec);
int blas_precision(void);

/* c (M,N) = alpha op(a) op(b) + beta c, threaded over row blocks of c */
void blas_gemm(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* the same, one thread (for use inside an OpenMP loop) */
void blas_gemm1(int op, float *c, const float *a, const float *b, size_t M,
    size_t N, size_t K, size_t lda, size_t ldb, size_t ldc, float alpha,
    float beta);
/* y (M,N), its rows ldy apart, = x (M,K) w^T + b, w (N,K), b N floats
 * (NULL: none), one thread: the sums start from b (bf16 products start
 * their tiles or registers from it; fp32 ones copy it into y and add to
 * it) */
void blas_linear1(float *y, size_t ldy, const float *x, const float *w,
    const float *b, size_t M, size_t N, size_t K);
/* blas_gemm1 and blas_linear1 with op(a), or both operands, given in
 * bf16, for products in bf16 (blas_precision; op BLAS_NN or BLAS_NT, rows
 * lda and ldb apart): the values the product would round a and b to
 * (bf16_convert), made once by whoever writes them (a softmax row, a
 * block of rows that several products read, the keys and values of every
 * head) rather than in every product that reads them; the same bits.
 * Where lda is even and holds K rounded up to whole AMX tiles (32), AMX
 * reads a16's rows where they are: its values from K to there must be
 * zeros.  Elsewhere it is a bug (exit 70). */
void blas_gemm1_a16(int op, float *c, const uint16_t *a16, const float *b,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta);
void blas_gemm1_16(int op, float *c, const uint16_t *a16,
    const uint16_t *b16, size_t M, size_t N, size_t K, size_t lda,
    size_t ldb, size_t ldc, float alpha, float beta);
void blas_linear1_a16(float *y, size_t ldy, const uint16_t *x16,
    const float *w, const float *b, size_t M, size_t N, size_t K);
/* Weights: bf16 products whose op(b) lies inside a region [w, w + n)
 * given to blas_weights pack op(b) into bf16 panels once (per op and shape)
 * and share that pack among threads, batches and calls, instead of packing
 * it in every product.  Whoever writes floats there (a load, an optimizer
 * step) calls blas_weights_changed(w) before the next product; that
 * region's packs are then remade at their next use.  Up to 8 regions (one
 * per model: a trained model and a frozen guide); blas_weights_forget(w)
 * drops a region and frees its packs.  None of them may run while products
 * do (call them outside parallel regions).  fp32 products are packed the
 * same way (into fp32 panels) where fp32.h's kernel runs them, for a
 * region of at most 128 MiB (MiniLM's 90 MB, not MPNet's 438: a second
 * copy of the weights, and encode's peak memory is about the weights),
 * and left to OpenBLAS otherwise. */
void blas_weights(const float *w, size_t n);
void blas_weights_forget(const float *w);
void blas_weights_changed(const float *w);
/* the products of this precision with the weights w (in a region given to
 * blas_weights) use such packs (bf16, and fp32 where fp32.h's kernel runs
 * them and the region is small enough): a product on a few rows of a
 * costs no more a row than one on many */
int blas_packs_weights(const float *w);
/* rows of c the products of this precision compute at a time: a block of
 * rows that is a multiple of it wastes no part of a block (32 where AMX
 * runs the bf16 products; else 24, the other kernels' 6 and 12 rows) */
size_t blas_block_rows(void);
/* floats of activations a block of rows of a row-wise step should hold
 * (each product of the block reads the weights once): 32768 (128 KiB,
 * staying in L2 with the weights' panels), or 131072 where the AVX-512
 * fp32 kernel runs the products (its panels come from L3, and a larger
 * block reads them a quarter as often: 3-5% of an encode on a Xeon) */
size_t blas_block_floats(void);
/* Rows of the weights w (N,K) that products repeated over many rows of
 * activations should take at a time, or 0: all of them.  Where the kernel
 * outruns the reads of the weights from L3 (AMX: a block of 32 rows does
 * 64 flops a byte of bf16 weights), taking a slice of 256 rows of w
 * (192 KiB for K = 384) for 4 blocks of rows at a time reads each
 * weight from L3 a quarter as often; the other kernels lose more to
 * packing the rows of op(a) again for every slice than they gain, and
 * OpenBLAS packs the weights in every call.  EMBTUNE_WEIGHT_SLICE (a
 * multiple of 32, 0: none) sets it for any kernel that packs w once.
 * bf16 products give the same bits either way (their sums restart from
 * c exactly); fp32 ones need not. */
size_t blas_weight_slice(const float *w);

/* One sequence's head of attention, one thread, where a fused kernel runs
 * it: y (T, HS) = softmax(scale q k^T + bias) v, q, k and v (T, HS) with
 * rows ld apart, y's rows ldy apart, bias[j - i] added to score (i, j)
 * (NULL: none).  Runs on fp32.h's kernel (scores kept in cache, never
 * written whole) where fp32 products with the weights do, in fp32 and for
 * HS a multiple of 16, and returns 1; else does nothing and returns 0
 * (the caller then uses products and a softmax). */
int blas_attention1(float *y, size_t ldy, const float *q, const float *k,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias);

/* the same as a naive loop (double accumulation) */
void blas_gemm_ref(int op, float *c, const float *a, const float *b,
    size_t M, size_t N, size_t K, size_t lda, size_t ldb, size_t ldc,
    float alpha, float beta);

/* What runs here, as --version prints it: the CPU, its features, and the
 * kernel chosen for each precision. */
void blas_sysinfo(FILE *fp);

/* the kernel names, for tests: "openblas:Haswell", "avx512bf16", ... */
const char *blas_kernel(int prec);

#endif
