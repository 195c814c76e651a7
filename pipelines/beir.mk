# beir.mk: fine-tune a sentence-embedding model on one BEIR data set and
# measure it before and after, as make targets (see embtune-pipelines(7)).
#
#   make -f pipelines/beir.mk DATA=../shared/data/scifact \
#        MODEL=models/all-MiniLM-L6-v2 OUT=out/scifact
#
# tokenize -> encode -> topk -> score (base)
#          -> mine-negatives on the train queries -> train
#          -> encode (tuned) -> topk -> score (tuned) -> score --compare
# plus loss.png (gnuplot, from train --log) and summary.md.  Every
# intermediate file is a target, and the options of each stage are kept in a
# stamp file, so a re-run redoes only what changed.  Each stage says in one
# line on stderr what it did, how much and how long (pipelines/stage); make
# -s leaves only those lines.  compare-JN.txt (not built by default):
# score --compare -J -l N, the judged-documents-only view.  The tools are order-only
# prerequisites: rebuilding bin/ does not redo the stages (make clean does).
# Test queries never reach mining or training: mine-negatives reads only
# the queries of $(TRAIN_QRELS).

PIPE := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
BIN ?= $(PIPE)/../bin
DATA ?= ../shared/data/scifact
MODEL ?= models/all-MiniLM-L6-v2
OUT ?= out/$(notdir $(DATA))
TRAIN_QRELS ?= $(DATA)/qrels/train.tsv
TEST_QRELS ?= $(DATA)/qrels/test.tsv
# relevance >= LEVEL counts as relevant when scoring, >= MINE_LEVEL as a
# positive when mining
LEVEL ?= 1
MINE_LEVEL ?= $(LEVEL)
MAX_LEN ?= 256
K ?= 100
THREADS ?=
MINE_OPTS ?= -n 1 --range-max 50 --relative-margin 0.05 --format triplet
TRAIN_OPTS ?= --loss mnrl -e 3 -b 32 --lr 2e-5 --warmup 0.1 --weight-decay 0.01 --seed 12
SCORE_OPTS ?=
# 1 when the test judgments hold explicit non-relevant documents (relevance
# 0): the summary then shows the judged-only figures (score -J) too
JUDGED_VIEW ?= $(shell awk '$$NF == "0" { print 1; exit }' $(TEST_QRELS) 2>/dev/null)

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
# $(INTO) command args...: run the command into $@ through $@.tmp, renamed
# only when it succeeds (nothing half-written is left, even if make is killed)
INTO = into() { f=$$1; shift; "$$@" > "$$f.tmp" || { rm -f "$$f.tmp"; \
	return 1; }; mv "$$f.tmp" "$$f"; }; into $@

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:

TOKENIZE = $(BIN)/tokenize
ENCODE = $(BIN)/encode $(if $(THREADS),-t $(THREADS))
TOPK = $(BIN)/topk
SCORE = $(BIN)/score
MINE = $(BIN)/mine-negatives
TRAIN = $(BIN)/train
TUNED = $(OUT)/model
STAGE = $(PIPE)/stage
# lines of a text file (texts of a JSONL file), in a recipe
LINES = $$(wc -l < $(1) | tr -d ' ')

all: $(OUT)/summary.md $(OUT)/loss.png

# Options are remembered in stamp files, rewritten only when they change, so
# that new options redo exactly the stages they affect.
STAMP = @mkdir -p $(@D); printf '%s\n' '$(1)' | cmp -s - $@ || \
	printf '%s\n' '$(1)' > $@
$(OUT)/.tok.opts: FORCE ; $(call STAMP,$(MODEL) $(MAX_LEN))
$(OUT)/.run.opts: FORCE ; $(call STAMP,$(K))
$(OUT)/.mine.opts: FORCE ; $(call STAMP,$(MINE_LEVEL) $(MINE_OPTS))
$(OUT)/.train.opts: FORCE ; $(call STAMP,$(MODEL) $(TRAIN_OPTS))
$(OUT)/.score.opts: FORCE ; $(call STAMP,$(LEVEL) $(SCORE_OPTS))
FORCE:

# --- text -> tokens (the tuned model keeps the base model's vocabulary)
$(OUT)/%.tok: $(DATA)/%.jsonl $(MODEL)/vocab.txt $(OUT)/.tok.opts | $(TOKENIZE)
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "tokenize: $*, $(call LINES,$<) texts" \
	    $(TOKENIZE) -m $(MODEL) -n $(MAX_LEN) $<

# --- base model
$(OUT)/base/%.emb: $(OUT)/%.tok $(MODEL)/model.safetensors | $(BIN)/encode
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "encode: $*, base model, $(call LINES,$(DATA)/$*.jsonl) texts" \
	    $(ENCODE) -m $(MODEL) $<

