#!/usr/bin/env bats
# The compute engine: the CPU features found, the kernel chosen for each
# precision (--version), what the user sets winning, and bf16 against the
# sentence-transformers fp32 vectors.  The bf16 kernels themselves are
# checked against the reference loops in tests/unit/t_bf16.c.
load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset EMBTUNE_KERNEL EMBTUNE_CPU_MASK
}

amxhw() { avx512 && has amx_bf16 && has amx_tile; }

line() {	# line PREFIX: that line of encode --version
	encode --version | sed -n "s/^$1: //p"
}

@test "--version names the tool; encode, train and topk the CPU, its features and each kernel" {
	for t in encode train topk; do
		run -0 --separate-stderr "$t" --version
		assert_line --index 0 --regexp "^$t \(embtune\) [0-9]+\.[0-9]+\.[0-9]+$"
		assert_line --index 1 --regexp '^cpu: .+ \(.+, family [0-9]+, model [0-9]+\)$'
		assert_line --index 2 --regexp '^features: '
		assert_line --index 3 --regexp '^fp32 kernel: OpenBLAS sgemm, core [A-Za-z0-9]+ \('
		assert_line --index 4 --regexp '^bf16 kernel: (amx, tdpbf16ps|avx512bf16, vdpbf16ps|portable C) \('
		assert_line --index 5 --regexp '^fp32 rows: (avx512, 16 lanes|avx2\+fma, 8 lanes|portable \(.*\)) \('
		assert_line --index 6 --regexp '^fp32 weights: (avx512, 12x32 on panels packed once; attention fused|avx2, 6x16 on panels packed once; attention fused|OpenBLAS sgemm) \('
		assert_equal "$stderr" ''
	done
	for t in tokenize score show mine-negatives; do
		run -0 --separate-stderr "$t" --version
		assert_output --regexp "^$t \(embtune\) [0-9]+\.[0-9]+\.[0-9]+$"
		assert_equal "$stderr" ''
	done
}

@test "the features found are those /proc/cpuinfo lists" {
	f=" $(line features) "
	for x in avx fma avx2 avx512f avx512bw avx512dq avx512vl avx512_bf16 amx_bf16; do
		if has "$x"; then
			[[ "$f" == *" $x "* ]] || fail "$x in /proc/cpuinfo, not found: $f"
		else
			[[ "$f" != *" $x "* ]] || fail "$x found, not in /proc/cpuinfo"
		fi
	done
}

@test "a CPU with AVX2 or AVX-512 never runs a generic kernel" {
	core=$(env -u OPENBLAS_CORETYPE encode --version |
	    sed -n 's/^fp32 kernel: OpenBLAS sgemm, core \([^ ]*\) .*/\1/p')
	if avx512; then
		[[ "$core" == SkylakeX || "$core" == Cooperlake || "$core" == SapphireRapids ]] ||
			fail "AVX-512 CPU, OpenBLAS core $core"
	elif has avx2 && has fma; then
		[[ "$core" == Haswell || "$core" == Zen ]] ||
			fail "AVX2 CPU, OpenBLAS core $core"
	fi
	# the products with the weights: embtune's own AVX-512 or AVX2 kernel
	weights=$(line 'fp32 weights')
	if has avx512f; then
		[[ "$weights" == 'avx512, 12x32 '* ]] || fail "AVX-512 CPU, weights $weights"
	elif has avx2 && has fma; then
		[[ "$weights" == 'avx2, 6x16 '* ]] || fail "AVX2 CPU, weights $weights"
	fi
	rows=$(line 'fp32 rows')
	if has avx512f; then
		[[ "$rows" == 'avx512, 16 lanes '* ]] || fail "AVX-512 CPU, rows $rows"
	elif has avx2 && has fma; then
		[[ "$rows" == 'avx2+fma, 8 lanes '* ]] || fail "AVX2 CPU, rows $rows"
	fi
	if amxhw; then
		[[ "$(line 'bf16 kernel')" == 'amx, tdpbf16ps (chosen from the CPU features)' ]]
	elif bf16hw; then
		[[ "$(line 'bf16 kernel')" == 'avx512bf16, vdpbf16ps (chosen from the CPU features)' ]]
	else
		[[ "$(line 'bf16 kernel')" == 'portable C ('* ]]
	fi
}

