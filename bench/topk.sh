#!/usr/bin/env bash
# topk against faiss-cpu IndexFlatIP: exact inner-product top-10 of 1,000
# random queries in a random 1,000,000 x 384 corpus (unit vectors), both
# with the same number of threads, interleaved, three rounds; medians.
# topk's search time = its whole run minus a run with no queries (which
# only loads the corpus stream); faiss's = index.search alone.
set -eu -o pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${N:-1000000}
NQ=${NQ:-1000}
K=${K:-10}
T=${THREADS:-$(nproc)}
o=bench/out
mkdir -p $o
if [ ! -s $o/topk-c.emb ] || [ ! -s $o/topk-c.npy ] || [ "$(cat $o/topk-c.n 2>/dev/null)" != "$N" ]; then
	NPY=$o/topk-c.npy $PY bench/gen_emb.py "$N" 384 1 d > $o/topk-c.emb
	echo "$N" > $o/topk-c.n
fi
NPY=$o/topk-q.npy $PY bench/gen_emb.py "$NQ" 384 2 q > $o/topk-q.emb
$PY bench/gen_emb.py 0 384 0 x > $o/topk-none.emb

now() { date +%s.%N; }
export OMP_NUM_THREADS=$T
: > $o/topk.tsv
for round in 1 2 3; do
	a=$(now); bin/topk -k "$K" -c $o/topk-c.emb $o/topk-none.emb > /dev/null; b=$(now)
	bin/topk -t -k "$K" -c $o/topk-c.emb $o/topk-q.emb > $o/topk-run.trec; c=$(now)
	f=$($PY bench/faiss_topk.py $o/topk-c.npy $o/topk-q.npy "$K" "$T" $o/topk-run.trec)
	printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$(echo "$b - $a" | bc)" "$(echo "$c - $b" | bc)" \
	    "$(awk '/faiss_search_s/{print $2}' <<< "$f")" "$(awk '/faiss_total_s/{print $2}' <<< "$f")" >> $o/topk.tsv
	agree=$(awk '/agree/{print $2}' <<< "$f")
done
sort -t$'\t' -k3,3g $o/topk.tsv | awk -F'\t' -v nq="$NQ" -v n="$N" -v t="$T" -v k="$K" -v agree="$agree" '
	{ load[NR] = $2; all[NR] = $3; fs[NR] = $4; ft[NR] = $5; s[NR] = $3 - $2 }
	function med(a,   i, j, x, m) { m = NR; for (i = 1; i <= m; i++) x[i] = a[i]
	    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { y = x[i]; x[i] = x[j]; x[j] = y }
	    return x[int((m + 1) / 2)] }
	END {
	  ts = med(s); tf = med(fs)
	  printf "topk: %d x 384 corpus, %d queries, k=%d, %d threads (median of %d rounds)\n", n, nq, k, t, NR
	  printf "  topk  search %.2f s = %.0f queries/s   (whole run %.2f s, of which corpus load %.2f s)\n", ts, nq / ts, med(all), med(load)
	  printf "  faiss search %.2f s = %.0f queries/s   (whole script %.2f s)\n", tf, nq / tf, med(ft)
	  printf "  ratio topk/faiss (queries/s): %.2f; hits in common: %s\n", tf / ts, agree
	}'
