#!/usr/bin/env bats
# Faults during training: kill -9 at every rename of checkpoint saving (by
# strace's fault injection) and at seeded random moments; SIGINT.  After
# any of them the model directory is whole (encode reads it), and training
# completes: with --resume from the checkpoint, or afresh when none was
# written; the result equals an uninterrupted run, byte for byte.
load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export OMP_NUM_THREADS=1
	T="$FIX/train"
}

ARGS=(-b 4 -e 3 --save-every 4)	# 20 steps, checkpoints at 4, 8, 12, 16

tr() {
	timeout 120 train -m "$FIX/tiny" "$@"
}

# after a kill: out/ is absent or a whole model; finish the training and
# compare with straight/.  Prints what it found (fresh, resume, nostate).
finish() {
	local args=("$@")
	if [ -e out ]; then
		encode -m out "$FIX/encode/tiny.mp" > e.mp ||
			{ echo "out/ does not load"; return 1; }
		[ "$(show -H e.mp | wc -l)" -eq "$(show -H "$FIX/encode/tiny.mp" | wc -l)" ] || { echo "encode: short"; return 1; }
	fi
	if [ ! -e out ] && ls -d .out.old* > /dev/null 2>&1; then
		echo "out/ is gone, the last checkpoint is in $(ls -d .out.old*)"
		return 1
	fi
	ls -d out.tmp.* .out.old* 2>/dev/null | xargs rm -rf	# the killed run's temporaries
	if [ -e out/trainer_state.safetensors ]; then
		echo resume
		tr -o out "${args[@]}" --resume "$T/triplets.mp" 2> err ||
			{ echo "--resume failed: $(cat err)"; return 1; }
	elif [ -e out ] && ! cmp -s out/model.safetensors straight/model.safetensors; then
		echo "a checkpoint without its optimizer state"
		return 1
	elif [ -e out ]; then
		echo done	# killed after the final model was in place
	else
		echo fresh
		tr -o out "${args[@]}" "$T/triplets.mp"
	fi
	cmp out/model.safetensors straight/model.safetensors ||
		{ echo "differs from the straight run"; return 1; }
	[ ! -e out/trainer_state.safetensors ] || { echo "state left"; return 1; }
}

@test "kill -9 at every rename of checkpoint saving: out/ always loads, training completes" {
	command -v strace > /dev/null
	tr -o straight "${ARGS[@]}" "$T/triplets.mp"
	for sc in rename renameat2; do
		n=$(strace -f -qq -o /dev/stdout -e trace="$sc" \
		    train -m "$FIX/tiny" -o count "${ARGS[@]}" "$T/triplets.mp" | grep -Ec "^[0-9]+ +$sc\(" || true)
		[ "$n" -gt 0 ] || [ "$sc" = renameat2 ] || fail "no $sc calls"
		for ((k = 1; k <= n; k++)); do
			rm -rf out
			st=0
			strace -f -qq -o /dev/null -e trace="$sc" \
			    -e inject="$sc":signal=KILL:when="$k" \
			    train -m "$FIX/tiny" -o out "${ARGS[@]}" "$T/triplets.mp" 2> /dev/null || st=$?
			if [ "$st" -eq 0 ]; then	# fewer calls this time
				cmp out/model.safetensors straight/model.safetensors
				continue
			fi
			[ "$st" -eq 137 ] || fail "$sc $k: status $st, not killed"
			run finish "${ARGS[@]}"
			[ "$status" -eq 0 ] || fail "killed at $sc $k: $output"
			echo "# $sc $k: $output" >&3
		done
	done
}

@test "kill -9 at seeded random moments of training and saving, then --resume" {
	A=(-b 4 -e 12 --save-every 3)
	tr -o straight "${A[@]}" "$T/triplets.mp"
	RANDOM=75
	for trial in 1 2 3 4; do
		rm -rf out
		ms=$((RANDOM % 800))
		train -m "$FIX/tiny" -o out "${A[@]}" "$T/triplets.mp" 2> /dev/null 3>&- &
		pid=$!
		sleep "$(printf '0.%03d' "$ms")"
		kill -9 "$pid" 2> /dev/null || true
		wait "$pid" || true
		run finish "${A[@]}"
		[ "$status" -eq 0 ] || fail "killed after ${ms} ms: $output"
		echo "# killed after ${ms} ms: $output" >&3
	done
}

@test "SIGINT saves a loadable checkpoint and exits 130; --resume completes it" {
	A=(-b 4 -e 150 --save-every 0)
	tr -o straight "${A[@]}" "$T/triplets.mp"
	train -m "$FIX/tiny" -o out "${A[@]}" "$T/triplets.mp" 2> err 3>&- &
	pid=$!
	for i in $(seq 200); do	# until it is training
		sleep 0.02
		[ -e err ] && [ "$i" -gt 10 ] && break
	done
	kill -INT "$pid" 2>/dev/null || true	# it may have finished already
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -eq 0 ]; then	# it finished before the signal came
		cmp straight/model.safetensors out/model.safetensors
		return
	fi
	assert_equal "$rc" 130
	run grep -c '^train: interrupted at step [0-9]* of [0-9]*; out saved (--resume goes on)$' err
	assert_output 1
	[ -s out/trainer_state.safetensors ]
	run -0 --separate-stderr encode -m out "$FIX/encode/tiny.mp"
	run -0 --separate-stderr tr -o out "${A[@]}" --resume "$T/triplets.mp"
	cmp straight/model.safetensors out/model.safetensors
}
