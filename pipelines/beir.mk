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
# the queries of $(TRAIN_QRELS).  Judgments of a query or document the
# collection lacks (some BEIR sets judge more than they hold) are left out of
# mining (mine-negatives --skip-missing), and summary.md says how many.
#
# RECIPE=auto (the default) chooses the mining and training options by
# cross-validation over the train queries (RECIPE=fixed: MINE_OPTS and
# TRAIN_OPTS): they are split into FOLDS folds (by a seeded hash of
# the query id), and each recipe of CANDIDATES is mined from the base run on
# the other folds' queries, trained, and scored on the held-out fold by
# re-ranking the base model's top CV_K for those queries (so a fold encodes
# only those documents).  The recipe with the best mean held-out NDCG@10
# (ties: the cheaper, by the texts its training took) is trained on all train
# queries; when none beats the base model, the base model is the result.
# cv/summary.md has the table, and summary.md shows it.

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
# prompts (tokenize --prompt NAME: one of the model's named prompts; or
# --prefix TEXT: any text) for the queries and the documents; unset: the
# model's default prompt, if it names one
QUERY_PROMPT ?=
CORPUS_PROMPT ?=
QUERY_PREFIX ?=
CORPUS_PREFIX ?=
# hits per query: 100, or 1000 where the judgments hold explicit
# non-relevant documents (JUDGED_VIEW, CV_JUDGED), so that the judged-only
# view (score -J) ranks the judged documents beyond the first 100 too
K ?= $(if $(JUDGED_VIEW)$(CV_JUDGED),1000,100)
THREADS ?=
# every training (the folds' too; whatever TRAIN_OPTS says) stops after
# MAX_STEPS steps where its epochs would take more (train --max-steps), so
# that a collection with tens of thousands of judgments does not train for a
# day; empty: no bound
MAX_STEPS ?= 1000
STEPS_OPT = $(if $(MAX_STEPS),--max-steps $(MAX_STEPS))
MINE_OPTS ?= -n 1 --range-max 50 --relative-margin 0.05 --format triplet
TRAIN_OPTS ?= --loss mnrl -e 3 -b 32 --lr 2e-5 --warmup 0.1 --weight-decay 0.01 --seed 12
SCORE_OPTS ?=
# 1 when the test judgments hold explicit non-relevant documents (relevance
# 0): the summary then shows the judged-only figures (score -J) too
JUDGED_VIEW ?= $(shell awk '$$NF == "0" { print 1; exit }' $(TEST_QRELS) 2>/dev/null)
# the same for the train judgments: RECIPE=auto then scores its folds on the
# judged documents only (score -J), as the collection's owners do
CV_JUDGED ?= $(shell awk '$$NF == "0" { print 1; exit }' $(TRAIN_QRELS) 2>/dev/null)
# auto: the recipe chosen by cross-validation (below); fixed: MINE_OPTS
# and TRAIN_OPTS as given
RECIPE ?= auto

# --- RECIPE=auto: the candidate recipes and the cross-validation
FOLDS ?= 5
CV_SEED ?= 1
# the train queries the folds take: in the folds' seeded order, until
# CV_QUERIES queries or CV_POSITIVES judgments at MINE_LEVEL or above (at
# least one query a fold), so that CV's cost stays bounded on a large
# collection; the winner is still trained on all train queries
CV_QUERIES ?= 1000
CV_POSITIVES ?= 2000
CV_K ?= $(K)
CV_TRAIN ?= -b 32 --lr 2e-5 --warmup 0.1 --weight-decay 0.01 --seed 12
# the precision of the folds' training and encoding (train, encode
# --precision): auto is bf16 where the CPU has it, else fp32; the recipe the
# folds choose is then trained in fp32 (unless its TRAIN_<recipe> sets one)
CV_PRECISION ?= auto
CV_PREC = $(if $(CV_PRECISION),--precision $(CV_PRECISION))
# 1 where the folds' precision is bf16 on this CPU (auto: encode says on
# stderr when it falls back to fp32); the base model's CV row is then the
# base model encoded as the folds are, on their pairs (cv/base.trec)
CV_BF16 := $(if $(filter bf16,$(CV_PRECISION)),1,$(if $(filter auto,\
	$(CV_PRECISION)),$(shell $(BIN)/encode --precision auto --version \
	2>&1 > /dev/null | grep -q . || echo 1)))
