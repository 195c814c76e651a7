/* gemm: the GFLOP/s of blas_gemm on all-MiniLM-L6-v2's linear shapes (T
 * tokens x C=384 -> 3C, C, F=1536 and back), in each precision this CPU
 * runs, on 1 and on all threads; bench/README.md quotes it as the measured
 * peak that encode and train are held against.
 * usage: build/bench_gemm [T] [REPS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor.h"
#include "util.h"

int
main(int argc, char **argv)
{
	static const size_t shapes[][2] = {	/* (out, in) */
		{1152, 384}, {384, 384}, {1536, 384}, {384, 1536},
	};
	size_t T = argc > 1 ? (size_t)atol(argv[1]) : 2048;
	int reps = argc > 2 ? atoi(argv[2]) : 5, all = 1;
	float *x = xaligned(T * 1536 * 4), *w = xaligned(1536 * 1536 * 4);
	float *y = xaligned(T * 1536 * 4);

#ifdef _OPENMP
	all = omp_get_max_threads();
#endif
	for (size_t i = 0; i < T * 1536; i++)
		x[i] = (float)(i % 13) * 0.01f;
	for (size_t i = 0; i < 1536 * 1536; i++)
		w[i] = (float)(i % 7) * 0.01f;
	blas_threads(0);
	blas_weights(w, 1536 * 1536);	/* packed once, as a model's are */
	blas_sysinfo(stdout);
	printf("%-10s %-18s %7s %10s\n", "precision", "kernel", "threads",
	    "GFLOP/s");
	for (int p = BLAS_PREC_FP32; p <= BLAS_PREC_BF16; p++) {
		if (p == BLAS_PREC_BF16 && strcmp(blas_kernel(p), "portable") ==
		    0 && !getenv("EMBTUNE_KERNEL"))
			break;	/* no bf16 hardware: nothing to measure */
		blas_set_precision(p);
		for (int th = 1; th <= all; th = th == all ? all + 1 : all) {
			double fl = 0, t;
			blas_threads(th);
			for (size_t s = 0; s < 4; s++)	/* warm up */
				blas_gemm(BLAS_NT, y, x, w, T, shapes[s][0],
				    shapes[s][1], shapes[s][1], shapes[s][1],
				    shapes[s][0], 1, 0);
			t = util_now();
			for (int r = 0; r < reps; r++)
				for (size_t s = 0; s < 4; s++) {
					blas_gemm(BLAS_NT, y, x, w, T,
					    shapes[s][0], shapes[s][1],
					    shapes[s][1], shapes[s][1],
					    shapes[s][0], 1, 0);
					fl += 2.0 * T * shapes[s][0] *
					    shapes[s][1];
				}
			t = util_now() - t;
			printf("%-10s %-18s %7d %10.1f\n", p ? "bf16" : "fp32",
			    blas_kernel(p), th, fl / t / 1e9);
		}
	}
	return 0;
}
