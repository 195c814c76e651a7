#!/usr/bin/env bats
# score: trec_eval-exact metrics against pytrec_eval references
# (fixtures/gen/gen_score.py), bad input, --compare.
load helper

S="$FIX/score"
USAGE='usage: score -q QRELS [-Jjp] [-k K,...] [-m METRIC,...] [-l LEVEL] [RUN]'
ALL=ndcg,mrr,map,recall,precision,accuracy,rcap

# score -j -p output on stdin vs a reference TSV (query, metric@k..., last
# row "all"): same queries in the same order, every value within 1e-6.
cmpref() {
	jq -r '(.per_query | to_entries[] | [.key] + [.value[]]),
	    (["all"] + [.mean[]]) | @tsv' |
	awk -F'\t' -v ref="$1" '
	BEGIN { while ((getline l < ref) > 0) R[n++] = l }
	{ m++; split(R[m], r, "\t")
	  if ($1 != r[1]) { print "row " m ": query " $1 ", want " r[1]; bad++; next }
	  for (i = 2; i <= NF; i++) { d = $i - r[i]; if (d < 0) d = -d
	    if (d > 1e-6) { print $1 " column " i ": " $i ", want " r[i]; bad++ } } }
	END { if (m != n - 1) { print "rows: " m ", want " n - 1; bad++ }
	      exit bad > 0 }'
}

parity() {	# qrels run ref [score options]
	local q=$1 r=$2 ref=$3
	shift 3
	score -q "$q" -j -p "$@" "$r" 2>/dev/null | cmpref "$ref"
}

@test "score -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr score -h
	assert_line -n 0 "$USAGE"
}

@test "score: bad command lines exit 64 with the usage" {
	while IFS='|' read -r args msg; do
		run -64 --separate-stderr score $args
		assert_equal "${stderr_lines[0]}" "$msg"
		assert_output ''
	done <<-'T'
	-x -q q|score: invalid option -- 'x'
	S|score: -q QRELS is required
	-q q -m ndcg,bleu|score: -m: bleu: unknown metric (ndcg, mrr, map, recall, precision, accuracy, rcap)
	-q q -m ndcg,ndcg|score: -m: ndcg: given twice
	-q q -k 10,0|score: -k: 0: must be between 1 and 1000000
	-q q -k 5,5|score: -k: 5: given twice
	-q q -l 0|score: -l: 0: must be between 1 and 1000000
	-q q a b|usage: score -q QRELS [-Jjp] [-k K,...] [-m METRIC,...] [-l LEVEL] [RUN]
	--compare -q q a|usage: score -q QRELS [-Jjp] [-k K,...] [-m METRIC,...] [-l LEVEL] [RUN]
	-J --compare -q q a|usage: score -q QRELS [-Jjp] [-k K,...] [-m METRIC,...] [-l LEVEL] [RUN]
	--compare -p -q q a b|score: -p does not apply to --compare
	T
}

@test "score matches pytrec_eval on three synthetic runs with ties and graded qrels" {
	for r in syn1 syn2 syn3; do
		parity "$S/qrels-syn.tsv" "$S/$r.trec" "$S/$r.ref.tsv"
	done
}

@test "score reads a hits stream and TREC qrels, from stdin, with the same result" {
	score -q "$S/qrels-syn.trec" -j -p < "$S/syn3.mp" 2>/dev/null |
	    cmpref "$S/syn3.ref.tsv"
}

@test "score -l 2 matches pytrec_eval with relevance_level=2" {
	parity "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn1-l2.ref.tsv" -l 2
}

@test "score: input order does not matter (trec_eval's ranking is rebuilt)" {
	sort -r "$S/syn1.trec" > "$BATS_TEST_TMPDIR/rev.trec"
	run -0 --separate-stderr score -q "$S/qrels-syn.tsv" -j -p "$BATS_TEST_TMPDIR/rev.trec"
	assert_equal "$output" "$(score -q "$S/qrels-syn.tsv" -j -p "$S/syn1.trec" 2>/dev/null)"
}

@test "score: a run not grouped by query scores as its grouped form, from a file or redirected stdin" {
	cd "$BATS_TEST_TMPDIR"
	# syn1.trec interleaves its queries (2078 groups of 2170 lines)
	sort -s -k1,1 "$S/syn1.trec" > grouped.trec
	want=$(score -q "$S/qrels-syn.tsv" -j -p grouped.trec 2>/dev/null)
	[ -n "$want" ]
	assert_equal "$(score -q "$S/qrels-syn.tsv" -j -p "$S/syn1.trec" 2>/dev/null)" "$want"
	assert_equal "$(score -q "$S/qrels-syn.tsv" -j -p < "$S/syn1.trec" 2>/dev/null)" "$want"
	assert_equal "$(cat grouped.trec | score -q "$S/qrels-syn.tsv" -j -p 2>/dev/null)" "$want"
}

