#!/usr/bin/env bats
# train: options, data checks, every loss on the tiny model, checkpoints,
# interruption and --resume, NaN handling, the output directory.
# (Parity of losses, gradients and AdamW with PyTorch: tests/unit/t_train.c)

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export OMP_NUM_THREADS=1	# the tiny model gains nothing from threads
	T="$FIX/train"
}

tr() {
	timeout 60 train -m "$FIX/tiny" "$@"
}

@test "train -h prints the usage to stdout" {
	run -0 --separate-stderr train -h
	assert_line --index 0 --partial 'usage: train -m MODEL_DIR -o OUT_DIR'
	assert_equal "$stderr" ''
}

@test "train: bad command lines exit 64 with a message" {
	while IFS='|' read -r args want; do
		run -64 --separate-stderr tr $args "$T/triplets.mp"
		[[ "${stderr%%$'\n'*}" == "$want"* ]] ||
			fail "train $args: stderr '$stderr', want '$want'"
		[ ! -e out ] || fail "train $args left out/"
	done <<-'EOF'
	-o out --bogus|train: unrecognized option
	|usage: train
	-o out -e 0|train: -e: 0:
	-o out --max-steps 0|train: --max-steps: 0:
	-o out -b x|train: -b: x:
	-o out --loss nope|train: --loss: nope: expected mnrl
	-o out --mini-batch 4|train: --mini-batch: only with --loss cmnrl
	-o out --loss cosine --symmetric|train: --symmetric: only with --loss mnrl or cmnrl
	-o out --triplet-cosine|train: --triplet-cosine: only with --loss triplet
	-o out --warmup 1.5|train: --warmup: 1.5: expected a whole number
	-o out --matryoshka 9,4|train: --matryoshka: 9:
	-o out --matryoshka ,|train: --matryoshka: no dims
	-o out --guide-margin 0.1|train: --guide-margin: only with --loss gist or cgist
	-o out --loss cmnrl --guide .|train: --guide: only with --loss gist or cgist
	-o out --loss gist --guide-margin-strategy odd|train: --guide-margin-strategy: odd: expected absolute or relative
	-o out --loss gist --temperature 0|train: --temperature: 0:
	-o out --loss gist --mini-batch 4|train: --mini-batch: only with --loss cmnrl or cgist
	EOF
}

@test "train: bad data exits 65 naming the record, and writes nothing" {
	mkdir w && cd w
	while IFS='|' read -r file args want; do
		run -65 --separate-stderr tr -o out $args "$T/$file.mp"
		[[ "${stderr%%$'\n'*}" == "train: $T/$file.mp: $want"* ]] ||
			fail "$file: stderr '$stderr', want '$want'"
		[ ! -e out ] || fail "$file: left out/"
		[ -z "$(ls -A)" ] || fail "$file: left $(ls -A)"
	done <<-'EOF'
	othervocab||header: examples tokenized for model "other" (vocab 0123456789abcdef) do not fit model "tiny"
	ragged|--loss triplet|--loss triplet takes (anchor, positive, negative) rows without labels; this data has 2 to 3 texts per row without labels, which fit: mnrl, cmnrl, gist, cgist
	badid||record 4 (byte 164): "texts"[0][1]: not a token id below 50
	long||record 4 (byte 164): "texts"[0]: 17 tokens, the model takes at most 16
	mixedlabel|--loss cosine|record 4 (byte 199): has no "label", unlike record 1
	empty||no training rows
	triplets|--loss cosine|--loss cosine takes (text, text) pairs with a float label; this data has 3 texts per row without labels, which fit: mnrl, cmnrl, triplet, gist, cgist
	pairs|--loss triplet|--loss triplet takes (anchor, positive, negative) rows without labels; this data has 2 texts per row with labels, which fit: cosine, cosent, contrastive
	pairs|--loss mnrl|--loss mnrl takes (anchor, positive[, negatives...]) rows without labels
	EOF
}

@test "train: a missing input or model exits 66" {
	run -66 --separate-stderr tr -o out nonexistent.mp
	assert_equal "${stderr%%:*}" 'train'
	run -66 --separate-stderr timeout 10 train -m nomodel -o out "$T/triplets.mp"
	[ ! -e out ]
}

