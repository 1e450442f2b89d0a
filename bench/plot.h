/* The throughput plot of the copy rows, rendered by gnuplot. */
#ifndef BENCH_PLOT_H
#define BENCH_PLOT_H

#include "session.h"

/*
 * Writes dir/copy.dat and dir/copy.gp (GB/s against size, one line per copy method, log-log) and
 * runs gnuplot on them to make dir/copy.svg and dir/copy.png (pngcairo if gnuplot has it, else png).
 * Prints one line saying where the plot went, or why there is none (no copy rows, gnuplot missing or
 * failing). Never fails the run.
 */
void plot_copy(const struct bench_session *s, const char *dir);

#endif