@test "score: a query whose hits come again from a pipe exits 65 naming the line; from a file it is one query" {
	cd "$BATS_TEST_TMPDIR"
	line=$(awk '$1 != p && s[$1] { print NR; exit } { s[$1] = 1; p = $1 }' "$S/syn1.trec")
	q=$(sed -n "${line}p" "$S/syn1.trec" | cut -d' ' -f1)
	run -65 --separate-stderr bash -c "cat '$S/syn1.trec' | score -q '$S/qrels-syn.tsv'"
	assert_equal "$stderr" "score: stdin: line $line: query \"$q\" again, after other queries: a run read from a pipe must keep each query's hits together"
	assert_output ''
	# a hits stream: q1's two records (apart) are one query, also when
	# they list one document twice
	"$PY" -c '
import msgpack, sys
P = lambda o: msgpack.packb(o, use_bin_type=True)
H = P({"kind": "hits", "v": 1, "producer": "t", "k": 2})
recs = [("q1", [["d1", 0.9]]), ("q4", [["m", 1.0]]), ("q1", [["d2", 0.95], ["d0", 0.2]])]
open("split.mp", "wb").write(H + b"".join(P({"qid": q, "hits": h}) for q, h in recs))
open("whole.mp", "wb").write(H + P({"qid": "q1", "hits": [["d2", 0.95], ["d1", 0.9], ["d0", 0.2]]}) + P({"qid": "q4", "hits": [["m", 1.0]]}))
recs[2][1].append(["d1", 0.1])
open("dup.mp", "wb").write(H + b"".join(P({"qid": q, "hits": h}) for q, h in recs))
'
	printf 'q1\td1\t1\nq1\td2\t2\nq4\tm\t1\n' > q.tsv
	run -0 --separate-stderr score -q q.tsv -j -p split.mp
	assert_equal "$output" "$(score -q q.tsv -j -p whole.mp)"
	run -65 --separate-stderr score -q q.tsv dup.mp
	assert_equal "$stderr" 'score: dup.mp: query "q1": document "d1" is listed twice'
	run -0 --separate-stderr score -q q.tsv -j -p < split.mp
	assert_equal "$output" "$(score -q q.tsv -j -p whole.mp)"
	run -65 --separate-stderr bash -c 'cat split.mp | score -q q.tsv'
	assert_equal "$stderr" 'score: stdin: record 3: query "q1" again, after other queries: a run read from a pipe must keep each query'"'"'s hits together'
}

@test "score: an empty run is an empty run: every judged query counts 0, with a warning" {
	cd "$BATS_TEST_TMPDIR"
	printf 'q1\td1\t1\nq2\td2\t1\n' > q.tsv
	: > empty
	run -0 --separate-stderr score -q q.tsv -m ndcg -k 10 empty
	assert_equal "$stderr" 'score: empty: 2 of 2 judged queries have no hits (each counts 0)'
	assert_output - <<-'T'
	metric         @10
	ndcg        0.0000
	T
	run -0 --separate-stderr score -q q.tsv -m ndcg -k 10 < empty
	assert_equal "$stderr" 'score: stdin: 2 of 2 judged queries have no hits (each counts 0)'
}

@test "score matches pytrec_eval on the base model's SciFact test run" {
	zcat "$S/scifact-test.trec.gz" > "$BATS_TEST_TMPDIR/run"
	parity "$DATA/scifact/qrels/test.tsv" "$BATS_TEST_TMPDIR/run" "$S/scifact-test.ref.tsv"
}

@test "score matches pytrec_eval on the base model's ACORD test run (graded 0-4)" {
	zcat "$S/acord-test.trec.gz" > "$BATS_TEST_TMPDIR/run"
	parity "$DATA/acord/qrels/test.tsv" "$BATS_TEST_TMPDIR/run" "$S/acord-test.ref.tsv"
}

