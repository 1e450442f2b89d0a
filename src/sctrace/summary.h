/* The -c/-C table, printed by the command from the counters every traced process added to. */
#ifndef SCTRACE_SUMMARY_H
#define SCTRACE_SUMMARY_H

#include <stdio.h>

#include "sctrace/board.h"

/*
 * Writes strace's summary table of counts[] (their ticks in ns) to out: % time, seconds, usecs/call, calls,
 * errors, syscall, one row per call made, most time first, then the totals. Times are wall-clock latencies
 * measured around each call (strace -w); strace's default is system time.
 */
void sct_print_summary(FILE *out, const struct sct_count counts[SCT_NR_COUNT]);

#endif
