#!/usr/bin/env bash
# topk against faiss-cpu IndexFlatIP: exact inner-product top-10 of 1,000
# random queries in a random 1,000,000 x 384 corpus (unit vectors), both
# with the same number of threads, interleaved, three rounds; medians.
# topk's search = its whole run minus a run with no queries (which only
# loads the corpus stream); faiss's = index.search alone.  Wall seconds and
# CPU seconds (all threads; what counts on a shared host) for each.
# PRECISION=bf16 runs topk --precision bf16 (faiss stays fp32; "agree"
# then counts the hits bf16 changed).
. "$(dirname "$0")/common.bash"
N=${N:-1000000}
NQ=${NQ:-1000}
K=${K:-10}
T=${THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
P=${PRECISION:-fp32}
o=bench/out
mkdir -p $o
if [ ! -s $o/topk-c.emb ] || [ ! -s $o/topk-c.npy ] || [ "$(cat $o/topk-c.n 2>/dev/null)" != "$N" ]; then
	NPY=$o/topk-c.npy $PY bench/gen_emb.py "$N" 384 1 d > $o/topk-c.emb
	echo "$N" > $o/topk-c.n
fi
NPY=$o/topk-q.npy $PY bench/gen_emb.py "$NQ" 384 2 q > $o/topk-q.emb
$PY bench/gen_emb.py 0 384 0 x > $o/topk-none.emb

export OMP_NUM_THREADS=$T
# tm OUT CMD...: run CMD with stdout to OUT; print its wall and CPU seconds
tm() { local out=$1; shift; /usr/bin/time -f '%e %U %S' -o $o/topk-time "$@" > "$out"
	awk '{ print $1, $2 + $3 }' $o/topk-time; }
: > $o/topk.tsv
for round in $(seq "$ROUNDS"); do
	read -r lw lc < <(tm /dev/null bin/topk -k "$K" -c $o/topk-c.emb $o/topk-none.emb)
	read -r aw ac < <(tm $o/topk-run.trec bin/topk --precision "$P" -t -k "$K" -c $o/topk-c.emb $o/topk-q.emb)
	f=$($PY bench/faiss_topk.py $o/topk-c.npy $o/topk-q.npy "$K" "$T" $o/topk-run.trec)
	v() { awk -v k="$1" '$1 == k { print $2 }' <<< "$f"; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$lw" "$lc" "$aw" "$ac" \
	    "$(v faiss_search_s)" "$(v faiss_search_cpu_s)" "$(v faiss_total_s)" "$(v agree)" >> $o/topk.tsv
done
awk -F'\t' -v nq="$NQ" -v n="$N" -v t="$T" -v k="$K" '
	function med(c,   i, j, x, m, y) { m = NR; for (i = 1; i <= m; i++) x[i] = v[i, c]
	    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { y = x[i]; x[i] = x[j]; x[j] = y }
	    return x[int((m + 1) / 2)] }
	{ for (i = 1; i <= 8; i++) v[NR, i] = $i; v[NR, 9] = $3 - $1; v[NR, 10] = $4 - $2 }
	END {
	  printf "topk ('"$P"'): %d x 384 corpus, %d queries, k=%d, %d threads (median of %d rounds)\n", n, nq, k, t, NR
	  printf "  topk  search %6.2f s wall, %6.2f s CPU: %6.0f queries/s, %6.0f per CPU-s  (run %.2f s, corpus load %.2f s)\n",
	      med(9), med(10), nq / med(9), nq / med(10), med(3), med(1)
	  printf "  faiss search %6.2f s wall, %6.2f s CPU: %6.0f queries/s, %6.0f per CPU-s  (script %.2f s)\n",
	      med(5), med(6), nq / med(5), nq / med(6), med(7)
	  printf "  topk/faiss: %.2fx queries/s, %.2fx per CPU-s; faiss hits that topk also returned: %s\n",
	      med(5) / med(9), med(6) / med(10), v[NR, 8]
	}' $o/topk.tsv
