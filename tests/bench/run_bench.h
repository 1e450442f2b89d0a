/* Running safecopy-bench (BENCH_PATH) from a test: its exit status, stdout and stderr. */
#ifndef TESTS_BENCH_RUN_BENCH_H
#define TESTS_BENCH_RUN_BENCH_H

#include <stddef.h>

struct run {
	int status; /* exit status, or 128 + signal */
	char out[32768], err[8192];
};

/* Runs the harness with the given arguments (NULL-terminated), stdout and stderr kept apart. */
void run_bench(struct run *r, ...);

/* A new empty temporary file for --json FILE: its name into path ("/tmp/bench-json-XXXXXX"). */
void json_tmp(char path[32]);

/* The file at path into buf (NUL-terminated, not empty), then removes the file. */
void json_take(const char *path, char *buf, size_t n);

#endif
