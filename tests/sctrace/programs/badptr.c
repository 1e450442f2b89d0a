/*
 * Bad argument pointers, for "a traced program behaves exactly as untraced": each call gets a pointer
 * the kernel cannot use (unmapped, PROT_NONE, non-canonical, a string running into a PROT_NONE page)
 * and the program prints what it got back. Modes: "plain"; "handler" (the program first installs its
 * own SIGSEGV and SIGBUS handlers, which must never run: the kernel answers EFAULT, and the tracer's own
 * reads must not fault into them); "crash" (after the calls, a real NULL dereference: the process must
 * die of SIGSEGV as untraced).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void on_fault(int sig)
{
	static const char msg[] = "the program's own fault handler ran\n";
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(98);
	_exit(sig == SIGSEGV ? 97 : 96);
}

static void report(const char *what, long r)
{
	printf("%-12s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "-");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	if (strcmp(mode, "handler") == 0) {
		struct sigaction sa = {.sa_handler = on_fault};
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
	char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(m + 4096, 4096, PROT_NONE);
	char *none = m + 4096;     /* PROT_NONE */
	char *edge = m + 4096 - 4; /* "path" with no NUL before the PROT_NONE page */
	void *noncanon = (void *)0xdead000000000000UL;
	memcpy(edge, "path", 4);
	setvbuf(stdout, NULL, _IONBF, 0);
	report("open-edge", open(edge, O_RDONLY));
	report("open-none", open(none, O_RDONLY));
	report("open-nc", syscall(SYS_openat, AT_FDCWD, noncanon, O_RDONLY));
	report("write-none", write(1, none, 8));
	report("write-nc", write(1, noncanon, 8));
	report("read-none", read(0, none, 8));
	struct stat st;
	report("stat-edge", stat(edge, &st));
	report("stat-out", stat("/", (struct stat *)none));
	report("writev-iov", writev(1, (struct iovec *)none, 2));
	struct iovec iov = {noncanon, 4};
	report("writev-base", writev(1, &iov, 1));
	report("uname", uname((struct utsname *)noncanon));
	report("nanosleep", nanosleep((struct timespec *)none, NULL));
	report("execve", execve(edge, (char **)none, (char **)none));
	report("execve-argv", execve("/bin/true", (char **)none, NULL));
	report("connect", connect(0, (struct sockaddr *)none, 16));
	report("sigaction", syscall(SYS_rt_sigaction, SIGUSR1, none, NULL, 8));
	report("sigmask", syscall(SYS_rt_sigprocmask, SIG_BLOCK, noncanon, NULL, 8));
	report("getcwd", syscall(SYS_getcwd, none, 100));
	report("readlink", readlink("/proc/self/exe", none, 100));
	if (strcmp(mode, "crash") == 0)
		*(volatile int *)noncanon = 1;
	return 3;
}
