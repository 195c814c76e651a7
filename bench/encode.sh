#!/usr/bin/env bash
# encode vs sentence-transformers (PyTorch CPU, same threads, batch 32) on the
# SciFact corpus (5183 documents) and queries (1109): sentences/s, tokens/s,
# GFLOP/s, CPU seconds and peak RSS from /usr/bin/time -v.  Both sides run
# in turn, REPS times (default 1), interleaved.  The host may be shared, so
# rates are also given per CPU-second; quote ratios from one run only.
# DOCS=N uses only the first N corpus documents (default: all 5183).
# Each precision in PRECISIONS (default fp32, and bf16 where the CPU has
# bf16 hardware) runs on both sides: encode --precision P against
# sentence-transformers with fp32 or bf16 weights.
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

PRECISIONS=${PRECISIONS:-fp32 $(bin/encode --version | grep -qE '^bf16 kernel: (amx|avx512bf16)' && echo bf16 || :)}
printf '%-8s %-22s %9s %9s %9s %8s %8s %9s %8s\n' set impl sent/s tok/s GFLOP/s wall_s cpu_s sent/cpu-s rss_MiB
for w in corpus queries; do
	read -r n tok gf < <(stats "$O/$w.tok")
	for r in $(seq "$REPS"); do
	for p in $PRECISIONS; do
		/usr/bin/time -v -o "$O/enc-$w.time" bin/encode -t "$T" -m "$M" --precision "$p" "$O/$w.tok" > "$O/$w-$p.emb"
		read -r ew ec er < <(tv "$O/enc-$w.time")
		/usr/bin/time -v -o "$O/st-$w.time" "$PY" bench/st_encode.py "$M" "$O/$w.jsonl" "$T" "$p" > "$O/st-$w.txt"
		read -r sw sc sr < <(tv "$O/st-$w.time")
		read -r _ st_s < "$O/st-$w.txt"
		awk -v w="$w" -v p="$p" -v n="$n" -v tok="$tok" -v gf="$gf" -v ew="$ew" -v ec="$ec" -v er="$er" \
		    -v sw="$sw" -v sc="$sc" -v sr="$sr" -v ss="$st_s" 'BEGIN {
			f = "%-8s %-22s %9.1f %9.0f %9.1f %8.2f %8.2f %9.1f %8.0f\n"
			printf f, w, "encode " p, n/ew, tok/ew, gf/ew, ew, ec, n/ec, er
			printf f, w, "sent-transformers " p, n/ss, tok/ss, gf/ss, ss, sc, n/sc, sr
			printf "%-8s %s ratio (encode/ST): %.2fx sentences/s (wall, ST encode() only), %.2fx per CPU-second (whole processes), RSS %.2fx\n", w, p, ss/ew, sc/ec, er/sr
		}'
	done
	done
done
