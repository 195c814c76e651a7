#!/usr/bin/env bats
# Bounded memory: tokenize, encode, topk's query side and score hold one
# record, one batch or one query, not the input.  Each is fed a stream
# generated on the fly into a pipe, ~50 MB and then ~1 GB (tokenize: 400 MB,
# it is the slowest per byte), and its peak RSS (/usr/bin/time's %M) must
# stay flat: the big run within 20% + 4 MB of the small one.  Inputs are
# chosen to be cheap per byte: encode gets records with 1000-byte ids and
# three token ids on the tiny model, topk 1024-dimensional queries against a
# 20-document corpus, score a run of the same 20000 judged queries with more
# hits each (a hits stream, or TREC text).
load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export OMP_NUM_THREADS=1
	# the sanitizer build's RSS is its allocator's (quarantine, shadow)
	[ -z "${EMBTUNE_BIN:-}" ] || skip "peak RSS is measured on the normal build"
}

# gen KIND MB: a stream of KIND (jsonl, tokens, emb, corpus, hits, trec;
# qrels: their judgments) of about MB megabytes on stdout
gen() {
	"$PY" -c '
import sys, struct, msgpack
kind, mb = sys.argv[1], int(sys.argv[2])
w = sys.stdout.buffer.write
P = lambda o: msgpack.packb(o, use_bin_type=True)
def emb_header():
    w(P({"kind": "embeddings", "v": 1, "producer": "t", "model": "t",
        "dim": 1024, "normalized": False}))
if kind == "corpus":
    emb_header()
    for i in range(20):
        w(P({"id": "d%d" % i, "vec": struct.pack("<1024f", *([i / 20] * 1024))}))
    sys.exit(0)
if kind in ("hits", "trec", "qrels"):
    # 20000 judged queries, each with as many hits as make mb megabytes
    nq = 20000
    if kind == "qrels":
        for q in range(nq):
            w(b"q%d\td3\t1\nq%d\td40\t2\nq%d\td90000\t1\n" % (q, q, q))
        sys.exit(0)
    per = (mb << 20) // nq
    if kind == "hits":
        w(P({"kind": "hits", "v": 1, "producer": "t", "k": 0}))
        one = P(["d0", 0.5])
        n = per // len(one)
        hits = P([["d%d" % i, 1 - i / n] for i in range(n)])
        for q in range(nq):
            w(b"\x82" + P("qid") + P("q%d" % q) + P("hits") + hits)
    else:
        one = b"q99999 Q0 d0000 1 0.99999 t\n"
        n = per // len(one)
        block = b"".join(b"@ Q0 d%d %d %.5f t\n" % (i, i + 1, 1 - i / n)
            for i in range(n))
        for q in range(nq):
            w(block.replace(b"@", b"q%d" % q))
    sys.exit(0)
if kind == "jsonl":
    rec = b"{\"_id\":\"d\",\"text\":\"" + b"the cat sat on the mat and a dog ran " * 25 + b"\"}\n"
elif kind == "tokens":
    w(P({"kind": "tokens", "v": 1, "producer": "t", "model": "tiny",
        "vocab": "508b6aa0397af9a6", "max_len": 16}))
    rec = P({"id": "x" * 1000, "ids": [2, 5, 3]})
else:
    emb_header()
    rec = P({"id": "q" * 16, "vec": struct.pack("<1024f", *([0.5] * 1024))})
chunk = rec * max(1, (1 << 20) // len(rec))
for _ in range((mb << 20) // len(chunk)):
    w(chunk)
' "$@"
}

# peak KIND MB CMD...: the peak RSS (KB) of CMD reading gen KIND MB
peak() {
	local kind=$1 mb=$2
	shift 2
	gen "$kind" "$mb" | /usr/bin/time -f %M -o rss "$@" > /dev/null
	cat rss
}

flat() {	# flat SMALL BIG: BIG within 20% + 4 MB of SMALL
	echo "# peak RSS: ${1} KB at 50 MB, ${2} KB at the big size" >&3
	[ "$2" -le $(($1 * 12 / 10 + 4096)) ] ||
		fail "peak RSS grew from $1 KB to $2 KB"
}

@test "tokenize: peak RSS is flat from 50 MB to 400 MB of JSONL" {
	a=$(peak jsonl 50 tokenize -m "$FIX/tiny")
	b=$(peak jsonl 400 tokenize -m "$FIX/tiny")
	flat "$a" "$b"
}

@test "encode: peak RSS is flat from 50 MB to 1 GB of tokens" {
	a=$(peak tokens 50 encode -m "$FIX/tiny")
	b=$(peak tokens 1024 encode -m "$FIX/tiny")
	flat "$a" "$b"
}

@test "topk: peak RSS is flat from 50 MB to 1 GB of queries" {
	gen corpus 0 > corpus.emb
	a=$(peak emb 50 topk -k 5 -c corpus.emb)
	b=$(peak emb 1024 topk -k 5 -c corpus.emb)
	flat "$a" "$b"
}

@test "score: peak RSS is flat from 50 MB to 1 GB of hits stream, and of TREC text" {
	gen qrels 0 > qrels.tsv
	for kind in hits trec; do
		a=$(peak $kind 50 score -q qrels.tsv -m ndcg -k 10)
		b=$(peak $kind 1024 score -q qrels.tsv -m ndcg -k 10)
		flat "$a" "$b"
	done
}

@test "encode: a model's weights are resident once while it loads, not twice" {
	# all-mpnet-base-v2, 438 MB of fp32 weights: the file's mapped pages
	# are given back tensor by tensor as they are copied, so the peak
	# stays well under twice the file (it was 860 MB before)
	need_mpnet
	printf '{"_id":"q","text":"what a cell does"}\n' > q.jsonl
	tokenize -m "$MPNET" q.jsonl > q.tok
	/usr/bin/time -f %M -o rss encode -m "$MPNET" q.tok > /dev/null
	size=$(($(stat -c %s "$MPNET/model.safetensors") / 1024))
	echo "# peak RSS $(cat rss) KB, weights $size KB" >&3
	[ "$(cat rss)" -le $((size * 3 / 2)) ] ||
		fail "peak RSS $(cat rss) KB: more than 1.5 x the $size KB of weights"
}
