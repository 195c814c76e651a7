/* util: allocation, option parsing, atomic output, progress line. */
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util_progress_force;

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		err(EXIT_SOFTWARE, "malloc %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		err(EXIT_SOFTWARE, "calloc %zu x %zu bytes", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		err(EXIT_SOFTWARE, "realloc %zu bytes", n);
	return p;
}

void *
xaligned(size_t n)
{
	void *p;
	n = (n + 63) & ~(size_t)63;
	if ((errno = posix_memalign(&p, 64, n ? n : 64)) != 0)
		err(EXIT_SOFTWARE, "allocate %zu bytes", n);
	memset(p, 0, n);
	return p;
}

void *
xgrow(void *p, size_t *cap, size_t n)
{
	if (*cap < n) {
		free(p);
		*cap = n;
		p = xaligned(n);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

long
util_parse_int(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0')
		errx(EXIT_USAGE, "%s: %s: not an integer", opt, s);
	if (errno == ERANGE || v < lo || v > hi)
		errx(EXIT_USAGE, "%s: %s: must be between %ld and %ld", opt, s,
		    lo, hi);
	return v;
}

double
util_parse_float(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || isnan(v))
		errx(EXIT_USAGE, "%s: %s: not a number", opt, s);
	if (errno == ERANGE || v < lo || v > hi)
		errx(EXIT_USAGE, "%s: %s: must be between %g and %g", opt, s,
		    lo, hi);
	return v;
}

/* Temporary outputs not yet committed; unlinked at exit. */
#define MAXTMP 16
static struct tmpout {
	FILE *fp;
	char *tmp, *path;
	int isdir;
} tmps[MAXTMP];
static int tmp_hooked;

static void
rm_rf(const char *path)
{
	DIR *d;
	struct dirent *e;
	char buf[PATH_MAX];

	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
			rm_rf(buf);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static void
tmp_cleanup(void)
{
	for (int i = 0; i < MAXTMP; i++) {
		if (tmps[i].tmp == NULL)
			continue;
		if (tmps[i].isdir)
			rm_rf(tmps[i].tmp);
		else
			unlink(tmps[i].tmp);
		tmps[i].tmp = NULL;
	}
}

static struct tmpout *
tmp_slot(void)
{
	if (!tmp_hooked) {
		atexit(tmp_cleanup);
		tmp_hooked = 1;
	}
	for (int i = 0; i < MAXTMP; i++)
		if (tmps[i].tmp == NULL)
			return &tmps[i];
	errx(EXIT_SOFTWARE, "too many temporary outputs");
}

/* "dir/name" -> "dir/.name" + suffix */
static char *
tmp_name(const char *path, const char *suffix)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path + 1) : 0;
	size_t n = strlen(path) + strlen(suffix) + 2;
	char *s = xmalloc(n);
	snprintf(s, n, "%.*s.%s%s", (int)dl, path, path + dl, suffix);
	return s;
}

FILE *
util_tmpout(const char *path)
{
	struct tmpout *t = tmp_slot();
	int fd;

	t->tmp = tmp_name(path, ".XXXXXX");
	if ((fd = mkstemp(t->tmp)) == -1) {
		free(t->tmp);
		t->tmp = NULL;
		err(EXIT_CANTCREAT, "%s", path);
	}
	fchmod(fd, 0644 & ~util_umask());
	if ((t->fp = fdopen(fd, "w")) == NULL)
		err(EXIT_CANTCREAT, "%s", path);
	t->path = xstrdup(path);
	t->isdir = 0;
	return t->fp;
}

void
util_commit(FILE *fp)
{
	struct tmpout *t = NULL;

	for (int i = 0; i < MAXTMP; i++)
		if (tmps[i].tmp != NULL && tmps[i].fp == fp)
			t = &tmps[i];
	if (t == NULL)
		errx(EXIT_SOFTWARE, "util_commit: not a temporary output");
	if (fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0)
		err(EXIT_IOERR, "%s", t->path);
	if (fclose(fp) != 0)
		err(EXIT_IOERR, "%s", t->path);
	t->fp = NULL;
	if (rename(t->tmp, t->path) != 0)
		err(EXIT_CANTCREAT, "%s", t->path);
	free(t->tmp);
	free(t->path);
	t->tmp = t->path = NULL;
}

