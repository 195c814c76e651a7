/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c, `make fuzz`).
 *
 * The library reports bad data with errx(3)/err(3) and exits, which would
 * end a fuzzing run at the first malformed input.  The harness defines
 * err, errx, verr and verrx itself (the executable's definitions take
 * precedence over libc's), and they jump back into the harness instead:
 * FUZZ_TRY { parse } FUZZ_END.  Exit status 70 (EXIT_SOFTWARE: a broken
 * invariant, or out of memory) is a finding and aborts.  Memory a parse
 * had allocated before it bailed out leaks; the tools exit at that point,
 * so run with -detect_leaks=0.  FUZZ_VERBOSE=1 prints the messages. */
#ifndef FUZZ_H
#define FUZZ_H

#include <err.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stddef.h>
#include <unistd.h>

#include <jansson.h>

#include "tok.h"
#include "util.h"

static jmp_buf fuzz_jmp;
static int fuzz_status;		/* exit status of the last bail-out, 0 if none */

static void fuzz_bail(int, int, const char *, va_list)
    __attribute__((noreturn));

static void
fuzz_bail(int eval, int errnum, const char *fmt, va_list ap)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose || eval == EXIT_SOFTWARE) {
		fprintf(stderr, "fuzz: exit %d: ", eval);
		if (fmt != NULL)
			vfprintf(stderr, fmt, ap);
		if (errnum >= 0)
			fprintf(stderr, ": %s", strerror(errnum));
		fputc('\n', stderr);
	}
	if (eval == EXIT_SOFTWARE)
		abort();
	fuzz_status = eval;
	longjmp(fuzz_jmp, 1);
}

void
verrx(int eval, const char *fmt, va_list ap)
{
	fuzz_bail(eval, -1, fmt, ap);
}

void
errx(int eval, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_bail(eval, -1, fmt, ap);
}

void
verr(int eval, const char *fmt, va_list ap)
{
	fuzz_bail(eval, errno, fmt, ap);
}

void
err(int eval, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	fuzz_bail(eval, e, fmt, ap);
}

#define FUZZ_TRY	fuzz_status = 0; if (setjmp(fuzz_jmp) == 0)

/* File descriptors a bailed-out parse left open (the library closes its
 * files only on success): fuzz_fd_base() once, fuzz_fd_sweep() after each
 * input closes every descriptor opened since. */
static int fuzz_fdbase = -1;

static inline void
fuzz_fd_base(void)
{
	if (fuzz_fdbase < 0) {
		fuzz_fdbase = dup(0);
		close(fuzz_fdbase);
	}
}

static inline void
fuzz_fd_sweep(void)
{
	for (int fd = fuzz_fdbase; fd < fuzz_fdbase + 256; fd++)
		close(fd);
}

/* jansson's allocations, tracked so that a bail-out can free the JSON it
 * was parsing: fuzz_json_track() once, fuzz_json_sweep() after a bail. */
struct fuzz_blk { struct fuzz_blk *prev, *next; max_align_t pad[]; };
static struct fuzz_blk fuzz_live = { &fuzz_live, &fuzz_live };

static void *
fuzz_jmalloc(size_t n)
{
	struct fuzz_blk *b = malloc(sizeof *b + n);

	if (b == NULL)
		return NULL;
	b->next = fuzz_live.next;
	b->prev = &fuzz_live;
	b->next->prev = b;
	fuzz_live.next = b;
	return b->pad;
}

static void
fuzz_jfree(void *p)
{
	struct fuzz_blk *b;

	if (p == NULL)
		return;
	b = (struct fuzz_blk *)((char *)p - offsetof(struct fuzz_blk, pad));
	b->prev->next = b->next;
	b->next->prev = b->prev;
	free(b);
}

static inline void
fuzz_json_track(void)
{
	json_set_alloc_funcs(fuzz_jmalloc, fuzz_jfree);
}

static inline void
fuzz_json_sweep(void)
{
	while (fuzz_live.next != &fuzz_live)
		fuzz_jfree(fuzz_live.next->pad);
}

/* The input as a file: an in-memory file, its /proc path in path. */
static inline int
fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t cap)
{
	int fd = memfd_create("fuzz", 0);
	size_t off = 0;

	if (fd == -1)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

/* Read every byte of s[0..n), so that ASan sees a pointer past its buffer. */
static volatile unsigned fuzz_sink;
static inline void
fuzz_touch(const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned h = 0;

	for (size_t i = 0; i < n; i++)
		h = h * 31 + s[i];
	fuzz_sink += h;
}

/* A text's n ids from tok_encode: within the vocabulary, the model's
 * template (head and tail ids) around them, no more than max_len. */
static inline void
fuzz_check_ids(const struct tok *t, const uint32_t *ids, size_t n)
{
	if (n < t->nhead + t->ntail || n > t->max_len ||
	    memcmp(ids, t->head, t->nhead * sizeof *ids) != 0 ||
	    memcmp(ids + n - t->ntail, t->tail, t->ntail * sizeof *ids) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= t->V)
			abort();
}

#endif
