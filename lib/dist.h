/* dist: the processes of one data-parallel run (train under mpirun).
 *
 * Built with Open MPI (make MPI=1 compiles this file with EMBTUNE_MPI
 * through mpicc, for train only), each call is the MPI collective of the
 * same name over MPI_COMM_WORLD.  In the default build there is one process
 * and every call is a no-op (a copy where it has a destination), so the
 * code that calls them is the same in both.
 *
 * Every rank must make the same calls in the same order (collectives).  A
 * rank that exits with an error while the others wait in a collective
 * makes mpirun abort the job. */
#ifndef DIST_H
#define DIST_H

#include <stddef.h>
#include <stdint.h>

/* Start (MPI_Init).  The default build, started by mpirun as more than one
 * process (OMPI_COMM_WORLD_SIZE or PMI_SIZE > 1), exits 64 at once, saying
 * to rebuild with MPI=1: never N independent runs writing one output. */
void dist_init(int *argc, char ***argv, const char *tool);
/* MPI_Finalize; at the normal end of a run only, on every rank. */
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
/* 1 when built with MPI ("mpi"), for --version and tests. */
int dist_mpi(void);

/* x (n) summed over the ranks, on every rank (MPI_Allreduce) */
void dist_allreduce_sum(float *x, size_t n);
/* the largest v of any rank (a flag: any rank asked to stop) */
int dist_allreduce_max(int v);
/* 1 when v is the same on every rank (a hash of the parameters) */
int dist_same(uint64_t v);
/* recv = the n[q] floats of send of every rank q, rank after rank
 * (MPI_Allgatherv); n (size) counts, the same on every rank */
void dist_allgatherv(float *recv, const float *send, const size_t *n);
/* n bytes at p from rank 0 to every rank (MPI_Bcast, any size) */
void dist_bcast(void *p, size_t n);

/* The rows [*lo, *hi) of a batch of b rows that rank r of P takes:
 * contiguous shares, the first b % P ranks one row more. */
void dist_share(size_t b, int r, int P, size_t *lo, size_t *hi);

#endif
