/* Helpers of the sctrace suite: scratch directories, running commands, reading their output. */
#ifndef SCTRACE_TEST_UTIL_H
#define SCTRACE_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>

/* A fresh empty directory under /var/tmp (removed by scratch_remove). Writes its path to dir. */
void scratch_make(char dir[64]);
void scratch_remove(const char *dir);

/* The whole file (NUL-terminated; *len its size without the NUL); asserts it can be read. */
char *slurp(const char *path, size_t *len);

struct run {
	int status; /* as from waitpid */
	char *out, *err;
	size_t out_len, err_len;
};

/*
 * Runs argv[0] (a path) with stdin from /dev/null, stdout and stderr to files in dir, and the
 * environment of the suite without LD_PRELOAD or SCTRACE_* variables (the sanitizers' options stay:
 * the sctrace command is built with them in a san= build), plus extra_env (NULL-terminated, may be
 * NULL). Waits for it and returns its status and outputs (free them with run_free).
 */
struct run run_in(const char *dir, char *const argv[], char *const extra_env[]);
void run_free(struct run *r);

/*
 * The first line of a trace that holds the call text `call` followed by the result `result` ("= 3"),
 * whatever strace-style padding lies between them; NULL if none.
 */
const char *find_call(const char *trace, const char *call, const char *result);

/* Counts the lines of text that contain needle. */
size_t count_lines_with(const char *text, const char *needle);

#endif