@test "train refuses to replace what is not a model directory (73)" {
	mkdir keep && echo precious > keep/file && echo x > afile
	run -73 --separate-stderr tr -o keep "$T/triplets.mp"
	assert_equal "$stderr" 'train: keep: exists and is not a model directory; not replacing it'
	run -73 --separate-stderr tr -o afile "$T/triplets.mp"
	assert_equal "$(cat keep/file) $(cat afile)" 'precious x'
}

@test "train writes a model directory and a TSV log (stdin input)" {
	run -0 --separate-stderr tr -o out -b 4 -e 2 --log log.tsv < "$T/triplets.mp"
	for f in config.json model.safetensors vocab.txt modules.json \
	    sentence_bert_config.json 1_Pooling/config.json; do
		[ -s "out/$f" ] || fail "no out/$f"
	done
	[ ! -e out/trainer_state.safetensors ]
	run ! cmp -s out/model.safetensors "$FIX/tiny/model.safetensors"
	assert_equal "$(head -1 log.tsv)" $'step\tloss\tlr\tgrad_norm\texamples_per_s'
	# 24 rows in batches of 4: an epoch is 6 steps
	assert_equal "$(($(wc -l < log.tsv) - 1))" 12
	# warm-up 10%: step 1 runs at lr 0, then the peak 2e-5 decays to 0
	assert_equal "$(awk -F'\t' 'NR==2 {print $1, $3}' log.tsv)" '1 0'
	awk -F'\t' 'NR > 1 && ($2 !~ /^[0-9.e+-]+$/ || $3 > 2e-5 || NF != 5) {exit 1}' log.tsv
}

@test "train: an epoch is rows/batch steps; NO_DUPLICATES' extra batches wait" {
	# of the 24 rows, two pairs share a text: a batch of 24 cannot hold
	# both of a pair, so NO_DUPLICATES plans 2 batches (22 + 2 rows) and
	# the epoch takes the first
	run -0 --separate-stderr tr -o out -b 24 -e 3 --log log.tsv "$T/triplets.mp"
	assert_equal "$(($(wc -l < log.tsv) - 1))" 3
	assert_equal "$stderr" 'train: 6 rows skipped, over all epochs: an epoch is 1 steps (rows/batch, rounded up, as in sentence-transformers) and NO_DUPLICATES made more batches'
	run -0 --separate-stderr tr -o out2 -b 25 -e 3 --log log2.tsv "$T/triplets.mp"
	assert_equal "$(($(wc -l < log2.tsv) - 1))" 3
}

@test "train --max-steps: N steps, the schedule laid over them; never more than the epochs take" {
	run -0 --separate-stderr tr -o a -b 4 -e 3 --max-steps 5 --log a.tsv "$T/triplets.mp"
	assert_equal "$stderr" 'train: --max-steps 5: 5 of the 18 steps of 3 epochs of 24 rows'
	run cut -f1,3 a.tsv	# warm-up 0.1 of 5 steps: 1; then down to 0 at 5
	assert_output "$(printf 'step\tlr\n1\t0\n2\t2e-05\n3\t1.5e-05\n4\t1e-05\n5\t5e-06')"
	tr -o b -b 4 -e 1 --max-steps 5 "$T/triplets.mp"	# the same 5 batches
	cmp a/model.safetensors b/model.safetensors
	run -0 --separate-stderr tr -o c -b 4 --max-steps 7 --log c.tsv "$T/triplets.mp"
	assert_equal "$stderr" ''
	assert_equal "$(wc -l < c.tsv)" 7	# an epoch's 6 steps and the header
	tr -o d -b 4 "$T/triplets.mp"
	cmp c/model.safetensors d/model.safetensors
	# a checkpoint keeps it: a resumed run must give the same
	run -130 --separate-stderr tr -o e -b 4 -e 3 --max-steps 5 --stop-after 2 "$T/triplets.mp"
	run -64 --separate-stderr tr -o e -b 4 -e 3 --max-steps 6 --resume "$T/triplets.mp"
	assert_equal "${stderr##*$'\n'}" 'train: --resume: e: max_steps is 6 here, 5 in the checkpoint'
	run -0 tr -o e -b 4 -e 3 --max-steps 5 --resume "$T/triplets.mp"
	cmp a/model.safetensors e/model.safetensors
}

