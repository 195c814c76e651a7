/* cpu: CPUID feature bits, confirmed against the state the OS saves. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Linux lends a process the AMX tile data state only when asked
 * (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA; Linux 5.16 and
 * later): a tile instruction without it is killed with SIGILL. */
static int
tiles_allowed(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
	return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
	return 0;
#endif
}

static unsigned long long
xcr0(void)
{
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (unsigned long long)hi << 32 | lo;
}

static void
probe(struct cpu *c)
{
	unsigned a = 0, b = 0, d = 0, x = 0, max = 0;
	unsigned long long os = 0;

	if (!__get_cpuid(0, &max, &b, &x, &d))
		return;
	memcpy(c->vendor, &b, 4);
	memcpy(c->vendor + 4, &d, 4);
	memcpy(c->vendor + 8, &x, 4);
	__get_cpuid(1, &a, &b, &x, &d);
	c->family = a >> 8 & 0xf;
	c->model = a >> 4 & 0xf;
	if (c->family == 0xf)
		c->family += a >> 20 & 0xff;
	if (c->family == 6 || c->family >= 0xf)
		c->model |= (a >> 16 & 0xf) << 4;
	if (x & 1u << 27)		/* OSXSAVE: XCR0 can be read */
		os = xcr0();
	int ymm = (os & 0x6) == 0x6, zmm = (os & 0xe6) == 0xe6;
	int tiles = (os & 0x60000) == 0x60000;
	c->avx = ymm && (x & 1u << 28);
	c->fma = c->avx && (x & 1u << 12);
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, x, d);
		c->avx2 = c->avx && (b & 1u << 5);
		c->avx512f = zmm && (b & 1u << 16);
		c->avx512dq = c->avx512f && (b & 1u << 17);
		c->avx512bw = c->avx512f && (b & 1u << 30);
		c->avx512vl = c->avx512f && (b & 1u << 31);
		c->amx_bf16 = tiles && (d & 1u << 22) && (d & 1u << 24) &&
		    tiles_allowed();
		__cpuid_count(7, 1, a, b, x, d);
		c->avx512_bf16 = c->avx512f && (a & 1u << 5);
	}
	unsigned br[12];
	if (__get_cpuid(0x80000000, &a, &b, &x, &d) && a >= 0x80000004) {
		for (unsigned i = 0; i < 3; i++)
			__get_cpuid(0x80000002 + i, &br[4 * i], &br[4 * i + 1],
			    &br[4 * i + 2], &br[4 * i + 3]);
		memcpy(c->brand, br, 48);
		/* some brand strings are padded with leading blanks */
		char *s = c->brand;
		while (*s == ' ')
			s++;
		memmove(c->brand, s, strlen(s) + 1);
	}
}
#else
static void
probe(struct cpu *c)
{
	(void)c;
}
#endif

/* the features by name, as cpu_flags and EMBTUNE_CPU_MASK spell them */
static const struct {
	const char *name;
	size_t off;
} feat[] = {
	{"avx", offsetof(struct cpu, avx)},
	{"fma", offsetof(struct cpu, fma)},
	{"avx2", offsetof(struct cpu, avx2)},
	{"avx512f", offsetof(struct cpu, avx512f)},
	{"avx512bw", offsetof(struct cpu, avx512bw)},
	{"avx512dq", offsetof(struct cpu, avx512dq)},
	{"avx512vl", offsetof(struct cpu, avx512vl)},
	{"avx512_bf16", offsetof(struct cpu, avx512_bf16)},
	{"amx_bf16", offsetof(struct cpu, amx_bf16)},
};
#define NFEAT (sizeof feat / sizeof feat[0])
#define FEAT(c, i) (*(int *)(void *)((char *)(c) + feat[i].off))

void
cpu_mask(struct cpu *c, const char *m)
{
	char w[32];
	size_t n;

	while (m && *m) {
		m += strspn(m, ", \t");
		n = strcspn(m, ", \t");
		if (n > 0 && n < sizeof w) {
			memcpy(w, m, n);
			w[n] = '\0';
			for (size_t i = 0; i < NFEAT; i++)
				if (strcmp(w, feat[i].name) == 0)
					FEAT(c, i) = 0;
		}
		m += n;
	}
	/* what needs a masked feature goes with it */
	c->avx2 &= c->avx;
	c->fma &= c->avx;
	c->avx512f &= c->avx2;
	c->avx512bw &= c->avx512f;
	c->avx512dq &= c->avx512f;
	c->avx512vl &= c->avx512f;
	c->avx512_bf16 &= c->avx512f;
	/* every CPU with AMX has AVX-512, and the AMX kernel uses it too */
	c->amx_bf16 &= cpu_has_avx512(c);
}

const struct cpu *
cpu_get(void)
{
	static struct cpu c;
	static int done;

	if (!done) {	/* idempotent: a race writes the same values */
		probe(&c);
		cpu_mask(&c, getenv("EMBTUNE_CPU_MASK"));
		done = 1;
	}
	return &c;
}

int
cpu_has_avx512(const struct cpu *c)
{
	return c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl;
}

void
cpu_flags(char *buf, size_t n, const struct cpu *c)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NFEAT; i++)
		if (FEAT(c, i) && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
			    len ? " " : "", feat[i].name);
	if (len == 0)
		snprintf(buf, n, "none of avx, avx2, avx512");
}
