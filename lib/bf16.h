/* bf16: matrix products with bfloat16 operands and fp32 accumulation.
 *
 * Both operands are rounded to bf16 (round to nearest even, denormals to
 * zero, as the hardware converts) while they are packed into panels; then a
 * micro-kernel accumulates pair products in fp32 the way vdpbf16ps does:
 * acc += a[2k+1] b[2k+1], then acc += a[2k] b[2k], each sum rounded (the
 * products of two bf16 values are exact in fp32); with alpha 1 and beta 1
 * the sums start from c, so that the passes a long K is cut into (and
 * beta 1 calls in sequence) sum as one pass would.  Micro-kernels share
 * the packing and the loops:
 *   - portable C, on every CPU (the reference the others must agree with);
 *   - AVX512_BF16 (vdpbf16ps), where the CPU has it, bit for bit the
 *     portable kernel's results;
 *   - AMX-BF16 (tdpbf16ps on tiles), where the CPU and the OS allow it:
 *     the same products, summed in the order the tiles sum them (not bit
 *     for bit the others).
 * Called through tensor.h (blas_gemm with BLAS_BF16); op and the strides
 * mean what they mean there. */
#ifndef BF16_H
#define BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum bf16_kernel {
	BF16_PORTABLE,
	BF16_AVX512,
	BF16_AMX,
};

/* x rounded to bf16 (the upper 16 bits of the fp32 result) */
uint16_t bf16_round(float x);
/* a bf16 bit pattern as the float it is (inline: the portable kernel's
 * inner loop) */
static inline float
bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float x;

	memcpy(&x, &u, 4);
	return x;
}
/* y[i] = bf16_round(x[i]), i < n (vcvtne2ps2bf16 where the CPU has it) */
void bf16_convert(uint16_t *y, const float *x, size_t n);

/* x[i] = bf16_to_float(y[i]), i < n */
void bf16_expand(float *x, const uint16_t *y, size_t n);

/* x[i] rounded to bf16 in place, i < n; where y is not NULL, y[i] the
 * bf16 (as bf16_convert) */
void bf16_trim(float *x, uint16_t *y, size_t n);

/* uint16 elements of op(b) (K,N) packed */
size_t bf16_packed_size(size_t N, size_t K);
/* rows of c the AMX kernel computes at a time */
#define BF16_AMX_ROWS 32

/* pack op(b) into bp; b is (K,N) for BLAS_NN/BLAS_TN, (N,K) for BLAS_NT */
void bf16_pack_b(uint16_t *bp, int op, const float *b, size_t N, size_t K,
    size_t ldb);
/* the same from b16's bf16 values (op BLAS_NN or BLAS_NT) */
void bf16_pack_b16(uint16_t *bp, int op, const uint16_t *b16, size_t N,
    size_t K, size_t ldb);
/* c (M,N) = alpha op(a) B + beta c with B packed by bf16_pack_b, or,
 * where bias (N floats) is not NULL, op(a) B + bias on every row (alpha
 * and beta unused); one thread.  The sums start from bias, or from c
 * where alpha and beta are 1.  The A panels are packed in this thread's
 * own scratch, from a16's bf16 values where a16 is not NULL (a unused;
 * op BLAS_NN or BLAS_NT, a16's rows lda apart): the bits of a product
 * from a whose values round to them.  AMX reads a16's rows where they
 * are, not packed, where lda is even and holds a pass's whole tiles (32
 * columns): a16's values from K to K rounded up to 32, where lda holds
 * them, must be zeros. */
void bf16_gemm_packed(int kern, int op, float *c, const float *a,
    const uint16_t *a16, const uint16_t *bp, size_t M, size_t N, size_t K,
    size_t lda, size_t ldc, float alpha, float beta, const float *bias);

#endif
