/* util: allocation, range-checked option parsing, atomic file output,
 * progress line, hashing.  Everything that is not numerics and not streams. */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define EMBTUNE_VERSION "0.5.0"	/* printed by every tool's --version */

/* Exit statuses (a subset of sysexits(3)); see every man page's EXIT STATUS. */
enum {
	EX_OK_ = 0,
	EXIT_USAGE = 64,	/* bad command line */
	EXIT_DATAERR = 65,	/* bad input data */
	EXIT_NOINPUT = 66,	/* cannot open input or model */
	EXIT_SOFTWARE = 70,	/* internal error (NaN loss, broken invariant) */
	EXIT_CANTCREAT = 73,	/* cannot create output */
	EXIT_IOERR = 74,	/* read/write error */
};

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* 64-byte aligned, zeroed; free with free(3) */
void *xaligned(size_t n);
/* p (from xaligned, or NULL; *cap bytes) if it holds n bytes, else a new
 * xaligned(n) in its place (*cap = n; the contents are not kept) */
void *xgrow(void *p, size_t *cap, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Parse a whole string as a number in [lo, hi]; on failure errx(64) naming
 * the option: "tool: -k: 0: must be between 1 and 100000" */
long util_parse_int(const char *opt, const char *s, long lo, long hi);
double util_parse_float(const char *opt, const char *s, double lo, double hi);

/* Atomic output: util_tmpout("dir/name") opens "dir/.name.XXXXXX" for
 * writing; util_commit() fflush+fsync+fclose+rename()s it onto the target.
 * An atexit hook unlinks any temp file never committed, so an errx()
 * anywhere leaves nothing half-written behind. */
FILE *util_tmpout(const char *path);
void util_commit(FILE *fp);
/* The same for a directory: util_tmpdir("out") makes "out.tmp.XXXXXX" beside
 * it; util_commit_dir() fsyncs and renames it onto "out" (replacing an
 * existing directory only after the new one is complete). */
char *util_tmpdir(const char *path);
void util_commit_dir(const char *tmp, const char *path);

/* Check fflush/ferror/fclose on stdout; exit 74 on failure (sbase fshut). */
void util_fshut(void);

/* --version: print "TOOL (embtune) VERSION" and, if more is not NULL, what
 * more(stdout) adds (the CPU and kernels, for the tools that multiply
 * matrices); then exit 0. */
void util_version(const char *tool, void (*more)(FILE *));

/* Refuse to write binary data to a terminal. */
void util_no_tty_stdout(void);

/* Read a whole file into memory (NUL-terminated); NULL with errno set. */
char *util_slurp(const char *path, size_t *len);

/* 64-bit FNV-1a, used to name a vocabulary in stream headers. */
uint64_t util_fnv1a(const void *p, size_t n);

/* splitmix64: the next value of a seeded state (every shuffle, sample and
 * resampling in the library draws from it) */
uint64_t util_rand(uint64_t *state);

/* Progress line on stderr (only when stderr is a terminal, or forced with
 * util_progress_force): "tool: what 1234/5000 (24%) 310.2/s ETA 0:12".
 * total 0 = unknown. Rate-limited to ~4 updates/s; util_progress_end()
 * finishes the line. */
struct progress {
	const char *what;
	size_t total;
	double t0, tlast;
	int on;
};
void util_progress_start(struct progress *p, const char *what, size_t total);
void util_progress(struct progress *p, size_t done);
void util_progress_end(struct progress *p, size_t done);
extern int util_progress_force;

double util_now(void);	/* monotonic seconds */
mode_t util_umask(void);	/* the current umask, left unchanged */

#endif
