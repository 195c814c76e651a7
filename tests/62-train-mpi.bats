#!/usr/bin/env bats
# train under mpirun (make MPI=1; the tests run build/mpi/train, which
# `make check` builds where Open MPI is installed): the same parameters as
# one process with the same global batch, for MNRL, cached MNRL and GIST, with
# even and uneven shares of the batch; stdin read by rank 0; rank 0 alone
# writes; a run stopped under -np 2 resumes in one process; with dropout
# the loss curve follows; all-MiniLM-L6-v2 on 16 SciFact triplets; a train built
# without MPI refuses to be one of N processes.
#
# Parameters are compared with tests/st_maxdiff.py, leaving out the
# attention key biases: their gradient is zero in exact arithmetic (softmax
# ignores a per-query constant), so AdamW turns the float noise of any
# change of summation order into steps of about lr (one process with -t 1
# and -t 2 differs there as much; tests/unit/t_train.c leaves them out of
# the PyTorch comparison for the same reason).

load helper

MPITRAIN="$TOP/build/mpi/train"
KB=attention.self.key.bias

setup() {
	cd "$BATS_TEST_TMPDIR"
	export OMP_NUM_THREADS=1
	T="$FIX/train"
}

# mp NP ARGS...: the MPI build of train on NP processes, tiny model
mp() {
	command -v mpirun > /dev/null || skip "Open MPI is not installed (make deps MPI=1)"
	[ -x "$MPITRAIN" ] || fail "build/mpi/train is missing: make build/mpi/train"
	local np=$1 root=()
	shift
	[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
	timeout "${MP_TIMEOUT:-120}" mpirun --oversubscribe "${root[@]}" -np "$np" \
	    "$MPITRAIN" -m "$FIX/tiny" -t 1 "$@"
}

one() {
	timeout 60 train -m "$FIX/tiny" -t 1 "$@"
}

same_params() {	# same_params DIR DIR: within 1e-5, key biases aside
	run -0 "$PY" "$TOP/tests/st_maxdiff.py" "$1/model.safetensors" \
	    "$2/model.safetensors" 1e-5 "$KB"
	echo "$output"
}

# 24 triplets, -b 5: 5 steps, the last of 4 rows
OPTS=(-b 5 --no-dropout --lr 1e-4 --seed 1)

@test "train without MPI refuses at once to be one of N processes" {
	while IFS='|' read -r var n; do
		run -64 --separate-stderr env "$var=$n" train -m "$FIX/tiny" -o out "$T/triplets.mp"
		assert_equal "$stderr" "train: started as $n processes ($var=$n), but train was built without MPI: rebuild with make MPI=1 (or run one process)"
		[ ! -e out ]
	done <<-'T'
	OMPI_COMM_WORLD_SIZE|2
	PMI_SIZE|3
	T
	# one process, as mpirun -np 1 starts it, is fine
	OMPI_COMM_WORLD_SIZE=1 one -o out -b 5 --stop-after 1 "$T/triplets.mp" || [ $? -eq 130 ]
	command -v mpirun > /dev/null || return 0
	local root=()
	[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
	run ! --separate-stderr mpirun --oversubscribe "${root[@]}" -np 2 \
	    "$TOP/bin/train" -m "$FIX/tiny" -o out2 "$T/triplets.mp"
	assert_regex "$stderr" 'train: started as 2 processes \(OMPI_COMM_WORLD_SIZE=2\)'
	[ ! -e out2 ]
}

@test "train -np 2 and -np 3: MNRL gives the parameters of one process (max |d| <= 1e-5)" {
	one -o one "${OPTS[@]}" --log one.tsv "$T/triplets.mp"
	for np in 2 3; do	# 5 rows: shares 3+2, then 2+2+1
		mp $np -o np$np "${OPTS[@]}" --log np$np.tsv "$T/triplets.mp"
		same_params one np$np
		# the same losses and gradient norms, step by step
		paste one.tsv np$np.tsv | awk -F'\t' 'NR > 1 {
		    for (c = 2; c <= 4; c += 2) { d = $c - $(c + 5); if (d < 0) d = -d
		        if (d > 1e-5 * (1 + $c)) { print "step " $1 ": " $c " vs " $(c + 5); exit 1 } } }'
	done
	[ "$(wc -l < np2.tsv)" -eq 6 ]
}

@test "train -np 2: cached MNRL (--mini-batch 2) gives the parameters of one process" {
	one -o one "${OPTS[@]}" --loss cmnrl --mini-batch 2 "$T/triplets.mp"
	mp 2 -o two "${OPTS[@]}" --loss cmnrl --mini-batch 2 "$T/triplets.mp"
	same_params one two
	# and of plain MNRL in one process, as GradCache promises
	one -o mnrl "${OPTS[@]}" "$T/triplets.mp"
	same_params mnrl two
}

@test "train -np 2 and -np 3: GIST and cached GIST give the parameters of one process" {
	# the guide's embeddings are gathered as the model's are
	one -o one "${OPTS[@]}" --loss gist --log one.tsv "$T/triplets.mp"
	for np in 2 3; do
		mp $np -o np$np "${OPTS[@]}" --loss gist --log np$np.tsv "$T/triplets.mp"
		same_params one np$np
		# losses within 1e-5, gradient norms within 1e-4: scale 100
		# (temperature 0.01) magnifies the rounding five times MNRL's 20
		paste one.tsv np$np.tsv | awk -F'\t' 'NR > 1 {
		    for (c = 2; c <= 4; c += 2) { d = $c - $(c + 5); if (d < 0) d = -d
		        if (d > (c == 2 ? 1e-5 : 1e-4) * (1 + $c)) { print "step " $1 ": " $c " vs " $(c + 5); exit 1 } } }'
	done
	mp 2 -o c2 "${OPTS[@]}" --loss cgist --mini-batch 2 "$T/triplets.mp"
	same_params one c2
}

