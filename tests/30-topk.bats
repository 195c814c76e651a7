#!/usr/bin/env bats
# topk: exact inner-product top-k; ties in trec_eval order; bad input.
# Fixtures: fixtures/score/topk-* (fixtures/gen/gen_score.py): integer
# vectors, so every score is exact and ties are many.
load helper

S="$FIX/score"
USAGE='usage: topk [-t] [--exclude-self] [-k K] [--precision fp32|bf16|auto]
            -c CORPUS [FILE]
       topk --version'

@test "topk -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr topk -h
	assert_output "$USAGE"
}

@test "topk: bad command lines exit 64 with the usage" {
	while IFS='|' read -r args msg; do
		run -64 --separate-stderr topk $args
		assert_equal "${stderr_lines[0]}" "$msg"
		assert_output ''
	done <<-'T'
	-x -c c|topk: invalid option -- 'x'
	-k 5|topk: -c CORPUS is required
	-c c -k 0|topk: -k: 0: must be between 1 and 1000000
	-c c -k 1x|topk: -k: 1x: not an integer
	-c c a b|usage: topk [-t] [--exclude-self] [-k K] [--precision fp32|bf16|auto]
	T
	run -64 --separate-stderr topk -x
	assert_equal "$(printf '%s\n' "${stderr_lines[@]:1}")" "$USAGE"
}

@test "topk refuses to write a stream to a terminal" {
	# script(1) gives topk a terminal for stdout
	run script -qec "topk -c $S/topk-corpus.emb $S/topk-queries.emb" /dev/null
	assert_output --partial 'topk: stdout is a terminal'
}

@test "topk -k 5: hits best first, equal scores by id descending" {
	topk -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k5.json")"
}

@test "topk reads queries from stdin; corpus order does not matter" {
	topk -k 5 -c "$S/topk-corpus-shuffled.emb" < "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k5.json")"
}

@test "topk -t writes TREC run text" {
	run -0 --separate-stderr topk -t -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb"
	assert_output "$(cat "$S/topk-k5.trec")"
}

@test "topk --exclude-self drops the query's own document and keeps k hits" {
	topk --exclude-self -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k5-self.json")"
}

@test "topk: k larger than the corpus gives every document" {
	topk -k 50 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k50.json")"
}

@test "topk: the same hits with one thread and with two" {
	# the corpus searched with itself: 12 x 12, every block split
	OMP_NUM_THREADS=1 topk -t -k 7 -c "$S/topk-corpus.emb" "$S/topk-corpus.emb" > "$BATS_TEST_TMPDIR/1"
	OMP_NUM_THREADS=2 topk -t -k 7 -c "$S/topk-corpus.emb" "$S/topk-corpus.emb" > "$BATS_TEST_TMPDIR/2"
	cmp "$BATS_TEST_TMPDIR/1" "$BATS_TEST_TMPDIR/2"
}

@test "topk | score: a hits stream scores as its TREC text does" {
	cd "$BATS_TEST_TMPDIR"
	printf 'q1\td10\t1\nq1\tzz\t2\nd2\tz\t1\nq3\td3\t1\n' > q.tsv
	topk -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > run.mp
	topk -t -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > run.trec
	run -0 score -q q.tsv -j -p run.mp
	assert_equal "$output" "$(score -q q.tsv -j -p run.trec)"
	assert_equal "$(jq -c '.per_query.q3["accuracy@5"], .per_query.d2["mrr@3"]' <<< "$output")" $'1\n0.3333333333333333'
}

# bad input: corpus | queries | status | message (S = fixtures/score)
bad_cases() {
	cat <<'T'
topk-corpus.emb|topk-dim3.emb|65|topk: dimension mismatch: queries S/topk-dim3.emb have dim 3, corpus S/topk-corpus.emb has dim 4
topk-nan.emb|topk-queries.emb|65|topk: S/topk-nan.emb: record 4 (byte 155): id "bad one": "vec"[1] is nan
topk-corpus.emb|topk-inf.emb|65|topk: S/topk-inf.emb: record 2 (byte 96): id "qinf": "vec"[2] is -inf
topk-dup.emb|topk-queries.emb|65|topk: S/topk-dup.emb: duplicate id "d2"
topk-corpus.emb|topk-short.emb|65|topk: S/topk-short.emb: record 2 (byte 96): id "qs": "vec" has 12 bytes, expected 16 (dim 4)
../streams/hits.mp|topk-queries.emb|65|topk: S/../streams/hits.mp: header (byte 0): expected an embeddings stream, got hits
nope.emb|topk-queries.emb|66|topk: S/nope.emb: No such file or directory
T
}

@test "topk: bad input exits 65 or 66 naming the file, record and id" {
	while IFS='|' read -r c q st msg; do
		run -"$st" --separate-stderr topk -c "$S/$c" "$S/$q"
		assert_equal "$stderr" "${msg//S\//$S/}"
	done < <(bad_cases)
	head -c -3 "$S/topk-corpus.emb" > "$BATS_TEST_TMPDIR/cut.emb"
	run -65 --separate-stderr topk -c "$BATS_TEST_TMPDIR/cut.emb" "$S/topk-queries.emb"
	assert_equal "$stderr" "topk: $BATS_TEST_TMPDIR/cut.emb: record 12 (byte 384): truncated record"
}

@test "topk: a bad corpus writes nothing; the first stderr line starts with topk:" {
	run -65 --separate-stderr topk -c "$S/topk-nan.emb" "$S/topk-queries.emb"
	assert_output ''
	assert_regex "${stderr_lines[0]}" '^topk: '
	run -65 --separate-stderr topk -t -c "$S/topk-dup.emb" "$S/topk-queries.emb"
	assert_output ''
}

@test "topk --precision bf16: the fp32 hits, scores within bf16 rounding" {
	cd "$BATS_TEST_TMPDIR"
	head -n 300 "$DATA/scifact/queries.jsonl" | tokenize -m "$MODEL" |
	    encode -m "$MODEL" > q.emb
	topk -t -k 10 -c q.emb q.emb > fp32.trec
	EMBTUNE_KERNEL=portable topk --precision bf16 -t -k 10 -c q.emb q.emb > bf16.trec
	if grep -qw avx512_bf16 /proc/cpuinfo; then
		topk --precision bf16 -t -k 10 -c q.emb q.emb | cmp - bf16.trec
	fi
	# the same first hit for all but near-ties (SciFact repeats a few
	# queries word for word); of the 3000 hits at most 1% change, and
	# every score is within 0.01 of its fp32 score
	[ "$(join <(awk '$4 == 1 {print $1, $3}' fp32.trec | sort) \
	    <(awk '$4 == 1 {print $1, $3}' bf16.trec | sort) |
	    awk '$2 == $3' | wc -l)" -ge 296 ]
	join <(awk '{print $1 "/" $3, $5}' fp32.trec | sort) \
	    <(awk '{print $1 "/" $3, $5}' bf16.trec | sort) > both
	[ "$(wc -l < both)" -ge 2970 ]
	awk '{ d = $2 - $3; if (d < 0) d = -d; if (d > 0.01) exit 1 }' both
}
