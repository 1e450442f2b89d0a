/* Running safecopy-bench (BENCH_PATH) from a test: its exit status, stdout and stderr. */
#ifndef TESTS_BENCH_RUN_BENCH_H
#define TESTS_BENCH_RUN_BENCH_H

struct run {
	int status; /* exit status, or 128 + signal */
	char out[32768], err[8192];
};

/* Runs the harness with the given arguments (NULL-terminated), stdout and stderr kept apart. */
void run_bench(struct run *r, ...);

#endif