@test "train -np 2: standard input is read by rank 0; rank 0 alone writes OUT and the log" {
	mp 2 -o file "${OPTS[@]}" --log file.tsv "$T/triplets.mp"
	mp 2 -o stdin "${OPTS[@]}" --log stdin.tsv < "$T/triplets.mp"
	cmp file/model.safetensors stdin/model.safetensors
	cmp <(cut -f 1-4 file.tsv) <(cut -f 1-4 stdin.tsv)
	# one header and one line a step: not one per rank
	[ "$(grep -c '^step' stdin.tsv)" -eq 1 ]
	[ "$(wc -l < stdin.tsv)" -eq 6 ]
	run find . -name '*.tmp*'
	assert_output ''
}

@test "train: stopped at step 2 under -np 2, resumed in one process: the uninterrupted run" {
	one -o one "${OPTS[@]}" "$T/triplets.mp"
	run -130 --separate-stderr mp 2 -o r "${OPTS[@]}" --stop-after 2 "$T/triplets.mp"
	assert_regex "$stderr" 'train: interrupted at step 2 of 5; r saved'
	one -o r "${OPTS[@]}" --resume "$T/triplets.mp"
	same_params one r
}

@test "train -np 2 --eval-*: rank 0 evaluates; every figure, the best step and the model are one process's" {
	tokenize -m "$FIX/tiny" "$FIX/eval/queries.jsonl" > q.tok
	tokenize -m "$FIX/tiny" "$FIX/eval/corpus.jsonl" > c.tok
	local o=(-b 5 -e 3 --no-dropout --lr 1e-2 --seed 1 --eval-every 1
	    --eval-queries q.tok --eval-corpus c.tok
	    --eval-qrels "$FIX/eval/qrels.tsv")
	one -o one "${o[@]}" --log one.tsv "$T/triplets.mp" 2> one.err
	mp 2 -o two "${o[@]}" --log two.tsv "$T/triplets.mp" 2> two.err
	# the figures to 1e-6, so the same best step, inside the run
	paste one.tsv two.tsv | awk -F'\t' 'NR > 1 { d = $6 - $12
	    if (d < 0) d = -d; if (d > 1e-6 || ($6 == "") != ($12 == "")) {
	    print; bad = 1 } } END { exit bad || NR != 17 }'
	best=$(grep '^train: best eval' one.err)
	[[ "$best" =~ 'at step '([0-9]+)';' ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
	    [ "${BASH_REMATCH[1]}" -lt 15 ] || fail "$best"
	assert_equal "$(grep '^train: best eval' two.err)" "${best/one is/two is}"
	assert_equal "$(grep -c '^train: eval at step' two.err)" 16
	same_params one two
}

@test "train -np 2: -b smaller than the process count is refused" {
	run ! --separate-stderr mp 3 -o out -b 2 "$T/triplets.mp"
	assert_regex "$stderr" 'train: -b 2: less than one row for each of the 3 processes'
	[ ! -e out ]
}

@test "train -np 2 with dropout: the loss curve follows one process's (means of 20 steps within 5%)" {
	# 60 steps; each rank draws its own dropout masks, so steps differ (by
	# about 8% here) but the curve does not: the means of the first and
	# last 20 steps agree within 5% (measured: 2%), while the same run
	# without dropout lies 12-16% below, so the check tells them apart
	local o=(-b 8 -e 20 --lr 1e-3 --seed 1)
	one -o one "${o[@]}" --log one.tsv "$T/triplets.mp"
	mp 2 -o two "${o[@]}" --log two.tsv "$T/triplets.mp"
	one -o nodrop "${o[@]}" --no-dropout --log nodrop.tsv "$T/triplets.mp"
	means() { awk -F'\t' 'NR > 1 { n++; if (n <= 20) a += $2; else if (n > 40) b += $2 }
	    END { print a / 20, b / (n - 40) }' "$1"; }
	read -r a1 b1 < <(means one.tsv)
	read -r a2 b2 < <(means two.tsv)
	read -r an bn < <(means nodrop.tsv)
	echo "first 20: $a1 $a2 (no dropout $an); last 20: $b1 $b2 (no dropout $bn)"
	awk -v x="$a1" -v y="$a2" -v u="$b1" -v v="$b2" -v p="$an" -v q="$bn" 'function r(a, b) { return (a > b ? a - b : b - a) / a }
	    BEGIN { exit !(r(x, y) < 0.05 && r(u, v) < 0.05 && r(x, p) > 0.05 && r(u, q) > 0.05) }'
}

# 16 SciFact triplets (a train query, its first positive, the positive of
# the next query as the negative), no text twice
scifact_rows() {
	"$PY" - "$DATA/scifact" <<-'PY'
	import json, sys
	d = sys.argv[1]
	doc = {}
	for l in open(d + "/corpus.jsonl"):
	    r = json.loads(l)
	    doc[r["_id"]] = (r.get("title", "") + " " + r["text"]).strip()
	q = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(d + "/queries.jsonl")}
	pairs, seen = [], set()
	for l in list(open(d + "/qrels/train.tsv"))[1:]:
	    qid, did, _ = l.rstrip("\n").split("\t")
	    if qid not in seen and did not in seen:
	        seen |= {qid, did}
	        pairs.append((q[qid], doc[did]))
	for i in range(16):
	    print(json.dumps({"anchor": pairs[i][0], "positive": pairs[i][1],
	                      "negative": pairs[i + 1][1]}))
	PY
}

@test "train -np 2, all-MiniLM-L6-v2 on 16 SciFact triplets: 5 steps of MNRL and of CMNRL give the parameters of one process" {
	[ -f "$MODEL/model.safetensors" ] || skip "no model (make model)"
	scifact_rows | tokenize -m "$MODEL" -n 32 > rows.mp
	local o=(-b 16 -e 5 --no-dropout --lr 2e-5 --seed 1 --save-every 0)
	for loss in "mnrl" "cmnrl --mini-batch 8"; do
		rm -rf one two
		timeout 300 train -m "$MODEL" -t 1 -o one "${o[@]}" --loss $loss rows.mp
		command -v mpirun > /dev/null || skip "Open MPI is not installed (make deps MPI=1)"
		local root=()
		[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
		timeout 300 mpirun --oversubscribe "${root[@]}" -np 2 "$MPITRAIN" \
		    -m "$MODEL" -t 1 -o two "${o[@]}" --loss $loss rows.mp
		same_params one two
	done
}

@test "train -np 2: SIGTERM to mpirun: every rank finishes the step, rank 0 saves once; --resume completes it" {
	local o=(-b 4 -e 10000 --no-dropout --lr 1e-4 --seed 1 --save-every 0)
	# 60000 steps: about 5 s on an idle machine, minutes on a busy one
	local MP_TIMEOUT=900
	mp 2 -o straight "${o[@]}" --log straight.tsv "$T/triplets.mp"
	local root=()
	[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
	mpirun --oversubscribe "${root[@]}" -np 2 "$MPITRAIN" -m "$FIX/tiny" -t 1 \
	    -o out "${o[@]}" --log out.tsv "$T/triplets.mp" 2> err &
	pid=$!
	for i in $(seq 200); do	# until the log is open (the data read)
		sleep 0.02
		[ -e out.tsv ] && break
	done
	sleep 0.2		# and some steps ran (mpirun passes the signal
				# on a second or two later: the run lasts ~5 s)
	kill -TERM "$pid" 2>/dev/null || true	# it may have finished already
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -eq 0 ]; then	# finished before the signal came
		same_params straight out
		return
	fi
	# mpirun's own status is 1; the ranks exit 130
	run grep -c 'train: interrupted at step' err
	assert_output 1
	n=$(sed -n 's/.*interrupted at step \([0-9]*\) of.*/\1/p' err)
	[ "$(($(wc -l < out.tsv) - 1))" -eq "$n" ]	# the log ends at the step saved
	# (resumed by as many processes: 60000 steps would carry the rounding
	# differences of one process past 1e-5; -np 2 -> 1 has its own test)
	mp 2 -o out "${o[@]}" --resume "$T/triplets.mp"
	same_params straight out
}

@test "train -np 2: a rank killed: mpirun fails the job naming it; the last checkpoint resumes to the same model" {
	local o=(-b 4 -e 400 --no-dropout --lr 1e-4 --seed 1 --save-every 50)
	mp 2 -o straight "${o[@]}" "$T/triplets.mp"
	local root=()
	[ "$(id -u)" -ne 0 ] || root=(--allow-run-as-root)
	mpirun --oversubscribe "${root[@]}" -np 2 "$MPITRAIN" -m "$FIX/tiny" -t 1 \
	    -o out "${o[@]}" --log out.tsv "$T/triplets.mp" 2> err &
	pid=$!
	for i in $(seq 200); do	# until a checkpoint is there
		sleep 0.05
		[ -e out/trainer_state.safetensors ] && break
	done
	# one of the two ranks mpirun started (its children), killed outright
	rank=$(pgrep -P "$pid" | tail -1)
	[ -n "$rank" ]
	kill -KILL "$rank"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -ne 0 ]
	grep -q 'exited on signal 9' err
	[ -s out/trainer_state.safetensors ]
	one -o out "${o[@]}" --resume "$T/triplets.mp"
	same_params straight out
}

@test "train -np 2: the pair and triplet losses (cosine, cosent, contrastive, triplet) give the parameters of one process" {
	while read -r loss data; do
		rm -rf one two
		one -o one "${OPTS[@]}" --loss "$loss" "$T/$data"
		mp 2 -o two "${OPTS[@]}" --loss "$loss" "$T/$data"
		same_params one two
	done <<-'L'
	cosine pairs.mp
	cosent pairs.mp
	contrastive pairs01.mp
	triplet triplets.mp
	L
}

@test "train -np 2 and -np 3: rows of two widths (pairs beside triplets) give the parameters of one process" {
	# every third of the 24 triplets loses its negative: 8 pairs, 16
	# triplets, batches of one width each
	"$PY" -c 'import msgpack, sys
u = msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False)
out = [msgpack.packb(next(u))]
for i, r in enumerate(u):
    if i % 3 == 0:
        r["texts"] = r["texts"][:2]
    out.append(msgpack.packb(r))
sys.stdout.buffer.write(b"".join(out))' "$T/triplets.mp" > mixed.mp
	one -o one "${OPTS[@]}" --log one.tsv mixed.mp
	[ "$(wc -l < one.tsv)" -eq 7 ]	# ceil(8/5) + ceil(16/5) steps, and the header
	for np in 2 3; do
		mp $np -o np$np "${OPTS[@]}" --log np$np.tsv mixed.mp
		same_params one np$np
	done
}
