#!/usr/bin/env bats
# topk: exact inner-product top-k; ties in trec_eval order; bad input.
# Fixtures: fixtures/score/topk-* (fixtures/gen/gen_score.py): integer
# vectors, so every score is exact and ties are many.
load helper

S="$FIX/score"
USAGE='usage: topk [-t] [--exclude-self] [-k K] [--precision fp32|bf16|auto]
            -c CORPUS [-c CORPUS ...] [FILE]
       topk --merge [-t] [-k K] RUN ...
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
	--merge|topk: --merge: no RUN given
	--merge -c c r|topk: --merge: -c, --exclude-self and --precision belong to the runs merged
	--merge --exclude-self r|topk: --merge: -c, --exclude-self and --precision belong to the runs merged
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
	if bf16hw; then
		EMBTUNE_KERNEL=avx512bf16 topk --precision bf16 -t -k 10 \
		    -c q.emb q.emb | cmp - bf16.trec
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

# --- shards: several -c files, --merge (fixtures/score/topk-shard*.emb: the
# corpus of topk-corpus.emb dealt round robin into three files)

shards() { for i in 1 2 3; do printf -- '-c\n%s\n' "$S/topk-shard$i.emb"; done; }

@test "topk: several -c files are one corpus" {
	mapfile -t C < <(shards)
	topk -k 5 "${C[@]}" "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k5.json")"
	topk -k 50 "${C[@]}" "$S/topk-queries.emb" > "$BATS_TEST_TMPDIR/out"
	run -0 show "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat "$S/topk-k50.json")"
}

@test "topk --merge: the runs of three shards merge into the unsharded run, byte for byte" {
	cd "$BATS_TEST_TMPDIR"
	# k 5 (ties cut at the boundary), k 50 (more than the corpus), and a
	# corpus searched with itself under --exclude-self
	for opts in "-k 5" "-k 50" "--exclude-self -k 3"; do
		q=$S/topk-queries.emb
		[[ $opts != --exclude-self* ]] || q=$S/topk-corpus.emb
		for i in 1 2 3; do
			topk $opts -c "$S/topk-shard$i.emb" "$q" > r$i
		done
		topk $opts -c "$S/topk-corpus.emb" "$q" > whole
		topk --merge r1 r2 r3 > merged
		cmp whole merged
		topk --merge r3 r1 r2 | cmp - whole
		topk --merge -t r1 r2 r3 | cmp - <(topk -t $opts -c "$S/topk-corpus.emb" "$q")
	done
}

@test "topk --merge -k: fewer hits than the runs hold; one run merges into itself" {
	cd "$BATS_TEST_TMPDIR"
	for i in 1 2 3; do
		topk -k 5 -c "$S/topk-shard$i.emb" "$S/topk-queries.emb" > r$i
	done
	topk -k 2 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > whole
	topk --merge -k 2 r1 r2 r3 | cmp - whole
	topk -k 5 -c "$S/topk-corpus.emb" "$S/topk-queries.emb" > whole
	topk --merge - < whole | cmp - whole
}

# bad input to several -c and to --merge: args | status | message
# (@S = fixtures/score, @T = the test's directory (marks no path holds): runs r1 r2 r3 of the three
# shards with -k 5, c12 with the corpus as queries)
merge_cases() {
	cat <<'T'
-c @S/topk-shard3.emb -c @S/topk-shard-dup.emb @S/topk-queries.emb|65|topk: @S/topk-shard-dup.emb: duplicate id "d2", also in @S/topk-shard3.emb
-c @S/topk-shard-dup.emb -c @S/topk-queries.emb @S/topk-queries.emb|65|topk: @S/topk-queries.emb: duplicate id "d2", also in @S/topk-shard-dup.emb
-c @S/topk-shard1.emb -c @S/topk-dim3.emb @S/topk-queries.emb|65|topk: @S/topk-dim3.emb: dim 3, corpus @S/topk-shard1.emb has dim 4
-c @S/topk-shard1.emb -c @S/nope.emb @S/topk-queries.emb|66|topk: @S/nope.emb: No such file or directory
--merge -k 6 @T/r1 @T/r2|65|topk: @T/r1: k is 5: the best 6 of the union need the best 6 of every shard
--merge @T/r1 @T/r1|65|topk: query "q1": document "zz" in @T/r1 and in @T/r1: the shards overlap
--merge @T/r1 @T/c12|65|topk: @T/c12: record 1 (byte 42): qid "d1", @T/r1 has "q1"
--merge @T/r1 @S/topk-unordered.mp|65|topk: @S/topk-unordered.mp: record 1 (byte 47): "hits"[2]: out of order (score, then id descending): not a topk run
--merge @T/r1 @S/topk-queries.emb|65|topk: @S/topk-queries.emb: header (byte 0): expected a hits stream, got embeddings
--merge @T/r1 @T/nope|66|topk: @T/nope: No such file or directory
T
}

