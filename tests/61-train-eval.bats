#!/usr/bin/env bats
# train --eval-*: NDCG@10 on an evaluation set before training, every N
# steps and at the end, as encode | topk | score compute it; the best step's
# weights are the output.  Tiny model, fixtures/eval (random word texts in
# its vocabulary; fixtures/gen/gen_eval.py).  The learning rates below put
# the best step in the middle (1e-3), at the end (1e-2) or at the base
# model (5e-2) on these 18 steps.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export OMP_NUM_THREADS=1
	T="$FIX/train"
	E="$FIX/eval"
	tokenize -m "$FIX/tiny" "$E/queries.jsonl" > q.tok
	tokenize -m "$FIX/tiny" "$E/corpus.jsonl" > c.tok
	EV=(--eval-queries q.tok --eval-corpus c.tok --eval-qrels "$E/qrels.tsv")
}

tr() {
	timeout 60 train -m "$FIX/tiny" -b 4 -e 3 "$@" "$T/triplets.mp"
}

# ndcg MODEL [SCORE_OPTS...]: NDCG@10 of MODEL on the set by the pipeline
ndcg() {
	local m=$1
	shift
	encode -m "$m" q.tok > q.emb
	encode -m "$m" c.tok > c.emb
	topk -k 1000 -c c.emb q.emb | score -q "$E/qrels.tsv" -j -m ndcg \
	    -k 10 "$@" | sed -n 's/.*"ndcg@10": \(.*\)/\1/p'
}

close() {	# close A B: |A - B| <= 1e-6
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d
	    if (d > 1e-6) { print a " vs " b; exit 1 } }'
}

# the best figure and its first step in a log's ndcg@10 column
best_of() {
	awk -F'\t' 'NR > 1 && $6 != "" && (b == "" || $6 > b) { b = $6; s = $1 }
	    END { print b, s }' "$1"
}

@test "train --eval-*: the step-0 figure is encode | topk | score's, fp32 and bf16" {
	for p in fp32 bf16; do
		# bf16 without bf16 hardware: the portable kernel, by name
		[ $p = fp32 ] || bf16hw ||
		    export EMBTUNE_KERNEL=portable
		run -0 --separate-stderr tr -o "$p" --precision "$p" "${EV[@]}" \
		    --log "$p.tsv"
		v=$(awk -F'\t' 'NR == 2 { print $6 }' "$p.tsv")
		encode --precision "$p" -m "$FIX/tiny" q.tok > q.emb
		encode --precision "$p" -m "$FIX/tiny" c.tok > c.emb
		want=$(topk --precision "$p" -c c.emb q.emb |
		    score -q "$E/qrels.tsv" -j -m ndcg -k 10 |
		    sed -n 's/.*"ndcg@10": \(.*\)/\1/p')
		close "$v" "$want"
		assert_regex "${stderr_lines[0]}" "^train: eval at step 0/18: ndcg@10 0\.[0-9]{4} \(best 0\.[0-9]{4} at step 0\), [0-9.]+ s$"
	done
}

@test "train --eval-*: the log's ndcg@10 column, once per epoch by default and at the end; plot-loss.sh still draws it" {
	run -0 --separate-stderr tr -o out "${EV[@]}" --log log.tsv
	assert_equal "$(head -1 log.tsv)" "$(printf 'step\tloss\tlr\tgrad_norm\texamples_per_s\tndcg@10')"
	# a row for the base model (no loss), then one per step; the figure
	# at steps 0, 6, 12, 18 (an epoch is 6 steps)
	assert_equal "$(awk -F'\t' 'NR > 1 && $6 != "" { printf "%s,", $1 }' log.tsv)" "0,6,12,18,"
	assert_equal "$(awk -F'\t' 'NR > 1 && $2 == "" { printf "%s,", $1 }' log.tsv)" "0,"
	assert_equal "$(awk -F'\t' '{ print NF }' log.tsv | sort -u)" 6
	assert_equal "$(grep -c '^train: eval at step' <<< "$stderr")" 4
	run -0 --separate-stderr tr -o out "${EV[@]}" --eval-every 5 --log log5.tsv
	assert_equal "$(awk -F'\t' 'NR > 1 && $6 != "" { printf "%s,", $1 }' log5.tsv)" "0,5,10,15,18,"
	# the training rows are those of a run without evaluation, and
	# plot-loss.sh draws the same curve from both logs
	tr -o plain --log plain.tsv
	diff <(cut -f1-4 plain.tsv) <(sed 2d log5.tsv | cut -f1-4)
	"$TOP/pipelines/plot-loss.sh" log5.tsv loss.png
	"$TOP/pipelines/plot-loss.sh" plain.tsv plain.png
	[ -s loss.png ]
	cmp loss.png plain.png
}

