#!/usr/bin/env bats
# mine-negatives: hits + qrels + token streams -> examples, checked against
# sentence-transformers' mine_hard_negatives (fixtures/gen/gen_mine.py).
load helper

M="$FIX/mine"

mine() {
	mine-negatives -q "$M/qrels.tsv" -Q "$M/queries.mp" -C "$M/corpus.mp" "$@"
}

# rows of an examples stream as compact JSON, header dropped
rows() {
	show -H "$1" | jq -c .
}

@test "mine-negatives -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr mine-negatives -h
	assert_line --index 0 --regexp '^usage: mine-negatives -q QRELS -Q QUERY_TOKENS'
	assert_equal "$stderr" ''
}

@test "mine-negatives: every option of the usage is in the man page" {
	for o in range-min range-max margin relative-margin max-score min-score \
	    sampling seed format judged per-positive-margin keep-pairs \
	    skip-missing; do
		grep -q "Fl \\\\-$o" "$TOP/man/mine-negatives.1" ||
			grep -q "Fl -$o" "$TOP/man/mine-negatives.1" || {
			echo "--$o missing from the man page"; return 1; }
	done
}

@test "mine-negatives matches sentence-transformers on every reference case" {
	for c in default window relmargin absmargin ntuple-rel; do
		read -ra args < "$M/$c.args"
		mine "${args[@]}" "$M/hits.mp" > "$BATS_TEST_TMPDIR/$c.mp" 2>/dev/null
		rows "$BATS_TEST_TMPDIR/$c.mp" > "$BATS_TEST_TMPDIR/$c.got"
		jq -c . "$M/$c.json" > "$BATS_TEST_TMPDIR/$c.want"
		diff -u "$BATS_TEST_TMPDIR/$c.want" "$BATS_TEST_TMPDIR/$c.got" ||
			{ echo "case $c differs"; return 1; }
	done
}

@test "mine-negatives writes an examples header with the tokens' model and columns" {
	for f in "triplet 3" "ntuple 5" "labeled-pair 2"; do
		set -- $f
		mine -n 3 --format "$1" "$M/hits.mp" 2>/dev/null > "$BATS_TEST_TMPDIR/o.mp"
		run -0 bash -c "show '$BATS_TEST_TMPDIR/o.mp' | head -1"
		assert_output "{\"kind\":\"examples\",\"v\":1,\"producer\":\"mine-negatives\",\"model\":\"fake\",\"vocab\":\"00112233aabbccdd\",\"max_len\":8,\"columns\":$2}"
	done
}

@test "mine-negatives reads the run from stdin, and a TREC run as well as hits" {
	mine -n 2 "$M/hits.mp" 2>/dev/null | show > "$BATS_TEST_TMPDIR/a"
	mine -n 2 < "$M/hits.mp" 2>/dev/null | show > "$BATS_TEST_TMPDIR/b"
	show -H "$M/hits.mp" | jq -r '.qid as $q | .hits | to_entries[] |
	    "\($q) Q0 \(.value[0]) \(.key + 1) \(.value[1]) t"' |
	    sort -R --random-source=/dev/zero > "$BATS_TEST_TMPDIR/run.trec"
	mine -n 2 "$BATS_TEST_TMPDIR/run.trec" 2>/dev/null | show > "$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
}

@test "mine-negatives -l: a judged document below LEVEL may be a negative, never one at or above" {
	printf 'q0\td03\t2\nq0\td05\t1\n' > "$BATS_TEST_TMPDIR/q.tsv"
	run_l() {
		mine-negatives -q "$BATS_TEST_TMPDIR/q.tsv" -Q "$M/queries.mp" \
		    -C "$M/corpus.mp" -n 1 -l "$1" "$M/hits.mp" 2>/dev/null | show -H | jq -c .texts
	}
	# q0 ranks d05 first, then d07; d03 is 3rd
	run -0 run_l 2
	assert_output '[[101,2000,102],[101,1003,102],[101,1005,102]]'
	run -0 run_l 1
	assert_output $'[[101,2000,102],[101,1003,102],[101,1007,102]]\n[[101,2000,102],[101,1005,102],[101,1007,102]]'
}

