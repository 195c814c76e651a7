#!/usr/bin/env bats
# pipelines/beir.mk end to end on a tiny BEIR set with the tiny model:
# every stage runs, a re-run does nothing, changed options redo only their
# stages, test queries never reach training, a failing stage leaves nothing.
load helper

D="$FIX/mine/beir"

beir() {
	make --no-print-directory -f "$TOP/pipelines/beir.mk" DATA="$D" \
	    MODEL="$FIX/tiny" OUT="$BATS_TEST_TMPDIR/out" MAX_LEN=16 K=10 \
	    RECIPE=fixed MINE_OPTS="-n 2 --range-max 8" \
	    TRAIN_OPTS="--loss mnrl -e 1 -b 4 --lr 1e-3 --seed 1" "$@"
}

teardown() {	# a make left running by a failed test
	[ -z "${pgid:-}" ] || kill -TERM -- -"$pgid" 2>/dev/null || true
}

@test "beir.mk runs every stage and writes the summary, the comparison and the loss curve" {
	O=$BATS_TEST_TMPDIR/out
	run -0 beir
	for f in corpus.tok queries.tok base/corpus.emb base/run base/score.txt \
	    train.mp mine.txt model/model.safetensors train-log.tsv tuned/run \
	    tuned/score.txt compare.txt summary.md loss.png; do
		[ -s "$O/$f" ] || { echo "$f missing"; return 1; }
	done
	assert_equal "$(head -c 8 "$O/loss.png" | od -An -tx1 | tr -d ' ')" 89504e470d0a1a0a
	run grep -c '^| ndcg@10 | [0-9.]* | [0-9.]* | [-+][0-9.]* | [0-9.]* | \[' "$O/summary.md"
	assert_output 1
	refute [ -e "$O/compare-J1.txt" ]
	run grep -c 'score -J' "$O/summary.md"
	assert_output 0
	grep -q '^Training set: 8 queries with positives' "$O/summary.md"
	grep -q '^ndcg@10 ' "$O/compare.txt"
	# nothing is left half-written
	run find "$O" -name '*.tmp'
	assert_output ''
}

@test "beir.mk -s: one line per stage, saying what, how many and how long" {
	O=$BATS_TEST_TMPDIR/out
	run -0 --separate-stderr beir -s "$O/compare.txt"
	assert_output ''
	sec=' +[0-9]+\.[0-9] s$'
	want=(
	    "^tokenize: corpus, 24 texts$sec" "^tokenize: queries, 12 texts$sec"
	    "^encode: corpus, base model, 24 texts$sec"
	    "^encode: queries, base model, 12 texts$sec"
	    "^topk: base model, top 10 of 24 for 12 queries$sec"
	    "^mine-negatives: 8 queries with positives .*, [0-9]+ rows$sec"
	    "^train: [0-9]+ rows -> $O/model$sec"
	    "^encode: corpus, tuned model, 24 texts$sec"
	    "^topk: tuned model, top 10 of 24 for 12 queries$sec"
	    "^score --compare: base vs tuned, whole corpus$sec")
	for re in "${want[@]}"; do
		grep -Eq "$re" <<< "$stderr" || { echo "no line matches $re"; echo "$stderr"; return 1; }
	done
	# nothing but stage lines
	run grep -Evc "$sec" <<< "$stderr"
	assert_output 0
}

