#!/usr/bin/env bats
# Hostile and broken input across the tools, table-driven: every case gives
# the documented exit status, one message naming the tool and the record
# (or line, or file), and no partial output.  Cases that a tool's own suite
# (tests/05..60-*.bats) already covers are not repeated here.
load helper

# the bad streams, generated once: $BATS_FILE_TMPDIR/b/KIND.CASE
setup_file() {
	"$PY" - "$BATS_FILE_TMPDIR/b" "$FIX/tiny" <<'PY'
import msgpack, struct, sys, os
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
P = lambda o: msgpack.packb(o, use_bin_type=True)
def W(name, *parts):
    with open(os.path.join(d, name), "wb") as f:
        for p in parts:
            f.write(p if isinstance(p, bytes) else P(p))
V = "508b6aa0397af9a6"	# fixtures/tiny's vocabulary
H = {
 "tokens": {"kind": "tokens", "v": 1, "producer": "t", "model": "tiny", "vocab": V, "max_len": 16},
 "embeddings": {"kind": "embeddings", "v": 1, "producer": "t", "model": "tiny", "dim": 4, "normalized": False},
 "hits": {"kind": "hits", "v": 1, "producer": "t", "k": 2},
 "examples": {"kind": "examples", "v": 1, "producer": "t", "model": "tiny", "vocab": V, "max_len": 16, "columns": 2},
 # tokens as fixtures/mine's queries (another vocabulary)
 "mtokens": {"kind": "tokens", "v": 1, "producer": "t", "model": "fake", "vocab": "00112233aabbccdd", "max_len": 8},
}
vec = lambda *x: struct.pack("<%df" % len(x), *x)
G = {	# one good record of each kind
 "tokens": {"id": "q0", "ids": [2, 5, 3]},
 "embeddings": {"id": "q1", "vec": vec(1, 0, 0, 0)},
 "hits": {"qid": "q0", "hits": [["d05", 0.5]]},
 "examples": {"texts": [[2, 5, 3], [2, 6, 3]]},
 "mtokens": {"id": "q0", "ids": [101, 2000, 102]},
}
other = {"tokens": "embeddings", "embeddings": "hits", "hits": "tokens", "examples": "tokens", "mtokens": "hits"}
for k, h in H.items():
    with open(os.path.join(d, k + ".hlen"), "w") as f:
        f.write("%d\n" % len(P(h)))
    W(k + ".good", h, G[k])
    W(k + ".empty")
    W(k + ".noheader", G[k])
    W(k + ".kindint", dict(h, kind=5))
    W(k + ".wrongkind", dict(h, kind=other[k]), G[k])
    W(k + ".newer", dict(h, v=2), G[k])
    W(k + ".vstr", dict(h, v="1"), G[k])
    W(k + ".nov", {x: y for x, y in h.items() if x != "v"}, G[k])
    W(k + ".notmap", [1, 2])
    W(k + ".arrayrec", h, [G[k]])
    W(k + ".c1", h, b"\xc1")
    # forged lengths: nothing may be allocated for them
    W(k + ".array32", h, b"\x81\xa1x\xdd\xff\xff\xff\xff")
    W(k + ".map32", h, b"\x81\xa1x\xdf\xff\xff\xff\xff")
    W(k + ".str32", h, b"\x81\xa1x\xdb\xff\xff\xff\xff")
    W(k + ".bin32", h, b"\x81\xa1x\xc6\xff\xff\xff\xff")
    W(k + ".ext32", h, b"\x81\xa1x\xc9\xff\xff\xff\xff\x01")
    W(k + ".arr16M", h, b"\x81\xa1x\xdd\x01\x00\x00\x00")	# 2^24 elements, then EOF
    W(k + ".deep", h, b"\x81\xa1x" + b"\x91" * 40 + b"\x01")
# wrong msgpack types, per key
T = {
 "tokens": [("id-int", {"id": 7, "ids": [2, 3]}), ("id-nil", {"id": None, "ids": [2, 3]}),
    ("ids-map", {"id": "a", "ids": {"x": 1}}), ("ids-str-elem", {"id": "a", "ids": [2, "x", 3]}),
    ("ids-float-elem", {"id": "a", "ids": [2, 1.5, 3]}), ("ids-missing", {"id": "a"})],
 "embeddings": [("id-int", {"id": 7, "vec": vec(1, 0, 0, 0)}), ("vec-str", {"id": "q", "vec": "abcdefghijklmnop"}),
    ("vec-array", {"id": "q", "vec": [1.0, 0.0, 0.0, 0.0]}), ("vec-missing", {"id": "q"}),
    ("vec-long", {"id": "q", "vec": vec(1, 0, 0, 0, 0)}), ("vec-nan", {"id": "q", "vec": vec(0, float("nan"), 0, 0)})],
 "hits": [("qid-int", {"qid": 7, "hits": [["d1", 0.5]]}), ("hits-map", {"qid": "q1", "hits": {"d1": 0.5}}),
    ("hit-short", {"qid": "q1", "hits": [["d1"]]}), ("hit-docint", {"qid": "q1", "hits": [[1, 0.5]]}),
    ("hit-scorestr", {"qid": "q1", "hits": [["d1", "x"]]}), ("hit-nan", {"qid": "q1", "hits": [["d1", float("nan")]]}),
    ("hit-notarray", {"qid": "q1", "hits": ["d1"]}), ("hits-missing", {"qid": "q1"})],
 "examples": [("texts-str", {"texts": "ab"}), ("texts-elem-str", {"texts": [[2, 3], "x"]}),
    ("texts-id-str", {"texts": [[2, "a", 3], [2, 3]]}), ("label-str", {"texts": [[2, 3], [2, 4]], "label": "x"}),
    ("texts-missing", {"label": 1.0}), ("texts-empty-seq", {"texts": [[], [2, 3]]})],
}
for k, cases in T.items():
    for name, rec in cases:
        W("%s.%s" % (k, name), H[k], rec)
# header keys of the wrong type
HB = {
 "tokens": [("vocab-int", {"vocab": 5})],
 "embeddings": [("dim-str", {"dim": "4"}), ("dim-zero", {"dim": 0}), ("dim-huge", {"dim": 2**40}), ("dim-missing", {"dim": None})],
 "examples": [("vocab-int", {"vocab": 5})],
}
for k, cases in HB.items():
    for name, upd in cases:
        h = dict(H[k]); h.update(upd)
        W("%s.h-%s" % (k, name), {x: y for x, y in h.items() if y is not None}, G[k])
# a str that is not UTF-8, a map key that is not a str
W("tokens.badutf8", H["tokens"], b"\x82\xa2id\xa3\xff\xfe\x01\xa3ids\x92\x02\x03")
with open(os.path.join(d, "q0.tsv"), "w") as f:
    f.write("q0\td03\t1\n")
# broken safetensors: st/NAME, from fixtures/tiny's model
import json, copy
raw = open(os.path.join(sys.argv[2], "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr, data = json.loads(raw[8:8 + n]), raw[8 + n:]
os.makedirs(os.path.join(d, "st"), exist_ok=True)
def ST(name, b):
    with open(os.path.join(d, "st", name), "wb") as f:
        f.write(b)
def STH(name, edit):
    h = copy.deepcopy(hdr)
    edit(h["embeddings.LayerNorm.bias"], h)	# F32 [8], data [0, 32]
    s = json.dumps(h).encode()
    ST(name, struct.pack("<Q", len(s)) + s + data)
ST("short", raw[:5])
ST("hlen-huge", struct.pack("<Q", 2**63) + raw[8:])
ST("hjson", struct.pack("<Q", n) + b"{" + raw[9:8 + n].replace(b"}", b"]", 1) + data)
ST("truncated", raw[:len(raw) - 7])
STH("off-past", lambda t, h: t["data_offsets"].__setitem__(1, 36))
STH("off-neg", lambda t, h: t.__setitem__("data_offsets", [-4, 0]))
STH("off-reversed", lambda t, h: t.__setitem__("data_offsets", [40, 8]))
STH("dtype-i32", lambda t, h: t.__setitem__("dtype", "I32"))
STH("dtype-unknown", lambda t, h: t.__setitem__("dtype", "Q99"))
STH("shape-wrong", lambda t, h: t.__setitem__("shape", [8, 1]))
STH("shape-overflow", lambda t, h: t.update(shape=[2**62, 4], data_offsets=[0, 0]))
STH("shape-str", lambda t, h: t.__setitem__("shape", "x"))
STH("missing", lambda t, h: h.pop("embeddings.LayerNorm.bias"))
W("tokens.intkey", H["tokens"], b"\x83\xa2id\xa1a\xa3ids\x92\x02\x03\x07\x01")
PY
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	B="$BATS_FILE_TMPDIR/b"
	export OMP_NUM_THREADS=1	# the tiny model gains nothing from threads
}

# cmd TOOL: set CMD to the command line of TOOL reading the stream under
# test on stdin (TOOL-side: the tool's second stream input)
cmd() {
	case $1 in
	show) CMD=(show) ;;
	encode) CMD=(encode -m "$FIX/tiny") ;;
	topk) CMD=(topk -c "$FIX/score/topk-corpus.emb") ;;
	topk-corpus) CMD=(topk -c /dev/stdin "$FIX/score/topk-queries.emb") ;;
	score) CMD=(score -q "$FIX/score/qrels-syn.tsv") ;;
	mine-negatives) CMD=(mine-negatives -q "$FIX/mine/qrels.tsv"
	    -Q "$FIX/mine/queries.mp" -C "$FIX/mine/corpus.mp") ;;
	mine-negatives-queries) CMD=(mine-negatives -q "$B/q0.tsv"
	    -Q /dev/stdin -C "$FIX/mine/corpus.mp" "$FIX/mine/hits.mp") ;;
	train) CMD=(train -m "$FIX/tiny" -o out) ;;
	esac
}