# judged: only where the train qrels hold judgments below MINE_LEVEL
HAS_JUDGED := $(shell awk -F'\t' -v l=$(MINE_LEVEL) '$$3 ~ /^-?[0-9]+$$/ && \
	$$3 < l { print "yes"; exit }' $(TRAIN_QRELS) 2>/dev/null)
CANDIDATES ?= pairs mined-e3 $(if $(HAS_JUDGED),judged)
MINE_pairs ?= -n 0
TRAIN_pairs ?= --loss mnrl $(CV_TRAIN) -e 1
MINE_mined ?= -n 1 --range-max 50 --relative-margin 0.05 --per-positive-margin
TRAIN_mined ?= --loss mnrl $(CV_TRAIN) -e 1
MINE_mined-e3 ?= $(MINE_mined)
TRAIN_mined-e3 ?= --loss mnrl $(CV_TRAIN) -e 3
MINE_judged ?= --judged -n 3 --range-max 100 --format ntuple
TRAIN_judged ?= --loss cgist --mini-batch 32 $(CV_TRAIN) -e 1

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
# every mining: judgments of what the collection lacks left out, and counted
MINING = $(MINE) --skip-missing
TRAIN = $(BIN)/train
TUNED = $(OUT)/model
STAGE = $(PIPE)/stage
# lines of a text file (texts of a JSONL file), in a recipe
LINES = $$(wc -l < $(1) | tr -d ' ')

all: $(OUT)/summary.md $(OUT)/loss.png

# Options are remembered in stamp files, rewritten only when they change, so
# that new options redo exactly the stages they affect.
# $(call SQ,TEXT): TEXT single-quoted for the shell
SQ = '$(subst ','\'',$(1))'
STAMP = @mkdir -p $(@D); printf '%s\n' $(call SQ,$(1)) | cmp -s - $@ || \
	printf '%s\n' $(call SQ,$(1)) > $@
$(OUT)/.tok.opts: FORCE ; $(call STAMP,$(MODEL) $(MAX_LEN) $(TOK_queries) \
	$(TOK_corpus))
$(OUT)/.run.opts: FORCE ; $(call STAMP,$(K))
$(OUT)/.score.opts: FORCE ; $(call STAMP,$(LEVEL) $(SCORE_OPTS) $(CV_JUDGED))
$(OUT)/cv/.folds.opts: FORCE ; $(call STAMP,$(FOLDS) $(CV_SEED) $(CV_K) \
	$(CV_QUERIES) $(CV_POSITIVES) $(MINE_LEVEL))
$(OUT)/cv/.top.opts: FORCE ; $(call STAMP,$(CV_JUDGED))
$(OUT)/cv/.base.opts: FORCE ; $(call STAMP,$(CV_BF16) $(CV_PREC))
FORCE:

# The collection's own files and the model's: where one is missing, say which
# and what it is for, instead of make's "No rule to make target".
$(DATA)/corpus.jsonl $(DATA)/queries.jsonl $(TEST_QRELS):
	@echo "beir.mk: $@: no such file (DATA=$(DATA): a BEIR directory has" \
	    "corpus.jsonl, queries.jsonl and qrels/test.tsv)" >&2; exit 2
$(MODEL)/vocab.txt $(MODEL)/model.safetensors:
	@echo "beir.mk: $@: no such file (MODEL=$(MODEL): a sentence-transformers" \
	    "model directory; 'make model' fetches the default," \
	    "all-MiniLM-L6-v2, into models/)" >&2; exit 2
ifneq ($(TRAIN_QRELS),$(TEST_QRELS))
$(TRAIN_QRELS):
	@echo "beir.mk: $@: no such file: fine-tuning needs judged train" \
	    "queries (TRAIN_QRELS$(if $(wildcard $(DATA)/qrels/dev.tsv),;" \
	    "TRAIN_QRELS=$(DATA)/qrels/dev.tsv trains on the dev split's)); without them," \
	    "$(OUT)/base/score.txt scores the base model on the test queries" >&2; exit 2