@test "topk: bad shards and bad runs to merge exit 65 or 66 naming the files" {
	cd "$BATS_TEST_TMPDIR"
	T=$BATS_TEST_TMPDIR
	for i in 1 2 3; do
		topk -k 5 -c "$S/topk-shard$i.emb" "$S/topk-queries.emb" > r$i
	done
	topk -k 5 -c "$S/topk-shard1.emb" "$S/topk-corpus.emb" > c12
	while IFS='|' read -r args st msg; do
		args=${args//@S\//$S/}
		run -"$st" --separate-stderr topk ${args//@T\//$T/}
		msg=${msg//@S\//$S/}
		assert_equal "$stderr" "${msg//@T\//$T/}"
		assert_output ''
	done < <(merge_cases)
}

@test "topk --merge: a run that ends early fails after the queries all runs have, whole records" {
	cd "$BATS_TEST_TMPDIR"
	topk -k 5 -c "$S/topk-shard1.emb" "$S/topk-corpus.emb" > c12
	topk -k 5 -c "$S/topk-shard2.emb" "$S/topk-dup.emb" > c13
	topk --merge c12 c13 > out && return 1
	run -65 --separate-stderr topk --merge c12 c13
	assert_equal "$stderr" "topk: c12: ends after 12 queries, other runs have more"
	[ "$(show out | wc -l)" -eq 13 ]
}

# The real thing: SciFact's first 999 documents in three shards, each
# tokenized and encoded on its own (split -n r/I/3), searched on its own,
# merged; against the search of the three shards as one corpus.  fp32
# scores are rescored exactly, so they do not depend on where a document
# sits in the corpus (sgemm's own rounding does).
@test "topk --merge: SciFact in 3 shards merges into the unsharded run, byte for byte (fp32 and bf16)" {
	cd "$BATS_TEST_TMPDIR"
	head -n 999 "$DATA/scifact/corpus.jsonl" > corpus.jsonl
	for i in 1 2 3; do
		split -n r/$i/3 corpus.jsonl | tokenize -m "$MODEL" -n 32 |
		    encode -m "$MODEL" > s$i.emb
	done
	head -n 300 "$DATA/scifact/queries.jsonl" | tokenize -m "$MODEL" |
	    encode -m "$MODEL" > q.emb
	for p in fp32 bf16; do
		pre=()
		[ $p = fp32 ] || bf16hw ||
		    pre=(env EMBTUNE_KERNEL=portable)
		"${pre[@]}" topk --precision $p -k 100 -c s1.emb -c s2.emb -c s3.emb q.emb > whole
		"${pre[@]}" topk --precision $p -k 100 -c s3.emb -c s1.emb -c s2.emb q.emb | cmp - whole
		for i in 1 2 3; do
			"${pre[@]}" topk --precision $p -k 100 -c s$i.emb q.emb > r$i
		done
		topk --merge r1 r2 r3 > merged
		cmp whole merged
		[ "$(show merged | wc -l)" -eq 301 ]
		topk --merge -k 10 r1 r2 r3 |
		    cmp - <("${pre[@]}" topk --precision $p -k 10 -c s1.emb -c s2.emb -c s3.emb q.emb)
	done
}
