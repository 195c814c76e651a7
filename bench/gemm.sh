#!/usr/bin/env bash
# The measured peak: blas_gemm on all-MiniLM-L6-v2's linear shapes (2048
# tokens) in each precision, 1 and THREADS threads (build/bench_gemm), as
# the kernels are chosen here, and again with OPENBLAS_CORETYPE unset where
# the environment sets it (a system setting can hold OpenBLAS back).
. "$(dirname "$0")/common.bash"
OMP_NUM_THREADS=$T build/bench_gemm 2048 5
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
	echo "# with OPENBLAS_CORETYPE (=$OPENBLAS_CORETYPE) unset:"
	env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$T" build/bench_gemm 2048 5 |
	    grep -E '^(fp32 kernel|fp32 )'
fi