endif

# --- text -> tokens (the tuned model keeps the base model's vocabulary);
# $(TOK_queries), $(TOK_corpus): the prompt options of each
TOK_queries = $(if $(QUERY_PROMPT),--prompt $(call SQ,$(QUERY_PROMPT))) \
	$(if $(QUERY_PREFIX),--prefix $(call SQ,$(QUERY_PREFIX)))
TOK_corpus = $(if $(CORPUS_PROMPT),--prompt $(call SQ,$(CORPUS_PROMPT))) \
	$(if $(CORPUS_PREFIX),--prefix $(call SQ,$(CORPUS_PREFIX)))
$(OUT)/%.tok: $(DATA)/%.jsonl $(MODEL)/vocab.txt $(OUT)/.tok.opts | $(TOKENIZE)
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "tokenize: $*, $(call LINES,$<) texts" \
	    $(TOKENIZE) -m $(MODEL) -n $(MAX_LEN) $(TOK_$*) $<

# --- base model
$(OUT)/base/%.emb: $(OUT)/%.tok $(MODEL)/model.safetensors | $(BIN)/encode
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "encode: $*, base model, $(call LINES,$(DATA)/$*.jsonl) texts" \
	    $(ENCODE) -m $(MODEL) $<

# --- tuned model: trained on mined negatives for the train queries
ifeq ($(RECIPE),fixed)
$(OUT)/.mine.opts: FORCE ; $(call STAMP,$(MINE_LEVEL) $(MINE_OPTS))
$(OUT)/.train.opts: FORCE ; $(call STAMP,$(MODEL) $(TRAIN_OPTS) $(STEPS_OPT))
$(OUT)/train.mp: $(OUT)/base/run $(TRAIN_QRELS) $(OUT)/queries.tok \
    $(OUT)/corpus.tok $(OUT)/.mine.opts | $(MINE)
	$(STAGE) -o $@ -e $(OUT)/mine.txt -a $(OUT)/mine.txt "mine-negatives" \
	    $(MINING) -q $(TRAIN_QRELS) -Q $(OUT)/queries.tok \
	    -C $(OUT)/corpus.tok -l $(MINE_LEVEL) $(MINE_OPTS) $<
# train writes its checkpoints into $(TUNED).part (train --resume -o
# $(TUNED).part goes on from one); only a run that finished becomes
# $(TUNED), so a checkpoint left by an interrupted run (Ctrl-C: train
# saves one and exits 130) never passes for the tuned model.
$(TUNED)/model.safetensors: $(OUT)/train.mp $(MODEL)/model.safetensors \
    $(OUT)/.train.opts | $(TRAIN)
	$(STAGE) "train: $$(sed -n 's/.* \([0-9]*\) rows$$/\1/p' $(OUT)/mine.txt) rows -> $(TUNED)" \
	    $(TRAIN) -m $(MODEL) -o $(TUNED).part $(TRAIN_OPTS) $(STEPS_OPT) \
	    --log $(OUT)/train-log.tsv $<
	rm -rf $(TUNED)
	mv $(TUNED).part $(TUNED)
$(OUT)/tuned/%.emb: $(OUT)/%.tok $(TUNED)/model.safetensors | $(BIN)/encode
	@mkdir -p $(@D)
	$(STAGE) -r -o $@ "encode: $*, tuned model, $(call LINES,$(DATA)/$*.jsonl) texts" \
	    $(ENCODE) -m $(TUNED) $<
