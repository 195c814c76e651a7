/* fp32: matrix products on embtune's own micro-kernels, AVX-512 or
 * AVX2/FMA, for products whose op(b) is packed once and kept (the
 * weights, tensor.h's blas_weights): OpenBLAS spends about a tenth of an
 * encode packing the weights again in every call and clearing c before
 * it adds to it (perf, Zen 3), and its AVX-512 kernels ran at two thirds
 * of the FMA peak on the Xeon with AMX.
 *
 * op(b) (K,N) is packed into panels of NR columns: for each k, the NR
 * values b[k][j0 .. j0+NR-1], zeros past N.  The AVX2 kernel (NR = 16, two
 * ymm loads) packs op(a) MC rows at a time (about 180 KiB, to stay in L2)
 * into micro-panels of MR = 6 rows, each value broadcast, and keeps one
 * 6 x 16 block of c in 12 ymm accumulators over a pass of at most KCMAX
 * values of K (a pass's slice of a B panel, 24 KiB, stays in L1 while
 * every block of rows uses it).  The AVX-512 kernel (NR = 32, two zmm
 * loads) keeps a 12 x 32 block of c in 24 zmm accumulators, broadcasting
 * op(a) from its rows where they lie (row-major: BLAS_NN or BLAS_NT), a
 * block of rows that stays in L2 at a time, over passes of at most 384
 * values of K, the panel's rows prefetched ahead.  Either writes c =
 * alpha acc + beta c, or acc + the bias row (read in the kernel's last
 * step, not copied into c first); later passes add to c.
 *
 * The panels are a second copy of the weights: tensor.c makes them only
 * for a model of at most 128 MiB.
 *
 * Called through tensor.h; op and the strides mean what they mean there
 * (BLAS_NT or BLAS_NN: op(b) is a weight, as the forward's x w^T and the
 * backward's dy w use it). */
#ifndef FP32_H
#define FP32_H

#include <stddef.h>

/* floats of op(b) (K,N) packed */
size_t fp32_packed_size(size_t N, size_t K);
void fp32_pack_b(float *bp, int op, const float *b, size_t N, size_t K,
    size_t ldb);

/* c (M,N) = alpha op(a) bp + beta c, or op(a) bp + bias on every row
 * where bias (N floats) is not NULL (alpha and beta unused), one thread;
 * bp from fp32_pack_b.  Needs AVX2 and FMA (fp32_runs). */
void fp32_gemm_packed(int op, float *c, const float *a, const float *bp,
    size_t M, size_t N, size_t K, size_t lda, size_t ldc, float alpha,
    float beta, const float *bias);

/* One sequence's head of attention, one thread: y (T, HS) = softmax(scale
 * q k^T + bias) v, where q, k and v are (T, HS) with rows ld apart, y's
 * rows are ldy apart, and bias (NULL: none) adds bias[j - i] to score
 * (i, j).  k^T is packed into panels; each MR rows of scores are made,
 * turned into probabilities and multiplied by v while they are in L1,
 * never written out whole, on the kernel in use (the AVX2 one for a head
 * not a multiple of 32 wide).  Returns 1, or 0 without doing anything
 * where HS is not a multiple of 16.  Needs AVX2 and FMA. */
int fp32_attention(float *y, size_t ldy, const float *q, const float *k,
    const float *v, size_t ld, size_t T, size_t HS, float scale,
    const float *bias);

/* the kernels: fp32_runs gives the best this CPU (cpu.h, with its mask)
 * runs, 0 if none; fp32_use makes kern the one of fp32_gemm_packed,
 * fp32_attention and the panels' layout (FP32_AVX2 until then) and
 * returns the one before.  Panels packed for one kernel are for it only. */
enum { FP32_AVX2 = 1, FP32_AVX512 };
int fp32_runs(void);
int fp32_use(int kern);

#endif
