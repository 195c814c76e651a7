#!/usr/bin/env bats
# tokenize: text -> tokens / examples streams; parity with Hugging Face's
# fast tokenizer (fixtures/tok/*.ids.gz from fixtures/gen/gen_tok.py).
load helper

USAGE='usage: tokenize -m MODEL_DIR [-u] [-f jsonl|tsv|text] [-n MAX_LEN]
                [--prompt NAME | --prefix TEXT | --no-prompt] [FILE ...]
       tokenize --version'

# "id<TAB>ids" lines of a tokens stream (awk: jq takes seconds on a corpus)
ids_tsv() {
	tokenize -m "$MODEL" "$@" | show -H | awk '{
		i = index($0, "\",\"ids\":[")
		ids = substr($0, i + 9, length($0) - i - 10)
		gsub(",", " ", ids)
		print substr($0, 8, i - 8) "\t" ids
	}'
}

# tokenize with stdout to $BATS_TEST_TMPDIR/out (never raw msgpack in $output)
tok_out() {
	tokenize "$@" > "$BATS_TEST_TMPDIR/out"
}

@test "tokenize -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr tokenize -h
	assert_output "$USAGE"
}

@test "tokenize: bad command lines exit 64 with the usage" {
	while IFS='|' read -r args; do
		run -64 --separate-stderr tokenize $args
		assert_equal "${stderr_lines[-3]}"$'\n'"${stderr_lines[-2]}"$'\n'"${stderr_lines[-1]}" "$USAGE"
		assert_output ''
	done <<'T'
-x
-m
-f
-m MODEL -f csv
T
	run -64 --separate-stderr tokenize
	assert_equal "${stderr_lines[0]}" 'tokenize: -m MODEL_DIR is required'
}

@test "tokenize: -n out of range exits 64" {
	for n in 1 0 abc 100001; do
		run -64 --separate-stderr tokenize -m "$MODEL" -n "$n" < /dev/null
		assert_output ''
		assert [ "${stderr:0:13}" = 'tokenize: -n:' ]
	done
}

@test "tokenize: a missing model directory or input exits 66, nothing written" {
	run -66 --separate-stderr tokenize -m "$BATS_TEST_TMPDIR/nope" < /dev/null
	assert_equal "$stderr" "tokenize: $BATS_TEST_TMPDIR/nope/vocab.txt: No such file or directory"
	assert_output ''
	echo '{"_id":"1","text":"a"}' > "$BATS_TEST_TMPDIR/a.jsonl"
	run -66 --separate-stderr tokenize -m "$MODEL" "$BATS_TEST_TMPDIR/a.jsonl" "$BATS_TEST_TMPDIR/missing.jsonl"
	assert_equal "$stderr" "tokenize: $BATS_TEST_TMPDIR/missing.jsonl: No such file or directory"
	assert_output ''
}

@test "tokenize: a write error (/dev/full) exits 74" {
	run -74 --separate-stderr bash -c "tokenize -m '$MODEL' '$DATA/scifact/queries.jsonl' > /dev/full"
	assert [ "${stderr:0:9}" = 'tokenize:' ]
}

@test "tokenize: header names the model, vocabulary hash and max_len" {
	vocab=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$MODEL/vocab.txt")
	run -0 --separate-stderr bash -c "echo '{\"text\":\"hi\"}' | tokenize -m '$MODEL' | show | head -1"
	assert_output "{\"kind\":\"tokens\",\"v\":1,\"producer\":\"tokenize\",\"model\":\"all-MiniLM-L6-v2\",\"vocab\":\"$vocab\",\"max_len\":256}"
}

@test "tokenize: ids equal Hugging Face's for every SciFact document and query" {
	ids_tsv "$DATA/scifact/corpus.jsonl" "$DATA/scifact/queries.jsonl" > "$BATS_TEST_TMPDIR/got"
	zcat "$FIX/tok/scifact.ids.gz" > "$BATS_TEST_TMPDIR/want"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/want")" 6292
	run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_success
}

@test "tokenize: ids equal Hugging Face's for every ACORD clause and query" {
	ids_tsv "$DATA/acord/corpus.jsonl" "$DATA/acord/queries.jsonl" > "$BATS_TEST_TMPDIR/got"
	zcat "$FIX/tok/acord.ids.gz" > "$BATS_TEST_TMPDIR/want"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/want")" 4045
	run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_success
}

@test "tokenize: ids equal Hugging Face's on the Unicode stress file" {
	ids_tsv "$FIX/tok/stress.jsonl" > "$BATS_TEST_TMPDIR/got"
	zcat "$FIX/tok/stress.ids.gz" > "$BATS_TEST_TMPDIR/want"
	run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_success
}