@test "mine-negatives --judged: negatives only among documents judged below LEVEL" {
	printf 'q0\td03\t2\nq0\td07\t0\n' > "$BATS_TEST_TMPDIR/q.tsv"
	run_j() {
		mine-negatives -q "$BATS_TEST_TMPDIR/q.tsv" -Q "$M/queries.mp" -C "$M/corpus.mp" \
		    -n 1 -l 2 "$@" "$M/hits.mp" 2> "$BATS_TEST_TMPDIR/err" | show -H | jq -c .texts
	}
	# q0 ranks d05 (unjudged) first, then d07 (judged 0), d03 (positive)
	run -0 run_j
	assert_output '[[101,2000,102],[101,1003,102],[101,1005,102]]'
	run -0 run_j --judged
	assert_output '[[101,2000,102],[101,1003,102],[101,1007,102]]'
	# q0's 14 hits: d03 a positive, d07 judged, 12 unjudged
	grep -qx 'mine-negatives: --judged: skipped 12 unjudged hits' "$BATS_TEST_TMPDIR/err"
	# no judged document left below the positive: no row
	run -0 run_j --judged --range-min 1
	assert_output ''
}

@test "mine-negatives -n 0: one (query, positive) pair per positive, no negatives" {
	mine -n 0 "$M/hits.mp" 2> "$BATS_TEST_TMPDIR/err" > "$BATS_TEST_TMPDIR/o.mp"
	run -0 bash -c "show '$BATS_TEST_TMPDIR/o.mp' | head -1 | jq -c .columns"
	assert_output 2
	# the positives of qrels.tsv, in its order, each once with its query
	want=$(awk -F'\t' 'NR > 1 && $3 >= 1 { q = substr($1, 2); d = substr($2, 2)
	    printf "[[101,%d,102],[101,%d,102]]\n", 2000 + q, 1000 + d }' "$M/qrels.tsv")
	assert_equal "$(show -H "$BATS_TEST_TMPDIR/o.mp" | jq -c .texts)" "$want"
	grep -q '^mine-negatives: 5 queries with positives (relevance >= 1; 0 without), 9 positives (0 not ranked), 9 rows$' "$BATS_TEST_TMPDIR/err"
}

# q3's hits, best first (positives *): d01 .965, d06 .951, d13 .928, d08 .727,
# d11* .458, d04 .317, d00 .235, d09 .233, d07* .006, d05 -.030, d10 -.162,
# d03 -.202, d12 -.501, d02* -.640
q3() {
	printf 'q3\td11\t1\nq3\td02\t1\nq3\td07\t1\n' > "$BATS_TEST_TMPDIR/q3.tsv"
	mine-negatives -q "$BATS_TEST_TMPDIR/q3.tsv" -Q "$M/queries.mp" -C "$M/corpus.mp" \
	    --range-max 14 "$@" "$M/hits.mp" 2> "$BATS_TEST_TMPDIR/err" |
	    show -H | jq -c '[.texts[1:][][1] - 1000, .label // empty]'
}