@test "OPENBLAS_CORETYPE and EMBTUNE_CPU_MASK win over the features" {
	run -0 env OPENBLAS_CORETYPE=Prescott encode --version
	assert_line 'fp32 kernel: OpenBLAS sgemm, core Prescott (OPENBLAS_CORETYPE in the environment)'
	run -0 env -u OPENBLAS_CORETYPE EMBTUNE_CPU_MASK=avx2 encode --version
	assert_line --regexp '^features: (avx fma|avx)$'
	assert_line --regexp '^fp32 kernel: OpenBLAS sgemm, core Sandybridge \(chosen from the CPU features\)$'
	assert_line --regexp '^bf16 kernel: portable C \(no AVX512_BF16'
	assert_line --regexp '^fp32 rows: portable \('
	if has avx2 && has fma; then
		run -0 env -u OPENBLAS_CORETYPE EMBTUNE_CPU_MASK=avx512f encode --version
		assert_line --regexp '^fp32 kernel: OpenBLAS sgemm, core (Haswell|Zen) '
		assert_line --regexp '^fp32 rows: avx2\+fma, 8 lanes '
		assert_line 'fp32 weights: avx2, 6x16 on panels packed once; attention fused (chosen from the CPU features)'
		run -0 env EMBTUNE_FP32_KERNEL=openblas encode --version
		assert_line 'fp32 weights: OpenBLAS sgemm (EMBTUNE_FP32_KERNEL)'
		run -0 env EMBTUNE_FP32_KERNEL=avx2 encode --version
		assert_line 'fp32 weights: avx2, 6x16 on panels packed once; attention fused (EMBTUNE_FP32_KERNEL)'
	fi
	if has avx512f; then
		run -0 env EMBTUNE_FP32_KERNEL=avx512 encode --version
		assert_line 'fp32 weights: avx512, 12x32 on panels packed once; attention fused (EMBTUNE_FP32_KERNEL)'
	fi
	# without AVX2 the AVX2 kernel is refused by name, without AVX-512 the
	# AVX-512 one; an unknown name too
	printf '%s\n' '{"_id":"q1","text":"a claim about cells"}' |
	    tokenize -m "$MODEL" > q.tok
	fails 64 '^encode: EMBTUNE_FP32_KERNEL=avx2: this CPU has no AVX2 and FMA$' \
	    env EMBTUNE_CPU_MASK=avx2 EMBTUNE_FP32_KERNEL=avx2 encode -m "$MODEL" q.tok
	fails 64 '^encode: EMBTUNE_FP32_KERNEL=avx512: this CPU has no AVX-512$' \
	    env EMBTUNE_CPU_MASK=avx512f EMBTUNE_FP32_KERNEL=avx512 encode -m "$MODEL" q.tok
	fails 64 '^encode: EMBTUNE_FP32_KERNEL=sse: unknown kernel \(auto, avx512, avx2, openblas\)$' \
	    env EMBTUNE_FP32_KERNEL=sse encode -m "$MODEL" q.tok
}