# all-mpnet-base-v2: <s> A </s>, [UNK] 104, truncation to 384, all read
# from its files (fixtures/tok/mpnet-*.ids.gz)
@test "tokenize: all-mpnet-base-v2 ids equal Hugging Face's for SciFact, ACORD and the stress file" {
	need_mpnet
	for ds in scifact acord; do
		MODEL=$MPNET ids_tsv "$DATA/$ds/corpus.jsonl" "$DATA/$ds/queries.jsonl" > "$BATS_TEST_TMPDIR/got"
		zcat "$FIX/tok/mpnet-$ds.ids.gz" > "$BATS_TEST_TMPDIR/want"
		run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
		assert_success
	done
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/want")" 4045
	for f in stress added; do	# added: "normalized" <unk>, <mask>, ...
		MODEL=$MPNET ids_tsv "$FIX/tok/$f.jsonl" > "$BATS_TEST_TMPDIR/got"
		zcat "$FIX/tok/mpnet-$f.ids.gz" > "$BATS_TEST_TMPDIR/want"
		run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
		assert_success
	done
}

# set_pp FILE JSON: tokenizer.json FILE with the post_processor JSON
set_pp() {
	"$PY" -c 'import json, sys
t = json.load(open(sys.argv[1])); t["post_processor"] = json.loads(sys.argv[2])
json.dump(t, open(sys.argv[1], "w"))' "$@"
}

# the special tokens come from the model directory, not from its name
@test "tokenize: the template comes from tokenizer.json, else special_tokens_map.json" {
	d="$BATS_TEST_TMPDIR/m"
	cp -r "$FIX/tiny" "$d"
	ids() { MODEL=$d ids_tsv <<<'{"_id":"x","text":"a b"}' | cut -f2; }
	assert_equal "$(ids)" '2 48 6 3'
	set_pp "$d/tokenizer.json" '{"type": "RobertaProcessing", "sep": ["[MASK]", 4], "cls": ["[PAD]", 0]}'
	assert_equal "$(ids)" '0 48 6 4'
	set_pp "$d/tokenizer.json" '{"type": "TemplateProcessing",
	    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"SpecialToken": {"id": "[MASK]", "type_id": 0}},
	               {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
	    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2]}, "[MASK]": {"id": "[MASK]", "ids": [4]},
	                       "[SEP]": {"id": "[SEP]", "ids": [3]}}}'
	assert_equal "$(ids)" '2 4 48 6 3'
	set_pp "$d/tokenizer.json" 'null'
	assert_equal "$(ids)" '48 6'
	set_pp "$d/tokenizer.json" '{"type": "ByteLevel"}'
	run -65 --separate-stderr tokenize -m "$d" < /dev/null
	assert_equal "$stderr" "tokenize: $d/tokenizer.json: post_processor type ByteLevel is not supported (TemplateProcessing, RobertaProcessing, BertProcessing)"
	rm "$d/tokenizer.json"
	echo '{"cls_token": "[MASK]", "sep_token": {"content": "[PAD]"}, "unk_token": "[UNK]"}' > "$d/special_tokens_map.json"
	assert_equal "$(ids)" '4 48 6 0'
}

@test "tokenize: tokenizer_config.json's do_lower_case false: cased ids equal Hugging Face's" {
	d="$BATS_TEST_TMPDIR/cased"
	mkdir "$d"
	cp "$MODEL"/{vocab.txt,tokenizer.json,special_tokens_map.json,sentence_bert_config.json} "$d"
	sed 's/"do_lower_case": *true/"do_lower_case": false/' "$MODEL/tokenizer_config.json" > "$d/tokenizer_config.json"
	grep -q '"do_lower_case": false' "$d/tokenizer_config.json"
	MODEL=$d ids_tsv "$FIX/tok/stress.jsonl" > "$BATS_TEST_TMPDIR/got"
	zcat "$FIX/tok/stress.cased.ids.gz" > "$BATS_TEST_TMPDIR/want"
	run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_success
}

@test "tokenize: -n truncates to MAX_LEN ids, [SEP] last" {
	tokenize -m "$MODEL" -n 8 "$DATA/scifact/corpus.jsonl" | show > "$BATS_TEST_TMPDIR/j"
	run -0 grep -c '"max_len":8}$' "$BATS_TEST_TMPDIR/j"
	assert_output 1
	# every record: 8 ids, the last [SEP]
	run -0 bash -c "tail -n +2 '$BATS_TEST_TMPDIR/j' | awk -F'[][]' '{ n = split(\$2, a, \",\"); print n, a[n] }' | sort | uniq -c | sed 's/^ *//'"
	assert_output '5183 8 102'
}