@test "train --eval-*: the output is the best step's model, and says so" {
	run -0 --separate-stderr tr -o out --lr 1e-3 --eval-every 2 "${EV[@]}" --log log.tsv
	read -r b s < <(best_of log.tsv)
	# a step inside the run, neither the base model nor the last
	[ "$s" -gt 0 ] && [ "$s" -lt 18 ] || fail "best at step $s"
	assert_equal "${stderr_lines[-1]}" "train: best eval ndcg@10 $(printf '%.4f' "$b") at step $s; out is that model"
	close "$(ndcg out)" "$b"
	# the run whose best is its last step writes what a run without
	# evaluation writes: evaluating leaves training alone
	run -0 --separate-stderr tr -o last --lr 1e-2 --eval-every 2 "${EV[@]}" --log last.tsv
	read -r b s < <(best_of last.tsv)
	assert_equal "$s" 18
	tr -o plain --lr 1e-2
	cmp plain/model.safetensors last/model.safetensors
}

@test "train --eval-*: a base model better than every step is kept as the output" {
	run -0 --separate-stderr tr -o out --lr 5e-2 --eval-every 2 "${EV[@]}" --log log.tsv
	read -r b s < <(best_of log.tsv)
	assert_equal "$s" 0
	assert_equal "${stderr_lines[-1]}" "train: best eval ndcg@10 $(printf '%.4f' "$b") at step 0; out is that model"
	# the base weights, written as train writes any model
	diff <(encode -m out c.tok | show | sed 1d) \
	    <(encode -m "$FIX/tiny" c.tok | show | sed 1d)
	[ -s out/modules.json ] && [ ! -e out/trainer_state.safetensors ]
	# a tie keeps the earlier step: at lr 0 every step ties the base
	run -0 --separate-stderr tr -o zero --lr 0 --eval-every 1 "${EV[@]}"
	assert_equal "${stderr_lines[-1]}" "train: best eval ndcg@10 $(printf '%.4f' "$b") at step 0; zero is that model"
}

@test "train --eval-judged-only --eval-level: score -J -l's figure" {
	for l in 1 2; do
		run -0 --separate-stderr tr -o out -e 1 "${EV[@]}" \
		    --eval-judged-only --eval-level "$l" --log log.tsv
		v=$(awk -F'\t' 'NR == 2 { print $6 }' log.tsv)
		close "$v" "$(ndcg "$FIX/tiny" -J -l "$l")"
		# not the full-corpus figure
		run ! close "$v" "$(ndcg "$FIX/tiny" -l "$l")"
	done
}

@test "train --eval-*: interrupted and resumed keeps the best so far (same model, same figures)" {
	local o=(--lr 1e-3 --save-every 4)
	EV+=(--eval-every 2)
	run -0 --separate-stderr tr -o straight "${o[@]}" "${EV[@]}" --log straight.tsv
	# stopped at step 7: the best (step 2) is behind, in the state
	run -130 --separate-stderr tr -o out "${o[@]}" "${EV[@]}" --log out.tsv --stop-after 7
	run -0 --separate-stderr tr -o out "${o[@]}" "${EV[@]}" --log out.tsv --resume
	assert_equal "${stderr_lines[-1]}" "train: best eval ndcg@10 $(printf '%.4f' "$(best_of straight.tsv | cut -d' ' -f1)") at step $(best_of straight.tsv | cut -d' ' -f2); out is that model"
	cmp straight/model.safetensors out/model.safetensors
	diff <(cut -f1,2,6 straight.tsv) <(cut -f1,2,6 out.tsv)
	# the evaluation is part of what a resumed run must share
	run -130 --separate-stderr tr -o two "${o[@]}" "${EV[@]}" --stop-after 3
	run -64 --separate-stderr tr -o two "${o[@]}" --resume
	assert_equal "$stderr" "train: --resume: two: eval is unset here, every 2 level 1 judged-only 0 in the checkpoint"
	run -64 --separate-stderr tr -o two "${o[@]}" "${EV[@]}" --eval-every 3 --resume
	assert_equal "$stderr" "train: --resume: two: eval is every 3 level 1 judged-only 0 here, every 2 level 1 judged-only 0 in the checkpoint"
}