@test "--precision: bad values exit 64; bf16 without bf16 hardware is refused, auto falls back" {
	printf '%s\n' '{"_id":"q1","text":"a claim about cells"}' |
	    tokenize -m "$MODEL" > q.tok
	fails 64 '^encode: --precision: half: expected fp32, bf16 or auto$' \
	    encode --precision half -m "$MODEL" q.tok
	fails 64 '^encode: --precision bf16: this CPU has neither AVX512_BF16 nor AMX-BF16; use fp32' \
	    env EMBTUNE_CPU_MASK=avx512_bf16,amx_bf16 encode --precision bf16 -m "$MODEL" q.tok
	fails 64 '^topk: EMBTUNE_KERNEL=nope: unknown kernel \(auto, amx, avx512bf16, portable\)$' \
	    env EMBTUNE_KERNEL=nope topk --precision bf16 -c q.tok q.tok
	# a hardware kernel named where the CPU lacks it: refused, saying what
	# is missing; where it has it, the name wins over the fastest
	fails 64 '^encode: EMBTUNE_KERNEL=amx: this CPU has no AMX-BF16$' \
	    env EMBTUNE_CPU_MASK=amx_bf16 EMBTUNE_KERNEL=amx encode --precision bf16 -m "$MODEL" q.tok
	fails 64 '^encode: EMBTUNE_KERNEL=avx512bf16: this CPU has no AVX512_BF16$' \
	    env EMBTUNE_CPU_MASK=avx512_bf16 EMBTUNE_KERNEL=avx512bf16 encode --precision bf16 -m "$MODEL" q.tok
	if bf16hw; then
		run -0 env EMBTUNE_KERNEL=avx512bf16 encode --version
		assert_line 'bf16 kernel: avx512bf16, vdpbf16ps (EMBTUNE_KERNEL=avx512bf16)'
		run -0 env EMBTUNE_CPU_MASK=amx_bf16 encode --version
		assert_line 'bf16 kernel: avx512bf16, vdpbf16ps (chosen from the CPU features)'
	fi
	# fp32 on the same (masked) CPU: hiding AVX512_BF16 can change the
	# OpenBLAS core chosen (Cooperlake -> SkylakeX) and with it the bits
	env EMBTUNE_CPU_MASK=avx512_bf16,amx_bf16 encode -m "$MODEL" q.tok \
	    > fp32.mp
	run -0 --separate-stderr env EMBTUNE_CPU_MASK=avx512_bf16,amx_bf16 \
	    encode --precision auto -m "$MODEL" q.tok
	assert_equal "$stderr" 'encode: --precision auto: this CPU has neither AVX512_BF16 nor AMX-BF16; using fp32'
	env EMBTUNE_CPU_MASK=avx512_bf16,amx_bf16 encode --precision auto \
	    -m "$MODEL" q.tok 2>/dev/null | cmp - fp32.mp
	# the portable path runs anywhere when asked for by name
	env EMBTUNE_CPU_MASK=avx512_bf16,amx_bf16 EMBTUNE_KERNEL=portable \
	    encode --precision bf16 -m "$MODEL" q.tok > bf16.mp
	! cmp -s bf16.mp fp32.mp
}

@test "encode --precision bf16 (portable): 300 SciFact queries, cosine >= 0.999 with sentence-transformers fp32" {
	head -n 300 "$DATA/scifact/queries.jsonl" | tokenize -m "$MODEL" > q.tok
	EMBTUNE_KERNEL=portable encode --precision bf16 -m "$MODEL" q.tok > q.mp
	# the reference holds all 1109 queries: compare the first 300
	run -0 "$PY" "$TOP/tests/emb_close.py" q.mp "$FIX/ref/minilm-scifact.safetensors" queries 0.01 0.999 300
	if bf16hw; then
		# vdpbf16ps gives the portable kernel's vectors, bit for bit
		EMBTUNE_KERNEL=avx512bf16 encode --precision bf16 -m "$MODEL" q.tok |
		    cmp - q.mp
	else
		fails 64 '^encode: --precision bf16: this CPU has' \
		    encode --precision bf16 -m "$MODEL" q.tok
	fi
}

@test "encode --precision bf16: all SciFact queries and the first documents, cosine >= 0.999 with sentence-transformers fp32" {
	[ -z "${EMBTUNE_BIN:-}" ] || skip "quality measurement: normal build only"
	# the hardware kernel where there is one; the portable one (slower)
	# on fewer documents elsewhere
	n=1000
	bf16hw || { export EMBTUNE_KERNEL=portable; n=100; }
	tokenize -m "$MODEL" "$DATA/scifact/queries.jsonl" |
	    encode --precision bf16 -m "$MODEL" > q.mp
	run -0 "$PY" "$TOP/tests/emb_close.py" q.mp "$FIX/ref/minilm-scifact.safetensors" queries 0.01 0.999
	head -n "$n" "$DATA/scifact/corpus.jsonl" | tokenize -m "$MODEL" |
	    encode --precision bf16 -m "$MODEL" > d.mp
	run -0 "$PY" "$TOP/tests/emb_close.py" d.mp "$FIX/ref/minilm-scifact.safetensors" docs 0.01 0.999 "$n"
}

