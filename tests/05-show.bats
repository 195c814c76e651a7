#!/usr/bin/env bats
# show: any stream -> JSON lines; and the stream reader's error handling.
load helper

@test "show -h prints the usage on stdout and exits 0" {
	run -0 --separate-stderr show -h
	assert_output $'usage: show [-H] [FILE]\n       show --version'
}

@test "show rejects an unknown option with the usage and exit 64" {
	run -64 --separate-stderr show -x
	assert_equal "${stderr_lines[-2]}" 'usage: show [-H] [FILE]'
	assert_output ''
}

@test "show decodes every stream kind to its JSON twin" {
	for k in tokens embeddings hits examples; do
		show "$FIX/streams/$k.mp" > "$BATS_TEST_TMPDIR/$k.json"
		cmp "$BATS_TEST_TMPDIR/$k.json" "$FIX/streams/$k.json"
	done
}

@test "show reads stdin and -H drops the header" {
	run -0 --separate-stderr show -H < "$FIX/streams/tokens.mp"
	assert_equal "$output" "$(tail -n +2 "$FIX/streams/tokens.json")"
}

@test "show: output is valid JSON that jq reads" {
	run -0 bash -c "show '$FIX/streams/embeddings.mp' | jq -c '.vec // empty | length'"
	assert_output $'4\n4'
}

# bad input: file, status, exact message
bad_cases() {
	cat <<'T'
truncated.mp	65	show: FIX/streams/truncated.mp: record 3 (byte 110): truncated record
garbage.mp	65	show: FIX/streams/garbage.mp: record 1 (byte 80): malformed msgpack
noheader.mp	65	show: FIX/streams/noheader.mp: header (byte 0): not a stream header: no "kind"
newer.mp	65	show: FIX/streams/newer.mp: header (byte 0): tokens stream version 2 is newer than 1, the newest this tool reads
notmap.mp	65	show: FIX/streams/notmap.mp: record 1 (byte 80): expected a map, got array
oddbin.mp	65	show: FIX/streams/oddbin.mp: record 1 (byte 69): bin of 3 bytes is not a float32 vector
T
}

@test "show: bad streams give exit 65 and a message naming the record and byte" {
	while IFS=$'\t' read -r f st msg; do
		run -"$st" --separate-stderr show "$FIX/streams/$f"
		assert_equal "$stderr" "${msg//FIX/$FIX}"
	done < <(bad_cases)
}

@test "show: empty input is an error naming the problem" {
	run -65 --separate-stderr show < /dev/null
	assert_equal "$stderr" 'show: stdin: empty input: no header record'
}

@test "show: a missing file exits 66" {
	run -66 --separate-stderr show "$BATS_TEST_TMPDIR/nope.mp"
	assert_regex "$stderr" '^show: .*/nope.mp: No such file or directory$'
}

@test "show: a write error exits 74" {
	run -74 --separate-stderr bash -c "show '$FIX/streams/tokens.mp' > /dev/full"
	assert_equal "$stderr" 'show: stdout: No space left on device'
}

@test "show: a large stream is read whole in constant memory" {
	"$PY" -c '
import msgpack, struct, sys
w = sys.stdout.buffer.write
w(msgpack.packb({"kind": "embeddings", "v": 1, "producer": "t", "dim": 384}))
v = struct.pack("<384f", *([0.5] * 384))
for i in range(20000):
    w(msgpack.packb({"id": str(i), "vec": v}, use_bin_type=True))
' > "$BATS_TEST_TMPDIR/big.mp"
	run -0 bash -c "show -H '$BATS_TEST_TMPDIR/big.mp' | wc -l"
	assert_output 20000
}