# the stream consumers: TOOL, the streams it gets (file prefix in $B), the
# kind it expects, the name it gives its input
consumers() {
	cat <<-'T'
	show	tokens	tokens	stdin
	encode	tokens	tokens	stdin
	topk	embeddings	embeddings	stdin
	topk-corpus	embeddings	embeddings	/dev/stdin
	score	hits	hits	stdin
	mine-negatives	hits	hits	stdin
	mine-negatives-queries	mtokens	tokens	/dev/stdin
	train	examples	examples	stdin
	T
}

# run1 TOOL FILE: run TOOL < FILE; sets st, err (stderr), outsz (0 or 1)
run1() {
	[ ! -e out ] || rm -r out
	cmd "$1"
	st=0
	timeout 20 "${CMD[@]}" < "$2" > o.bin 2> e.txt || st=$?
	err=$(< e.txt)
	outsz=0
	[ ! -s o.bin ] || outsz=1
}

# what TOOL wrote before it failed is whole: show's lines end with a
# newline; a stream decodes (records before the bad one are fine to write)
whole() {
	case $1 in
	show) [ "$(tail -c 1 o.bin | od -An -c | tr -d ' ')" = '\n' ] ;;
	encode|topk*|mine*) show o.bin > /dev/null ;;
	*) return 1 ;;	# score writes after all input is valid
	esac
}

