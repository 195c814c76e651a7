# shard.mk: search a corpus too large for one machine in N shards, one task
# a shard, and merge the hits into exactly the unsharded answer (see
# embtune-pipelines(7) and topk(1)).
#
#   make -f pipelines/shard.mk CORPUS=corpus.jsonl QUERIES=queries.jsonl \
#        MODEL=models/all-MiniLM-L6-v2 N=8 OUT=out/shards
#
# Shard I (0 <= I < N) is every N-th line of CORPUS from line I+1
# (split -n r/I+1/N): tokenize | encode | topk against the queries, in
# $(OUT)/shard-I/{corpus.emb,run}.  Only that task holds its shard's
# vectors.  $(OUT)/run is topk --merge of the N runs.
#
# On one machine (the default target): the N shard tasks run under GNU
# parallel, JOBS at a time (default: as many as there are cores; give each
# encode THREADS threads so that JOBS x THREADS fits the machine).
#
# On a Slurm cluster, one array task a shard (the queries first, the merge
# last), the same make targets on a shared file system:
#
#   q=$(sbatch --parsable --wrap 'make -f pipelines/shard.mk queries OUT=...')
#   a=$(sbatch --parsable --dependency=afterok:$q --array=0-$((N - 1)) \
#       --wrap 'make -f pipelines/shard.mk shard I=$SLURM_ARRAY_TASK_ID N=... OUT=...')
#   sbatch --dependency=afterok:$a --wrap 'make -f pipelines/shard.mk merge N=... OUT=...'
#
# Every file is written through a .tmp renamed on success, so a failed or
# killed task leaves nothing half-written and a re-run redoes only what is
# missing.

PIPE := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
BIN ?= $(PIPE)/../bin
DATA ?= ../shared/data/scifact
CORPUS ?= $(DATA)/corpus.jsonl
QUERIES ?= $(DATA)/queries.jsonl
MODEL ?= models/all-MiniLM-L6-v2
OUT ?= out/shards
N ?= 4
K ?= 100
MAX_LEN ?= 256
JOBS ?= 100%
THREADS ?=
TOPK_OPTS ?=

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:
# written into $@.tmp, renamed only when the whole pipeline succeeds
TMP = $@.tmp || { rm -f $@.tmp; exit 1; }; mv $@.tmp $@

TOKENIZE = $(BIN)/tokenize -m $(MODEL) -n $(MAX_LEN)
ENCODE = $(BIN)/encode -m $(MODEL) $(if $(THREADS),-t $(THREADS))
TOPK = $(BIN)/topk -k $(K) $(TOPK_OPTS)
SHARDS := $(shell seq 0 $$(($(N) - 1)))
# the same command line for every task, whatever launches it
SUB = $(MAKE) --no-print-directory -f $(lastword $(MAKEFILE_LIST)) \
	CORPUS='$(CORPUS)' QUERIES='$(QUERIES)' MODEL='$(MODEL)' OUT='$(OUT)' \
	N=$(N) K=$(K) MAX_LEN=$(MAX_LEN) THREADS='$(THREADS)' \
	TOPK_OPTS='$(TOPK_OPTS)' BIN='$(BIN)'

# GNU parallel: every shard task, JOBS at a time; when one fails, no new
# one starts, those running finish (their files are whole and a re-run keeps
# them), and parallel's status is nonzero
all: queries
	parallel --will-cite --halt soon,fail=1 -j $(JOBS) \
	    $(SUB) shard I={} ::: $(SHARDS)
	@$(SUB) merge

queries: $(OUT)/queries.emb
$(OUT)/queries.emb: $(QUERIES)
	@mkdir -p $(@D)
	$(TOKENIZE) $< | $(ENCODE) > $(TMP)

# one shard: I from the command line (a Slurm array task's id)
shard: $(OUT)/shard-$(I)/run
$(OUT)/shard-%/corpus.emb: $(CORPUS)
	@case '$*' in ''|*[!0-9]*) echo 'shard.mk: I=$*: not a shard number' >&2; exit 1;; esac
	@[ $* -lt $(N) ] || { echo 'shard.mk: I=$*: not below N=$(N)' >&2; exit 1; }
	@mkdir -p $(@D)
	split -n r/$$(($* + 1))/$(N) $< | $(TOKENIZE) | $(ENCODE) > $(TMP)
$(OUT)/shard-%/run: $(OUT)/shard-%/corpus.emb $(OUT)/queries.emb
	$(TOPK) -c $< $(OUT)/queries.emb > $(TMP)

merge: $(OUT)/run
$(OUT)/run: $(foreach i,$(SHARDS),$(OUT)/shard-$(i)/run)
	$(BIN)/topk --merge $^ > $(TMP)

clean:
	rm -rf $(OUT)

.PHONY: all queries shard merge clean
