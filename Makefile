# embtune — see README.md.  Plain make; `make deps` installs what the build needs.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
CC ?= cc
AR ?= ar
CFLAGS ?= -O2 -g
OMP ?= 1
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
MANS = $(wildcard man/*.[17])

all: $(TOOLS)

lib/%.o: lib/%.c lib/*.h
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

bin/%: bin/%.c $(LIB) lib/*.h
	$(CC) $(XCFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(XLDLIBS) $(LDFLAGS)

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

check: deps
	@$(MAKE) -s all $(UNIT) $(CHECK_SAN_$(SAN))
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
	@scripts/deps

model:
	@scripts/fetch-model $(MODEL) $(MODELDIR)

venv: .venv/.done
.venv/.done: scripts/requirements.txt
	scripts/venv

# the main job: fine-tune on ACORD and print the before/after table (README)
demo: deps
	@$(MAKE) -s all model
	pipelines/demo

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

.PHONY: all check san deps model venv bench demo install uninstall clean
.SECONDARY:

# ---- fuzz: libFuzzer harnesses (tests/fuzz/, clang), not part of `check` ----
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