@test "beir.mk: train interrupted by Ctrl-C leaves a checkpoint that does not pass for the tuned model" {
	O=$BATS_TEST_TMPDIR/out
	beir "$O/train.mp" > /dev/null 2>&1
	# (MAX_STEPS empty: a training longer than the test)
	long="--loss mnrl -e 100000 -b 4 --lr 1e-4 --seed 1 --save-every 1"
	# make in its own process group, SIGINT not ignored (a background job's
	# would be): the group a terminal's Ctrl-C reaches
	"$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setpgid(0, 0)
os.execvp(sys.argv[1], sys.argv[1:])' make --no-print-directory \
	    -f "$TOP/pipelines/beir.mk" DATA="$D" MODEL="$FIX/tiny" OUT="$O" \
	    MAX_LEN=16 K=10 RECIPE=fixed MINE_OPTS="-n 2 --range-max 8" TRAIN_OPTS="$long" \
	    MAX_STEPS= "$O/model/model.safetensors" > "$BATS_TEST_TMPDIR/log" 2>&1 &
	pgid=$!
	# Ctrl-C once a few steps have been checkpointed (--save-every 1)
	for i in $(seq 300); do
		[ "$(wc -l < "$O/train-log.tsv" 2>/dev/null || echo 0)" -gt 3 ] && break
		sleep 0.1
	done
	kill -INT -- -"$pgid"
	st=0
	wait "$pgid" || st=$?
	pgid=
	cat "$BATS_TEST_TMPDIR/log"
	[ "$st" -ne 0 ]
	# train caught it and saved a checkpoint ...
	grep -q '^train: interrupted at step [0-9]* of [0-9]*; .* saved (--resume goes on)$' "$BATS_TEST_TMPDIR/log"
	# ... that is not the tuned model: a re-run with the same options trains
	# again (stopped by timeout's SIGTERM once it has begun)
	[ ! -e "$O/model/model.safetensors" ]
	run timeout -s TERM 3 make --no-print-directory -f "$TOP/pipelines/beir.mk" \
	    DATA="$D" MODEL="$FIX/tiny" OUT="$O" MAX_LEN=16 K=10 RECIPE=fixed \
	    MINE_OPTS="-n 2 --range-max 8" TRAIN_OPTS="$long" MAX_STEPS= \
	    "$O/model/model.safetensors"
	assert_output --partial 'bin/train '
	[ ! -e "$O/model/model.safetensors" ]
	# it is in model.part, where train --resume can go on from it
	[ -e "$O/model.part/trainer_state.safetensors" ]
	# a re-run trains (here for one epoch) and leaves no checkpoint beside
	run -0 beir
	assert_output --partial 'bin/train '
	[ -s "$O/model/model.safetensors" ] && [ ! -e "$O/model.part" ]
	[ ! -e "$O/model/trainer_state.safetensors" ]
}

@test "beir.mk: with explicit non-relevant judgments the summary shows the judged-only figures too, and says so" {
	O=$BATS_TEST_TMPDIR/out
	J=$BATS_TEST_TMPDIR/j
	mkdir -p "$J/qrels"
	cp "$D/corpus.jsonl" "$D/queries.jsonl" "$J/"
	cp "$D/qrels/train.tsv" "$J/qrels/"
	{ cat "$D/qrels/test.tsv"; printf 'q08\td01\t0\nq09\td03\t0\n'; } > "$J/qrels/test.tsv"
	run -0 beir DATA="$J"
	[ -s "$O/compare-J1.txt" ]
	grep -q '^Judged documents only (score -J' "$O/summary.md"
	grep -q '^Whole corpus' "$O/summary.md"
	run grep -c '^| ndcg@10 | [0-9.]* | [0-9.]* | [-+][0-9.]* | [0-9.]* | \[' "$O/summary.md"
	assert_output 2
	grep -q '^| rcap@5 |' "$O/summary.md"
}

@test "beir.mk: a re-run does nothing; new train options redo training, not the base model" {
	O=$BATS_TEST_TMPDIR/out
	beir > /dev/null 2>&1
	run -0 beir
	refute_output --partial 'bin/'
	cp -p "$O/base/corpus.emb" "$BATS_TEST_TMPDIR/base.emb"
	run -0 beir TRAIN_OPTS="--loss mnrl -e 2 -b 4 --lr 1e-3 --seed 1"
	assert_output --partial 'bin/train '
	assert_output --partial 'bin/encode  -m '"$O"'/model'
	refute_output --partial "> $O/base/"
	refute_output --partial "> $O/corpus.tok"
	refute_output --partial 'bin/mine-negatives'
	[ "$O/base/corpus.emb" -ot "$O/model/model.safetensors" ]
	cmp "$O/base/corpus.emb" "$BATS_TEST_TMPDIR/base.emb"
}

@test "beir.mk: MINE_LEVEL sets the positives of mining; scores keep LEVEL" {
	O=$BATS_TEST_TMPDIR/out
	beir > /dev/null 2>&1
	run -0 beir MINE_LEVEL=2
	assert_output --partial 'bin/mine-negatives --skip-missing -q '"$D"'/qrels/train.tsv'
	assert_output --partial ' -l 2 -n 2 '
	assert_output --partial 'bin/train '
	refute_output --partial "> $O/base/"
	refute_output --partial 'bin/score -q '"$D"'/qrels/test.tsv -l 2'
	grep -q '^mine-negatives: [0-9]* queries with positives (relevance >= 2;' "$O/mine.txt"
	grep -q '^Test split, relevant = relevance >= 1;' "$O/summary.md"
}