@test "train: every loss runs on the data that fits it" {
	while IFS='|' read -r file args; do
		rm -rf out
		run -0 --separate-stderr tr -o out -b 4 $args "$T/$file.mp"
		[ -s out/model.safetensors ] || fail "$args: no model"
	done <<-'EOF'
	triplets|--loss mnrl
	triplets|--loss mnrl --symmetric
	triplets|--loss cmnrl --mini-batch 5
	triplets|--loss cmnrl --symmetric
	triplets|--loss triplet
	triplets|--loss triplet --triplet-cosine
	triplets|--loss mnrl --matryoshka 8,4,2
	pairs|--loss cosine
	pairs|--loss cosent
	pairs|--loss cosent --matryoshka 4,8
	pairs01|--loss contrastive
	triplets|--loss gist
	triplets|--loss gist --guide-margin 0.05 --guide-margin-strategy relative --temperature 0.05
	triplets|--loss gist --matryoshka 8,4
	triplets|--loss cgist --mini-batch 5
	EOF
}

@test "train --loss gist: the guide is -m unless --guide; its vocabulary must be the model's" {
	tr -o a -b 4 --loss gist "$T/triplets.mp"
	tr -o b -b 4 --loss gist --guide "$FIX/tiny" "$T/triplets.mp"
	tr -o c -b 4 --loss gist --guide "$FIX/tiny-cls" "$T/triplets.mp"
	tr -o d -b 4 --loss mnrl "$T/triplets.mp"
	cmp a/model.safetensors b/model.safetensors
	run ! cmp -s a/model.safetensors c/model.safetensors
	run ! cmp -s a/model.safetensors d/model.safetensors
	# the model names its loss as sentence-transformers does
	head -c 200 a/model.safetensors | grep -aq '"loss":"GISTEmbedLoss"'
	tr -o e -b 4 --loss cgist "$T/triplets.mp"
	head -c 200 e/model.safetensors | grep -aq '"loss":"CachedGISTEmbedLoss"'
	run -65 --separate-stderr tr -o out --loss gist --guide "$FIX/tiny-mpnet" "$T/triplets.mp"
	assert_equal "$stderr" "train: --guide: $FIX/tiny-mpnet: vocabulary differs from $FIX/tiny; the guide must read the same token ids"
	[ ! -e out ]
	# a guide that takes shorter texts than the data's (10 tokens)
	cp -RL "$FIX/tiny" short
	printf '{"max_seq_length": 8, "do_lower_case": true}\n' > short/sentence_bert_config.json
	run -65 --separate-stderr tr -o out --loss gist --guide short "$T/triplets.mp"
	assert_equal "$stderr" 'train: --guide: short: takes at most 8 tokens; this data has texts of 10'
	[ ! -e out ]
	run -66 --separate-stderr tr -o out --loss cgist --guide noguide "$T/triplets.mp"
	assert_equal "${stderr%%:*}" 'train'
	[ ! -e out ]
}

@test "train --loss gist: interrupted and resumed equals a straight run (the guide stays -m); other guide options refused" {
	tr -o straight -b 4 -e 2 --loss gist --save-every 4 "$T/triplets.mp"
	run -130 --separate-stderr tr -o out -b 4 -e 2 --loss gist --save-every 4 --stop-after 7 "$T/triplets.mp"
	run -64 --separate-stderr tr -o out -b 4 -e 2 --loss gist --guide-margin 0.1 --resume "$T/triplets.mp"
	assert_equal "$stderr" 'train: --resume: out: gist is 0.1 absolute 0.01 here, 0 absolute 0.01 in the checkpoint'
	run -64 --separate-stderr tr -o out -b 4 -e 2 --loss gist --guide "$FIX/tiny-cls" --resume "$T/triplets.mp"
	[[ "$stderr" == "train: --resume: out: guide is "*" here, "*" in the checkpoint" ]] ||
		fail "stderr: $stderr"
	run -0 tr -o out -b 4 -e 2 --loss gist --save-every 4 --resume "$T/triplets.mp"
	cmp straight/model.safetensors out/model.safetensors
}

