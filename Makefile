# embtune — see README.md.  Plain make; `make deps` installs what the build needs.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
CC ?= cc
AR ?= ar
CFLAGS ?= -O2 -g
OMP ?= 1
# MPI=1: train runs under mpirun (train(1), MPI); needs Open MPI's mpicc
MPI ?= 0
MPICC ?= mpicc
# Debian 12 ships msgpack.pc; upstream 6.x renamed it msgpack-c.pc.
MSGPACK_PC ?= $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
PCS = $(MSGPACK_PC) libutf8proc jansson openblas
# OpenBLAS is not linked: lib/tensor.c loads it (dlopen) after choosing its
# core from the CPU's features, which must be set before its initialiser runs.
LINK_PCS = $(MSGPACK_PC) libutf8proc jansson
PY ?= .venv/bin/python
MODEL ?= sentence-transformers/all-MiniLM-L6-v2
MODELDIR ?= models/$(notdir $(MODEL))
DATA ?= ../shared/data

OMPFLAGS_1 = -fopenmp
OMPFLAGS_0 = -Wno-unknown-pragmas
XCFLAGS = -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib \
	$(shell pkg-config --cflags $(PCS) 2>/dev/null) $(OMPFLAGS_$(OMP))
XLDLIBS = $(shell pkg-config --libs $(LINK_PCS) 2>/dev/null) $(OMPFLAGS_$(OMP)) \
	-ldl -lpthread -lm

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:.c=.o)
LIB = lib/libembtune.a
TOOLS = $(patsubst bin/%.c,bin/%,$(wildcard bin/*.c))
UNIT = $(patsubst tests/unit/%.c,build/%,$(wildcard tests/unit/t_*.c))
# and each fuzz harness once on its seeds and earlier findings (replay.c)
UNIT += $(patsubst tests/fuzz/fuzz_%.c,build/replay_%,\
	$(wildcard tests/fuzz/fuzz_*.c))
MANS = $(wildcard man/*.[17])

all: $(TOOLS)

lib/%.o: lib/%.c lib/*.h
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

bin/%: bin/%.c $(LIB) lib/*.h
	$(CC) $(XCFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(XLDLIBS) $(LDFLAGS)

# train with Open MPI: lib/dist.c compiled for MPI (build/mpi/dist.o) and
# linked ahead of the library's one-process dist.o, through mpicc.
# build/mpi/train is that build whatever MPI says (the tests run it under
# mpirun); MPI=1 makes it bin/train.  bin/train follows a change of MPI.
build/mpi/dist.o: lib/dist.c lib/*.h
	@mkdir -p build/mpi
	$(MPICC) $(XCFLAGS) $(CFLAGS) -DEMBTUNE_MPI -c -o $@ $<

build/mpi/train: bin/train.c build/mpi/dist.o $(LIB) lib/*.h
	$(MPICC) $(XCFLAGS) $(CFLAGS) -o $@ $< build/mpi/dist.o $(LIB) \
		$(XLDLIBS) $(LDFLAGS)

build/train.mpi: FORCE
	@mkdir -p build
	@echo $(MPI) | cmp -s - $@ || echo $(MPI) > $@

ifeq ($(MPI),1)
bin/train: build/mpi/train build/train.mpi
	cp build/mpi/train $@
else
bin/train: build/train.mpi
endif

build/t_%: tests/unit/t_%.c tests/unit/check.h $(LIB) lib/*.h
	@mkdir -p build
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(XLDLIBS) $(LDFLAGS)

# The whole suite runs twice: on the normal build, then on a build with
# AddressSanitizer + UndefinedBehaviorSanitizer in build/san/ (SAN=0 skips it).
SAN ?= 1
SANFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
SAN_OBJ = $(patsubst lib/%.c,build/san/%.o,$(LIB_SRC))
SAN_TOOLS = $(patsubst bin/%,build/san/bin/%,$(TOOLS))
SAN_UNIT = $(patsubst build/%,build/san/%,$(UNIT))
CHECK_SAN_1 = san
CHECK_SAN_0 =

# with Open MPI installed, the MPI build of train too (tests/62-train-mpi)
CHECK_MPI = $(if $(shell command -v $(MPICC) 2>/dev/null),build/mpi/train)

check: deps
	@$(MAKE) -s all $(UNIT) $(CHECK_SAN_$(SAN)) $(CHECK_MPI)
	@SAN_UNIT="$(if $(CHECK_SAN_$(SAN)),$(SAN_UNIT))" tests/run-all $(UNIT)

san: $(SAN_TOOLS) $(SAN_UNIT)

build/san/%.o: lib/%.c lib/*.h
	@mkdir -p build/san
	$(CC) $(XCFLAGS) $(SANFLAGS) -c -o $@ $<

build/san/libembtune.a: $(SAN_OBJ)
	rm -f $@
	$(AR) rcs $@ $(SAN_OBJ)

build/san/bin/%: bin/%.c build/san/libembtune.a lib/*.h
	@mkdir -p build/san/bin
	$(CC) $(XCFLAGS) $(SANFLAGS) -o $@ $< build/san/libembtune.a $(XLDLIBS)

build/san/t_%: tests/unit/t_%.c tests/unit/check.h build/san/libembtune.a lib/*.h
	$(CC) $(XCFLAGS) $(SANFLAGS) -Itests/unit -o $@ $< build/san/libembtune.a $(XLDLIBS)

deps:
	@MPI=$(MPI) scripts/deps

model:
	@scripts/fetch-model $(MODEL) $(MODELDIR)

venv: .venv/.done
.venv/.done: scripts/requirements.txt
	scripts/venv

# the main job: fine-tune on ACORD and print the before/after table (README)
demo: deps
	@$(MAKE) -s all model
	@pipelines/demo

bench: all model venv build/bench_gemm
	bench/run

build/bench_gemm: bench/gemm.c $(LIB) lib/*.h
	@mkdir -p build
	$(CC) $(XCFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(XLDLIBS) $(LDFLAGS)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m 755 $$t $(DESTDIR)$(BINDIR)/; done
	for m in man/*.1; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.7; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$${t#bin/}; done
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done

clean:
	rm -f $(TOOLS) $(LIB) lib/*.o
	rm -rf build

FORCE:

.PHONY: all check san deps model venv bench demo install uninstall clean FORCE
.SECONDARY:

# ---- fuzz: libFuzzer harnesses (tests/fuzz/, clang); `check` replays them ----
# `make fuzz FUZZ_SECONDS=N` runs each harness for N seconds on a corpus in
# build/fuzz/corpus/NAME seeded from fixtures/; crashes land in
# build/fuzz/crash/NAME-*.  Rerun one: build/fuzz/fuzz_NAME FILE.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Wno-pass-failed
FUZZ_OBJ = $(patsubst lib/%.c,build/fuzz/%.o,$(LIB_SRC))
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_SEEDS_rec = fixtures/streams/*.mp fixtures/encode/*.mp fixtures/train/*.mp
FUZZ_SEEDS_textin = fixtures/tok/stress.jsonl
FUZZ_SEEDS_tok = fixtures/tok/stress.jsonl
FUZZ_SEEDS_st = fixtures/tiny/model.safetensors
FUZZ_SEEDS_qrels = fixtures/score/qrels-syn.tsv fixtures/score/qrels-syn.trec \
	fixtures/score/syn1.trec fixtures/score/syn3.mp

# each harness with replay.c's main instead of libFuzzer, once on its
# seeds and earlier findings: part of `check` (UNIT), both builds
REPLAY = $(CC) $(XCFLAGS) -DFUZZ_NAME='"$*"' -DFUZZ_SEEDS='"$(FUZZ_SEEDS_$*)"'
build/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h \
    $(LIB) lib/*.h
	@mkdir -p build
	$(REPLAY) $(CFLAGS) -o $@ tests/fuzz/replay.c $< $(LIB) $(XLDLIBS) \
		$(LDFLAGS)
build/san/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    tests/fuzz/fuzz.h build/san/libembtune.a lib/*.h
	$(REPLAY) $(SANFLAGS) -o $@ tests/fuzz/replay.c $< \
		build/san/libembtune.a $(XLDLIBS)

fuzz: $(FUZZ_BINS)
	@st=0; for n in $(FUZZ_NAMES); do \
		tests/fuzz/run $$n $(FUZZ_SECONDS) || st=1; done; exit $$st

build/fuzz/%.o: lib/%.c lib/*.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(XCFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libembtune.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJ)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libembtune.a
	$(FUZZ_CC) $(XCFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
		build/fuzz/libembtune.a $(XLDLIBS)
	@mkdir -p build/fuzz/corpus/$*
	@for f in $(FUZZ_SEEDS_$*) fixtures/fuzz/$*-*; do \
		[ ! -f "$$f" ] || cp "$$f" build/fuzz/corpus/$*/; done

.PHONY: fuzz