# broken streams, the same for every consumer: case, message (@H: TOOL:
# NAME: header (byte 0): ; @R: TOOL: NAME: record 1 (byte HEADER_SIZE): )
stream_cases() {
	cat <<-'T'
	noheader	@Hnot a stream header: no "kind"
	kindint	@Hnot a stream header: no "kind"
	newer	@HKIND stream version 2 is newer than 1, the newest this tool reads
	vstr	@H"v": missing or not a uint
	nov	@H"v": missing or not a uint
	notmap	@Hexpected a map, got array
	arrayrec	@Rexpected a map, got array
	c1	@Rmalformed msgpack
	array32	@Rarray of 4294967295 elements: the record would exceed 64 MiB
	map32	@Rmap of 4294967295 elements: the record would exceed 64 MiB
	str32	@Rstr of 4294967295 bytes: the record would exceed 64 MiB
	bin32	@Rbin of 4294967295 bytes: the record would exceed 64 MiB
	ext32	@Rext of 4294967295 bytes: the record would exceed 64 MiB
	arr16M	@Rtruncated record
	deep	@Rnested deeper than 32 levels
	T
}

@test "every stream consumer: broken and forged streams exit 65 naming the record, no output" {
	while IFS=$'\t' read -r tool f kind name; do
		tn=${tool%-corpus}
		tn=${tn%-queries}
		hl=$(< "$B/$f.hlen")
		while IFS=$'\t' read -r c msg; do
			msg=${msg//@H/$tn: $name: header (byte 0): }
			msg=${msg//@R/$tn: $name: record 1 (byte $hl): }
			msg=${msg//KIND/$kind}
			run1 "$tool" "$B/$f.$c"
			[ "$st" -eq 65 ] || fail "$tool < $f.$c: status $st: $err"
			if [ "$c" = notmap ] && [ "$tn" != "${tn#[sm][ci]}" ] &&
			    [ "$name" = stdin ]; then
				# score and mine-negatives take this for TREC text
				msg="$tn: stdin: line 1: invalid UTF-8 at byte 1"
			fi
			assert_equal "${err%%$'\n'*}" "$msg"
			[ "$outsz" -eq 0 ] || whole "$tool" ||
				fail "$tool < $f.$c: wrote a partial output"
			[ ! -e out ] || fail "$tool < $f.$c: left out/"
		done < <(stream_cases)
	done < <(consumers)
}

@test "every stream consumer: empty input and a stream of the wrong kind exit 65" {
	while IFS=$'\t' read -r tool f kind name; do
		tn=${tool%-corpus}
		tn=${tn%-queries}
		if [ "$tool" != show ]; then	# show takes any kind
			run1 "$tool" "$B/$f.wrongkind"
			[ "$st" -eq 65 ] || fail "$tool: wrong kind: status $st"
			assert_regex "$err" "^$tn: $name: header \(byte 0\): expected an? $kind stream, got [a-z]+\$"
		fi
		run1 "$tool" "$B/$f.empty"
		if [ "$tool" = score ] || [ "$tool" = mine-negatives ]; then
			# an empty TREC run: no hits
			[ "$st" -eq 0 ] || fail "$tool: empty: status $st"
			continue
		fi
		[ "$st" -eq 65 ] || fail "$tool: empty: status $st"
		assert_regex "$err" "^$tn: $name: empty input: no header record"
		[ ! -e out ] || fail "$tool: empty: left out/"
	done < <(consumers)
}

@test "every stream consumer: a stream cut at any byte exits 65, or reads the whole records before the cut" {
	# every offset for show; the reader is shared, so for the others the
	# edges of the header and of the record, and its middle
	while IFS=$'\t' read -r tool f kind name; do
		tn=${tool%-corpus}
		tn=${tn%-queries}
		good=$B/$f.good
		size=$(stat -c %s "$good")
		hl=$(< "$B/$f.hlen")
		run1 "$tool" "$good"
		[ "$st" -eq 0 ] || [ "$tool" = train ] ||	# one row: too few to train
			fail "$tool < $f.good: status $st: $err"
		if [ "$tool" = show ]; then
			offs=$(seq 0 $((size - 1)))
		else
			offs="0 1 $((hl - 1)) $hl $((hl + 1)) $(((hl + size) / 2)) $((size - 1))"
		fi
		for off in $offs; do
			head -c "$off" "$good" > cut
			run1 "$tool" cut
			if [ "$off" -eq 0 ]; then
				want="$tn: $name: empty input: no header record"
				# score and mine-negatives: an empty TREC run
				case $tool in score|mine-negatives) continue ;; esac
			elif [ "$off" -lt "$hl" ]; then
				want="$tn: $name: header (byte 0): truncated record"
			elif [ "$off" -eq "$hl" ]; then	# the header alone
				[ "$st" -eq 0 ] || [ "$st" -eq 65 ] ||
					fail "$tool: header only: status $st: $err"
				continue
			else
				want="$tn: $name: record 1 (byte $hl): truncated record"
			fi
			[ "$st" -eq 65 ] || fail "$tool: cut at $off: status $st: $err"
			[[ "${err%%$'\n'*}" == "$want"* ]] ||
				fail "$tool: cut at $off: '$err', want '$want'"
			[ "$outsz" -eq 0 ] || whole "$tool" ||
				fail "$tool: cut at $off: wrote a partial output"
			[ ! -e out ] || fail "$tool: cut at $off: left out/"
		done
	done < <(consumers)
}

# wrong msgpack types: tool, stream, first stderr line (@R: "TOOL: stdin:
# record 1 (byte HEADER_SIZE): ", @H: "TOOL: stdin: header (byte 0): ")
type_cases() {
	cat <<-'T'
	encode	tokens.id-int	@R"id": missing or not a str
	encode	tokens.id-nil	@R"id": missing or not a str
	encode	tokens.ids-map	@Rid "a": "ids": expected array of uint, got map
	encode	tokens.ids-str-elem	@Rid "a": "ids"[1]: expected uint, got str
	encode	tokens.ids-float-elem	@Rid "a": "ids"[1]: expected uint, got float
	encode	tokens.ids-missing	@Rid "a": "ids": expected array of uint, got nothing
	encode	tokens.h-vocab-int	@H"vocab": expected str, got uint
	topk	embeddings.id-int	@R"id": missing or not a str
	topk	embeddings.vec-str	@R"vec": missing or not a bin
	topk	embeddings.vec-array	@R"vec": missing or not a bin
	topk	embeddings.vec-missing	@R"vec": missing or not a bin
	topk	embeddings.vec-long	@Rid "q": "vec" has 20 bytes, expected 16 (dim 4)
	topk	embeddings.vec-nan	@Rid "q": "vec"[1] is nan
	topk	embeddings.h-dim-str	@H"dim": missing or not a uint in 1..1048576
	topk	embeddings.h-dim-zero	@H"dim": missing or not a uint in 1..1048576
	topk	embeddings.h-dim-huge	@H"dim": missing or not a uint in 1..1048576
	topk	embeddings.h-dim-missing	@H"dim": missing or not a uint in 1..1048576
	score	hits.qid-int	@R"qid": missing or not a str
	score	hits.hits-map	@R"hits": missing or not an array
	score	hits.hits-missing	@R"hits": missing or not an array
	score	hits.hit-short	@R"hits"[0]: expected [docid, score], got array
	score	hits.hit-notarray	@R"hits"[0]: expected [docid, score], got str
	score	hits.hit-docint	@R"hits"[0][0]: expected str, got uint
	score	hits.hit-scorestr	@R"hits"[0][1]: expected a number, got str
	score	hits.hit-nan	@R"hits"[0][1]: score is not finite
	mine-negatives	hits.hit-docint	@R"hits"[0][0]: expected str, got uint
	mine-negatives	hits.hit-nan	@R"hits"[0][1]: score is not finite
	train	examples.texts-str	@R"texts": expected array of arrays, got str
	train	examples.texts-missing	@R"texts": expected array of arrays, got nothing
	train	examples.texts-elem-str	@R"texts"[1]: expected array of uint, got str
	train	examples.texts-id-str	@R"texts"[0][1]: not a token id below 50
	train	examples.texts-empty-seq	@R"texts"[0]: empty
	train	examples.label-str	@R"label": expected a number, got str
	train	examples.h-vocab-int	@H"vocab": missing or not a str
	show	tokens.badutf8	@Rstr: invalid UTF-8 at byte 1
	show	tokens.intkey	@Rmap key is uint, not str
	T
}

@test "a value of the wrong msgpack type exits 65 naming the record and the key; nothing written" {
	while IFS=$'\t' read -r tool f msg; do
		kind=${f%%.*}
		msg=${msg//@H/$tool: stdin: header (byte 0): }
		msg=${msg//@R/$tool: stdin: record 1 (byte $(< "$B/$kind.hlen")): }
		run1 "$tool" "$B/$f"
		[ "$st" -eq 65 ] || fail "$tool < $f: status $st: $err"
		assert_equal "$err" "$msg"
		[ "$outsz" -eq 0 ] || whole "$tool" ||
			fail "$tool < $f: wrote a partial output"
		[ ! -e out ] || fail "$tool < $f: left out/"
	done < <(type_cases)
}

# broken model files: what to break (a shell command in the model copy m/),
# status, message (T: the tool; every tool that loads the model says it)
model_cases() {
	cat <<-'T'
	rm m/config.json	66	T: m/config.json: No such file or directory
	rm m/model.safetensors	66	T: m/model.safetensors: No such file or directory
	rm m/1_Pooling/config.json	66	T: m/1_Pooling/config.json: No such file or directory
	echo '{' > m/config.json	65	T: m/config.json: line 2: string or '}' expected near end of file
	echo '[' > m/1_Pooling/config.json	65	T: m/1_Pooling/config.json: line 2: ']' expected near end of file
	sed -i 's/"hidden_size": 8/"hidden_size": "8"/' m/config.json	65	T: m/config.json: "hidden_size": expected a positive integer
	sed -i 's/"hidden_size": 8/"hidden_size": 7/' m/config.json	65	T: m/config.json: hidden_size 7 is not a multiple of num_attention_heads 2
	sed -i 's/"vocab_size": 50/"vocab_size": 4000000000/' m/config.json	65	T: m/config.json: "vocab_size": expected a positive integer
	cp $B/st/short m/model.safetensors	65	T: m/model.safetensors: not a safetensors file (too short)
	cp $B/st/hlen-huge m/model.safetensors	65	T: m/model.safetensors: header length 9223372036854775808 exceeds the file
	cp $B/st/hjson m/model.safetensors	65	T: m/model.safetensors: header: '}' expected near ']'
	cp $B/st/truncated m/model.safetensors	65	T: m/model.safetensors: tensor "pooler.dense.weight": data_offsets [7072, 7328] do not fit 64 elements of F32
	cp $B/st/off-past m/model.safetensors	65	T: m/model.safetensors: tensor "embeddings.LayerNorm.bias": data_offsets [0, 36] do not fit 8 elements of F32
	cp $B/st/off-neg m/model.safetensors	65	T: m/model.safetensors: tensor "embeddings.LayerNorm.bias": data_offsets [-4, 0] do not fit 8 elements of F32
	cp $B/st/off-reversed m/model.safetensors	65	T: m/model.safetensors: tensor "embeddings.LayerNorm.bias": data_offsets [40, 8] do not fit 8 elements of F32
	cp $B/st/dtype-i32 m/model.safetensors	65	T: m/model.safetensors: embeddings.LayerNorm.bias: dtype I32 (expected F32, F16 or BF16)
	cp $B/st/dtype-unknown m/model.safetensors	65	T: m/model.safetensors: tensor "embeddings.LayerNorm.bias": unknown dtype Q99
	cp $B/st/shape-wrong m/model.safetensors	65	T: m/model.safetensors: embeddings.LayerNorm.bias: shape [8, 1], config.json wants [8]
	cp $B/st/shape-overflow m/model.safetensors	65	T: m/model.safetensors: tensor "embeddings.LayerNorm.bias": shape too large
	cp $B/st/shape-str m/model.safetensors	65	T: m/model.safetensors: header: tensor "embeddings.LayerNorm.bias": bad entry
	cp $B/st/missing m/model.safetensors	65	T: m/model.safetensors: missing tensor embeddings.LayerNorm.bias
	T
}

@test "encode and train: a missing or corrupted model file exits 66 or 65 naming the file; nothing written" {
	while IFS=$'\t' read -r break st msg; do
		for tool in encode train; do
			rm -rf m out
			cp -r "$FIX/tiny" m
			eval "$break"
			s=0
			if [ $tool = encode ]; then
				timeout 20 encode -m m "$FIX/encode/tiny.mp" > o.bin 2> e.txt || s=$?
			else
				timeout 20 train -m m -o out "$FIX/train/triplets.mp" > o.bin 2> e.txt || s=$?
			fi
			[ "$s" -eq "$st" ] || fail "$tool after $break: status $s: $(< e.txt)"
			err=$(< e.txt)
			assert_equal "${err%%$'\n'*}" "${msg//T:/$tool:}"
			[ ! -s o.bin ] || fail "$tool after $break: wrote output"
			[ ! -e out ] || fail "$tool after $break: left out/"
			[ -z "$(ls -A | grep -v '^m$\|^o.bin$\|^e.txt$')" ] ||
				fail "$tool after $break: left $(ls -A)"
		done
	done < <(model_cases)
}

@test "tokenize: a broken vocabulary or tokenizer_config.json exits 65 naming the file" {
	cp -r "$FIX/tiny" m
	: > m/vocab.txt
	run -65 --separate-stderr tokenize -m m < /dev/null
	assert_equal "$stderr" 'tokenize: m/vocab.txt: no tokens'
	assert_output ''
	cp "$FIX/tiny/vocab.txt" m/
	echo '{' > m/tokenizer_config.json
	run -65 --separate-stderr tokenize -m m < /dev/null
	assert_equal "$stderr" "tokenize: m/tokenizer_config.json:2: string or '}' expected near end of file"
	assert_output ''
}

# the stdout writers: name, command line (F: fixtures)
writers() {
	cat <<-'T'
	tokenize	tokenize -m F/tiny F/tok/stress.jsonl
	encode	encode -m F/tiny F/encode/tiny.mp
	topk	topk -c F/score/topk-corpus.emb F/score/topk-queries.emb
	topk	topk -t -c F/score/topk-corpus.emb F/score/topk-queries.emb
	score	score -q F/score/qrels-syn.tsv -p F/score/syn1.trec
	mine-negatives	mine-negatives -q F/mine/qrels.tsv -Q F/mine/queries.mp -C F/mine/corpus.mp F/mine/hits.mp
	show	show F/mine/hits.mp
	T
}

# to FILE|closed CMD...: run CMD with stdout to FILE, or closed
to() {
	local o=$1
	shift
	if [ "$o" = closed ]; then
		"$@" >&-
	else
		"$@" > "$o"
	fi
}

# epipe dfl|ign CMD...: run CMD with stdout a pipe whose reader has gone,
# SIGPIPE at its default or ignored; prints the status (negative: killed
# by that signal) and the last stderr line
epipe() {
	python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[2:], stdout=w, stderr=subprocess.PIPE,
    restore_signals=sys.argv[1] != "ign")
err = p.stderr.decode().strip().split("\n")
print(p.returncode, err[-1])' "$@"
}

@test "every writer: a full disk, a closed stdout and a reader gone exit 74 (or die of SIGPIPE), saying so" {
	while IFS=$'\t' read -r tool args; do
		read -ra cmd <<< "${args//F\//$FIX/}"
		if [ "$tool" = encode ] || [ "$tool" = topk ] || [ "$tool" = score ]; then
			# (the others' own suites have this case)
			run -74 --separate-stderr to /dev/full "${cmd[@]}"
			assert_equal "${stderr_lines[-1]}" "$tool: stdout: No space left on device"
		fi
		run -74 --separate-stderr to closed "${cmd[@]}"
		assert_equal "${stderr_lines[-1]}" "$tool: stdout: Bad file descriptor"
		# SIGPIPE at its default: killed by it, no message (as cat)
		run -0 epipe dfl "${cmd[@]}"
		[[ "$output" == "-13 "* ]] || fail "$args: $output"
		[[ "$output" != *"$tool: stdout"* ]] || fail "$args: $output"
		# SIGPIPE ignored (as under Python's subprocess): EPIPE, exit 74
		run -0 epipe ign "${cmd[@]}"
		assert_equal "$output" "74 $tool: stdout: Broken pipe"
	done < <(writers)
}

@test "train: an output directory that cannot be created exits 73, nothing left" {
	run -73 --separate-stderr train -m "$FIX/tiny" -o /dev/full/out "$FIX/train/triplets.mp"
	assert_equal "$stderr" 'train: /dev/full/out: Not a directory'
	touch f
	run -73 --separate-stderr train -m "$FIX/tiny" -o f/out "$FIX/train/triplets.mp"
	assert_equal "$stderr" 'train: f/out: Not a directory'
	[ -z "$(ls -A | grep out)" ] || fail "left $(ls -A)"
}

# judgments and runs as text: which | contents (printf format) | message
# (F: the file) -- beyond tests/40-score.bats's table
text_cases() {
	cat <<-'T'
	qrels|\td1\t1\n|score: F: line 1: empty query id
	qrels|q1\t\t1\n|score: F: line 1: empty document id
	qrels||score: F: no judgments
	qrels|query-id\tcorpus-id\tscore\n|score: F: no judgments
	qrels|q1\td1\t1\nq2\td1\t99999999999999999999\n|score: F: line 2: relevance "99999999999999999999": not an integer
	qrels|q1\td\xff\t1\n|score: F: line 1: invalid UTF-8 at byte 5
	qrels|q1\td\0x\t1\n|score: F: line 1: a NUL byte
	run|q1 Q0 d1 1 1e999 t\n|score: F: line 1: score "1e999": not a finite number
	run|q1 Q0 d1 1 0.5 t\nq\xc3 Q0 d1 1 0.5 t\n|score: F: line 2: invalid UTF-8 at byte 2
	run|q1 Q0 d\0 1 0.5 t\n|score: F: line 1: a NUL byte
	T
}

@test "score: malformed judgment and run lines exit 65 naming the file and line, nothing written" {
	printf 'q1\td1\t1\n' > good.tsv
	printf 'q1 Q0 d1 1 0.5 t\n' > good.trec
	while IFS='|' read -r what body msg; do
		printf "$body" > bad
		if [ "$what" = qrels ]; then
			run -65 --separate-stderr score -q bad good.trec
		else
			run -65 --separate-stderr score -q good.tsv bad
		fi
		assert_equal "$stderr" "${msg//F:/bad:}"
		assert_output ''
	done < <(text_cases)
	# and the same reader in mine-negatives
	printf 'q0\td\xff3\t1\n' > bad
	run -65 --separate-stderr mine-negatives -q bad -Q "$FIX/mine/queries.mp" \
	    -C "$FIX/mine/corpus.mp" "$FIX/mine/hits.mp"
	assert_equal "$stderr" 'mine-negatives: bad: line 1: invalid UTF-8 at byte 5'
	assert_output ''
}

@test "score: a hits stream with ids that are not UTF-8 exits 65 naming the record" {
	"$PY" -c '
import msgpack, sys
w = sys.stdout.buffer.write
w(msgpack.packb({"kind": "hits", "v": 1, "producer": "t", "k": 1}))
w(b"\x82\xa3qid\xa2q\xff\xa4hits\x91\x92\xa2d1\xcb" + b"\x3f\xe0" + b"\0" * 6)
' > badq.mp
	"$PY" -c '
import msgpack, sys
w = sys.stdout.buffer.write
w(msgpack.packb({"kind": "hits", "v": 1, "producer": "t", "k": 1}))
w(b"\x82\xa3qid\xa2q1\xa4hits\x91\x92\xa2d\0\xcb" + b"\x3f\xe0" + b"\0" * 6)
' > badd.mp
	run -65 --separate-stderr score -q "$FIX/score/qrels-syn.tsv" badq.mp
	assert_equal "$stderr" 'score: badq.mp: record 1 (byte 28): "qid": not UTF-8 without NUL'
	run -65 --separate-stderr score -q "$FIX/score/qrels-syn.tsv" badd.mp
	assert_equal "$stderr" 'score: badd.mp: record 1 (byte 28): "hits"[0][0]: not UTF-8 without NUL'
	assert_output ''
}