@test "score -J matches pytrec_eval (judged_docs_only_flag) on synthetic runs: unjudged hits at the top, in the middle, ties, none judged" {
	# synj: per query, unjudged hits at the top / a block in the middle /
	# nothing judged / nothing unjudged / judged and unjudged tied in pairs
	parity "$S/qrels-syn.tsv" "$S/synj.trec" "$S/synj-J.ref.tsv" -J -m $ALL
	parity "$S/qrels-syn.tsv" "$S/synj.trec" "$S/synj-l2-J.ref.tsv" --judged-only -l 2 -m $ALL
	parity "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn1-J.ref.tsv" -J -m $ALL
	# a hits stream, TREC qrels
	score -q "$S/qrels-syn.trec" -J -l 2 -j -p -m $ALL < "$S/syn3.mp" 2>/dev/null |
	    cmpref "$S/syn3-l2-J.ref.tsv"
	# -J changes what it should: without it synj scores otherwise
	run -0 --separate-stderr score -q "$S/qrels-syn.tsv" -m ndcg -k 10 "$S/synj.trec"
	refute_output "$(score -q "$S/qrels-syn.tsv" -J -m ndcg -k 10 "$S/synj.trec" 2>/dev/null)"
}

@test "score -J: ranks close up, a negative judgment leaves too (trec_eval), a query without judged hits counts 0" {
	cd "$BATS_TEST_TMPDIR"
	printf 'a\td1\t1\na\td2\t0\na\td3\t-1\na\td4\t2\nb\tx\t1\n' > q.tsv
	printf '%s\n' 'a Q0 u1 1 5 t' 'a Q0 d3 2 4 t' 'a Q0 d2 3 3 t' 'a Q0 u2 4 2.5 t' \
	    'a Q0 d1 5 2 t' 'a Q0 d4 6 1 t' 'b Q0 u 1 1 t' 'b Q0 v 2 0.5 t' > r.trec
	# a ranks d2 (0), d1 (1), d4 (2); b has nothing left.  pytrec_eval
	# (judged_docs_only_flag=True): a ndcg_cut_3 0.6199062332840657,
	# P_3 0.6666666666666666, map_cut_3 0.5833333333333333; b all 0
	run -0 --separate-stderr score -q q.tsv -J -p -k 1,3 -m ndcg,precision,map,rcap r.trec
	assert_equal "$stderr" 'score: r.trec: 1 of 2 judged queries have no judged hits (each counts 0)'
	assert_output - <<-'T'
	query  metric          @1       @3
	a      ndcg        0.0000   0.6199
	a      precision   0.0000   0.6667
	a      map         0.0000   0.5833
	a      rcap        0.0000   1.0000
	b      ndcg        0.0000   0.0000
	b      precision   0.0000   0.0000
	b      map         0.0000   0.0000
	b      rcap        0.0000   0.0000
	all    ndcg        0.0000   0.3100
	all    precision   0.0000   0.3333
	all    map         0.0000   0.2917
	all    rcap        0.0000   0.5000
	T
	run -0 --separate-stderr score -q q.tsv -p -k 3 -m ndcg r.trec
	assert_line -n 1 --regexp '^a +ndcg +0\.0000$'
}

@test "score -J matches pytrec_eval on ACORD test runs of the base and the tuned model, levels 1-4 (2- to 5-star)" {
	# make demo's runs (top 1000; unjudged hits kept in the top 100)
	for m in base tuned; do
		zcat "$S/acord-J-$m.trec.gz" > "$BATS_TEST_TMPDIR/run"
		for l in 1 2 3 4; do
			parity "$DATA/acord/qrels/test.tsv" "$BATS_TEST_TMPDIR/run" \
			    "$S/acord-J-$m-l$l.ref.tsv" -J -l $l -m $ALL ||
			    { echo "$m, level $l"; return 1; }
		done
	done
}

@test "score rcap is BEIR's R_cap@k: relevant in the top k / min(k, relevant judged)" {
	parity "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn1-rcap.ref.tsv" -m rcap
}

tiny() {
	cd "$BATS_TEST_TMPDIR"
	printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\ta\t0\nq3\tx\t2\nq3\ty\t1\nq3\tz\t1\nq4\tm\t1\n' > q.tsv
	printf '%s\n' 'q1 Q0 d0 1 0.9 t' 'q1 Q0 d1 2 0.5 t' 'q2 Q0 a 1 1 t' \
	    'q3 Q0 y 1 0.5 t' 'q3 Q0 x 2 0.5 t' 'q3 Q0 z 3 0.5 t' 'q3 Q0 w 4 0.5 t' \
	    'q5 Q0 m 1 1 t' > r.trec
}

