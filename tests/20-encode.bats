#!/usr/bin/env bats
# encode: tokens stream -> embeddings stream.  Parity with sentence-transformers
# on the tiny model (every run) and on all-MiniLM-L6-v2 over SciFact;
# references from fixtures/gen/gen_encode.py.
load helper

USAGE='usage: encode -m MODEL_DIR [-u] [-b BATCH_TOKENS] [-t THREADS] [-d DIM]
              [--no-normalize] [--precision fp32|bf16|auto] [FILE]
       encode --version'
REF="$FIX/ref/tiny-encode.safetensors"

close() {	# close GOT.mp REF.safetensors TENSOR
	"$PY" "$TOP/tests/emb_close.py" "$@"
}

@test "encode -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr encode -h
	assert_output "$USAGE"
}

@test "encode: usage errors exit 64 with the usage on stderr" {
	for args in "-x" "" "-m $FIX/tiny a b" "--bogus"; do
		run -64 --separate-stderr encode $args
		assert_output ''
		assert_equal "${stderr_lines[-1]}" '       encode --version'
	done
	run -64 --separate-stderr encode -m "$FIX/tiny" -b 0
	assert_equal "$stderr" 'encode: -b: 0: must be between 1 and 16777216'
	run -64 --separate-stderr encode -m "$FIX/tiny" -t x
	assert_regex "$stderr" '^encode: -t: x: '
}

@test "encode: -d larger than the model exits 64" {
	run -64 --separate-stderr encode -m "$FIX/tiny" -d 9 "$FIX/encode/tiny.mp"
	assert_equal "$stderr" "encode: -d: 9: larger than the model's 8 dimensions"
}

@test "encode: tiny model matches sentence-transformers (mean pooling, Normalize)" {
	encode -m "$FIX/tiny" "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$REF" mean
	# small batches (regrouped by length) and one thread: same vectors
	encode -m "$FIX/tiny" -b 16 -t 1 < "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/b.mp"
	run -0 close "$BATS_TEST_TMPDIR/b.mp" "$REF" mean
}

@test "encode --no-normalize gives the pooled vectors" {
	encode -m "$FIX/tiny" --no-normalize "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$REF" raw
	run -0 bash -c "show '$BATS_TEST_TMPDIR/e.mp' | head -1"
	assert_output '{"kind":"embeddings","v":1,"producer":"encode","model":"tiny","dim":8,"normalized":false}'
}

@test "encode -d 4 truncates (Matryoshka) and re-normalizes" {
	encode -m "$FIX/tiny" -d 4 "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$REF" d4
	run -0 bash -c "show '$BATS_TEST_TMPDIR/e.mp' | head -1"
	assert_output '{"kind":"embeddings","v":1,"producer":"encode","model":"tiny","dim":4,"normalized":true}'
}

@test "encode: CLS pooling without Normalize (tiny-cls)" {
	encode -m "$FIX/tiny-cls" "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$REF" cls
}

@test "encode reads F16 weights under bert.-prefixed names (tiny-f16)" {
	encode -m "$FIX/tiny-f16" "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$REF" f16
}

@test "encode writes records in input order with their ids" {
	encode -m "$FIX/tiny" -b 16 "$FIX/encode/tiny.mp" > "$BATS_TEST_TMPDIR/e.mp"
	diff <(show -H "$BATS_TEST_TMPDIR/e.mp" | jq -c .id) \
	    <(show -H "$FIX/encode/tiny.mp" | jq -c .id)
}


# bad input: file, status, message (FIX is replaced by the fixtures path)
bad_cases() {
	cat <<'T'
other-vocab.mp	65	encode: FIX/encode/other-vocab.mp: header (byte 0): tokens of model "other" (vocab 0123456789abcdef) do not match model "tiny" (vocab 508b6aa0397af9a6)
big-id.mp	65	encode: FIX/encode/big-id.mp: record 3 (byte 122): id "bad": "ids"[1]: token id 50 >= vocabulary size 50
too-long.mp	65	encode: FIX/encode/too-long.mp: record 2 (byte 109): id "long": 17 tokens: longer than the model's 16 positions
not-array.mp	65	encode: FIX/encode/not-array.mp: record 1 (byte 79): id "s": "ids": expected array of uint, got str
no-id.mp	65	encode: FIX/encode/no-id.mp: record 1 (byte 79): "id": missing or not a str
empty-seq.mp	65	encode: FIX/encode/empty-seq.mp: record 1 (byte 79): id "e": "ids": empty sequence
neg-id.mp	65	encode: FIX/encode/neg-id.mp: record 1 (byte 79): id "n": "ids"[1]: expected uint, got int
wrong-kind.mp	65	encode: FIX/encode/wrong-kind.mp: header (byte 0): expected a tokens stream, got embeddings
T
}

@test "encode: bad token streams exit 65 naming the record, and write nothing" {
	while IFS=$'\t' read -r f st msg; do
		run -"$st" --separate-stderr encode -m "$FIX/tiny" "$FIX/encode/$f"
		assert_equal "$stderr" "${msg//FIX/$FIX}"
		assert_output ''
	done < <(bad_cases)
}

@test "encode: the first stderr line starts with encode:" {
	fails 65 '^encode: ' encode -m "$FIX/tiny" "$FIX/encode/big-id.mp"
}

