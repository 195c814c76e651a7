#!/usr/bin/env bash
# train vs sentence-transformers' SentenceTransformerTrainer (PyTorch CPU,
# same threads): MultipleNegativesRankingLoss, batch 32, max length 256,
# SciFact train (query, positive, negative) rows -- one row per training
# query, a random corpus document as the negative -- STEPS batches each
# (default 8).  Reports training examples/s (the training loop alone, and
# whole processes by wall time and per CPU-second) and peak RSS from
# /usr/bin/time -v.  train's whole-process figures add bin/tokenize's run
# (sentence-transformers tokenizes inside its loop).  train runs twice:
# plain MNRL, and Cached MNRL (--mini-batch 32: the same loss and gradients,
# activations for 32 texts at a time, one more forward); CMNRL=0 skips it.
# PRECISION=bf16 runs train --precision bf16 against the trainer's
# bf16=True (autocast: bf16 products, fp32 master weights) on both sides.
. "$(dirname "$0")/common.bash"
B=${BATCH:-32}
STEPS=${STEPS:-8}
CMNRL=${CMNRL:-1}
MAXLEN=${MAXLEN:-256}
P=${PRECISION:-fp32}
O=bench/out/train
mkdir -p "$O"

rows $((B * STEPS)) > "$O/rows.jsonl"
/usr/bin/time -v -o "$O/tok.time" bin/tokenize -m "$M" -n "$MAXLEN" \
    "$O/rows.jsonl" > "$O/rows.mp"

n=$(wc -l < "$O/rows.jsonl")
# the training loop alone: the sum of the steps' times (every batch is full)
loop() { awk -F'\t' -v b="$B" 'NR > 1 && $5 > 0 {s += b / $5} END {printf "%.2f\n", s}' "$1"; }
rm -rf "$O/tuned" "$O/st-out"
/usr/bin/time -v -o "$O/train.time" bin/train -t "$T" -m "$M" -o "$O/tuned" -b "$B" \
    --precision "$P" --save-every 0 --log "$O/train.tsv" "$O/rows.mp"
read -r kw kc _ < <(tv "$O/tok.time")
read -r ew ec er < <(tv "$O/train.time")
steps=$(($(wc -l < "$O/train.tsv") - 1))
el=$(loop "$O/train.tsv")
rm -rf "$O/tuned"
cl=0 cw=0 cc=0 cr=0
if [ "$CMNRL" != 0 ]; then
	/usr/bin/time -v -o "$O/cmnrl.time" bin/train -t "$T" -m "$M" -o "$O/tuned" \
	    -b "$B" --precision "$P" --loss cmnrl --mini-batch 32 --save-every 0 \
	    --log "$O/cmnrl.tsv" "$O/rows.mp"
	read -r cw cc cr < <(tv "$O/cmnrl.time")
	cl=$(loop "$O/cmnrl.tsv")
fi
/usr/bin/time -v -o "$O/st.time" "$PY" bench/st_train.py "$M" "$O/rows.jsonl" "$T" "$B" "$MAXLEN" "$O/st-out" "$P" > "$O/st.txt"
read -r sw sc sr < <(tv "$O/st.time")
read -r _ sl < <(tail -1 "$O/st.txt")
awk -v n="$n" -v steps="$steps" -v kw="$kw" -v kc="$kc" \
    -v el="$el" -v ew="$ew" -v ec="$ec" -v er="$er" \
    -v cl="$cl" -v cw="$cw" -v cc="$cc" -v cr="$cr" \
    -v sl="$sl" -v sw="$sw" -v sc="$sc" -v sr="$sr" 'BEGIN {
	printf "precision '"$P"'; %d rows, %d steps of %d; tokenize %.2f s wall, %.2f CPU-s (added to train'"'"'s wall_s and cpu_s)\n", n, steps, n / steps, kw, kc
	f = "%-22s %12.3f %10.2f %8.2f %10.3f %8.2f %10.3f %8.0f\n"
	printf "%-22s %12s %10s %8s %10s %8s %10s %8s\n", "impl", "loop_ex/s", "loop_s", "wall_s", "wall_ex/s", "cpu_s", "ex/cpu-s", "rss_MiB"
	ew += kw; ec += kc
	printf f, "train mnrl", n / el, el, ew, n / ew, ec, n / ec, er
	if (cl > 0) {
		cw += kw; cc += kc
		printf f, "train cmnrl/32", n / cl, cl, cw, n / cw, cc, n / cc, cr
	}
	printf f, "sentence-transformers", n / sl, sl, sw, n / sw, sc, n / sc, sr
	r = "ratio %s/ST: %.2fx examples/s (loop), %.2fx (whole processes, wall), %.2fx per CPU-second (whole processes), peak RSS %.2fx\n"
	printf r, "mnrl", sl / el, sw / ew, sc / ec, er / sr
	if (cl > 0)
		printf r, "cmnrl", sl / cl, sw / cw, sc / cc, cr / sr
}'
