/* Helpers of the sctrace suite (see util.h). */
#include "sctrace/util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void scratch_make(char dir[64])
{
	strcpy(dir, "/var/tmp/sctrace-test-");
	memset(dir + strlen(dir), 'X', 6); /* the template mkdtemp() fills in */
	dir[22 + 6] = '\0';
	cr_assert(mkdtemp(dir), "mkdtemp");
}

void scratch_remove(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot read %s", path);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

struct run run_in(const char *dir, char *const argv[], char *const extra_env[])
{
	char out[128], err[128];
	snprintf(out, sizeof out, "%s/.stdout", dir);
	snprintf(err, sizeof err, "%s/.stderr", dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t n = 0, extra = 0;
	while (environ[n])
		n++;
	while (extra_env && extra_env[extra])
		extra++;
	char **env = calloc(n + extra + 1, sizeof *env);
	cr_assert(env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "SCTRACE_", 8))
			env[k++] = environ[i];
	for (size_t i = 0; i < extra; i++)
		env[k++] = extra_env[i];
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	cr_assert_eq(rc, 0, "spawn %s: %s", argv[0], strerror(rc));
	struct run r;
	cr_assert_eq(waitpid(pid, &r.status, 0), pid);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	r.out = slurp(out, &r.out_len);
	r.err = slurp(err, &r.err_len);
	return r;
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

const char *find_call(const char *trace, const char *call, const char *result)
{
	size_t n = strlen(call);
	for (const char *p = trace; (p = strstr(p, call)); p += n) {
		const char *q = p + n;
		while (*q == ' ')
			q++;
		if (q > p + n && strncmp(q, result, strlen(result)) == 0 &&
		    (q[strlen(result)] == '\n' || q[strlen(result)] == '\0' || q[strlen(result)] == ' '))
			return p;
	}
	return NULL;
}

size_t count_lines_with(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *hit = strstr(line, needle);
		if (hit && hit < line + len)
			n++;
		if (!end)
			break;
		line = end + 1;
	}
	return n;
}
