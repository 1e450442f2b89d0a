/*
 * Closes every descriptor above stderr (as daemons and process launchers do), then runs /bin/echo in
 * a child. The tracer's own descriptors must survive: the child's lines must still be traced.
 * Usage: closeall
 */
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	syscall(SYS_close_range, 3, ~0U, 0);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/echo", "/bin/echo", "still traced", (char *)NULL);
		_exit(127);
	}
	int status;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