@test "score prints an aligned table; judged queries without hits count 0" {
	tiny
	run -0 --separate-stderr score -q q.tsv -k 1,3 -m ndcg,map,precision r.trec
	assert_output - <<-'T'
	metric          @1       @3
	ndcg        0.1667   0.4904
	map         0.1111   0.5000
	precision   0.3333   0.4444
	T
	assert_equal "$stderr" 'score: r.trec: 1 of 3 judged queries have no hits (each counts 0)'
}

@test "score -p prints every query, then the means as query all" {
	tiny
	run -0 --separate-stderr score -q q.tsv -p -k 1,10 -m ndcg,mrr r.trec
	assert_output - <<-'T'
	query  metric          @1      @10
	q1     ndcg        0.0000   0.6309
	q1     mrr         0.0000   0.5000
	q3     ndcg        0.5000   0.8403
	q3     mrr         1.0000   1.0000
	q4     ndcg        0.0000   0.0000
	q4     mrr         0.0000   0.0000
	all    ndcg        0.1667   0.4904
	all    mrr         0.3333   0.5000
	T
}

@test "score -j counts evaluated, hitless and skipped queries" {
	tiny
	run -0 --separate-stderr score -q q.tsv -j -m accuracy -k 3 r.trec
	assert_equal "$(jq -c . <<< "$output")" \
	    '{"level":1,"judged_only":false,"queries":3,"no_hits":1,"skipped":1,"mean":{"accuracy@3":0.6666666666666666}}'
}

# bad input: which file | its contents (printf format) | status | message
# (F: the file's name)
bad_cases() {
	cat <<'T'
qrels|query-id\tcorpus-id\tscore\nq1\td1\tx\n|65|score: F: line 2: relevance "x": not an integer
qrels|q1\td1\t1\nq1\td1\t1\td3\n|65|score: F: line 2: expected 3 tab-separated fields (query-id corpus-id score), got more than 3 fields
qrels|q1 0 d1 1\nq1 0 d2\n|65|score: F: line 2: expected 4 fields (qid iter docid rel), got 3 fields
qrels|q1\td1\t1\nq1\td1\t2\n|65|score: F: line 2: query "q1", document "d1": judged twice
qrels|query-id\tcorpus-id\tscore\nq1\td1\t0\n|65|score: F: no query has a document with relevance >= 1
run|q1 Q0 d1 1 0.5\n|65|score: F: line 1: expected 6 fields (qid Q0 docid rank score tag), got 5
run|q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 nan t\n|65|score: F: line 2: score "nan": not a finite number
run|q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n|65|score: F: query "q1": document "d1" is listed twice
run|zz Q0 d1 1 0.5 t\nzz Q0 d1 2 0.4 t\n|65|score: F: query "zz": document "d1" is listed twice
T
}

@test "score: bad judgments and runs exit 65 naming the file and line" {
	cd "$BATS_TEST_TMPDIR"
	printf 'q1\td1\t1\n' > good.tsv
	printf 'q1 Q0 d1 1 0.5 t\n' > good.trec
	while IFS='|' read -r what body st msg; do
		printf "$body" > bad
		if [ "$what" = qrels ]; then
			run -"$st" --separate-stderr score -q bad good.trec
		else
			run -"$st" --separate-stderr score -q good.tsv bad
		fi
		assert_equal "$stderr" "${msg//F:/bad:}"
		assert_output ''
	done < <(bad_cases)
}

@test "score: a bad hits stream exits 65 with the record and byte" {
	run -65 --separate-stderr score -q "$S/qrels-syn.tsv" "$FIX/streams/embeddings.mp"
	assert_equal "$stderr" "score: $FIX/streams/embeddings.mp: header (byte 0): expected a hits stream, got embeddings"
	fails 65 '^score: .*truncated.mp: (record|header).*' \
	    score -q "$S/qrels-syn.tsv" "$FIX/streams/truncated.mp"
}

@test "score: a missing file exits 66; the first stderr line starts with score:" {
	fails 66 '^score: .*/nope: No such file or directory$' \
	    score -q "$BATS_TEST_TMPDIR/nope" "$S/syn1.trec"
	fails 66 '^score: ' score -q "$S/qrels-syn.tsv" "$BATS_TEST_TMPDIR/nope"
}