else ifeq ($(RECIPE),auto)
# cv/winner: the recipe CV chose (name, mining options, training options,
# model: one a line), or "base"; when it is the base model, the result is a
# copy of the base model and its embeddings, with no training step
W = $(OUT)/cv/winner
IF_BASE = if [ "$$(sed -n 1p $(W))" = base ]; then
$(OUT)/train.mp: $(W) $(OUT)/base/run $(TRAIN_QRELS) $(OUT)/queries.tok \
    $(OUT)/corpus.tok | $(MINE)
	rm -f $(OUT)/mine.txt
	$(IF_BASE) : > $@; exit 0; fi; \
	$(MINING) -q $(TRAIN_QRELS) -Q $(OUT)/queries.tok \
	    -C $(OUT)/corpus.tok $$(sed -n 2p $(W)) $(OUT)/base/run > $@.tmp \
	    2> $(OUT)/mine.txt || \
	    { cat $(OUT)/mine.txt >&2; rm -f $@.tmp; exit 1; }; \
	cat $(OUT)/mine.txt >&2; mv $@.tmp $@
$(TUNED)/model.safetensors: $(OUT)/train.mp $(MODEL)/model.safetensors | $(TRAIN)
	$(IF_BASE) rm -rf $(TUNED) && mkdir -p $(TUNED) && \
	    cp -RL $(MODEL)/. $(TUNED)/ && printf \
	    'step\tloss\tlr\tgrad_norm\texamples_per_s\n' > $(OUT)/train-log.tsv \
	    && touch $@; exit 0; fi; \
	$(TRAIN) -m $(MODEL) -o $(TUNED).part $$(sed -n 3p $(W)) \
	    --log $(OUT)/train-log.tsv $< && \
	rm -rf $(TUNED) && mv $(TUNED).part $(TUNED)
$(OUT)/tuned/%.emb: $(OUT)/%.tok $(TUNED)/model.safetensors \
    $(OUT)/base/%.emb | $(BIN)/encode
	@mkdir -p $(@D)
	$(IF_BASE) cp $(OUT)/base/$*.emb $@; exit 0; fi; \
	$(INTO) $(ENCODE) -m $(TUNED) $<
else
$(error RECIPE=$(RECIPE): must be fixed or auto)
endif
$(OUT)/train-log.tsv: $(TUNED)/model.safetensors

# --- RECIPE=auto: cross-validation over the train queries.
# cv/folds.tsv: qid, fold (1..FOLDS), the train queries sorted by a seeded
# hash of their id (Lehmer steps over its bytes; exact in any awk), taken
# while within CV_QUERIES and CV_POSITIVES, and dealt round.
# cv/fN/train.tsv: the judgments of the other folds' queries, what the
# recipes mine from; cv/fN/held.tsv: fold N's; cv/fN/top.tsv: the base
# model's top CV_K (query, document) pairs of fold N, the only documents
# the fold encodes and re-ranks; with CV_JUDGED, only the judged ones of
# them, since score -J passes over the others (the same figures; ACORD's
# folds encode 1,097 documents instead of 2,698).
FOLDNUMS := $(shell seq 1 $(FOLDS) 2>/dev/null)
ifeq ($(RECIPE),auto)
ifeq ($(filter-out 1,$(FOLDNUMS)),)
$(error FOLDS=$(FOLDS): must be 2 or more)
endif
endif
$(OUT)/cv/folds.tsv: $(TRAIN_QRELS) $(OUT)/cv/.folds.opts
	LC_ALL=C awk -F'\t' -v seed=$(CV_SEED) -v lv=$(MINE_LEVEL) \
	    'BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i } \
	    FNR == 1 && $$1 == "query-id" { next } \
	    NF >= 3 && !($$1 in hq) { h = seed % 2147483647 + 1; \
	    s = $$1 "\001" seed; for (i = 1; i <= length(s); i++) \
	    h = (h + ord[substr(s, i, 1)]) * 48271 % 2147483647; \
	    for (i = 0; i < 3; i++) h = h * 48271 % 2147483647; \
	    hq[$$1] = h } \
	    NF >= 3 { pos[$$1] += $$NF >= lv } \
	    END { for (q in hq) print hq[q] "\t" q "\t" pos[q] }' $< | \
	    sort -k1,1n -k2,2 | awk -F'\t' -v k=$(FOLDS) -v mq=$(CV_QUERIES) \
	    -v mp=$(CV_POSITIVES) 'n >= k && (n >= mq || p + $$3 > mp) { cut = 1 } \
	    !cut { p += $$3; print $$2 "\t" n++ % k + 1 } END { if (cut) \
	    printf "beir.mk: cv: %d of the %d train queries (%d judgments at " \
	    "level $(MINE_LEVEL) or above; CV_QUERIES=%d, CV_POSITIVES=%d)\n", \
	    n, NR, p, mq, mp > "/dev/stderr" }' > $@.tmp
	mv $@.tmp $@