# --- tuned model: trained on mined negatives for the train queries
$(OUT)/train.mp: $(OUT)/base/run $(TRAIN_QRELS) $(OUT)/queries.tok \
    $(OUT)/corpus.tok $(OUT)/.mine.opts | $(MINE)
	$(STAGE) -o $@ -e $(OUT)/mine.txt -a $(OUT)/mine.txt "mine-negatives" \
	    $(MINE) -q $(TRAIN_QRELS) -Q $(OUT)/queries.tok -C $(OUT)/corpus.tok \
	    -l $(MINE_LEVEL) $(MINE_OPTS) $<
# train writes its checkpoints into $(TUNED).part (train --resume -o
# $(TUNED).part goes on from one); only a run that finished becomes
# $(TUNED), so a checkpoint left by an interrupted run (Ctrl-C: train
# saves one and exits 130) never passes for the tuned model.
$(TUNED)/model.safetensors: $(OUT)/train.mp $(MODEL)/model.safetensors \
    $(OUT)/.train.opts | $(TRAIN)
	$(STAGE) "train: $$(sed -n 's/.* \([0-9]*\) rows$$/\1/p' $(OUT)/mine.txt) rows -> $(TUNED)" \
	    $(TRAIN) -m $(MODEL) -o $(TUNED).part $(TRAIN_OPTS) \
	    --log $(OUT)/train-log.tsv $<
	rm -rf $(TUNED)
	mv $(TUNED).part $(TUNED)
$(OUT)/train-log.tsv: $(TUNED)/model.safetensors
$(OUT)/tuned/%.emb: $(OUT)/%.tok $(TUNED)/model.safetensors | $(BIN)/encode
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "encode: $*, tuned model, $(call LINES,$(DATA)/$*.jsonl) texts" \
	    $(ENCODE) -m $(TUNED) $<

# --- search and score, for either model
$(OUT)/%/run: $(OUT)/%/queries.emb $(OUT)/%/corpus.emb $(OUT)/.run.opts | $(TOPK)
	$(STAGE) -o $@ "topk: $* model, top $(K) of $(call LINES,$(DATA)/corpus.jsonl) for $(call LINES,$(DATA)/queries.jsonl) queries" \
	    $(TOPK) -k $(K) -c $(OUT)/$*/corpus.emb $<
$(OUT)/%/score.txt: $(OUT)/%/run $(TEST_QRELS) $(OUT)/.score.opts | $(SCORE)
	$(STAGE) -o $@ "score: $* model, test queries" \
	    $(SCORE) -q $(TEST_QRELS) -l $(LEVEL) $(SCORE_OPTS) $<
$(OUT)/compare.txt: $(OUT)/base/run $(OUT)/tuned/run $(TEST_QRELS) \
    $(OUT)/.score.opts | $(SCORE)
	$(STAGE) -o $@ "score --compare: base vs tuned, whole corpus" \
	    $(SCORE) --compare -q $(TEST_QRELS) -l $(LEVEL) \
	    $(SCORE_OPTS) $(OUT)/base/run $(OUT)/tuned/run
# judged documents only (score -J), relevance >= N: for judgments with
# explicit non-relevant documents (ACORD, TREC pools); see score(1)
$(OUT)/compare-J%.txt: $(OUT)/base/run $(OUT)/tuned/run $(TEST_QRELS) | $(SCORE)
	$(STAGE) -o $@ "score --compare -J -l $*: base vs tuned, judged only" \
	    $(SCORE) --compare -J -q $(TEST_QRELS) -l $* -m ndcg,rcap \
	    -k 5,10 $(OUT)/base/run $(OUT)/tuned/run

# --- report
$(OUT)/loss.png: $(OUT)/train-log.tsv $(PIPE)/plot-loss.sh
	$(PIPE)/plot-loss.sh $< $@
$(OUT)/summary.md: $(OUT)/compare.txt $(OUT)/base/score.txt \
    $(OUT)/tuned/score.txt $(OUT)/train-log.tsv $(PIPE)/summary.sh \
    $(if $(JUDGED_VIEW),$(OUT)/compare-J$(LEVEL).txt)
	$(INTO) $(PIPE)/summary.sh -d $(DATA) -m $(MODEL) -l $(LEVEL) \
	    -t $(OUT)/train-log.tsv -x $(OUT)/mine.txt \
	    $(if $(JUDGED_VIEW),-J $(OUT)/compare-J$(LEVEL).txt) $<
	@cat $@

clean:
	rm -rf $(OUT)

.PHONY: all clean FORCE