@test "train: the same seed gives the same bytes, another seed others" {
	tr -o a -b 4 --seed 3 "$T/triplets.mp"
	tr -o b -b 4 --seed 3 "$T/triplets.mp"
	tr -o c -b 4 --seed 4 "$T/triplets.mp"
	cmp a/model.safetensors b/model.safetensors
	! cmp -s a/model.safetensors c/model.safetensors
}

@test "train: interrupted and resumed equals a straight run, byte for byte" {
	tr -o straight -b 4 -e 3 --save-every 4 "$T/triplets.mp"
	run -130 --separate-stderr tr -o out -b 4 -e 3 --save-every 4 --stop-after 9 "$T/triplets.mp"
	assert_equal "$stderr" 'train: interrupted at step 9 of 18; out saved (--resume goes on)'
	[ -s out/trainer_state.safetensors ]
	run -0 tr -o out -b 4 -e 3 --save-every 4 --resume "$T/triplets.mp"
	cmp straight/model.safetensors out/model.safetensors
	[ ! -e out/trainer_state.safetensors ]
}

@test "train: SIGTERM finishes the step, saves, exits 130; --resume completes it" {
	tr -o straight -b 4 -e 150 --save-every 0 "$T/triplets.mp"
	train -m "$FIX/tiny" -o out -b 4 -e 150 --save-every 0 "$T/triplets.mp" 2> err &
	pid=$!
	for i in $(seq 100); do	# until the first steps ran
		sleep 0.02
		[ -e out ] || [ "$i" -gt 10 ] && break
	done
	kill -TERM "$pid" 2>/dev/null || true	# it may have finished already
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -eq 0 ]; then	# finished before the signal came
		cmp straight/model.safetensors out/model.safetensors
		return
	fi
	assert_equal "$rc" 130
	run grep -c 'train: interrupted at step' err
	assert_output 1
	[ -s out/trainer_state.safetensors ]
	run -0 tr -o out -b 4 -e 150 --save-every 0 --resume "$T/triplets.mp"
	cmp straight/model.safetensors out/model.safetensors
}

@test "train --resume refuses other options, other data, or no state" {
	run -130 --separate-stderr tr -o out -b 4 --stop-after 2 "$T/triplets.mp"
	run -64 --separate-stderr tr -o out -b 3 --resume "$T/triplets.mp"
	assert_equal "$stderr" 'train: --resume: out: batch is 3 here, 4 in the checkpoint'
	run -64 --separate-stderr tr -o out -b 4 --lr 1e-4 --resume "$T/triplets.mp"
	assert_equal "$stderr" 'train: --resume: out: lr is 0.0001 here, 2e-05 in the checkpoint'
	run -64 --separate-stderr tr -o out -b 4 --resume "$T/pairs.mp" --loss cosine
	assert_equal "$stderr" 'train: --resume: out: loss is cosine here, mnrl in the checkpoint'
	run -66 --separate-stderr tr -o none -b 4 --resume "$T/triplets.mp"
	assert_equal "$stderr" 'train: --resume: none: no training state to resume from'
}

@test "train: a NaN loss exits 70 and keeps the last checkpoint" {
	run -70 --separate-stderr tr -o out --loss cosine -b 4 --save-every 1 "$T/nanlabel.mp"
	[[ "$stderr" =~ ^train:\ step\ ([0-9]+):\ loss\ is\ nan\;\ kept\ the\ checkpoint\ of\ step\ ([0-9]+)\ in\ out$ ]] ||
		fail "stderr: $stderr"
	assert_equal "${BASH_REMATCH[2]}" $((BASH_REMATCH[1] - 1))
	[ -s out/model.safetensors ] && [ -s out/trainer_state.safetensors ]
	run -70 --separate-stderr tr -o new --loss cosine -b 24 "$T/nanlabel.mp"
	assert_equal "$stderr" 'train: step 1: loss is nan; nothing written'
	[ ! -e new ]
}

@test "train's output loads in sentence-transformers" {
	tr -o out -b 4 "$T/triplets.mp"
	run -0 --separate-stderr "$PY" -c '
import sys, numpy as np
from sentence_transformers import SentenceTransformer
a = SentenceTransformer(sys.argv[1], device="cpu").encode(["the cat sat"])
b = SentenceTransformer(sys.argv[2], device="cpu").encode(["the cat sat"])
assert a.shape == (1, 8), a.shape
assert abs(np.linalg.norm(a) - 1) < 1e-5
print("changed" if np.abs(a - b).max() > 1e-6 else "same")
' out "$FIX/tiny"
	assert_output 'changed'
}