$(OUT)/cv/f%/train.tsv: $(OUT)/cv/folds.tsv $(TRAIN_QRELS)
	@mkdir -p $(@D)
	awk -F'\t' -v f=$* 'NR == FNR { fold[$$1] = $$2; next } \
	    ($$1 in fold) && fold[$$1] != f' $^ > $@.tmp
	mv $@.tmp $@
$(OUT)/cv/f%/held.tsv: $(OUT)/cv/folds.tsv $(TRAIN_QRELS)
	@mkdir -p $(@D)
	awk -F'\t' -v f=$* 'NR == FNR { fold[$$1] = $$2; next } \
	    fold[$$1] == f' $^ > $@.tmp
	mv $@.tmp $@
# cv/qrels.tsv: the judgments of the folds' queries, all the CV scores (the
# train queries a sample leaves out must not count as queries without hits)
$(OUT)/cv/qrels.tsv: $(OUT)/cv/folds.tsv $(TRAIN_QRELS)
	awk -F'\t' 'NR == FNR { f[$$1]; next } $$1 in f' $^ > $@.tmp
	mv $@.tmp $@
$(OUT)/base/run.trec: $(OUT)/base/queries.emb $(OUT)/base/corpus.emb \
    $(OUT)/.run.opts | $(TOPK)
	$(INTO) $(TOPK) -t -k $(K) -c $(OUT)/base/corpus.emb $<
$(OUT)/cv/f%/top.tsv: $(OUT)/cv/f%/held.tsv $(OUT)/base/run.trec \
    $(OUT)/cv/.folds.opts $(OUT)/cv/.top.opts
	awk -v k=$(CV_K) -v j=$(CV_JUDGED) 'NR == FNR { q[$$1]; \
	    d[$$1 "\t" $$2]; next } ($$1 in q) && $$4 <= k && \
	    (!j || ($$1 "\t" $$3) in d) { print $$1 "\t" $$3 }' \
	    $< $(OUT)/base/run.trec > $@.tmp
	mv $@.tmp $@
# the fold's queries and documents, as text, then tokens
# $(call PICK,TSV,COLUMN): the JSONL records of the standard input whose
# _id is in that column (0-based) of TSV
PICK = jq -nc --rawfile ids $(1) --argjson col $(2) '(reduce ($$ids | \
	split("\n")[] | select(length > 0) | split("\t")[$$col]) as $$i \
	({}; .[$$i] = 1)) as $$s | inputs | select($$s[._id | tostring])'
$(OUT)/cv/f%/queries.jsonl: $(OUT)/cv/f%/held.tsv $(DATA)/queries.jsonl
	$(INTO) $(call PICK,$<,0) $(DATA)/queries.jsonl
$(OUT)/cv/f%/corpus.jsonl: $(OUT)/cv/f%/top.tsv $(DATA)/corpus.jsonl
	$(INTO) $(call PICK,$<,1) $(DATA)/corpus.jsonl
$(OUT)/cv/f%.tok: $(OUT)/cv/f%.jsonl $(MODEL)/vocab.txt $(OUT)/.tok.opts \
    | $(TOKENIZE)
	$(INTO) $(TOKENIZE) -m $(MODEL) -n $(MAX_LEN) $(TOK_$(notdir $*)) $<

# one recipe on one fold: mine from the base run with the other folds'
# judgments, train, then CV_RERANK with the fold's model ($(1): recipe,
# $(2): fold)
define CV_FOLD
$(OUT)/cv/$(1)/f$(2)/train.mp: $(OUT)/base/run $(OUT)/cv/f$(2)/train.tsv \
    $(OUT)/queries.tok $(OUT)/corpus.tok $(OUT)/cv/$(1)/.opts | $(MINE)
	@echo "beir.mk: cv: recipe $(1), fold $(2) of $(FOLDS): mining" >&2
	@mkdir -p $$(@D)
	$(MINING) -q $(OUT)/cv/f$(2)/train.tsv -Q $(OUT)/queries.tok \
	    -C $(OUT)/corpus.tok $$$$(sed -n 2p $(OUT)/cv/$(1)/.opts) $$< \
	    > $$@.tmp 2> $$(@D)/mine.txt || \
	    { cat $$(@D)/mine.txt >&2; rm -f $$@.tmp; exit 1; }
	mv $$@.tmp $$@
