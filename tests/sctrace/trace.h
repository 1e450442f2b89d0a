/*
 * Comparing two traces of the same run of a program, one by strace and one by sctrace, line by line
 * after masking what differs between any two runs: addresses, process ids, times, column padding.
 */
#ifndef SCTRACE_TEST_TRACE_H
#define SCTRACE_TEST_TRACE_H

#include <stdbool.h>
#include <stddef.h>

struct trace_line {
	int task; /* tasks numbered in order of first appearance, from 0 */
	char *text;
};

struct trace {
	struct trace_line *v;
	size_t n;
	size_t dropped; /* lines left out: the dynamic loader's, in a strace trace with markers */
};

/*
 * Reads a trace written with `-f -o FILE` (or without -f: no prefixes). Per task, a call split into
 * "X <unfinished ...>" and "<... name resumed>Y" becomes the one line XY (where the split falls is a
 * matter of scheduling). With markers (a strace run of programs that preload the marker library),
 * the lines of each image between its execve and the marker are left out: they are the dynamic
 * loader's, made before any preloaded library runs, and sctrace cannot see them.
 */
struct trace trace_read(const char *path, bool markers);
void trace_free(struct trace *t);

/* The masked form of a line (exposed for the suite's own test of it). pids: NULL-terminated. */
char *trace_normalize(const char *line, const long *pids, size_t npids);

struct trace_cmp {
	size_t ref_lines;   /* lines of the reference (strace) trace */
	size_t matched;     /* of them, found in the same order in the other trace */
	char missing[4096]; /* the first reference lines that were not found, for the log */
};

/* Per task, the longest common subsequence of the two traces' lines. */
void trace_compare(const struct trace *ref, const struct trace *got, struct trace_cmp *out);

#endif