@test "tokenize: stdin, '-' and several files make one stream" {
	head -3 "$DATA/scifact/queries.jsonl" > "$BATS_TEST_TMPDIR/q.jsonl"
	ids_tsv "$BATS_TEST_TMPDIR/q.jsonl" "$BATS_TEST_TMPDIR/q.jsonl" > "$BATS_TEST_TMPDIR/two"
	ids_tsv - "$BATS_TEST_TMPDIR/q.jsonl" < "$BATS_TEST_TMPDIR/q.jsonl" > "$BATS_TEST_TMPDIR/dash"
	run -0 cmp "$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/dash"
	ids_tsv < "$BATS_TEST_TMPDIR/q.jsonl" > "$BATS_TEST_TMPDIR/stdin"
	run -0 cmp "$BATS_TEST_TMPDIR/stdin" <(head -3 "$BATS_TEST_TMPDIR/two")
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/two")" 6
}

@test "tokenize: empty input gives a tokens header and no records" {
	run -0 --separate-stderr bash -c "tokenize -m '$MODEL' < /dev/null | show | grep -c '^{\"kind\":\"tokens\",'"
	assert_output 1
}

@test "tokenize: TSV with a header and BEIR-style JSONL give the same ids" {
	printf '_id\ttitle\ttext\nd1\tA Title\tSome body text.\nd2\t\tNo title here\n' > "$BATS_TEST_TMPDIR/c.tsv"
	printf '%s\n' '{"_id":"d1","title":"A Title","text":"Some body text."}' \
	    '{"_id":"d2","title":"","text":"No title here"}' > "$BATS_TEST_TMPDIR/c.jsonl"
	ids_tsv "$BATS_TEST_TMPDIR/c.tsv" > "$BATS_TEST_TMPDIR/tsv"
	ids_tsv -f jsonl "$BATS_TEST_TMPDIR/c.jsonl" > "$BATS_TEST_TMPDIR/jsonl"
	run -0 cmp "$BATS_TEST_TMPDIR/tsv" "$BATS_TEST_TMPDIR/jsonl"
	run -0 cat "$BATS_TEST_TMPDIR/tsv"
	assert_output $'d1\t101 1037 2516 2070 2303 3793 1012 102\nd2\t101 2053 2516 2182 102'
}

@test "tokenize -f text: one text a line, ids are record numbers" {
	printf 'hello world\n\nGoodbye!\r\n' > "$BATS_TEST_TMPDIR/t"
	run -0 --separate-stderr ids_tsv -f text "$BATS_TEST_TMPDIR/t"
	assert_output $'1\t101 7592 2088 102\n2\t101 102\n3\t101 9119 999 102'
}

@test "tokenize: training rows give an examples stream, labels kept" {
	printf '%s\n' '{"texts":["hello world","goodbye","a b"],"label":0.5}' \
	    '{"texts":["x","y","z"]}' > "$BATS_TEST_TMPDIR/rows.jsonl"
	run -0 --separate-stderr bash -c "tokenize -m '$MODEL' '$BATS_TEST_TMPDIR/rows.jsonl' | show"
	assert_equal "${lines[0]}" "$(tokenize -m "$MODEL" < /dev/null | show | sed 's/"tokens"/"examples"/; s/}$/,"columns":3}/')"
	assert_equal "${lines[1]}" '{"texts":[[101,7592,2088,102],[101,9119,102],[101,1037,1038,102]],"label":0.5}'
	assert_equal "${lines[2]}" '{"texts":[[101,1060,102],[101,1061,102],[101,1062,102]]}'
}

@test "tokenize: named columns anchor/positive/negative_N in JSONL and TSV" {
	printf '%s\n' '{"anchor":"hello","positive":"world","negative_2":"z","negative_1":"y","score":1}' > "$BATS_TEST_TMPDIR/r.jsonl"
	printf 'query\tpositive\tnegative\tlabel\nhello\tworld\ty\t1\n' > "$BATS_TEST_TMPDIR/r.tsv"
	run -0 --separate-stderr bash -c "tokenize -m '$MODEL' '$BATS_TEST_TMPDIR/r.jsonl' | show -H"
	assert_output '{"texts":[[101,7592,102],[101,2088,102],[101,1061,102],[101,1062,102]],"label":1}'
	run -0 --separate-stderr bash -c "tokenize -m '$MODEL' '$BATS_TEST_TMPDIR/r.tsv' | show -H"
	assert_output '{"texts":[[101,7592,102],[101,2088,102],[101,1061,102]],"label":1}'
}