@test "beir.mk: only train queries reach the training examples" {
	O=$BATS_TEST_TMPDIR/out
	beir "$O/train.mp" > /dev/null 2>&1
	# token ids of every query, by id
	show -H "$O/queries.tok" | jq -c '{(.id): .ids}' | jq -s add > "$BATS_TEST_TMPDIR/q.json"
	run -0 bash -c "show -H '$O/train.mp' | jq -c '.texts[0]' | sort -u"
	train_ids=$(cut -f1 "$D/qrels/train.tsv" | grep -v query-id | sort -u |
	    jq -R . | jq -s . )
	want=$(jq -c --argjson t "$train_ids" '[to_entries[] | select(.key as $k | $t | index($k)) | .value] | .[]' \
	    "$BATS_TEST_TMPDIR/q.json" | sort -u)
	for a in "${lines[@]}"; do
		grep -qxF "$a" <<< "$want" || { echo "anchor $a is not a train query"; return 1; }
	done
	[ "${#lines[@]}" -gt 0 ]
}

@test "beir.mk: a failing stage fails the pipeline and leaves no target behind" {
	O=$BATS_TEST_TMPDIR/out
	mkdir -p "$BATS_TEST_TMPDIR/bad/qrels"
	cp "$D/corpus.jsonl" "$D/queries.jsonl" "$D/qrels/test.tsv" "$BATS_TEST_TMPDIR/bad/"
	mv "$BATS_TEST_TMPDIR/bad/test.tsv" "$BATS_TEST_TMPDIR/bad/qrels/"
	printf 'q00\tnope\t1\n' > "$BATS_TEST_TMPDIR/bad/qrels/train.tsv"
	run -2 make --no-print-directory -f "$TOP/pipelines/beir.mk" \
	    DATA="$BATS_TEST_TMPDIR/bad" MODEL="$FIX/tiny" OUT="$O" MAX_LEN=16 K=10 \
	    RECIPE=fixed MINE_OPTS="-n 2 --range-max 8"
	# the one judgment names a document the corpus lacks: no row to train on
	grep -qx "mine-negatives: --skip-missing: left out 1 positives not in $O/corpus.tok and 0 queries not in $O/queries.tok" "$O/mine.txt"
	assert_output --partial "train: $O/train.mp: no training rows"
	[ -s "$O/base/run" ]
	[ ! -e "$O/model" ] && [ ! -e "$O/model.part" ]
	run find "$O" -name '*.tmp'
	assert_output ''
}

# RECIPE=auto (the default, not named) on the tiny set: 3 folds of its 8
# train queries, two cheap candidates
auto() {
	make --no-print-directory -f "$TOP/pipelines/beir.mk" DATA="$D" \
	    MODEL="$FIX/tiny" OUT="$BATS_TEST_TMPDIR/out" MAX_LEN=16 K=10 \
	    FOLDS=3 CANDIDATES="pairs mined" \
	    MINE_mined="-n 2 --range-max 8 --per-positive-margin" "$@"
}