@test "train allocates nothing per step (as many mallocs for 6 steps as for 120)" {
	cat > shim.c <<-'C'
	#define _GNU_SOURCE
	#include <dlfcn.h>
	#include <stdio.h>
	#include <unistd.h>
	static unsigned long n;
	static void *(*real)(size_t);
	void *malloc(size_t s) {
		if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
		n++;
		return real(s);
	}
	__attribute__((destructor)) static void fin(void) {
		char b[64]; int k = snprintf(b, sizeof b, "mallocs %lu\n", n);
		if (write(2, b, (size_t)k) < 0) n = 0;
	}
	C
	${CC:-cc} -shared -fPIC -o shim.so shim.c -ldl
	# on the sanitizer build the shim goes in front of ASan's own malloc
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	LD_PRELOAD=./shim.so tr -o a -b 4 -e 1 --save-every 0 "$T/triplets.mp" 2> a.err
	LD_PRELOAD=./shim.so tr -o b -b 4 -e 20 --save-every 0 "$T/triplets.mp" 2> b.err
	grep -q '^mallocs [0-9]' a.err
	assert_equal "$(grep mallocs b.err)" "$(grep mallocs a.err)"
	# and with the guide's forwards
	LD_PRELOAD=./shim.so tr -o c -b 4 -e 1 --save-every 0 --loss gist "$T/triplets.mp" 2> c.err
	LD_PRELOAD=./shim.so tr -o d -b 4 -e 20 --save-every 0 --loss gist "$T/triplets.mp" 2> d.err
	assert_equal "$(grep mallocs d.err)" "$(grep mallocs c.err)"
}

@test "train --precision bf16: the fp32 loss curve within 3%, an fp32 model, avx512bf16 = the portable kernel" {
	for p in fp32 bf16; do
		EMBTUNE_KERNEL=portable tr -o "$p" -b 4 -e 3 --no-dropout \
		    --precision "$p" --log "$p.tsv" "$T/triplets.mp"
	done
	# 18 steps; bf16 rounding moves each loss a little, never far
	paste fp32.tsv bf16.tsv | awk -F'\t' 'NR > 1 {
		n++; d = ($2 - $7) / $2; if (d < 0) d = -d
		if (d > 0.03) { print "step " $1 ": " $2 " vs " $7; bad = 1 }
	} END { exit bad || n != 18 }'
	run ! cmp -s fp32/model.safetensors bf16/model.safetensors
	# master weights and the saved model stay fp32
	assert_equal "$(head -c 4000 bf16/model.safetensors |
	    grep -ao '"dtype":"[A-Z0-9]*"' | sort -u)" '"dtype":"F32"'
	if bf16hw; then
		EMBTUNE_KERNEL=avx512bf16 tr -o hw -b 4 -e 3 --no-dropout \
		    --precision bf16 "$T/triplets.mp"
		cmp hw/model.safetensors bf16/model.safetensors
	fi
}

@test "train: a tuned MPNet keeps MPNet's tensor names and config, and loads in sentence-transformers" {
	for i in 1 2 3 4 5 6 7 8; do
		printf '{"texts":["the cat sat %d","a cat on the mat","law court %d"]}\n' "$i" "$i"
	done > rows.jsonl
	tokenize -m "$FIX/tiny-mpnet" rows.jsonl > rows.mp
	run -0 --separate-stderr timeout 60 train -m "$FIX/tiny-mpnet" -o out -b 4 --lr 1e-2 rows.mp
	cmp out/config.json "$FIX/tiny-mpnet/config.json"
	echo '{"_id":"q","text":"the cat sat on the mat"}' > q.jsonl
	tokenize -m out q.jsonl | encode -m out > q.mp
	run -0 --separate-stderr "$PY" -c '
import sys, msgpack, numpy as np
from safetensors import safe_open
from sentence_transformers import SentenceTransformer
names = set(safe_open(sys.argv[1] + "/model.safetensors", "pt").keys())
want = set(safe_open(sys.argv[2] + "/model.safetensors", "pt").keys())
assert names == want - {"embeddings.position_ids"}, names ^ want
m = SentenceTransformer(sys.argv[1], device="cpu")
assert type(m[0].auto_model).__name__ == "MPNetModel"
a = m.encode(["the cat sat on the mat"])
b = SentenceTransformer(sys.argv[2], device="cpu").encode(["the cat sat on the mat"])
with open(sys.argv[3], "rb") as f:
    recs = list(msgpack.Unpacker(f, raw=False))
c = np.frombuffer(recs[1]["vec"], dtype="<f4")
assert np.abs(a[0] - c).max() < 1e-5, np.abs(a[0] - c).max()
print("changed" if np.abs(a - b).max() > 1e-4 else "same")
' out "$FIX/tiny-mpnet" q.mp
	assert_output 'changed'
}

