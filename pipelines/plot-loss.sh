#!/bin/bash
# plot-loss.sh LOG.tsv OUT.png: the training-loss curve from train --log
# (columns step, loss, lr, grad_norm, examples_per_s[, ndcg@10]; one header
# line; the row of an evaluation of the base model has no loss and is left
# out), with a running mean over about 5% of the steps, as a PNG (gnuplot);
# a log with no step gives an empty chart that says so.
set -eu -o pipefail
[ $# -eq 2 ] || { echo "usage: plot-loss.sh LOG.tsv OUT.png" >&2; exit 64; }
log=$1 png=$2
[ -r "$log" ] || { echo "plot-loss.sh: $log: cannot read" >&2; exit 66; }
[ -s "$log" ] || { echo "plot-loss.sh: $log: no header line" >&2; exit 65; }
n=$(awk -F'\t' 'NR > 1 && $2 != ""' "$log" | wc -l)
w=$(( n / 20 > 1 ? n / 20 : 1 ))
tmp=$(mktemp "$(dirname "$png")/.$(basename "$png").XXXXXX")
trap 'rm -f "$tmp" "$tmp.dat"' EXIT
if [ "$n" -eq 0 ]; then
	# a log with no step (beir.mk RECIPE=auto kept the base model): an empty
	# chart that says so
	gnuplot -e "
set terminal pngcairo size 800,480 noenhanced;
set output '$tmp';
set title 'no training step: the base model was kept';
set xlabel 'step'; set ylabel 'loss'; set grid; unset key;
plot [0:1] [0:1] NaN"
	chmod 644 "$tmp"
	mv "$tmp" "$png"
	trap - EXIT
	exit 0
fi
# step, loss, running mean of the last w losses
awk -F'\t' -v w="$w" 'NR > 1 && $2 != "" { i++; s += $2; q[i] = $2; if (i > w) s -= q[i - w]
	print $1, $2, s / (i < w ? i : w) }' "$log" > "$tmp.dat"
gnuplot -e "
set terminal pngcairo size 800,480 noenhanced;
set output '$tmp';
set title 'training loss, $n steps';
set xlabel 'step'; set ylabel 'loss'; set grid; set key top right;
plot '$tmp.dat' using 1:2 with lines lc rgb '#a8c0dc' title 'loss per step', \
     '$tmp.dat' using 1:3 with lines lw 2 lc rgb '#1f4e79' title 'running mean ($w steps)'"
chmod 644 "$tmp"
mv "$tmp" "$png"
trap - EXIT
rm -f "$tmp.dat"
