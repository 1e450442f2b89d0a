/*
 * A threaded subject for the differential suite: two threads made by pthread_create, one after the
 * other, each writing lines and asking who its parent is. Every wait is one the thread has already
 * passed when the main thread gets there (a pipe says the worker is done; a pause lets it finish
 * exiting), so the trace does not depend on scheduling. Usage: threads (writes to stdout).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int done[2];

static void *worker(void *arg)
{
	const char *name = arg;
	for (int i = 0; i < 3; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "%s line %d\n", name, i);
		if (write(1, line, (size_t)n) != n)
			return (void *)1;
		syscall(SYS_getppid);
	}
	return write(done[1], "", 1) == 1 ? NULL : (void *)1;
}

static int run(const char *name)
{
	pthread_t t;
	char byte;
	void *ret;
	struct timespec settle = {0, 100 * 1000 * 1000};
	if (pthread_create(&t, NULL, worker, (void *)name) || read(done[0], &byte, 1) != 1)
		return 1;
	nanosleep(&settle, NULL);
	return pthread_join(t, &ret) || ret;
}

int main(void)
{
	if (pipe(done) || run("first") || run("second"))
		return 1;
	return write(1, "main done\n", 10) != 10;
}
