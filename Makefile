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
PY ?= .venv/bin/python
MODEL ?= sentence-transformers/all-MiniLM-L6-v2
MODELDIR ?= models/$(notdir $(MODEL))
DATA ?= ../shared/data

OMPFLAGS_1 = -fopenmp
OMPFLAGS_0 =
XCFLAGS = -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib \
	$(shell pkg-config --cflags $(PCS) 2>/dev/null) $(OMPFLAGS_$(OMP))
XLDLIBS = $(shell pkg-config --libs $(PCS) 2>/dev/null) $(OMPFLAGS_$(OMP)) -lm

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

bench: all model venv
	bench/run

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
