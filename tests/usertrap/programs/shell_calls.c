/*
 * A program that runs commands through /bin/sh the ways C programs do: system() and popen() in both
 * directions. The preload suite runs it with and without libusertrap_preload.so and compares what it
 * prints; every shell it starts is preloaded too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static int fail(const char *what)
{
	printf("%s failed\n", what);
	return 1;
}

int main(void)
{
	fflush(stdout);
	int st = system("/bin/echo system: a child; echo system: $((6 * 7)); exit 3");
	printf("system status: exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));

	FILE *p = popen("echo popen read; /bin/echo and a child of the shell", "r");
	if (!p)
		return fail("popen r");
	char line[128];
	while (fgets(line, sizeof line, p))
		printf("read: %s", line);
	st = pclose(p);
	printf("pclose status: exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));

	fflush(stdout);
	p = popen("while read -r l; do echo \"popen write: $l\"; done", "w");
	if (!p)
		return fail("popen w");
	fputs("one\ntwo\n", p);
	st = pclose(p);
	printf("pclose status: exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
	return 0;
}
