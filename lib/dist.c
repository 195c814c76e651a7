/* dist: data-parallel processes over MPI, or one process (see dist.h). */
#include "dist.h"
#include "util.h"

#include <err.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef EMBTUNE_MPI
#include <mpi.h>
#endif

void
dist_share(size_t b, int r, int P, size_t *lo, size_t *hi)
{
	size_t q = b / (size_t)P, m = b % (size_t)P, R = (size_t)r;

	*lo = R * q + (R < m ? R : m);
	*hi = *lo + q + (R < m);
}

#ifndef EMBTUNE_MPI

/* the process count a launcher announced, or 1 */
static long
launched_as(const char **var)
{
	static const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE" };
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *s = getenv(vars[i]);
		char *e;
		long n;
		if (s == NULL)
			continue;
		n = strtol(s, &e, 10);
		if (*e == '\0' && e != s && n > 1) {
			*var = vars[i];
			return n;
		}
	}
	return 1;
}

void
dist_init(int *argc, char ***argv, const char *tool)
{
	const char *var;
	long n;

	(void)argc;
	(void)argv;
	if ((n = launched_as(&var)) > 1)
		errx(EXIT_USAGE, "started as %ld processes (%s=%ld), but %s "
		    "was built without MPI: rebuild with make MPI=1 (or run "
		    "one process)", n, var, n, tool);
}

void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
int dist_mpi(void) { return 0; }
void dist_allreduce_sum(float *x, size_t n) { (void)x, (void)n; }
int dist_allreduce_max(int v) { return v; }
int dist_same(uint64_t v) { (void)v; return 1; }
void dist_bcast(void *p, size_t n) { (void)p, (void)n; }

void
dist_allgatherv(float *recv, const float *send, const size_t *n)
{
	if (recv != send)
		memmove(recv, send, n[0] * sizeof *recv);
}

#else

static int rank, size = 1;
static int *cnt, *disp;		/* (size) for MPI_Allgatherv */

void
dist_init(int *argc, char ***argv, const char *tool)
{
	int provided;

	(void)tool;
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
	    MPI_SUCCESS)
		errx(EXIT_SOFTWARE, "MPI_Init failed");
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	cnt = xmalloc((size_t)size * 2 * sizeof *cnt);
	disp = cnt + size;
}

void
dist_finalize(void)
{
	MPI_Finalize();
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }
int dist_mpi(void) { return 1; }

/* MPI counts are int: big buffers go in chunks */
#define CHUNK ((size_t)1 << 30)

void
dist_allreduce_sum(float *x, size_t n)
{
	for (size_t i = 0; i < n; i += CHUNK / sizeof *x) {
		size_t m = n - i < CHUNK / sizeof *x ? n - i : CHUNK / sizeof *x;
		if (MPI_Allreduce(MPI_IN_PLACE, x + i, (int)m, MPI_FLOAT,
		    MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
			errx(EXIT_SOFTWARE, "MPI_Allreduce failed");
	}
}

int
dist_allreduce_max(int v)
{
	int r;
	if (MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) !=
	    MPI_SUCCESS)
		errx(EXIT_SOFTWARE, "MPI_Allreduce failed");
	return r;
}

int
dist_same(uint64_t v)
{
	uint64_t lo, hi;
	if (MPI_Allreduce(&v, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD) !=
	    MPI_SUCCESS || MPI_Allreduce(&v, &hi, 1, MPI_UINT64_T, MPI_MAX,
	    MPI_COMM_WORLD) != MPI_SUCCESS)
		errx(EXIT_SOFTWARE, "MPI_Allreduce failed");
	return lo == hi;
}

void
dist_bcast(void *p, size_t n)
{
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t m = n - i < CHUNK ? n - i : CHUNK;
		if (MPI_Bcast((char *)p + i, (int)m, MPI_BYTE, 0,
		    MPI_COMM_WORLD) != MPI_SUCCESS)
			errx(EXIT_SOFTWARE, "MPI_Bcast failed");
	}
}

void
dist_allgatherv(float *recv, const float *send, const size_t *n)
{
	size_t off = 0;

	for (int q = 0; q < size; q++) {
		if (n[q] > INT_MAX || off > INT_MAX)
			errx(EXIT_SOFTWARE, "MPI_Allgatherv: %zu floats: too "
			    "many for one call", off + n[q]);
		cnt[q] = (int)n[q];
		disp[q] = (int)off;
		off += n[q];
	}
	if (MPI_Allgatherv(send, cnt[rank], MPI_FLOAT, recv, cnt, disp,
	    MPI_FLOAT, MPI_COMM_WORLD) != MPI_SUCCESS)
		errx(EXIT_SOFTWARE, "MPI_Allgatherv failed");
}

#endif