@test "the FFN by slices of the weights (EMBTUNE_WEIGHT_SLICE): every bf16 kernel's vectors and training steps, bit for bit" {
	[ -z "${EMBTUNE_BIN:-}" ] || skip "MiniLM on every kernel: normal build only"
	# AMX takes slices of 256 rows of the weights by default (auto), the
	# others none; MiniLM's F = 1536 in slices of 160 (the last one 96
	# rows) against none (0)
	head -n 20 "$DATA/scifact/corpus.jsonl" | tokenize -m "$MODEL" > d.tok
	"$PY" - "$DATA/scifact" > rows.jsonl <<'PY'
import json, sys
d = sys.argv[1]
q = [json.loads(l)["text"] for l in open(d + "/queries.jsonl")][:8]
c = [json.loads(l)["text"] for l in open(d + "/corpus.jsonl")][:16]
for i in range(8):
    print(json.dumps({"anchor": q[i], "positive": c[2 * i], "negative": c[2 * i + 1]}))
PY
	tokenize -m "$MODEL" -n 32 rows.jsonl > rows.mp
	kerns=portable
	bf16hw && kerns="$kerns avx512bf16"
	amxhw && kerns="$kerns amx"
	for k in $kerns; do
		for s in 0 160 auto; do
			EMBTUNE_KERNEL=$k EMBTUNE_WEIGHT_SLICE=$s \
			    encode --precision bf16 -m "$MODEL" d.tok > d.$s.mp
			EMBTUNE_KERNEL=$k EMBTUNE_WEIGHT_SLICE=$s OMP_NUM_THREADS=2 \
			    train -m "$MODEL" -o t.$s -b 4 --precision bf16 \
			    --log l.$s rows.mp 2> /dev/null
			cut -f 1-4 l.$s > loss.$s
		done
		for s in 160 auto; do
			cmp d.0.mp d.$s.mp || fail "$k: slices of $s: other vectors"
			cmp t.0/model.safetensors t.$s/model.safetensors ||
			    fail "$k: slices of $s: another model"
			cmp loss.0 loss.$s || fail "$k: slices of $s: other losses"
		done
		rm -rf t.*
	done
	fails 64 '^encode: EMBTUNE_WEIGHT_SLICE=48: not auto or a multiple of 32 \(0: no slices\)$' \
	    env EMBTUNE_WEIGHT_SLICE=48 encode -m "$MODEL" d.tok
}

@test "fp32 on every set of kernels the CPU has (AVX-512; AVX2 rows with embtune's AVX2 weights kernel; portable): SciFact queries and documents match sentence-transformers" {
	head -n 300 "$DATA/scifact/queries.jsonl" | tokenize -m "$MODEL" > q.tok
	head -n 100 "$DATA/scifact/corpus.jsonl" | tokenize -m "$MODEL" > d.tok
	for m in none avx512f avx2; do
		case $m in
		avx512f) has avx2 && has fma || continue ;;
		none) has avx512f || continue ;;
		esac
		EMBTUNE_CPU_MASK=$m encode -m "$MODEL" q.tok > q.mp
		EMBTUNE_CPU_MASK=$m encode -m "$MODEL" d.tok > d.mp
		run -0 "$PY" "$TOP/tests/emb_close.py" q.mp "$FIX/ref/minilm-scifact.safetensors" queries 1e-5 0.99999 300
		run -0 "$PY" "$TOP/tests/emb_close.py" d.mp "$FIX/ref/minilm-scifact.safetensors" docs 1e-5 0.99999 100
	done
}