# bad input: file contents (printf format), status, message (@F@ = the file)
bad_cases() {
	cat <<'T'
jsonl	{"_id":"1","text":"ok"}\n{"_id":"2","text":"bad \xff byte"}\n	tokenize: @F@:2: invalid UTF-8 at byte 24 of the line
jsonl	{"_id":"1","text":"ok"}\n{"_id":"2","text":"x"\n	tokenize: @F@:2: column 21: '}' expected near end of file
jsonl	{"_id":"1","title":"t"}\n	tokenize: @F@:1: no "text"
jsonl	{"_id":"1","text":7}\n	tokenize: @F@:1: "text": expected a string
jsonl	{"_id":"1","text":"a","title":1}\n	tokenize: @F@:1: "title": expected a string
jsonl	["text"]\n	tokenize: @F@:1: expected a JSON object
jsonl	{"_id":[1],"text":"a"}\n	tokenize: @F@:1: "_id": expected a string or an integer
jsonl	{"texts":["a","b"]}\n{"texts":["a"]}\n	tokenize: @F@:2: 1 texts, the first row had 2
jsonl	{"texts":["a","b"]}\n{"text":"a"}\n	tokenize: @F@:2: a document among training rows
jsonl	{"text":"a"}\n{"anchor":"a","positive":"b"}\n	tokenize: @F@:2: a training row among documents
jsonl	{"texts":["a",1]}\n	tokenize: @F@:1: "texts": expected a string
jsonl	{"texts":["a"],"label":"x"}\n	tokenize: @F@:1: "label": expected a number
tsv	id\ttext\n1\tok\n2\tbad \xc3( byte\n	tokenize: @F@:3: invalid UTF-8 at byte 7 of the line
tsv	id\ttext\n1\ttoo\tmany\n	tokenize: @F@:2: 3 fields, the header has 2
tsv	id\tbody\n1\tx\n	tokenize: @F@:1: header: no "text" column (nor "anchor"/"query"/"sentence1")
tsv	anchor\tpositive\tlabel\na\tb\tnan?\n	tokenize: @F@:2: label "nan?": not a number
text	fine\n\xe2\x82\n	tokenize: @F@:2: invalid UTF-8 at byte 1 of the line
T
}

@test "tokenize: bad data exits 65 naming file and line; records before it are whole" {
	f="$BATS_TEST_TMPDIR/in"
	while IFS=$'\t' read -r fmt data msg; do
		printf "$data" > "$f"
		run -65 --separate-stderr tok_out -m "$MODEL" -f "$fmt" "$f"
		assert_equal "$stderr" "${msg//@F@/$f}"
		# what was written decodes cleanly (whole records only)
		[ ! -s "$BATS_TEST_TMPDIR/out" ] || show < "$BATS_TEST_TMPDIR/out" > /dev/null
	done < <(bad_cases)
}

@test "tokenize: bad data on the first line writes nothing; stderr starts with tokenize:" {
	printf '{"text": }\n' > "$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr tok_out -m "$MODEL" "$BATS_TEST_TMPDIR/in"
	assert [ ! -s "$BATS_TEST_TMPDIR/out" ]
	assert [ "${stderr_lines[0]:0:10}" = 'tokenize: ' ]
}

@test "tokenize: records before a bad line are all written" {
	{ head -5 "$DATA/scifact/queries.jsonl"; printf '{"_id": "x"}\n'; } > "$BATS_TEST_TMPDIR/in"
	run -0 bash -c "tokenize -m '$MODEL' '$BATS_TEST_TMPDIR/in' 2>/dev/null | show -H | cut -d'\"' -f4 | tr '\n' ' '"
	assert_output '0 1 2 3 4 '
}

@test "tokenize: --prompt, --prefix, the default prompt and --no-prompt; the header records the prompt" {
	P="$FIX/tiny-prompt"
	hdr() { tokenize -m "$P" "$@" < /dev/null | show; }
	assert_equal "$(hdr | grep -o '"prompt.*')" '"prompt":"claim of the court: ","prompt_len":6,"prompt_name":"query"}'
	assert_equal "$(hdr --prompt passage | grep -o '"prompt.*')" '"prompt":"cell ","prompt_len":2,"prompt_name":"passage"}'
	assert_equal "$(hdr --prefix 'gene of ' | grep -o '"prompt.*')" '"prompt":"gene of ","prompt_len":3}'
	assert_equal "$(hdr --no-prompt | grep -c '"prompt')" 0
	# the ids: <s>, the prompt's, the text's, </s>
	assert_equal "$(echo '{"_id":"x","text":"cat"}' | tokenize -m "$P" --prefix 'gene of ' | show -H)" \
	    '{"id":"x","ids":[0,45,47,32,2]}'
	# a model without prompts: none by default
	assert_equal "$(tokenize -m "$FIX/tiny-mpnet" < /dev/null | show | grep -c '"prompt')" 0
	run -64 --separate-stderr tokenize -m "$P" --prompt nope < /dev/null
	assert_equal "$stderr" "tokenize: --prompt: nope: not a prompt of $P/config_sentence_transformers.json (query, passage)"
	run -64 --separate-stderr tokenize -m "$P" --prompt query --no-prompt < /dev/null
	assert_equal "${stderr_lines[0]}" 'tokenize: --prompt, --prefix and --no-prompt exclude each other'
}
