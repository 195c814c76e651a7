/* t_cpu: EMBTUNE_CPU_MASK's rules on a modelled CPU that has every
 * feature (cpu_mask), and cpu_flags' words for what is left. */
#include "check.h"

#include "cpu.h"

/* the flags of a CPU with every feature, less those masked by m */
static void
masked(const char *m, char *buf, size_t n)
{
	struct cpu c = {
		.avx = 1, .fma = 1, .avx2 = 1,
		.avx512f = 1, .avx512bw = 1, .avx512dq = 1, .avx512vl = 1,
		.avx512_bf16 = 1, .amx_bf16 = 1,
	};
	cpu_mask(&c, m);
	cpu_flags(buf, n, &c);
}

static void
expect(const char *m, const char *want)
{
	char got[256], name[512];
	masked(m, got, sizeof got);
	snprintf(name, sizeof name, "mask \"%s\": %s", m ? m : "(none)", want);
	check_ok(name, strcmp(got, want) == 0);
	if (strcmp(got, want) != 0)
		printf("# got \"%s\"\n", got);
}

int
main(void)
{
	expect(NULL, "avx fma avx2 avx512f avx512bw avx512dq avx512vl "
	    "avx512_bf16 amx_bf16");
	expect("", "avx fma avx2 avx512f avx512bw avx512dq avx512vl "
	    "avx512_bf16 amx_bf16");
	expect("nope, avx512f_", "avx fma avx2 avx512f avx512bw avx512dq "
	    "avx512vl avx512_bf16 amx_bf16");
	expect("amx_bf16", "avx fma avx2 avx512f avx512bw avx512dq avx512vl "
	    "avx512_bf16");
	expect("avx512_bf16", "avx fma avx2 avx512f avx512bw avx512dq "
	    "avx512vl amx_bf16");
	expect("avx512_bf16,amx_bf16", "avx fma avx2 avx512f avx512bw "
	    "avx512dq avx512vl");
	/* an AVX2-only CPU, as the benchmarks emulate one: no AMX either */
	expect("avx512f", "avx fma avx2");
	expect("avx512vl", "avx fma avx2 avx512f avx512bw avx512dq "
	    "avx512_bf16");
	expect("avx2", "avx fma");
	expect(" fma\tavx2 ", "avx");
	expect("avx", "none of avx, avx2, avx512");
	return check_done();
}