@test "beir.mk RECIPE=auto: folds by query, held-out runs re-rank the base top K, the CV winner is trained on all train queries" {
	O=$BATS_TEST_TMPDIR/out
	run -0 --separate-stderr auto CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	# progress on stderr: which recipe, which fold
	for r in pairs mined; do
		for f in 1 2 3; do
			grep -qx "beir.mk: cv: recipe $r, fold $f of 3: training" <<< "$stderr" ||
				{ echo "no progress line for $r fold $f"; return 1; }
		done
	done
	# every train query in exactly one fold, no test query in any
	cut -f1 "$D/qrels/train.tsv" | grep -v query-id | sort -u > "$BATS_TEST_TMPDIR/trq"
	run -0 bash -c "cut -f1 '$O/cv/folds.tsv' | sort"
	assert_output "$(cat "$BATS_TEST_TMPDIR/trq")"
	assert_equal "$(cut -f2 "$O/cv/folds.tsv" | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" '3 3 2 '
	for f in 1 2 3; do
		# a fold mines from the other folds' judgments only
		run -0 bash -c "cut -f1 '$O/cv/f$f/train.tsv' | sort -u | comm -12 - <(cut -f1 '$O/cv/f$f/held.tsv' | sort -u)"
		assert_output ''
		# its runs hold only (query, document) pairs of the base top K
		for r in pairs mined; do
			run -0 bash -c "awk 'NR == FNR { t[\$1 \" \" \$2]; next } !((\$1 \" \" \$3) in t)' '$O/cv/f$f/top.tsv' '$O/cv/$r/f$f/run.trec'"
			assert_output ''
			[ -s "$O/cv/$r/f$f/run.trec" ]
		done
		# the fold encodes only the documents of its queries' base top K
		assert_equal "$(show -H "$O/cv/pairs/f$f/corpus.emb" | wc -l)" \
		    "$(cut -f2 "$O/cv/f$f/top.tsv" | sort -u | wc -l)"
		# ... at CV_PRECISION (default auto)
		encode --precision auto -m "$O/cv/pairs/f$f/model" "$O/cv/f$f/corpus.tok" \
		    2>/dev/null > "$BATS_TEST_TMPDIR/fold.emb"
		cmp "$BATS_TEST_TMPDIR/fold.emb" "$O/cv/pairs/f$f/corpus.emb"
	done
	assert_equal "$(sed -n 5p "$O/cv/pairs/.opts")" '--precision auto'
	grep -q '^The folds trained and encoded with `--precision auto`' "$O/summary.md"
	run -1 bash -c "cut -f1 '$O/cv/folds.tsv' '$O'/cv/f*/train.tsv '$O'/cv/f*/held.tsv |
	    grep -xFf <(cut -f1 '$D/qrels/test.tsv' | grep -v query-id)"
	assert_output ''
	# the winner: the best NDCG@10 among the recipes above the base model
	w=$(awk -F'\t' '$4 + 0 > 0 && (b == "" || $3 + 0 > b) { w = $1; b = $3 + 0 } END { print w }' "$O/cv/table.tsv")
	[ -n "$w" ]
	assert_equal "$(head -1 "$O/cv/winner")" "$w"
	grep -q "^\*\*Winner: \`$w\`\*\*" "$O/summary.md"
	grep -q '^## Recipe chosen by cross-validation (RECIPE=auto)$' "$O/summary.md"
	assert_equal "$(grep -c '^| \(pairs\|mined\) | `-l 1 -n ' "$O/summary.md")" 2
	grep -q '^| ndcg@10 | ' "$O/summary.md"
	# ... trained on all train queries with its own options, in fp32
	assert_equal "$(wc -l < "$O/cv/winner")" 4
	encode -m "$O/model" "$O/corpus.tok" > "$BATS_TEST_TMPDIR/tuned.emb"
	cmp "$BATS_TEST_TMPDIR/tuned.emb" "$O/tuned/corpus.emb"
	read -ra mo <<< "$(sed -n 2p "$O/cv/winner")"
	mine-negatives -q "$D/qrels/train.tsv" -Q "$O/queries.tok" -C "$O/corpus.tok" \
	    "${mo[@]}" "$O/base/run" 2>/dev/null > "$BATS_TEST_TMPDIR/want.mp"
	cmp "$BATS_TEST_TMPDIR/want.mp" "$O/train.mp"
	run -0 bash -c "show -H '$O/train.mp' | jq -c '.texts[0]' | sort -u | wc -l"
	assert_output 8
	[ "$(wc -l < "$O/train-log.tsv")" -gt 1 ]
	run ! cmp -s "$O/base/corpus.emb" "$O/tuned/corpus.emb"
	# a re-run does nothing
	run -0 auto CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	refute_output --partial 'bin/'
}

@test "beir.mk RECIPE=auto: when no recipe beats the base model in CV, the base model is the result and the summary says so" {
	O=$BATS_TEST_TMPDIR/out
	# lr 0: every candidate's model is the base model, no better on any fold
	run -0 --separate-stderr auto CV_TRAIN="--loss mnrl -b 4 --lr 0 --seed 1"
	grep -qx 'beir.mk: cv: winner: base' <<< "$stderr"
	assert_equal "$(cat "$O/cv/winner")" base
	grep -q '^\*\*No recipe beat the base model in cross-validation\*\*' "$O/summary.md"
	grep -q '^| ndcg@10 | \([0-9.]*\) | \1 | +0.0000 | 1.0000 |' "$O/summary.md"
	cmp "$O/base/corpus.emb" "$O/tuned/corpus.emb"
	cmp "$FIX/tiny/model.safetensors" "$O/model/model.safetensors"
	[ ! -s "$O/train.mp" ]
	assert_equal "$(head -c 8 "$O/loss.png" | od -An -tx1 | tr -d ' ')" 89504e470d0a1a0a
}

