# Shared setup for the bats suites: `load helper` at the top of each file.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PATH="${EMBTUNE_BIN:-$TOP/bin}:$PATH"	# EMBTUNE_BIN: the sanitizer build
FIX="$TOP/fixtures"
MODEL="${EMBTUNE_MODEL:-$TOP/models/all-MiniLM-L6-v2}"
# all-mpnet-base-v2 (make model MODEL=sentence-transformers/all-mpnet-base-v2):
# its parity tests are skipped where it has not been fetched
MPNET="${EMBTUNE_MPNET:-$TOP/models/all-mpnet-base-v2}"
DATA="${EMBTUNE_DATA:-$TOP/../shared/data}"
PY="$TOP/.venv/bin/python"
export LC_ALL=C
# tests that run make must not inherit the flags of the make running them
# (make -s check would silence the commands they look for)
unset MAKEFLAGS MFLAGS MAKELEVEL

# fails STATUS REGEX CMD...: CMD exits STATUS, writes nothing on stdout, and
# its first stderr line matches REGEX
fails() {
	local st=$1 re=$2
	shift 2
	run -"$st" --separate-stderr "$@"
	assert_regex "${stderr_lines[0]}" "$re"
	assert_output ''
}

has() {	# has FLAG: /proc/cpuinfo lists FLAG
	grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$1"
}

# the CPU features embtune's hardware kernels need (tensor.c's choice):
# AVX-512 with the BW, DQ and VL parts; bf16 products on vdpbf16ps
avx512() { has avx512f && has avx512bw && has avx512dq && has avx512vl; }
bf16hw() { avx512 && has avx512_bf16; }

# skip the test unless all-mpnet-base-v2 has been fetched
need_mpnet() {
	[ -f "$MPNET/model.safetensors" ] ||
		skip "no $MPNET (make model MODEL=sentence-transformers/all-mpnet-base-v2)"
}
