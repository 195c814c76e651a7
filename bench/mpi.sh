#!/usr/bin/env bash
# train under mpirun against one process on this machine: MNRL on SciFact
# train rows (the rows of bench/train.sh), global batch BATCH (32), STEPS
# steps (4), max length MAXLEN (256): `mpirun -np 2 build/mpi/train -t 1`
# against `bin/train -t 2`, the same cores either way.  Reports examples/s
# over the steps (from --log), the seconds in MPI_Allgatherv and
# MPI_Allreduce (rank 0's, printed by train), and the parameters' largest
# difference (attention key biases aside, see tests/62-train-mpi.bats).
# Needs Open MPI (make deps MPI=1) and build/mpi/train.
. "$(dirname "$0")/common.bash"
B=${BATCH:-32}
STEPS=${STEPS:-4}
MAXLEN=${MAXLEN:-256}
O=bench/out/mpi
mkdir -p "$O"
command -v mpirun > /dev/null || { echo "mpi.sh: no mpirun (make deps MPI=1)"; exit 0; }
make -s build/mpi/train

rows $((B * STEPS)) > "$O/rows.jsonl"
bin/tokenize -m "$M" -n "$MAXLEN" "$O/rows.jsonl" > "$O/rows.mp"
root=()
[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
rm -rf "$O/one" "$O/two"
OMP_NUM_THREADS=$T bin/train -t "$T" -m "$M" -o "$O/one" -b "$B" --no-dropout \
    --save-every 0 --log "$O/one.tsv" "$O/rows.mp"
OMP_NUM_THREADS=1 mpirun --oversubscribe "${root[@]}" -np "$T" build/mpi/train -t 1 \
    -m "$M" -o "$O/two" -b "$B" --no-dropout --save-every 0 --log "$O/two.tsv" \
    "$O/rows.mp" 2> "$O/two.err"
rate() { awk -F'\t' -v b="$B" 'NR > 1 && $5 > 0 {s += b / $5; n += b} END {printf "%.3f %.1f\n", n / s, s}' "$1"; }
read -r r1 s1 < <(rate "$O/one.tsv")
read -r r2 s2 < <(rate "$O/two.tsv")
comm=$(sed -n 's/.*: \([0-9.]*\) s in MPI_Allgatherv, \([0-9.]*\) s in MPI_Allreduce.*/\1 \2/p' "$O/two.err")
d=$("$PY" tests/st_maxdiff.py "$O/one/model.safetensors" "$O/two/model.safetensors" 1 attention.self.key.bias || true)
echo "batch $B, $STEPS steps, max length $MAXLEN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %8s\n' impl ex/s loop_s
printf '%-28s %10s %8s\n' "train -t $T" "$r1" "$s1"
printf '%-28s %10s %8s\n' "mpirun -np $T train -t 1" "$r2" "$s2"
read -r g a <<< "$comm"
echo "mpirun: ${g}s in MPI_Allgatherv, ${a}s in MPI_Allreduce over $STEPS steps (rank 0); parameters: $d"