$(OUT)/cv/$(1)/f$(2)/model/model.safetensors: $(OUT)/cv/$(1)/f$(2)/train.mp \
    $(MODEL)/model.safetensors | $(TRAIN)
	@echo "beir.mk: cv: recipe $(1), fold $(2) of $(FOLDS): training" >&2
	if grep -q ' 0 rows$$$$' $(OUT)/cv/$(1)/f$(2)/mine.txt; then \
	    echo "beir.mk: cv: recipe $(1), fold $(2): no training row;" \
	    "the fold keeps the base model" >&2; rm -rf $$(@D) && \
	    mkdir -p $$(@D) && cp -RL $(MODEL)/. $$(@D)/ && touch $$@; exit 0; \
	fi; \
	$(TRAIN) -m $(MODEL) -o $$(@D) $$$$(sed -n 3p $(OUT)/cv/$(1)/.opts) \
	    $(CV_PREC) --log $(OUT)/cv/$(1)/f$(2)/train-log.tsv $$<
$(call CV_RERANK,$(1),$(2),$(OUT)/cv/$(1)/f$(2)/model)
endef
# the model $(3) on fold $(2) as recipe $(1) (or the base model as base):
# encode the fold's queries and documents, re-rank each held-out query's
# base top CV_K; (make cv-full) the same model over the whole corpus
define CV_RERANK
$(OUT)/cv/$(1)/f$(2)/%.emb: $(OUT)/cv/f$(2)/%.tok $(3)/model.safetensors \
    | $(BIN)/encode
	@echo "beir.mk: cv: recipe $(1), fold $(2) of $(FOLDS): encoding $$*" >&2
	@mkdir -p $$(@D)
	$$(INTO) $(ENCODE) $(CV_PREC) -m $(3) $$<
$(OUT)/cv/$(1)/f$(2)/run.trec: $(OUT)/cv/$(1)/f$(2)/queries.emb \
    $(OUT)/cv/$(1)/f$(2)/corpus.emb $(OUT)/cv/f$(2)/top.tsv | $(TOPK)
	$(TOPK) -t -k $$$$(wc -l < $(OUT)/cv/f$(2)/top.tsv) \
	    -c $(OUT)/cv/$(1)/f$(2)/corpus.emb $$< | awk 'NR == FNR \
	    { top[$$$$1 "\t" $$$$2]; next } ($$$$1 "\t" $$$$3) in top' \
	    $(OUT)/cv/f$(2)/top.tsv - > $$@.tmp
	mv $$@.tmp $$@
$(OUT)/cv/$(1)/f$(2)/full-corpus.emb: $(OUT)/corpus.tok \
    $(3)/model.safetensors | $(BIN)/encode
	@echo "beir.mk: cv-full: recipe $(1), fold $(2) of $(FOLDS): encoding" \
	    "the corpus" >&2
	$$(INTO) $(ENCODE) $(CV_PREC) -m $(3) $$<
$(OUT)/cv/$(1)/f$(2)/full.trec: $(OUT)/cv/$(1)/f$(2)/queries.emb \
    $(OUT)/cv/$(1)/f$(2)/full-corpus.emb $(OUT)/.run.opts | $(TOPK)
	$$(INTO) $(TOPK) -t -k $(K) -c $(OUT)/cv/$(1)/f$(2)/full-corpus.emb $$<
endef
$(foreach r,$(CANDIDATES),$(foreach f,$(FOLDNUMS),\
    $(eval $(call CV_FOLD,$(r),$(f)))))
