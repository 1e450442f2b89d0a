/*
 * Processes for the differential suite: fork then execve, vfork then execve, posix_spawn, and a child
 * that exits with a status of its own; the parent waits for each. Usage: forkexec (writes to stdout).
 */
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int reap(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	char *echo[] = {"/bin/echo", "forked", "child", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execve(echo[0], echo, environ);
		_exit(127);
	}
	if (reap(pid) != 0)
		return 1;
	pid = vfork();
	if (pid == 0) {
		char *argv[] = {"/bin/echo", "vforked", NULL};
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (reap(pid) != 0)
		return 2;
	char *tru[] = {"/bin/true", NULL};
	if (posix_spawn(&pid, tru[0], NULL, NULL, tru, environ) != 0 || reap(pid) != 0)
		return 3;
	pid = fork();
	if (pid == 0)
		_exit(7);
	return reap(pid) == 7 ? 0 : 4;
}
