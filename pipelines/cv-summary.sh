#!/bin/bash
# cv-summary.sh [-J] [-k FOLDS] [-K CV_K] [-q TRAIN_QRELS] -w WINNER -d CV_DIR
#     TABLE.tsv
# The cross-validation section of summary.md (beir.mk RECIPE=auto): each
# candidate recipe's held-out NDCG@10 against the base model's, the winner,
# and what was measured.  TABLE.tsv: recipe, base, recipe's NDCG@10, change,
# p (score --compare over the held-out runs), cost (texts trained over all
# folds); WINNER: the chosen recipe's
# name, mining and training options (or "base").  A winner whose held-out
# gain has p >= 0.05 gets a line that says so.  -J: the folds were scored
# on the judged documents only (score -J).  TRAIN_QRELS: all the train
# judgments, where the folds (CV_DIR/folds.tsv) took only some of the
# queries.
set -eu -o pipefail
usage() {
	echo "usage: cv-summary.sh [-J] [-k FOLDS] [-K CV_K] [-q TRAIN_QRELS]" \
	    "-w WINNER -d CV_DIR TABLE.tsv" >&2
	exit 64
}
k=5 K=100 win= dir= judged= qrels=
while getopts Jk:K:q:w:d: c; do
	case $c in
	J) judged=1 ;;
	k) k=$OPTARG ;; K) K=$OPTARG ;; w) win=$OPTARG ;; d) dir=$OPTARG ;;
	q) qrels=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] && [ -n "$win" ] && [ -n "$dir" ] || usage
tab=$1
for f in "$tab" "$win" ${qrels:+"$qrels"}; do
	[ -r "$f" ] || { echo "cv-summary.sh: $f: cannot read" >&2; exit 66; }
done
nq=$(cut -f1 "$dir/folds.tsv" | sort -u | wc -l)
all=$nq
[ -z "$qrels" ] || all=$(awk -F'\t' 'NF >= 3 && !(FNR == 1 &&
    $1 == "query-id") { print $1 }' "$qrels" | sort -u | wc -l)
echo "## Recipe chosen by cross-validation (RECIPE=auto)"
echo
if [ "$nq" -lt "$all" ]; then
	echo "$k folds of $nq of the $all train queries (a sample in the folds'"
	echo "seeded order, as many as CV_QUERIES and CV_POSITIVES allow, to bound"
	echo "the cost); each recipe is trained on the other"
else
	echo "$k folds of the $nq train queries; each recipe is trained on the other"
fi
echo "folds' queries and scored on the held-out fold by re-ranking the base"
echo "model's top $K for each held-out query. NDCG@10 over all held-out queries,"
echo "change from the base model on the same queries, p from score --compare."
if [ -n "$judged" ]; then
	echo "The train judgments hold explicit non-relevant documents, so each"
	echo "held-out query ranks only its judged documents (score -J), as the"
	echo "collection's owners score it."
fi
prec=$(sed -n 5p "$dir/$(sed -n 1p "$tab" | cut -f1)/.opts")
if [ -n "$prec" ]; then
	echo "The folds trained and encoded with \`$prec\` (auto: bf16 where the CPU"
	echo "has it, else fp32); the winner is trained with its own options."
fi
echo
echo "| recipe | mining | training | rows | texts trained | NDCG@10 | Δ | p |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
base=
while IFS=$'\t' read -r r b v d p cost; do
	base=$b
	mine=$(sed -n 2p "$dir/$r/.opts")
	train=$(sed -n 3p "$dir/$r/.opts")
	rows=$(cat "$dir/$r"/f*/mine.txt 2>/dev/null | sed -n \
	    's/^mine-negatives: .* \([0-9]*\) rows$/\1/p' |
	    awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }')
	echo "| $r | \`$mine\` | \`$train\` | ${rows:-?} | $cost | $v | $d | $p |"
done < "$tab"
echo "| (base model) | | | | | $base | | |"
echo
echo "Rows: the mean over the folds of the rows each fold's training read;"
echo "texts trained: training steps times texts a row, summed over the folds"
echo "(the cost: equal NDCG@10 goes to the cheaper recipe)."
w=$(sed -n 1p "$win")
if [ "$w" = base ]; then
	echo "**No recipe beat the base model in cross-validation**: the result is"
	echo "the base model itself, unchanged (its test figures above are the base"
	echo "model's twice). Every candidate's held-out NDCG@10 was at or below the"
	echo "base model's on the same queries, as the table shows."
else
	echo "**Winner: \`$w\`** (the best held-out NDCG@10 above the base model's),"
	echo "trained on all $all train queries: mining \`$(sed -n 2p "$win")\`,"
	echo "training \`$(sed -n 3p "$win")\`."
	# a gain the folds cannot tell from chance: said, not hidden
	p=$(awk -F'\t' -v w="$w" '$1 == w { print $5 }' "$tab")
	if awk -v p="$p" 'BEGIN { exit !(p + 0 >= 0.05) }'; then
		echo
		echo "Its held-out gain over the base model is **not significant** (p"
		echo "$p over $nq queries): cross-validation found it better but could"
		echo "not rule out chance; judge it by the test figures above. More"
		echo "judged train queries make the choice surer."
	fi
fi