@test "cv-summary.sh: a winner whose held-out gain has p >= 0.05 is said to be not significant, one with p < 0.05 is not" {
	d=$BATS_TEST_TMPDIR/cv
	mkdir -p "$d/pairs/f1" "$d/mined/f1"
	printf 'q1\t1\nq2\t2\nq3\t1\n' > "$d/folds.tsv"
	for r in pairs mined; do
		printf '%s\n-l 1 -n 0\n--loss mnrl\nM\n' "$r" > "$d/$r/.opts"
		echo "mine-negatives: 3 queries, 3 rows" > "$d/$r/f1/mine.txt"
	done
	cp "$d/mined/.opts" "$d/winner"
	row='pairs\t0.5000\t0.5100\t+0.0100\t0.6000\t10\nmined\t0.5000\t0.5600\t+0.0600'
	printf "$row\\t0.0400\\t20\\n" > "$d/sig.tsv"
	printf "$row\\t0.0500\\t20\\n" > "$d/ns.tsv"
	run -0 "$TOP/pipelines/cv-summary.sh" -k 2 -w "$d/winner" -d "$d" "$d/sig.tsv"
	assert_line '**Winner: `mined`** (the best held-out NDCG@10 above the base model'"'"'s),'
	assert_line '| mined | `-l 1 -n 0` | `--loss mnrl` | 3 | 20 | 0.5600 | +0.0600 | 0.0400 |'
	refute_output --partial 'not significant'
	run -0 "$TOP/pipelines/cv-summary.sh" -k 2 -w "$d/winner" -d "$d" "$d/ns.tsv"
	assert_line 'Its held-out gain over the base model is **not significant** (p'
	assert_line '0.0500 over 3 queries): cross-validation found it better but could'
}

@test "beir.mk RECIPE=auto: the folds are fixed by CV_SEED and change with it" {
	O=$BATS_TEST_TMPDIR/out
	auto "$O/cv/folds.tsv" > /dev/null 2>&1
	cp "$O/cv/folds.tsv" "$BATS_TEST_TMPDIR/a"
	rm -rf "$O"
	auto "$O/cv/folds.tsv" > /dev/null 2>&1
	cmp "$O/cv/folds.tsv" "$BATS_TEST_TMPDIR/a"
	auto CV_SEED=2 "$O/cv/folds.tsv" > /dev/null 2>&1
	run ! cmp -s "$O/cv/folds.tsv" "$BATS_TEST_TMPDIR/a"
	run -0 bash -c "cut -f1 '$O/cv/folds.tsv' | sort"
	assert_output "$(cut -f1 "$BATS_TEST_TMPDIR/a" | sort)"
}

@test "beir.mk RECIPE=auto: CV_QUERIES bounds the folds to a prefix of their seeded order; the winner still trains on every train query" {
	O=$BATS_TEST_TMPDIR/out
	auto "$O/cv/folds.tsv" > /dev/null 2>&1
	cp "$O/cv/folds.tsv" "$BATS_TEST_TMPDIR/all"
	run -0 --separate-stderr auto CV_QUERIES=5 \
	    CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	grep -qx 'beir.mk: cv: 5 of the 8 train queries (10 judgments at level 1 or above; CV_QUERIES=5, CV_POSITIVES=2000)' <<< "$stderr"
	head -5 "$BATS_TEST_TMPDIR/all" | cmp - "$O/cv/folds.tsv"
	# the queries left out are in no fold's mining or held-out judgments
	tail -3 "$BATS_TEST_TMPDIR/all" | cut -f1 > "$BATS_TEST_TMPDIR/out3"
	run -1 bash -c "cut -f1 '$O'/cv/f*/train.tsv '$O'/cv/f*/held.tsv |
	    grep -xFf '$BATS_TEST_TMPDIR/out3'"
	grep -q '^3 folds of 5 of the 8 train queries (a sample' "$O/summary.md"
	# the CV scores the sampled queries alone: the 3 left out are not
	# queries without hits
	run ! grep -q 'cv/base.trec: .*have no hits' <<< "$stderr"
	assert_equal "$(cut -f1 "$O/cv/qrels.tsv" | sort -u)" "$(cut -f1 "$O/cv/folds.tsv" | sort -u)"
	b=$(score -q "$O/cv/qrels.tsv" -j -m ndcg -k 10 "$O/cv/base.trec" | sed -n 's/.*"ndcg@10": \(.*\)/\1/p')
	assert_equal "$(printf '%.4f' "$b")" "$(head -1 "$O/cv/table.tsv" | cut -f2)"
	# (with these options pairs beats the base model on the 5)
	assert_equal "$(head -1 "$O/cv/winner")" pairs
	grep -q '^trained on all 8 train queries' "$O/summary.md"
	run -0 bash -c "show -H '$O/train.mp' | jq -c '.texts[0]' | sort -u | wc -l"
	assert_output 8
}

