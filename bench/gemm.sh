#!/usr/bin/env bash
# The measured peak: blas_gemm on all-MiniLM-L6-v2's linear shapes (2048
# tokens) in each precision, 1 and THREADS threads (build/bench_gemm), as
# the kernels are chosen here, and again with OPENBLAS_CORETYPE unset where
# the environment sets it (a system setting can hold OpenBLAS back), and
# with vdpbf16ps where AMX is the bf16 kernel chosen.
. "$(dirname "$0")/common.bash"
out=$(OMP_NUM_THREADS=$T build/bench_gemm 2048 5)
printf '%s\n' "$out"
# where AMX runs the bf16 products, vdpbf16ps beside it
if grep -q '^bf16 *amx ' <<< "$out"; then
	EMBTUNE_KERNEL=avx512bf16 OMP_NUM_THREADS="$T" build/bench_gemm 2048 5 |
	    grep '^bf16 '
fi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
	echo "# with OPENBLAS_CORETYPE (=$OPENBLAS_CORETYPE) unset:"
	env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$T" build/bench_gemm 2048 5 |
	    grep -E '^(fp32 kernel|fp32 )'
fi