$(foreach f,$(FOLDNUMS),$(eval $(call CV_RERANK,base,$(f),$(MODEL))))
$(foreach f,$(FOLDNUMS),$(OUT)/cv/base/f$(f)/queries.emb \
    $(OUT)/cv/base/f$(f)/corpus.emb): $(OUT)/cv/.base.opts

# a recipe's options: name, mining, training options, model, the folds'
# precision (one a line; the winner keeps the first four);
# a static pattern rule, so that the stamps are explicit targets: a stamp
# left unchanged does not redo its recipe's folds (an intermediate one would)
RECIPE_OPTS = printf '%s\n' $* '-l $(MINE_LEVEL) $(MINE_$*)' \
	'$(strip $(TRAIN_$*) $(STEPS_OPT))' '$(MODEL)' '$(CV_PREC)'
$(foreach r,$(CANDIDATES),$(OUT)/cv/$(r)/.opts): $(OUT)/cv/%/.opts: FORCE
	@mkdir -p $(@D); $(RECIPE_OPTS) | cmp -s - $@ || $(RECIPE_OPTS) > $@
# the base model on the same (query, document) pairs: its own top CV_K;
# where the folds run in bf16, those pairs re-ranked by the base model
# encoded in bf16 as the folds' models are (each CV change then measures
# the recipe, not the precision: about 0.001 NDCG@10 apart)
ifeq ($(CV_BF16),)
$(OUT)/cv/base.trec: $(OUT)/base/run.trec $(OUT)/cv/folds.tsv \
    $(OUT)/cv/.folds.opts $(OUT)/cv/.base.opts
	awk -v k=$(CV_K) 'NR == FNR { q[$$1]; next } ($$1 in q) && $$4 <= k' \
	    $(OUT)/cv/folds.tsv $< > $@.tmp
	mv $@.tmp $@
else
$(OUT)/cv/base.trec: $(foreach f,$(FOLDNUMS),$(OUT)/cv/base/f$(f)/run.trec) \
    $(OUT)/cv/.base.opts
	cat $(filter %.trec,$^) > $@.tmp
	mv $@.tmp $@
endif
# a recipe's held-out runs of every fold, against the base model's
$(OUT)/cv/%/compare.txt: $(OUT)/cv/base.trec $(OUT)/cv/qrels.tsv \
    $(foreach f,$(FOLDNUMS),$(OUT)/cv/%/f$(f)/run.trec) $(OUT)/.score.opts \
    | $(SCORE)
	cat $(foreach f,$(FOLDNUMS),$(OUT)/cv/$*/f$(f)/run.trec) > $(@D)/run.trec
	$(INTO) $(SCORE) --compare -q $(OUT)/cv/qrels.tsv -l $(LEVEL) -k 10 \
	    $(if $(CV_JUDGED),-J) \
	    -m ndcg,mrr,recall $< $(@D)/run.trec
# the table (recipe, the base model's NDCG@10, the recipe's, the change, p,
# cost: the texts its training steps took over all folds, steps x columns)
# and the winner: the best recipe that beats the base model, of equal ones
# the cheaper, else the base model
$(OUT)/cv/table.tsv: $(foreach r,$(CANDIDATES),$(OUT)/cv/$(r)/compare.txt)
	for r in $(CANDIDATES); do \
	    cost=0; for f in $(FOLDNUMS); do \
	    d=$(OUT)/cv/$$r/f$$f; [ -s $$d/train-log.tsv ] || continue; \
	    c=$$($(BIN)/show $$d/train.mp | sed -n 1p | jq .columns); \
	    cost=$$((cost + c * ($$(wc -l < $$d/train-log.tsv) - 1))); done; \
	    awk -v r=$$r -v c=$$cost '$$1 == "ndcg@10" { print r "\t" $$2 "\t" \
	    $$3 "\t" $$4 "\t" $$5 "\t" c }' $(OUT)/cv/$$r/compare.txt; \
	    done > $@.tmp
	mv $@.tmp $@