@test "mine-negatives --per-positive-margin: each positive's margin is measured from its own score" {
	# against the lowest positive (d02, -.640) nothing is 0.05 below: no row
	run -0 q3 -n 1 --margin 0.05
	assert_output ''
	# d11 gets the best hit at most .408 (d04), d07 the best at most -.044
	# (d10: d05 at -.030 is too close); d02 none, so it has no row
	run -0 q3 -n 1 --margin 0.05 --per-positive-margin
	assert_output $'[11,4]\n[7,10]'
	grep -qx 'mine-negatives: 1 of 3 positives got fewer than 1 negatives (1 got none)' "$BATS_TEST_TMPDIR/err"
	# relative: d11 needs <= .458 * .5 = .229 (d09 at .233 is too close),
	# d07 <= .003; both get d05; against d02 it would be <= -.960: none
	run -0 q3 -n 1 --relative-margin 0.5
	assert_output ''
	run -0 q3 -n 1 --relative-margin 0.5 --per-positive-margin
	assert_output $'[11,5]\n[7,5]'
	# ntuple: every positive's own NUM negatives
	run -0 q3 -n 2 --margin 0.05 --per-positive-margin --format ntuple
	assert_output $'[11,4,0]\n[7,10,3]'
	# labeled pairs: the positives, then each chosen negative once
	run -0 q3 -n 2 --margin 0.05 --per-positive-margin --format labeled-pair
	assert_output $'[11,1]\n[2,1]\n[7,1]\n[4,0]\n[0,0]\n[10,0]\n[3,0]'
	# without a margin every positive gets the query's best non-positives
	run -0 q3 -n 1 --per-positive-margin
	assert_output $'[11,1]\n[2,1]\n[7,1]'
}

@test "mine-negatives --keep-pairs: a positive without enough negatives stays as a (query, positive) row" {
	run -0 q3 -n 1 --margin 0.05 --per-positive-margin --keep-pairs
	assert_output $'[11,4]\n[2]\n[7,10]'
	grep -qx 'mine-negatives: --keep-pairs: 1 positives kept as (query, positive) rows' "$BATS_TEST_TMPDIR/err"
	# ntuple: a positive short of NUM negatives keeps no partial tuple
	run -0 q3 -n 4 --margin 0.05 --per-positive-margin --keep-pairs --format ntuple
	assert_output $'[11,4,0,9,5]\n[2]\n[7]'
	# with a margin against the lowest positive, the whole query is pairs
	run -0 q3 -n 1 --margin 0.05 --keep-pairs
	assert_output $'[11]\n[2]\n[7]'
	# the header gives the widest row
	printf 'q3\td11\t1\n' > "$BATS_TEST_TMPDIR/q.tsv"
	run -0 bash -c "mine-negatives -q '$BATS_TEST_TMPDIR/q.tsv' -Q '$M/queries.mp' -C '$M/corpus.mp' \
	    -n 2 --keep-pairs --format ntuple '$M/hits.mp' 2>/dev/null | show | head -1 | jq .columns"
	assert_output 4
}

@test "mine-negatives --skip-missing: a positive or query without tokens is left out and counted" {
	T=$BATS_TEST_TMPDIR
	{ cat "$M/qrels.tsv"; printf 'q0\td99\t1\nq9\td01\t1\nq9\td02\t2\n'; } > "$T/more.tsv"
	mine -n 2 --range-max 6 "$M/hits.mp" > "$T/want.mp" 2> "$T/want.err"
	run -65 --separate-stderr mine-negatives -q "$T/more.tsv" -Q "$M/queries.mp" \
	    -C "$M/corpus.mp" -n 2 --range-max 6 "$M/hits.mp"
	mine-negatives -q "$T/more.tsv" -Q "$M/queries.mp" -C "$M/corpus.mp" \
	    --skip-missing -n 2 --range-max 6 "$M/hits.mp" > "$T/got.mp" 2> "$T/got.err"
	cmp "$T/want.mp" "$T/got.mp"
	grep -qx "mine-negatives: --skip-missing: left out 1 positives not in $M/corpus.mp and 1 queries not in $M/queries.mp" "$T/got.err"
	# the rest of the report is the same
	diff <(grep -v -- --skip-missing "$T/got.err") "$T/want.err"
}

