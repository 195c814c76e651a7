/* cpu: what this processor can do, read from CPUID feature bits and from
 * the registers the operating system has agreed to save (XCR0), so that a
 * feature counts only where both the chip and the kernel support it. */
#ifndef CPU_H
#define CPU_H

#include <stddef.h>

/* every feature an int, 0 or 1 (cpu.c names them in one table) */
struct cpu {
	char vendor[13];	/* "GenuineIntel", "AuthenticAMD", ... */
	char brand[49];		/* the processor brand string */
	unsigned family, model;	/* display family and model */
	int avx, fma, avx2;
	int avx512f, avx512bw, avx512dq, avx512vl;
	int avx512_bf16;	/* vdpbf16ps, vcvtne2ps2bf16 */
	int amx_bf16;		/* AMX tiles with bf16, the OS saving their
				 * state and lending it to this process */
};

/* The features of this machine (read once), less those named in
 * EMBTUNE_CPU_MASK ("avx512f,avx512_bf16": treat them as absent). */
const struct cpu *cpu_get(void);

/* Treat the features named in m as absent (words separated by commas or
 * blanks; unknown names are ignored), and with them those that need them:
 * avx2 and fma need avx, avx512* avx2, avx512_bf16 avx512f, amx_bf16 the
 * four AVX-512 subsets cpu_has_avx512 names.  m may be NULL. */
void cpu_mask(struct cpu *c, const char *m);

/* The usable features as words, "avx2 fma avx512f ...", into buf. */
void cpu_flags(char *buf, size_t n, const struct cpu *c);

/* AVX-512 foundation with the BW, DQ and VL subsets (what SkylakeX-class
 * kernels need) */
int cpu_has_avx512(const struct cpu *c);

#endif