$(OUT)/cv/winner: $(OUT)/cv/table.tsv $(foreach r,$(CANDIDATES),$(OUT)/cv/$(r)/.opts)
	w=$$(awk -F'\t' '$$4 + 0 > 0 && (best == "" || $$3 + 0 > b || \
	    ($$3 + 0 == b && $$6 + 0 < bc)) { best = $$1; b = $$3 + 0; bc = $$6 + 0 } \
	    END { print best == "" ? "base" : best }' $<); \
	if [ $$w = base ]; then printf 'base\n'; else sed 4q $(OUT)/cv/$$w/.opts; \
	    fi | cmp -s - $@ || { if [ $$w = base ]; then printf 'base\n'; \
	    else sed 4q $(OUT)/cv/$$w/.opts; fi > $@; }
	@echo "beir.mk: cv: winner: $$(head -1 $@)" >&2
# make cv-full: each recipe scored as the re-ranking does, but with its fold
# models ranking the whole corpus (top K), against the base model's top K;
# to measure how far the re-ranking's figures are from full-corpus scoring
$(OUT)/cv/%/compare-full.txt: $(OUT)/cv/base-full.trec $(OUT)/cv/qrels.tsv \
    $(foreach f,$(FOLDNUMS),$(OUT)/cv/%/f$(f)/full.trec) $(OUT)/.score.opts \
    | $(SCORE)
	cat $(foreach f,$(FOLDNUMS),$(OUT)/cv/$*/f$(f)/full.trec) > $(@D)/full.trec
	$(INTO) $(SCORE) --compare -q $(OUT)/cv/qrels.tsv -l $(LEVEL) -k 10 \
	    $(if $(CV_JUDGED),-J) \
	    -m ndcg,mrr,recall $< $(@D)/full.trec
$(OUT)/cv/base-full.trec: $(OUT)/base/run.trec $(OUT)/cv/folds.tsv
	awk 'NR == FNR { q[$$1]; next } $$1 in q' $(OUT)/cv/folds.tsv $< > $@.tmp
	mv $@.tmp $@
cv-full: $(foreach r,$(CANDIDATES),$(OUT)/cv/$(r)/compare.txt \
    $(OUT)/cv/$(r)/compare-full.txt)
	@printf 'recipe\tbase\tre-ranked\tfull corpus\n'; for r in $(CANDIDATES); do \
	    awk -v r=$$r 'FNR == 1 { f++ } $$1 == "ndcg@10" { v[f] = $$3; b = $$2 } \
	    END { print r "\t" b "\t" v[1] "\t" v[2] }' \
	    $(OUT)/cv/$$r/compare.txt $(OUT)/cv/$$r/compare-full.txt; done
$(OUT)/cv/summary.md: $(OUT)/cv/table.tsv $(OUT)/cv/winner
	$(INTO) $(PIPE)/cv-summary.sh $(if $(CV_JUDGED),-J) -k $(FOLDS) -K $(CV_K) \
	    -q $(TRAIN_QRELS) -w $(OUT)/cv/winner \
	    -d $(OUT)/cv $<

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
# (an empty chart saying so when CV kept the base model: no step was run)
$(OUT)/loss.png: $(OUT)/train-log.tsv $(PIPE)/plot-loss.sh
	$(PIPE)/plot-loss.sh $< $@
$(OUT)/summary.md: $(OUT)/compare.txt $(OUT)/base/score.txt \
    $(OUT)/tuned/score.txt $(OUT)/train-log.tsv $(PIPE)/summary.sh \
    $(if $(filter auto,$(RECIPE)),$(OUT)/cv/summary.md) \
    $(if $(JUDGED_VIEW),$(OUT)/compare-J$(LEVEL).txt)
	$(INTO) $(PIPE)/summary.sh -d $(DATA) -m $(MODEL) -l $(LEVEL) \
	    -t $(OUT)/train-log.tsv -x $(OUT)/mine.txt \
	    $(if $(MAX_STEPS),-S $(MAX_STEPS)) \
	    $(if $(filter auto,$(RECIPE)),-c $(OUT)/cv/summary.md) \
	    $(if $(JUDGED_VIEW),-J $(OUT)/compare-J$(LEVEL).txt) $<
	@cat $@

clean:
	rm -rf $(OUT)

.PHONY: all clean cv-full FORCE