@test "mine-negatives: an unranked positive lets no hit pass a margin, and is reported" {
	T=$BATS_TEST_TMPDIR
	printf 'q0 Q0 d05 1 0.43 t\nq0 Q0 d07 2 0.41 t\nq0 Q0 d04 3 0.09 t\n' > "$T/run"
	printf 'q0\td03\t1\n' > "$T/q.tsv"
	m() {
		mine-negatives -q "$T/q.tsv" -Q "$M/queries.mp" -C "$M/corpus.mp" \
		    -n 2 "$@" "$T/run" > "$T/o.mp"
	}
	run -0 --separate-stderr m
	assert_equal "$(show -H "$T/o.mp" | jq -c '.texts[2][1]')" $'1005\n1007'
	run -0 --separate-stderr m --margin 0
	assert_equal "$(show -H "$T/o.mp" | wc -l)" 0
	assert_equal "${stderr_lines[0]}" 'mine-negatives: 1 queries with positives (relevance >= 1; 0 without), 1 positives (1 not ranked), 0 rows'
	[[ "$stderr" == *"skipped 3 of 3 candidates for --margin 0"* ]]
	assert_equal "${stderr_lines[-1]}" 'mine-negatives: 1 of 1 queries got fewer than 2 negatives (1 got none)'
}

@test "mine-negatives --sampling random: seeded, within the window, in rank order" {
	T=$BATS_TEST_TMPDIR
	r() { mine -n 3 --range-max 8 --sampling random --seed "$1" "$M/hits.mp" 2>/dev/null | show -H | jq -c .; }
	r 1 > "$T/s1"
	r 1 > "$T/s1b"
	r 2 > "$T/s2"
	cmp "$T/s1" "$T/s1b"
	run ! cmp -s "$T/s1" "$T/s2"
	# every triplet is one of the top-8 triplets, and they keep rank order
	mine -n 8 --range-max 8 "$M/hits.mp" 2>/dev/null | show -H | jq -c . > "$T/top8"
	while read -r row; do
		grep -qxF "$row" "$T/top8" || { echo "$row is outside the window"; return 1; }
	done < "$T/s1"
	grep -nxFf "$T/s1" "$T/top8" | cut -d: -f1 | sort -nc
}

@test "mine-negatives reports score statistics and short queries on stderr" {
	run -0 --separate-stderr bash -c "mine-negatives -q '$M/qrels.tsv' -Q '$M/queries.mp' -C '$M/corpus.mp' -n 4 --range-max 14 --relative-margin 0.3 '$M/hits.mp' > /dev/null"
	assert_equal "${stderr_lines[0]}" 'mine-negatives: 5 queries with positives (relevance >= 1; 0 without), 9 positives (0 not ranked), 14 rows'
	assert_equal "${stderr_lines[1]}" 'mine-negatives: score    positive   negative difference'
	[[ "${stderr_lines[2]}" == 'mine-negatives: count           9         14         14' ]]
	[[ "$stderr" == *"for --relative-margin 0.3"* ]]
	[[ "${stderr_lines[-1]}" =~ ^mine-negatives:\ [0-9]+\ of\ 5\ queries\ got\ fewer\ than\ 4\ negatives ]]
}