# score --compare -j output on stdin vs a reference TSV (metric, a, b, diff,
# p, lo, hi), every value within 1e-9
cmpcompare() {
	jq -r '.metrics | to_entries[] | [.key, .value.a, .value.b, .value.diff,
	    .value.p, .value.ci95[0], .value.ci95[1]] | @tsv' |
	awk -F'\t' -v ref="$1" '
	BEGIN { getline l < ref; while ((getline l < ref) > 0) R[n++] = l }
	{ split(R[m++], r, "\t"); if ($1 != r[1]) { print "metric " $1; bad++ }
	  for (i = 2; i <= NF; i++) { d = $i - r[i]; if (d < 0) d = -d
	    if (d > 1e-9) { print $1 " column " i ": " $i ", want " r[i]; bad++ } } }
	END { if (m != n) { print "rows " m ", want " n; bad++ }; exit bad > 0 }'
}

@test "score --compare matches the reference randomization test and bootstrap" {
	score --compare -j -q "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn2.trec" |
	    cmpcompare "$S/compare-syn.ref.tsv"
}

@test "score --compare -J: both runs judged-only, same tests (reference)" {
	score --compare -J -j -q "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn3.trec" |
	    cmpcompare "$S/compare-syn-J.ref.tsv"
	run -0 --separate-stderr score --compare -J -j -m ndcg -k 10 -q "$S/qrels-syn.tsv" "$S/syn1.trec" "$S/syn3.trec"
	assert_equal "$(jq .judged_only <<< "$output")" true
}

@test "score --compare of a run with itself: difference 0, p = 1, interval [0, 0]" {
	run -0 --separate-stderr score --compare -q "$S/qrels-syn.tsv" -m ndcg -k 10 "$S/syn1.trec" "$S/syn1.trec"
	assert_output - <<-'T'
	metric                A        B      B-A        p  95% CI of B-A
	ndcg@10          0.2384   0.2384  +0.0000   1.0000  [+0.0000, +0.0000]
	T
}

@test "SciFact test, base model, tokenize | encode | topk | score: NDCG@10 = 0.645 +- 0.002 (MTEB 0.6451)" {
	# the one test that encodes a whole corpus (5183 abstracts): a quality
	# measurement, run on the normal build only (under ASan it would take
	# most of CI's time and check nothing the parity tests do not)
	[ -z "${EMBTUNE_BIN:-}" ] || skip "quality measurement: normal build only"
	cd "$BATS_TEST_TMPDIR"
	tokenize -m "$MODEL" "$DATA/scifact/corpus.jsonl" | encode -m "$MODEL" > corpus.emb
	tokenize -m "$MODEL" "$DATA/scifact/queries.jsonl" | encode -m "$MODEL" |
	    topk -k 100 -c corpus.emb > run.mp
	run -0 --separate-stderr score -q "$DATA/scifact/qrels/test.tsv" -j -m ndcg -k 10 run.mp
	ndcg=$(jq '.mean["ndcg@10"]' <<< "$output")
	echo "# NDCG@10 = $ndcg" >&3
	assert_equal "$(jq .queries <<< "$output")" 300
	run awk -v x="$ndcg" 'BEGIN { exit !(x >= 0.643 && x <= 0.647) }'
	assert_success
}

@test "SciFact test, all-mpnet-base-v2, tokenize | encode | topk | score: NDCG@10 = 0.6557 +- 0.002 (MTEB 0.6557)" {
	# 5183 abstracts through a 110M-parameter model: most of an hour of
	# 2-core CPU, so only on request (EMBTUNE_SLOW=1) and on the normal build
	need_mpnet
	[ -n "${EMBTUNE_SLOW:-}" ] || skip "all-mpnet-base-v2 quality measurement: EMBTUNE_SLOW=1"
	[ -z "${EMBTUNE_BIN:-}" ] || skip "quality measurement: normal build only"
	cd "$BATS_TEST_TMPDIR"
	tokenize -m "$MPNET" "$DATA/scifact/corpus.jsonl" | encode -m "$MPNET" > corpus.emb
	tokenize -m "$MPNET" "$DATA/scifact/queries.jsonl" | encode -m "$MPNET" |
	    topk -k 100 -c corpus.emb > run.mp
	run -0 --separate-stderr score -q "$DATA/scifact/qrels/test.tsv" -j -m ndcg -k 10 run.mp
	ndcg=$(jq '.mean["ndcg@10"]' <<< "$output")
	echo "# NDCG@10 = $ndcg" >&3
	assert_equal "$(jq .queries <<< "$output")" 300
	run awk -v x="$ndcg" 'BEGIN { exit !(x >= 0.6537 && x <= 0.6577) }'
	assert_success
}
