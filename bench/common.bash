# Sourced by the bench/*.sh scripts: the settings they share (each can be
# set in the environment, as `make bench` passes them) and tv, which reads
# the figures of a /usr/bin/time -v report, and rows, the SciFact training
# rows of the train benchmarks.
set -eu -o pipefail
cd "$(dirname "$0")/.."
M=${MODELDIR:-models/all-MiniLM-L6-v2}
DATA=${DATA:-../shared/data}
T=${THREADS:-2}
PY=${PY:-.venv/bin/python}

# tv REPORT: "wall-seconds CPU-seconds peak-RSS-MiB"
tv() {
	awk -F': ' '/Elapsed \(wall/ {n = split($2, a, ":"); s = 0;
		for (i = 1; i <= n; i++) s = s * 60 + a[i]; wall = s}
		/User time/ {cpu += $2} /System time/ {cpu += $2}
		/Maximum resident/ {rss = $2 / 1024}
		END {printf "%.2f %.2f %.0f\n", wall, cpu, rss}' "$1"
}

# rows N: N SciFact train (anchor, positive, negative) rows as JSON lines --
# one row per training query, a random corpus document as the negative, no
# text twice (so every batch is full: NO_DUPLICATES on both sides); a
# document is BEIR's title + " " + text (bench/train.sh, bench/mpi.sh)
rows() {
	"$PY" - "$DATA/scifact" "$1" <<'PY'
import json, random, sys
d, n = sys.argv[1], int(sys.argv[2])
doc = {}
for l in open(d + "/corpus.jsonl"):
    r = json.loads(l)
    doc[r["_id"]] = (r.get("title", "") + " " + r["text"]).strip()
q = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(d + "/queries.jsonl")}
rng, ids, seen, k = random.Random(1), sorted(doc), set(), 0
for i, l in enumerate(open(d + "/qrels/train.tsv")):
    qid, did, s = l.rstrip("\n").split("\t")
    neg = rng.choice(ids)
    if i == 0 or int(s) <= 0 or {qid, "d" + did, "d" + neg} & seen or did == neg:
        continue
    seen |= {qid, "d" + did, "d" + neg}
    print(json.dumps({"anchor": q[qid], "positive": doc[did], "negative": doc[neg]}))
    k += 1
    if k == n:
        break
PY
}