@test "beir.mk RECIPE=auto: CV_POSITIVES bounds the judgments at MINE_LEVEL the folds take, with at least one query a fold" {
	O=$BATS_TEST_TMPDIR/out
	auto "$O/cv/folds.tsv" > /dev/null 2>&1
	cp "$O/cv/folds.tsv" "$BATS_TEST_TMPDIR/all"
	# the judgments at level 2 or above of each query, in the folds' order
	awk -F'\t' 'NR == FNR { if (FNR > 1 && $3 >= 2) n[$1]++; next }
	    { print $1 "\t" n[$1] + 0 }' "$D/qrels/train.tsv" \
	    "$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/pos"
	for mp in 0 3 4 100; do
		rm -rf "$O"
		run -0 --separate-stderr auto MINE_LEVEL=2 CV_POSITIVES=$mp \
		    "$O/cv/folds.tsv"
		want=$(awk -v mp=$mp -v k=3 'n >= k && p + $2 > mp { exit }
		    { p += $2; n++ } END { print n }' "$BATS_TEST_TMPDIR/pos")
		assert_equal "$(wc -l < "$O/cv/folds.tsv")" "$want"
		head -"$want" "$BATS_TEST_TMPDIR/all" | cmp - "$O/cv/folds.tsv"
		if [ "$want" -lt 8 ]; then
			grep -q "^beir.mk: cv: $want of the 8 train queries .*CV_POSITIVES=$mp)\$" <<< "$stderr"
		else
			assert_equal "$stderr" ''
		fi
	done
}

@test "beir.mk: MAX_STEPS bounds every training, the folds' too; the summary says when the bound was reached" {
	O=$BATS_TEST_TMPDIR/out
	run -0 --separate-stderr beir MAX_STEPS=2
	assert_equal "$(wc -l < "$O/train-log.tsv")" 3
	grep -q '^train: --max-steps 2: 2 of the [0-9]* steps of 1 epoch of [0-9]* rows$' <<< "$stderr"
	grep -q '^Training: 2 steps (the MAX_STEPS bound), loss ' "$O/summary.md"
	run -0 --separate-stderr beir MAX_STEPS=
	n=$(($(wc -l < "$O/train-log.tsv") - 1))
	[ "$n" -gt 2 ]
	grep -q "^Training: $n steps, loss " "$O/summary.md"
	rm -rf "$O"
	run -0 --separate-stderr auto MAX_STEPS=1 \
	    CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	for r in pairs mined; do
		assert_equal "$(sed -n 3p "$O/cv/$r/.opts")" \
		    "--loss mnrl --loss mnrl -b 4 --lr 3e-2 --seed 1 -e 1 --max-steps 1"
		for f in 1 2 3; do
			assert_equal "$(wc -l < "$O/cv/$r/f$f/train-log.tsv")" 2
		done
	done
}

@test "beir.mk: train judgments of a document or query the collection lacks are left out of mining, and the summary says how many" {
	O=$BATS_TEST_TMPDIR/out
	d=$BATS_TEST_TMPDIR/more
	cp -r "$D" "$d"
	printf 'q00\tdXX\t1\nqZZ\td01\t1\n' >> "$d/qrels/train.tsv"
	run -0 --separate-stderr auto DATA="$d" \
	    CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	grep -q '^Left out of mining: 1 positives not in the corpus and 1 queries without text' "$O/summary.md"
	# the same rows as the collection without those lines
	read -ra mo <<< "$(sed -n 2p "$O/cv/winner")"
	mine-negatives -q "$D/qrels/train.tsv" -Q "$O/queries.tok" -C "$O/corpus.tok" \
	    "${mo[@]}" "$O/base/run" 2>/dev/null | cmp - "$O/train.mp"
	run -0 --separate-stderr beir DATA="$d" OUT="$BATS_TEST_TMPDIR/fixed"
	grep -q '^Left out of mining: 1 positives' "$BATS_TEST_TMPDIR/fixed/summary.md"
}

@test "beir.mk: RECIPE must be fixed or auto" {
	run -2 beir RECIPE=best
	assert_output --partial 'RECIPE=best: must be fixed or auto'
}

@test "beir.mk RECIPE=auto: a fold whose mining gives no row keeps the base model for that fold" {
	O=$BATS_TEST_TMPDIR/out
	# a margin of 100 leaves no negative: no row on any fold
	run -0 --separate-stderr auto CANDIDATES=none \
	    MINE_none="-n 1 --range-max 8 --margin 100" TRAIN_none="--loss mnrl -b 4 -e 1"
	assert_equal "$(grep -c '^beir.mk: cv: recipe none, fold [123]: no training row; the fold keeps the base model$' <<< "$stderr")" 3
	assert_equal "$(cat "$O/cv/winner")" base
	assert_equal "$(cut -f4,6 "$O/cv/table.tsv")" $'+0.0000\t0'
	# folds in bf16: the base row is the base model in bf16 on the folds'
	# pairs, so a fold that keeps it scores its very runs
	rm -rf "$O"
	run -0 --separate-stderr auto CANDIDATES=none CV_PRECISION=bf16 \
	    EMBTUNE_KERNEL=portable MINE_none="-n 1 --range-max 8 --margin 100" \
	    TRAIN_none="--loss mnrl -b 4 -e 1"
	cat "$O"/cv/none/f[123]/run.trec | cmp - "$O/cv/base.trec"
	assert_equal "$(cut -f4,6 "$O/cv/table.tsv")" $'+0.0000\t0'
	# and in fp32, the base run's own top K
	run -0 --separate-stderr auto CANDIDATES=none CV_PRECISION=fp32 \
	    MINE_none="-n 1 --range-max 8 --margin 100" TRAIN_none="--loss mnrl -b 4 -e 1"
	awk 'NR == FNR { q[$1]; next } ($1 in q) && $4 <= 10' "$O/cv/folds.tsv" \
	    "$O/base/run.trec" | cmp - "$O/cv/base.trec"
}

@test "beir.mk: a collection without train judgments is told so; its base model is still scored" {
	d=$BATS_TEST_TMPDIR/d O=$BATS_TEST_TMPDIR/out
	mkdir -p "$d/qrels"
	cp "$D"/*.jsonl "$d/"
	cp "$D/qrels/test.tsv" "$d/qrels/"
	for r in fixed auto; do
		run -2 --separate-stderr beir DATA="$d" RECIPE=$r
		grep -qF "beir.mk: $d/qrels/train.tsv: no such file: fine-tuning needs judged train queries" <<< "$stderr"
		[ ! -e "$O/summary.md" ]
	done
	# a dev split is named as what can stand in
	cp "$D/qrels/train.tsv" "$d/qrels/dev.tsv"
	run -2 --separate-stderr beir DATA="$d"
	grep -qF "(TRAIN_QRELS; TRAIN_QRELS=$d/qrels/dev.tsv trains on the dev split's)" <<< "$stderr"
	run -0 beir DATA="$d" TRAIN_QRELS="$d/qrels/dev.tsv"
	[ -s "$O/summary.md" ]
	run -0 beir DATA="$d" "$O/base/score.txt"
	grep -q '^ndcg ' "$O/base/score.txt"
	rm "$d/corpus.jsonl"
	run -2 --separate-stderr beir DATA="$d" OUT="$BATS_TEST_TMPDIR/out2"
	grep -qF "beir.mk: $d/corpus.jsonl: no such file (DATA=$d: a BEIR directory has corpus.jsonl" <<< "$stderr"
}

@test "beir.mk: a model directory without its files is told so, naming make model" {
	run -2 --separate-stderr beir MODEL="$BATS_TEST_TMPDIR/none"
	assert_equal "${stderr%%$'\n'*}" "beir.mk: $BATS_TEST_TMPDIR/none/vocab.txt: no such file (MODEL=$BATS_TEST_TMPDIR/none: a sentence-transformers model directory; 'make model' fetches the default, all-MiniLM-L6-v2, into models/)"
	assert_equal "$(find "$BATS_TEST_TMPDIR" -name '*.tok')" ''
}

@test "beir.mk RECIPE=auto: FOLDS must be 2 or more" {
	run -2 auto FOLDS=1
	assert_output --partial 'FOLDS=1: must be 2 or more'
}

@test "beir.mk cv-full: the fold models also rank the whole corpus, beside the re-ranked figures" {
	O=$BATS_TEST_TMPDIR/out
	auto CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1" cv-full > /dev/null 2>&1
	# once built, it only prints the table
	run -0 --separate-stderr auto CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1" cv-full
	assert_line --index 0 $'recipe\tbase\tre-ranked\tfull corpus'
	assert_regex "${lines[1]}" $'^pairs\t0\\.[0-9]{4}\t0\\.[0-9]{4}\t0\\.[0-9]{4}$'
	assert_regex "${lines[2]}" $'^mined\t0\\.[0-9]{4}\t0\\.[0-9]{4}\t0\\.[0-9]{4}$'
	# the whole corpus (24 documents) encoded, the top K=10 of each query kept
	assert_equal "$(show -H "$O/cv/pairs/f1/full-corpus.emb" | wc -l)" 24
	assert_equal "$(cut -d' ' -f1 "$O/cv/pairs/f1/full.trec" | uniq -c | awk '{ print $1 }' | sort -u)" 10
}

@test "beir.mk: QUERY_PROMPT, CORPUS_PROMPT and the _PREFIX variables reach tokenize; the model's default prompt otherwise" {
	O=$BATS_TEST_TMPDIR/out
	P="$FIX/tiny-prompt"
	prompt() {	# FILE: the prompt fields of a tokens header
		show "$1" | head -1 | jq -c '[.prompt_name, .prompt]'
	}
	beir MODEL="$P" "$O/queries.tok" "$O/corpus.tok" 2>/dev/null
	assert_equal "$(prompt "$O/queries.tok")" '["query","claim of the court: "]'
	assert_equal "$(prompt "$O/corpus.tok")" '["query","claim of the court: "]'
	beir MODEL="$P" QUERY_PROMPT=passage CORPUS_PREFIX='gene of ' \
	    "$O/queries.tok" "$O/corpus.tok" 2>/dev/null
	assert_equal "$(prompt "$O/queries.tok")" '["passage","cell "]'
	assert_equal "$(prompt "$O/corpus.tok")" '[null,"gene of "]'
	tokenize -m "$P" -n 16 --prefix 'gene of ' "$D/corpus.jsonl" | cmp - "$O/corpus.tok"
	# a prompt the model does not name fails the stage, leaving no tokens
	rm "$O/queries.tok"
	run -2 beir MODEL="$P" QUERY_PROMPT=nope "$O/queries.tok"
	assert_output --partial "tokenize: --prompt: nope: not a prompt of $P/config_sentence_transformers.json (query, passage)"
	[ ! -e "$O/queries.tok" ]
}

@test "beir.mk RECIPE=auto: with explicit non-relevant train judgments the folds are scored on judged documents only" {
	O=$BATS_TEST_TMPDIR/out
	J=$BATS_TEST_TMPDIR/j
	mkdir -p "$J/qrels"
	cp "$D/corpus.jsonl" "$D/queries.jsonl" "$D/qrels/test.tsv" "$J/"
	mv "$J/test.tsv" "$J/qrels/"
	# every train query judges two documents no train query finds relevant 0
	awk -F'\t' '{ print } NR > 1 && !s[$1]++ { printf "%s\td%02d\t0\n%s\td%02d\t0\n",
	    $1, NR % 2 ? 5 : 6, $1, NR % 2 ? 9 : 10 }' "$D/qrels/train.tsv" > "$J/qrels/train.tsv"
	run -0 --separate-stderr auto DATA="$J" CANDIDATES=pairs \
	    CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	score --compare -J -q "$J/qrels/train.tsv" -l 1 -k 10 -m ndcg,mrr,recall \
	    "$O/cv/base.trec" "$O/cv/pairs/run.trec" > "$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$O/cv/pairs/compare.txt"
	grep -q '^held-out query ranks only its judged documents (score -J)' "$O/summary.md"
	# the folds encode only the judged documents of their queries' top K
	topk_pairs() {
		awk 'NR == FNR { q[$1]; next } ($1 in q) && $4 <= 10' \
		    "$O/cv/folds.tsv" "$O/base/run.trec" | wc -l
	}
	run -0 bash -c "awk -F'\t' 'NR == FNR { j[\$1 \" \" \$2]; next }
	    !((\$1 \" \" \$2) in j)' '$J/qrels/train.tsv' '$O'/cv/f*/top.tsv"
	assert_output ''
	n=$(cat "$O"/cv/f*/top.tsv | wc -l)
	[ "$n" -gt 0 ] && [ "$n" -lt "$(topk_pairs)" ]
	# CV_JUDGED= turns it off: the whole top K, scored as it is
	run -0 --separate-stderr auto DATA="$J" CANDIDATES=pairs CV_JUDGED= \
	    CV_TRAIN="--loss mnrl -b 4 --lr 3e-2 --seed 1"
	score --compare -q "$J/qrels/train.tsv" -l 1 -k 10 -m ndcg,mrr,recall \
	    "$O/cv/base.trec" "$O/cv/pairs/run.trec" | cmp - "$O/cv/pairs/compare.txt"
	! grep -q 'score -J' "$O/cv/summary.md"
	assert_equal "$(cat "$O"/cv/f*/top.tsv | wc -l)" "$(topk_pairs)"
	# and judged-only, the whole top K scores as the judged part of it did
	score --compare -J -q "$J/qrels/train.tsv" -l 1 -k 10 -m ndcg,mrr,recall \
	    "$O/cv/base.trec" "$O/cv/pairs/run.trec" | cmp - "$BATS_TEST_TMPDIR/want"
}
