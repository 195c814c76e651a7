#!/usr/bin/env bash
# encode vs sentence-transformers (PyTorch CPU, same threads, batch 32) on the
# SciFact corpus (5183 documents) and queries (1109): sentences/s, tokens/s,
# GFLOP/s, CPU seconds and peak RSS from /usr/bin/time -v.  Both sides run
# in turn, REPS times (default 1), interleaved.  The host may be shared, so
# rates are also given per CPU-second; quote ratios from one run only.
# DOCS=N uses only the first N corpus documents (default: all 5183).
. "$(dirname "$0")/common.bash"
REPS=${REPS:-1}
O=bench/out/encode
mkdir -p "$O"

if [ -n "${DOCS:-}" ]; then
	head -n "$DOCS" "$DATA/scifact/corpus.jsonl" > "$O/corpus.jsonl"
else
	cat "$DATA/scifact/corpus.jsonl" > "$O/corpus.jsonl"
fi
cat "$DATA/scifact/queries.jsonl" > "$O/queries.jsonl"
for w in corpus queries; do
	bin/tokenize -m "$M" "$O/$w.jsonl" > "$O/$w.tok"
done

# tokens and GFLOP of a tokens stream (linear layers + attention)
stats() {
	"$PY" - "$1" "$M" <<'PY'
import json, sys, msgpack
c = json.load(open(sys.argv[2] + "/config.json"))
C, L, F = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"]
n = tok = fl = 0
with open(sys.argv[1], "rb") as f:
    it = msgpack.Unpacker(f, raw=False); next(it)
    for r in it:
        T = len(r["ids"]); n += 1; tok += T
        fl += L * (2 * T * (4 * C * C + 2 * C * F) + 4 * T * T * C)
print(n, tok, fl / 1e9)
PY
}

printf '%-8s %-22s %9s %9s %9s %8s %8s %9s %8s\n' set impl sent/s tok/s GFLOP/s wall_s cpu_s sent/cpu-s rss_MiB
for w in corpus queries; do
	read -r n tok gf < <(stats "$O/$w.tok")
	for r in $(seq "$REPS"); do
		/usr/bin/time -v -o "$O/enc-$w.time" bin/encode -t "$T" -m "$M" "$O/$w.tok" > "$O/$w.emb"
		read -r ew ec er < <(tv "$O/enc-$w.time")
		/usr/bin/time -v -o "$O/st-$w.time" "$PY" bench/st_encode.py "$M" "$O/$w.jsonl" "$T" > "$O/st-$w.txt"
		read -r sw sc sr < <(tv "$O/st-$w.time")
		read -r _ st_s < "$O/st-$w.txt"
		awk -v w="$w" -v n="$n" -v tok="$tok" -v gf="$gf" -v ew="$ew" -v ec="$ec" -v er="$er" \
		    -v sw="$sw" -v sc="$sc" -v sr="$sr" -v ss="$st_s" 'BEGIN {
			f = "%-8s %-22s %9.1f %9.0f %9.1f %8.2f %8.2f %9.1f %8.0f\n"
			printf f, w, "encode", n/ew, tok/ew, gf/ew, ew, ec, n/ec, er
			printf f, w, "sentence-transformers", n/ss, tok/ss, gf/ss, ss, sc, n/sc, sr
			printf "%-8s ratio (encode/ST): %.2fx sentences/s (wall, ST encode() only), %.2fx per CPU-second (whole processes), RSS %.2fx\n", w, ss/ew, sc/ec, er/sr
		}'
	done
done
