#!/bin/bash
# summary.sh [-d DATA] [-m MODEL] [-l LEVEL] [-t TRAIN_LOG] [-S MAX_STEPS]
#            [-x MINE_REPORT] [-c CV_SUMMARY] [-M METRIC,...] [-J COMPARE_J.txt]
#            COMPARE.txt
# A Markdown summary of one before/after run: the table of
# `score --compare base tuned` for the chosen metrics, and one line each on
# the data, the mined training set and the training run (-S: the bound on
# its steps, said when the run reached it); with -c, the
# cross-validation section (cv-summary.sh) after them.  -J: also the
# judged-documents-only table (`score --compare -J`), said to be so.
set -eu -o pipefail
usage() {
	echo "usage: summary.sh [-d DATA] [-m MODEL] [-l LEVEL] [-t TRAIN_LOG]" \
	    "[-S MAX_STEPS] [-x MINE_REPORT] [-c CV_SUMMARY] [-M METRIC,...]" \
	    "[-J COMPARE_J.txt] COMPARE.txt" >&2
	exit 64
}
data= model= level=1 log= mine= cv= mets=ndcg@10,mrr@10,map@100,recall@10,recall@100
cmpj= maxs=
while getopts d:m:l:t:S:x:c:M:J: c; do
	case $c in
	d) data=$OPTARG ;; m) model=$OPTARG ;; l) level=$OPTARG ;;
	t) log=$OPTARG ;; x) mine=$OPTARG ;; c) cv=$OPTARG ;;
	M) mets=$OPTARG ;; J) cmpj=$OPTARG ;; S) maxs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
cmp=$1
[ -r "$cmp" ] || { echo "summary.sh: $cmp: cannot read" >&2; exit 66; }
[ -z "$cmpj" ] || [ -r "$cmpj" ] || { echo "summary.sh: $cmpj: cannot read" >&2; exit 66; }
# table METRICS FILE
table() {
	echo "| metric | base | tuned | Δ | p | 95% CI of Δ |"
	echo "|---|---:|---:|---:|---:|---|"
	awk -v mets="$1" 'BEGIN { n = split(mets, m, ","); for (i = 1; i <= n; i++) want[m[i]] = i }
		NR > 1 && ($1 in want) { ci = $6; for (i = 7; i <= NF; i++) ci = ci " " $i
			row[want[$1]] = sprintf("| %s | %s | %s | %s | %s | %s |", $1, $2, $3, $4, $5, ci) }
		END { for (i = 1; i <= n; i++) if (i in row) print row[i] }' "$2"
}

echo "## $(basename "${data:-data}"): $(basename "${model:-model}"), base vs fine-tuned"
echo
echo "Test split, relevant = relevance >= $level; p from a paired randomization"
echo "test, 95% CI of the difference by bootstrap (score --compare)."
echo
if [ -n "$cmpj" ]; then
	echo "Judged documents only (score -J: each query's ranking keeps only the"
	echo "documents judged for it; the judgments hold explicit non-relevant ones):"
	echo
	table ndcg@5,ndcg@10,rcap@5,rcap@10 "$cmpj"
	echo
	echo "Whole corpus (unjudged documents count as not relevant, as in BEIR):"
	echo
fi
table "$mets" "$cmp"
echo
if [ -n "$mine" ] && [ -r "$mine" ]; then
	sed -n 's/^mine-negatives: \([0-9]* queries with positives.*rows\)$/Training set: \1 (mine-negatives)./p' "$mine"
	awk '/^mine-negatives: --skip-missing: / && ($5 || $11) {
		printf "Left out of mining: %d positives not in the corpus and %d queries without text (the train judgments name more than the collection holds).\n", $5, $11 }' "$mine"
fi
if [ -n "$log" ] && [ -r "$log" ]; then
	awk -F'\t' -v m="$maxs" 'NR == 2 { first = $2 } NR > 1 { n++; last = $2 }
		END { if (n) printf "Training: %d step%s%s, loss %.4f -> %.4f.\n", n,
			(n > 1 ? "s" : ""), (n == m ? " (the MAX_STEPS bound)" : ""),
			first, last }' "$log"
fi
if [ -n "$cv" ]; then
	[ -r "$cv" ] || { echo "summary.sh: $cv: cannot read" >&2; exit 66; }
	echo
	cat "$cv"
fi
