/* Running safecopy-bench from a test (run_bench.h). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_bench.h"

static void read_all(int fd, char *buf, size_t n)
{
	ssize_t got = pread(fd, buf, n - 1, 0);
	cr_assert_geq(got, 0);
	buf[got] = '\0';
	close(fd);
}

void run_bench(struct run *r, ...)
{
	char *argv[16] = {(char *)BENCH_PATH};
	int argc = 1;
	va_list ap;
	va_start(ap, r);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		cr_assert_lt(argc, 15);
		argv[argc++] = a;
	}
	va_end(ap);
	int out = memfd_create("stdout", 0), err = memfd_create("stderr", 0);
	cr_assert(out >= 0 && err >= 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	read_all(out, r->out, sizeof r->out);
	read_all(err, r->err, sizeof r->err);
}

void json_tmp(char path[32])
{
	snprintf(path, 32, "/tmp/bench-json-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
}

void json_take(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	size_t got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	unlink(path);
	cr_assert_gt(got, 0, "%s is empty", path);
}