@test "train: prompted examples pool without the prompt's ids; the output keeps the prompts and include_prompt" {
	for i in 1 2 3 4 5 6 7 8; do
		printf '{"texts":["the cat sat %d","a cat on the mat","law court %d"]}\n' "$i" "$i"
	done > rows.jsonl
	tokenize -m "$FIX/tiny-prompt" rows.jsonl > rows.mp
	show < rows.mp | head -1 | grep -q '"prompt_len":6'
	run -0 --separate-stderr timeout 60 train -m "$FIX/tiny-prompt" -o out -b 4 --lr 1e-2 rows.mp
	cmp out/config_sentence_transformers.json "$FIX/tiny-prompt/config_sentence_transformers.json"
	grep -q '"include_prompt": false' out/1_Pooling/config.json
	echo '{"_id":"q","text":"the cat sat on the mat"}' > q.jsonl
	tokenize -m out q.jsonl | encode -m out > q.mp
	run -0 --separate-stderr "$PY" -c '
import sys, msgpack, numpy as np
from sentence_transformers import SentenceTransformer
a = SentenceTransformer(sys.argv[1], device="cpu").encode(["the cat sat on the mat"])
with open(sys.argv[2], "rb") as f:
    c = np.frombuffer(list(msgpack.Unpacker(f, raw=False))[1]["vec"], dtype="<f4")
print("equal" if np.abs(a[0] - c).max() < 1e-5 else np.abs(a[0] - c).max())
' out q.mp
	assert_output 'equal'
}

@test "train: each column leaves its own prompt out of the pooling (include_prompt false): the loss of encode's vectors" {
	P="$FIX/tiny-prompt"
	D="$FIX/mine/beir"
	tokenize -m "$P" -n 16 --prompt query "$D/queries.jsonl" > q.tok
	tokenize -m "$P" -n 16 --prompt passage "$D/corpus.jsonl" > c.tok
	encode -m "$P" q.tok > q.emb
	encode -m "$P" c.tok > c.emb
	# mine-negatives carries the prompts' lengths: the queries', the documents'
	topk -k 10 -c c.emb q.emb > run
	mine-negatives -q "$D/qrels/train.tsv" -Q q.tok -C c.tok -n 1 --range-max 8 run \
	    2> /dev/null > mined.mp
	assert_equal "$(show mined.mp | head -1 | jq -c .prompt_len)" '[6,2]'
	# four rows of distinct texts (one batch, NO_DUPLICATES keeps them all),
	# and the MNRL loss (scale 20) of encode's vectors for them
	run -0 "$PY" - "$TOP/tests" <<-'PY'
	import sys; sys.path.insert(0, sys.argv[1])
	from mnrl import load, mnrl, vectors, write_examples
	(qh, qs), (ch, cs) = load("q.tok"), load("c.tok")
	rows = [(qs[i], cs[2 * i], cs[2 * i + 1]) for i in range(4)]
	write_examples("rows.mp", qh, rows,
	    prompt_len=[qh["prompt_len"], ch["prompt_len"]])
	print("%.9f" % mnrl(rows, vectors("q.emb"), vectors("c.emb")))
	PY
	want=$output
	timeout 60 train -m "$P" -o out --no-dropout -b 4 -e 1 --lr 1e-9 --log log.tsv rows.mp 2> /dev/null
	got=$(awk -F'\t' 'NR == 2 { print $2 }' log.tsv)
	awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; exit !(d < 1e-5 && d > -1e-5) }' ||
		fail "train's first loss $got, the loss of encode's vectors $want"
	# the same rows without the prompts' lengths pool the prompts too: another loss
	"$PY" -c 'import msgpack,sys; u=msgpack.Unpacker(open("rows.mp","rb"),raw=False); h=next(u); del h["prompt_len"]; sys.stdout.buffer.write(msgpack.packb(h)+b"".join(msgpack.packb(r) for r in u))' > plain.mp
	timeout 60 train -m "$P" -o out2 --no-dropout -b 4 -e 1 --lr 1e-9 --log log2.tsv plain.mp 2> /dev/null
	got2=$(awk -F'\t' 'NR == 2 { print $2 }' log2.tsv)
	awk -v g="$got2" -v w="$want" 'BEGIN { d = g - w; exit !(d > 1e-4 || d < -1e-4) }' ||
		fail "without prompt_len the loss $got2 should differ from $want"
}