@test "train --loss gist --eval-* --max-steps: a checkpoint holds every kept option; resumed equals straight" {
	local o=(--loss gist --lr 1e-3 --save-every 4 --max-steps 10)
	EV+=(--eval-every 2)
	run -0 --separate-stderr tr -o straight "${o[@]}" "${EV[@]}"
	run -130 --separate-stderr tr -o out "${o[@]}" "${EV[@]}" --stop-after 7
	run -0 --separate-stderr tr -o out "${o[@]}" "${EV[@]}" --resume
	cmp straight/model.safetensors out/model.safetensors
	run -130 --separate-stderr tr -o two "${o[@]}" "${EV[@]}" --stop-after 3
	run -64 --separate-stderr tr -o two "${o[@]}" "${EV[@]}" --guide-margin 0.1 --resume
	assert_equal "${stderr##*$'\n'}" "train: --resume: two: gist is 0.1 absolute 0.01 here, 0 absolute 0.01 in the checkpoint"
}

@test "train --eval-*: bad options and input give a clear message and write nothing" {
	mkdir w && cd w
	tokenize -m "$MODEL" "$E/queries.jsonl" > other.tok
	printf 'query-id\tcorpus-id\tscore\nq0\td01\t1\nq9\td02\t1\n' > absent.tsv
	printf 'query-id\tcorpus-id\tscore\nq0\td01\t0\n' > none.tsv
	while IFS='|' read -r st args want; do
		run -"$st" --separate-stderr timeout 60 train -m "$FIX/tiny" \
		    -o out $args "$T/triplets.mp"
		[[ "${stderr%%$'\n'*}" == "$want"* ]] ||
			fail "$args: stderr '$stderr', want '$want'"
		[ -z "$(ls -A | grep -v '\.t\(ok\|sv\)$')" ] ||
			fail "$args: left $(ls -A)"
	done <<-EOF
	64|--eval-queries ../q.tok --eval-corpus ../c.tok|train: --eval-*: --eval-queries, --eval-corpus and --eval-qrels go together
	64|--eval-every 2|train: --eval-*: --eval-queries, --eval-corpus and --eval-qrels go together
	64|--eval-queries ../q.tok --eval-corpus ../c.tok --eval-qrels $E/qrels.tsv --eval-every 0|train: --eval-every: 0:
	66|--eval-queries ../q.tok --eval-corpus ../c.tok --eval-qrels nope.tsv|train: nope.tsv:
	66|--eval-queries nope.tok --eval-corpus ../c.tok --eval-qrels $E/qrels.tsv|train: nope.tok:
	65|--eval-queries ../q.tok --eval-corpus ../c.tok --eval-qrels absent.tsv|train: absent.tsv: query "q9" is not in ../q.tok
	65|--eval-queries ../q.tok --eval-corpus ../c.tok --eval-qrels none.tsv|train: none.tsv: no query has a document with relevance >= 1
	65|--eval-queries other.tok --eval-corpus ../c.tok --eval-qrels $E/qrels.tsv|train: other.tok: tokens of model "all-MiniLM-L6-v2" (vocab
	65|--eval-queries ../q.tok --eval-corpus other.tok --eval-qrels $E/qrels.tsv|train: other.tok: tokens of model "all-MiniLM-L6-v2" (vocab
	65|--eval-queries ../q.tok --eval-corpus ../q.tok --eval-qrels $E/qrels.tsv --eval-level 3|train: $E/qrels.tsv: no query has a document with relevance >= 3
	EOF
}

@test "train: every --eval option of the usage is in the man page" {
	for o in $(train -h | grep -o -- '--eval-[a-z-]*' | sort -u); do
		grep -Eq "^\.It Fl Fl ${o#--}( |$)" "$TOP/man/train.1" ||
			fail "$o missing from man/train.1"
	done
}