char *
util_tmpdir(const char *path)
{
	struct tmpout *t = tmp_slot();
	size_t pl = strlen(path), n;
	char *s;

	while (pl > 1 && path[pl - 1] == '/')	/* "out/" -> "out" */
		pl--;
	n = pl + sizeof ".tmp.XXXXXX";
	s = xmalloc(n);
	memcpy(s, path, pl);
	memcpy(s + pl, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
	if (mkdtemp(s) == NULL)
		err(EXIT_CANTCREAT, "%s", path);
	chmod(s, 0755 & ~util_umask());
	t->tmp = s;
	t->path = xstrdup(path);
	t->fp = NULL;
	t->isdir = 1;
	return s;
}

void
util_commit_dir(const char *tmp, const char *path)
{
	struct tmpout *t = NULL;
	char *old = NULL;
	struct stat st;
	int fd;

	for (int i = 0; i < MAXTMP; i++)
		if (tmps[i].tmp != NULL && tmps[i].isdir &&
		    strcmp(tmps[i].tmp, tmp) == 0)
			t = &tmps[i];
	if (t == NULL)
		errx(EXIT_SOFTWARE, "util_commit_dir: not a temporary directory");
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(fd);
		close(fd);
	}
#ifdef RENAME_EXCHANGE
	/* swap the two in one step, so that a crash (kill -9) at any moment
	 * leaves PATH whole, old or new; then remove the old one */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		rm_rf(tmp);
		goto done;
	}
#endif
	if (stat(path, &st) == 0) {
		/* no RENAME_EXCHANGE here: move the old directory aside, put
		 * the new one in place, then remove the old one */
		old = tmp_name(path, ".old");
		rm_rf(old);
		if (rename(path, old) != 0)
			err(EXIT_CANTCREAT, "%s", path);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		if (old != NULL)
			rename(old, path);
		errno = e;
		err(EXIT_CANTCREAT, "%s", path);
	}
	if (old != NULL) {
		rm_rf(old);
		free(old);
	}
#ifdef RENAME_EXCHANGE
done:
#endif
	free(t->tmp);
	free(t->path);
	t->tmp = t->path = NULL;
}

mode_t
util_umask(void)
{
	mode_t m = umask(0);
	umask(m);
	return m;
}

void
util_fshut(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EXIT_IOERR, "stdout");
	if (fclose(stdout) != 0)
		err(EXIT_IOERR, "stdout");
}

void
util_version(const char *tool, void (*more)(FILE *))
{
	printf("%s (embtune) %s\n", tool, EMBTUNE_VERSION);
	if (more)
		more(stdout);
	util_fshut();
	exit(0);
}

void
util_no_tty_stdout(void)
{
	if (isatty(STDOUT_FILENO))
		errx(EXIT_USAGE, "stdout is a terminal; redirect it or pipe it "
		    "into show(1)");
}

char *
util_slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? 2 * cap : 65536;
			buf = xrealloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;
		free(buf);
		fclose(fp);
		errno = e;
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

uint64_t
util_fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t
util_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double
util_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
util_progress_start(struct progress *p, const char *what, size_t total)
{
	p->what = what;
	p->total = total;
	p->t0 = p->tlast = util_now();
	p->on = util_progress_force || isatty(STDERR_FILENO);
}

static void
hms(char *buf, size_t n, double s)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void
progress_line(struct progress *p, size_t done, double now, int final)
{
	double el = now - p->t0, rate = el > 0 ? done / el : 0;
	char eta[32], tot[64] = "";

	if (p->total && !final) {
		snprintf(tot, sizeof tot, "/%zu (%.0f%%)", p->total,
		    100.0 * done / p->total);
		hms(eta, sizeof eta, rate > 0 ? (p->total - done) / rate : 0);
	} else if (final && p->total) {
		snprintf(tot, sizeof tot, "/%zu", p->total);
		hms(eta, sizeof eta, el);
	} else
		hms(eta, sizeof eta, el);
	fprintf(stderr, "\r%s: %s %zu%s %.1f/s %s %s\033[K%s",
	    program_invocation_short_name, p->what, done, tot, rate,
	    final || !p->total ? "elapsed" : "ETA", eta, final ? "\n" : "");
}

void
util_progress(struct progress *p, size_t done)
{
	double now;

	if (!p->on)
		return;
	now = util_now();
	if (now - p->tlast < 0.25)
		return;
	p->tlast = now;
	progress_line(p, done, now, 0);
}

void
util_progress_end(struct progress *p, size_t done)
{
	if (p->on)
		progress_line(p, done, util_now(), 1);
}
