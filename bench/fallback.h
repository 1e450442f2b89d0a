/*
 * The fallback part of a run: after the table, the copy and memset groups again at the vector level
 * below the table's (avx512 -> avx2, avx2 -> sse2; none at sse2), against glibc capped alike, as on a
 * CPU without the higher instructions. Its groups are named copy@LEVEL/<size>, memset@LEVEL/<size>.
 */
#ifndef BENCH_FALLBACK_H
#define BENCH_FALLBACK_H

#include <stdbool.h>

#include "session.h"

/*
 * Decides the fallback level from the level the routines run at (s->fallback.level), or says why
 * there is none (s->fallback.none_why): cpu_option, --cpu chose the run's one level.
 */
void fallback_plan(struct bench_session *s, bool cpu_option);

/* Runs the copy and memset suites as the fallback part in list mode (--list, or main's count of the
 * rows --filter selects): the rows are named, nothing is measured. */
void fallback_list(struct bench_session *s);

/*
 * Measures the fallback part if the run has one and --filter selects a row of it: runs the bench
 * again as a child (glibc chooses its variants once, at startup), which prints its table and hands
 * its rows and notes back; adds them to s. A child that fails counts as a failed check.
 */
void fallback_run(struct bench_session *s);

/* The child's side (option --fallback-part FD): measures and prints the part, writes it to fd. Returns
 * the exit status. */
int fallback_child(struct bench_session *s, int fd);

#endif