# bad command lines and bad input: arguments, status, first stderr line
bad_cases() {
	cat <<'T'
-Q M/queries.mp -C M/corpus.mp M/hits.mp	64	usage: mine-negatives -q QRELS -Q QUERY_TOKENS -C CORPUS_TOKENS [-n NUM]
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp --format pairs M/hits.mp	64	mine-negatives: --format: pairs: must be triplet, ntuple or labeled-pair
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp --sampling best M/hits.mp	64	mine-negatives: --sampling: best: must be top or random
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp -n 10001 M/hits.mp	64	mine-negatives: -n: 10001: must be between 0 and 10000
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp --range-min 5 --range-max 5 M/hits.mp	64	mine-negatives: --range-min 5: must be smaller than --range-max 5
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp -n 4 --range-min 2 --range-max 5 M/hits.mp	64	mine-negatives: -n 4: only 3 candidates remain after skipping the first 2 of --range-max 5
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp --margin -1 M/hits.mp	64	mine-negatives: --margin: -1: must be between 0 and 1e+06
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp M/hits.mp extra	64	usage: mine-negatives -q QRELS -Q QUERY_TOKENS -C CORPUS_TOKENS [-n NUM]
-q M/nope.tsv -Q M/queries.mp -C M/corpus.mp M/hits.mp	66	mine-negatives: M/nope.tsv: No such file or directory
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp M/nope.mp	66	mine-negatives: M/nope.mp: No such file or directory
-q M/qrels.tsv -Q M/hits.mp -C M/corpus.mp M/hits.mp	65	mine-negatives: M/hits.mp: header (byte 0): expected a tokens stream, got hits
-q M/qrels.tsv -Q M/queries.mp -C T/other.mp M/hits.mp	65	mine-negatives: M/queries.mp: vocab 00112233aabbccdd (model "fake") does not match T/other.mp: vocab 0123456789abcdef (model "tiny")
-q T/extra.tsv -Q M/queries.mp -C M/corpus.mp M/hits.mp	65	mine-negatives: T/extra.tsv: query "q0": positive "d99" is not in M/corpus.mp
-q T/noq.tsv -Q M/queries.mp -C M/corpus.mp M/hits.mp	65	mine-negatives: T/noq.tsv: query "q9" is not in M/queries.mp
-q M/qrels.tsv -Q M/queries.mp -C M/corpus.mp T/bad.run	65	mine-negatives: T/bad.run: line 2: document "zz" is not in M/corpus.mp
-q M/qrels.tsv -Q M/queries.mp -C T/dup.mp M/hits.mp	65	mine-negatives: T/dup.mp: id "d00" appears twice (records 1 and 2)
T
}

@test "mine-negatives: bad arguments and input give the documented status, a clear message and no output" {
	T=$BATS_TEST_TMPDIR
	cp "$FIX/streams/tokens.mp" "$T/other.mp"
	printf 'q0\td99\t1\n' > "$T/extra.tsv"
	printf 'q9\td01\t1\n' > "$T/noq.tsv"
	printf 'q0 Q0 d01 1 0.6 t\nq0 Q0 zz 2 0.5 t\n' > "$T/bad.run"
	"$PY" -c '
import msgpack, sys
w = sys.stdout.buffer.write
w(msgpack.packb({"kind": "tokens", "v": 1, "producer": "t", "model": "fake",
    "vocab": "00112233aabbccdd", "max_len": 8}))
for i in range(2):
    w(msgpack.packb({"id": "d00", "ids": [101, 102]}))
' > "$T/dup.mp"
	while IFS=$'\t' read -r args st msg; do
		# (M/ and T/ after a space: $M itself may hold a "T/")
		args=${args// M\// $M/}
		args=${args// T\// $T/}
		run -"$st" --separate-stderr mine-negatives $args
		msg=${msg// M\// $M/}
		msg=${msg// T\// $T/}
		assert_equal "${stderr_lines[0]}" "$msg"
		assert_output ''
	done < <(bad_cases)
}

@test "mine-negatives: a write error exits 74" {
	run -74 --separate-stderr bash -c "mine-negatives -q '$M/qrels.tsv' -Q '$M/queries.mp' -C '$M/corpus.mp' '$M/hits.mp' > /dev/full"
	assert_equal "${stderr_lines[-1]}" 'mine-negatives: stdout: No space left on device'
}

@test "mine-negatives refuses to write msgpack to a terminal" {
	command -v script > /dev/null
	run script -qec "$TOP/bin/mine-negatives -q '$M/qrels.tsv' -Q '$M/queries.mp' -C '$M/corpus.mp' '$M/hits.mp'" /dev/null
	[ "$status" -ne 0 ]
	assert_output --partial 'mine-negatives: '
}
