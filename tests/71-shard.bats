#!/usr/bin/env bats
# pipelines/shard.mk: a corpus searched in shards under GNU parallel, merged
# into exactly the unsharded run; the one-shard targets a Slurm array task
# runs; a failing shard fails the whole and leaves no run.
# The tiny model on SciFact's text: most words are [UNK], so documents tie
# by the hundred and the merge must cut the ties exactly as topk does.
load helper

setup() {
	command -v parallel > /dev/null || skip "GNU parallel is not installed (make deps)"
	cd "$BATS_TEST_TMPDIR"
	head -n 300 "$DATA/scifact/corpus.jsonl" > corpus.jsonl
	head -n 40 "$DATA/scifact/queries.jsonl" > queries.jsonl
}

shard() {
	make --no-print-directory -f "$TOP/pipelines/shard.mk" \
	    CORPUS=corpus.jsonl QUERIES=queries.jsonl MODEL="$FIX/tiny" \
	    OUT=out MAX_LEN=16 K=20 N=3 JOBS=3 THREADS=1 "$@"
}

@test "shard.mk: three shards under GNU parallel merge into the unsharded run, byte for byte" {
	run -0 shard
	assert_output --partial 'parallel --will-cite --halt soon,fail=1 -j 3'
	assert_output --partial 'bin/topk --merge out/shard-0/run out/shard-1/run out/shard-2/run'
	# the shards are the corpus, dealt round robin, each document once
	[ "$(show out/shard-0/corpus.emb | tail -n +2 | wc -l)" -eq 100 ]
	cat out/shard-{0,1,2}/corpus.emb | show | jq -r 'select(.id) | .id' | sort > ids
	jq -r ._id corpus.jsonl | sort | cmp - ids
	# the one corpus of the three shards, searched at once
	topk -k 20 -c out/shard-0/corpus.emb -c out/shard-1/corpus.emb \
	    -c out/shard-2/corpus.emb out/queries.emb | cmp - out/run
	[ "$(show out/run | wc -l)" -eq 41 ]
	run find out -name '*.tmp'
	assert_output ''
	# a re-run does nothing
	run -0 shard
	refute_output --partial 'bin/encode'
	refute_output --partial 'bin/topk -k'
}

@test "shard.mk: the Slurm array form, one make per shard then the merge, gives the same run" {
	shard > /dev/null 2>&1
	mv out/run parallel.run
	rm -rf out/shard-*
	shard queries
	for i in 2 0 1; do	# any order: array tasks run as they may
		run -0 shard shard I=$i
	done
	run -0 shard merge
	cmp out/run parallel.run
}

@test "shard.mk: a bad shard number, a failing shard: make fails and writes no run" {
	run -2 shard shard I=3
	assert_output --partial 'shard.mk: I=3: not below N=3'
	run -2 shard shard I=x
	assert_output --partial 'shard.mk: I=x: not a shard number'
	# line 200 is malformed JSON: shard 1 (lines 2, 5, ..., 200) fails
	sed -i '200s/^{/[/' corpus.jsonl
	run -2 shard
	assert_output --partial 'tokenize: '
	[ ! -e out/run ]
	[ ! -e out/shard-1/corpus.emb ]
	run find out -name '*.tmp'
	assert_output ''
}