@test "encode: a missing model or input exits 66" {
	fails 66 '^encode: .*/nomodel/config.json: No such file or directory$' \
	    encode -m "$BATS_TEST_TMPDIR/nomodel" "$FIX/encode/tiny.mp"
	fails 66 '^encode: .*/nope.mp: No such file or directory$' \
	    encode -m "$FIX/tiny" "$BATS_TEST_TMPDIR/nope.mp"
}

@test "encode: a model with a missing tensor exits 65 naming it" {
	m="$BATS_TEST_TMPDIR/m"
	cp -r "$FIX/tiny" "$m"
	cp "$FIX/tiny-cls/config.json" "$m/config.json"
	sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 3/' "$m/config.json"
	run -65 --separate-stderr encode -m "$m" "$FIX/encode/tiny.mp"
	assert_equal "${stderr_lines[0]}" "encode: $m/model.safetensors: missing tensor encoder.layer.2.attention.self.query.weight"
	assert_equal "${stderr_lines[-1]}" "encode: $m/model.safetensors: 16 tensors missing or unexpected"
}

@test "encode refuses to write to a terminal" {
	run script -qec "encode -m '$FIX/tiny' '$FIX/encode/tiny.mp'" /dev/null
	assert_failure
}

# Real model parity (all-MiniLM-L6-v2, SciFact; fixtures/ref/minilm-scifact.safetensors)
@test "encode: all-MiniLM-L6-v2 matches sentence-transformers on all 1109 SciFact queries" {
	tokenize -m "$MODEL" "$DATA/scifact/queries.jsonl" | encode -m "$MODEL" > "$BATS_TEST_TMPDIR/q.mp"
	run -0 close "$BATS_TEST_TMPDIR/q.mp" "$FIX/ref/minilm-scifact.safetensors" queries
}

@test "encode: all-MiniLM-L6-v2 matches sentence-transformers on the first 1000 SciFact documents" {
	head -n 1000 "$DATA/scifact/corpus.jsonl" | tokenize -m "$MODEL" | encode -m "$MODEL" > "$BATS_TEST_TMPDIR/d.mp"
	run -0 close "$BATS_TEST_TMPDIR/d.mp" "$FIX/ref/minilm-scifact.safetensors" docs
}

# MPNet: the tiny random one end to end (tokenize | encode against
# SentenceTransformer.encode; fixtures/gen/gen_tiny_mpnet.py), every run
@test "encode: tiny MPNet: tokenize | encode matches SentenceTransformer.encode" {
	tokenize -m "$FIX/tiny-mpnet" "$FIX/encode/tiny-mpnet.jsonl" | encode -m "$FIX/tiny-mpnet" > "$BATS_TEST_TMPDIR/e.mp"
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-mpnet.safetensors" encode 1e-6
}

@test "encode: an unknown model_type is refused, naming it and the supported ones" {
	m="$BATS_TEST_TMPDIR/m"
	cp -r "$FIX/tiny" "$m"
	sed -i 's/"model_type": "bert"/"model_type": "roberta"/' "$m/config.json"
	run -65 --separate-stderr encode -m "$m" "$FIX/encode/tiny.mp"
	assert_equal "$stderr" "encode: $m/config.json: model_type roberta is not supported (supported: bert, mpnet)"
	assert_output ''
}

# Real all-mpnet-base-v2 (fixtures/ref/mpnet-scifact.safetensors); skipped
# where the model has not been fetched
@test "encode: all-mpnet-base-v2 matches sentence-transformers on the first 300 SciFact queries and documents" {
	need_mpnet
	# minutes of CPU: the normal build only (the tiny MPNet runs the same
	# code under the sanitizers)
	[ -z "${EMBTUNE_BIN:-}" ] || skip "all-mpnet-base-v2: normal build only"
	head -n 300 "$DATA/scifact/queries.jsonl" | tokenize -m "$MPNET" | encode -m "$MPNET" > "$BATS_TEST_TMPDIR/q.mp"
	run -0 close "$BATS_TEST_TMPDIR/q.mp" "$FIX/ref/mpnet-scifact.safetensors" queries
	head -n 300 "$DATA/scifact/corpus.jsonl" | tokenize -m "$MPNET" | encode -m "$MPNET" > "$BATS_TEST_TMPDIR/d.mp"
	run -0 close "$BATS_TEST_TMPDIR/d.mp" "$FIX/ref/mpnet-scifact.safetensors" docs
}

# Prompts (fixtures/tiny-prompt: prompts "query" (the default) and "passage",
# 1_Pooling's include_prompt false; fixtures/ref/tiny-prompt.safetensors from
# SentenceTransformer.encode)
@test "encode: prompts as SentenceTransformer.encode gives them (default, named, none, any prefix; prompt tokens out of the mean)" {
	P="$FIX/tiny-prompt"
	te() { tokenize -m "$P" "$@" "$FIX/encode/tiny-mpnet.jsonl" | encode -m "$P" > "$BATS_TEST_TMPDIR/e.mp"; }
	te
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-prompt.safetensors" default 1e-6
	te --prompt query
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-prompt.safetensors" query 1e-6
	te --prompt passage
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-prompt.safetensors" passage 1e-6
	te --no-prompt
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-prompt.safetensors" none 1e-6
	te --prefix 'gene of '
	run -0 close "$BATS_TEST_TMPDIR/e.mp" "$FIX/ref/tiny-prompt.safetensors" prefix 1e-6
}