@test "train: rows of two widths (mine-negatives --keep-pairs) train one width a batch; each batch's loss is MNRL of encode's vectors" {
	D="$FIX/mine/beir"
	tokenize -m "$FIX/tiny" -n 16 "$D/queries.jsonl" > q.tok
	tokenize -m "$FIX/tiny" -n 16 "$D/corpus.jsonl" > c.tok
	encode -m "$FIX/tiny" q.tok > q.emb
	encode -m "$FIX/tiny" c.tok > c.emb
	# 4 triplets and 4 pairs of distinct texts, and the MNRL loss (scale
	# 20) of encode's vectors for each group
	run -0 "$PY" - "$TOP/tests" <<-'PY'
	import sys; sys.path.insert(0, sys.argv[1])
	from mnrl import load, mnrl, vectors, write_examples
	(qh, qs), (_, cs) = load("q.tok"), load("c.tok")
	trip = [(qs[i], cs[2 * i], cs[2 * i + 1]) for i in range(4)]
	pairs = [(qs[4 + i], cs[8 + i]) for i in range(4)]
	write_examples("rows.mp", qh, [trip[0], pairs[0], pairs[1], trip[1],
	    trip[2], pairs[2], trip[3], pairs[3]])
	vq, vc = vectors("q.emb"), vectors("c.emb")
	print("%.9f\n%.9f" % tuple(sorted([mnrl(trip, vq, vc), mnrl(pairs, vq, vc)])))
	PY
	want=$output
	run -0 --separate-stderr timeout 60 train -m "$FIX/tiny" -o out --no-dropout -b 4 -e 1 \
	    --lr 1e-9 --log log.tsv rows.mp
	# one batch of each width: two steps, each the loss of one group
	assert_equal "$(sed 1d log.tsv | wc -l)" 2
	got=$(awk -F'\t' 'NR > 1 { print $2 }' log.tsv | sort -g)
	paste <(echo "$got") <(echo "$want") | awk -F'\t' '{ d = $1 - $2;
	    if (d > 1e-5 || d < -1e-5) { print "loss " $1 ", want " $2; bad = 1 } }
	    END { exit bad }'
	# mine-negatives --keep-pairs output trains as it is, in both precisions
	topk -k 10 -c c.emb q.emb > run
	mine-negatives -q "$D/qrels/train.tsv" -Q q.tok -C c.tok -n 1 --range-max 8 \
	    --max-score 0.9 --keep-pairs run 2> mine.err > kept.mp
	grep -q 'kept as (query, positive) rows' mine.err
	assert_equal "$(show kept.mp | sed 1d | jq '.texts | length' | sort -u | paste -sd ' ')" '2 3'
	# an epoch: ceil(8/6) steps of pairs + ceil(8/6) of triplets, not ceil(16/6)
	run -0 --separate-stderr timeout 60 train -m "$FIX/tiny" -o out2 -b 6 -e 1 \
	    --log kept.tsv kept.mp
	assert_equal "$(sed 1d kept.tsv | wc -l)" 4
	run -0 --separate-stderr timeout 60 train -m "$FIX/tiny" -o out3 -b 4 -e 1 --loss cgist kept.mp
	run -65 --separate-stderr timeout 60 train -m "$FIX/tiny" -o out4 --loss triplet kept.mp
	[[ "$stderr" == *"this data has 2 to 3 texts per row without labels, which fit: mnrl, cmnrl, gist, cgist"* ]]
}
