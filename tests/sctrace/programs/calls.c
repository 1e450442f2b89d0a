/*
 * The differential suite's main subject: about sixty kinds of system call, each with good arguments
 * and most with bad pointers (NULL, an unmapped page, a string running into an unreadable page), in
 * a fixed order so that strace's trace and sctrace's can be compared line by line.
 * Usage: calls DIR   (DIR: an empty scratch directory; the program works inside it)
 * Exits 0 when every call returned what it must; prints the first surprise and exits 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static int failures;

/* A call's result against what it must be: -1 with errno e, or (e == 0) anything but -1. */
#define EXPECT(call, e)                                                                                 \
	do {                                                                                            \
		errno = 0;                                                                              \
		long r_ = (long)(call);                                                                 \
		if ((e) ? (r_ != -1 || errno != (e)) : r_ == -1) {                                      \
			fprintf(stderr, "calls: %s: %ld errno %d, wanted errno %d\n", #call, r_, errno, \
			        (e));                                                                   \
			failures++;                                                                     \
		}                                                                                       \
	} while (0)

static void *bad;      /* an unmapped page */
static char *edge;     /* "abc" ending right before a PROT_NONE page: no NUL in reach */
static char *edge_nul; /* "xyz\0" ending right before that page: readable whole */

static void setup_pointers(void)
{
	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + 2 * 4096, 4096);
	bad = m + 2 * 4096;
	mprotect(m + 4096, 4096, PROT_NONE);
	edge = m + 4096 - 3;
	memcpy(edge, "abc", 3);
	edge_nul = m + 4096 - 8;
	memcpy(edge_nul, "xyz", 4);
}

static void files(void)
{
	char buf[64];
	int fd;
	EXPECT(fd = open("f1", O_WRONLY | O_CREAT | O_TRUNC, 0640), 0);
	EXPECT(write(fd, "hello, world\n", 13), 0);
	EXPECT(write(fd, "tab\there \"quoted\" back\\slash \001\002\0377 end", 37), 0);
	EXPECT(write(fd, "0123456789abcdefghijklmnopqrstuvwxyz-longer-than-32", 51), 0);
	EXPECT(write(fd, bad, 10), EFAULT);
	EXPECT(syscall(SYS_write, fd, NULL, 10), EFAULT);
	EXPECT(pwrite(fd, "at 100", 6, 100), 0);
	EXPECT(fsync(fd), 0);
	EXPECT(fdatasync(fd), 0);
	EXPECT(ftruncate(fd, 200), 0);
	EXPECT(close(fd), 0);
	EXPECT(close(fd), EBADF);
	EXPECT(fd = openat(AT_FDCWD, "f1", O_RDONLY | O_CLOEXEC), 0);
	EXPECT(read(fd, buf, 5), 0);
	EXPECT(read(fd, bad, 5), EFAULT);
	EXPECT(pread(fd, buf, 6, 100), 0);
	EXPECT(lseek(fd, 0, SEEK_SET), 0);
	EXPECT(lseek(fd, 0, SEEK_END), 0);
	struct iovec iov[2] = {{buf, 4}, {buf + 4, 8}};
	EXPECT(lseek(fd, 0, SEEK_SET), 0);
	EXPECT(readv(fd, iov, 2), 0);
	EXPECT(readv(fd, bad, 2), EFAULT);
	EXPECT(close(fd), 0);
	EXPECT(fd = open("f2", O_RDWR | O_CREAT | O_EXCL | O_APPEND, 0600), 0);
	struct iovec out[3] = {{"one ", 4}, {"two\n", 4}, {bad, 3}};
	EXPECT(writev(fd, out, 2), 0);
	EXPECT(writev(fd, out, 3), 0); /* the kernel writes the good part: 8 */
	EXPECT(flock(fd, LOCK_EX | LOCK_NB), 0);
	EXPECT(flock(fd, LOCK_UN), 0);
	EXPECT(fcntl(fd, F_GETFL), 0);
	EXPECT(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	EXPECT(fcntl(fd, F_GETFD), 0);
	EXPECT(fcntl(fd, F_DUPFD_CLOEXEC, 10), 0);
	EXPECT(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND), 0);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	EXPECT(fcntl(fd, F_SETLK, &fl), 0);
	EXPECT(fcntl(fd, F_GETLK, &fl), 0);
	EXPECT(fcntl(fd, F_SETLK, bad), EFAULT);
	EXPECT(dup(fd), 0);
	EXPECT(dup2(fd, 20), 0);
	EXPECT(dup3(fd, 21, O_CLOEXEC), 0);
	EXPECT(close(20), 0);
	EXPECT(close(21), 0);
	EXPECT(close(10), 0);
	EXPECT(close(fd), 0);
	EXPECT(open("missing", O_RDONLY), ENOENT);
	EXPECT(open(bad, O_RDONLY), EFAULT);
	EXPECT(syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY), EFAULT);
	EXPECT(open(edge, O_RDONLY), EFAULT);
	EXPECT(open(edge_nul, O_RDONLY), ENOENT);
	EXPECT(creat("f3", 0644), 0);
	EXPECT(close(3), 0);
}

static void metadata(void)
{
	struct stat st;
	char buf[256];
	EXPECT(stat("f1", &st), 0);
	EXPECT(stat("f1", bad), EFAULT);
	EXPECT(stat("missing", &st), ENOENT);
	EXPECT(lstat("f1", &st), 0);
	EXPECT(syscall(SYS_newfstatat, AT_FDCWD, "f1", &st, AT_SYMLINK_NOFOLLOW), 0);
	EXPECT(syscall(SYS_fstat, 0x7fff, &st), EBADF);
	EXPECT(syscall(SYS_statx, AT_FDCWD, "f1", 0, 0x7ff, buf), 0);
	EXPECT(access("f1", R_OK | W_OK), 0);
	EXPECT(access("missing", F_OK), ENOENT);
	EXPECT(faccessat(AT_FDCWD, "f1", X_OK, 0), EACCES);
	EXPECT(mkdir("d1", 0755), 0);
	EXPECT(mkdir("d1", 0755), EEXIST);
	EXPECT(mkdirat(AT_FDCWD, "d2", 0700), 0);
	EXPECT(rmdir("d2"), 0);
	EXPECT(chmod("f1", 0600), 0);
	EXPECT(chmod(bad, 0600), EFAULT);
	EXPECT(chown("f1", getuid(), getgid()), 0);
	EXPECT(symlink("f1", "l1"), 0);
	EXPECT(readlink("l1", buf, sizeof buf), 0);
	EXPECT(readlink("l1", bad, sizeof buf), EFAULT);
	EXPECT(readlink("f1", buf, sizeof buf), EINVAL);
	EXPECT(link("f1", "h1"), 0);
	EXPECT(rename("h1", "h2"), 0);
	EXPECT(renameat(AT_FDCWD, "h2", AT_FDCWD, "h3"), 0);
	EXPECT(unlink("h3"), 0);
	EXPECT(unlinkat(AT_FDCWD, "l1", 0), 0);
	EXPECT(unlinkat(AT_FDCWD, "d1", AT_REMOVEDIR), 0);
	EXPECT(truncate("f1", 50), 0);
	EXPECT(umask(022), 0);
	EXPECT(syscall(SYS_getcwd, buf, sizeof buf), 0);
	EXPECT(syscall(SYS_getcwd, buf, 1), ERANGE);
	int dfd;
	EXPECT(dfd = open(".", O_RDONLY | O_DIRECTORY), 0);
	EXPECT(syscall(SYS_getdents64, dfd, buf, sizeof buf), 0);
	EXPECT(lseek(dfd, 0, SEEK_SET), 0);
	EXPECT(syscall(SYS_getdents64, dfd, bad, sizeof buf), EFAULT);
	EXPECT(fchdir(dfd), 0);
	EXPECT(chdir("."), 0);
	EXPECT(close(dfd), 0);
}

static void memory(void)
{
	void *p;
	EXPECT(p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 0);
	EXPECT(mprotect(p, 4096, PROT_READ), 0);
	EXPECT(madvise(p, 8192, MADV_DONTNEED), 0);
	EXPECT(msync(p, 4096, MS_ASYNC), 0);
	EXPECT(mprotect(p, 8192, PROT_READ | PROT_WRITE), 0);
	EXPECT(p = mremap(p, 8192, 16384, MREMAP_MAYMOVE), 0);
	EXPECT(munmap(p, 16384), 0);
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_SHARED, 0x7fff, 0), EBADF);
	EXPECT(mprotect(bad, 4096, PROT_READ), ENOMEM);
}

static void signals(void)
{
	struct sigaction sa = {0}, old;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	EXPECT(sigaction(SIGUSR1, &sa, &old), 0);
	EXPECT(syscall(SYS_rt_sigaction, SIGUSR2, bad, NULL, 8), EFAULT);
	EXPECT(syscall(SYS_rt_sigaction, SIGUSR2, NULL, bad, 8), EFAULT);
	EXPECT(syscall(SYS_rt_sigaction, SIGKILL, &sa, NULL, 8), EINVAL);
	sigset_t set, oset;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	EXPECT(sigprocmask(SIG_BLOCK, &set, &oset), 0);
	EXPECT(sigprocmask(SIG_SETMASK, &oset, NULL), 0);
	EXPECT(syscall(SYS_rt_sigprocmask, SIG_BLOCK, bad, NULL, 8), EFAULT);
	EXPECT(kill(getpid(), 0), 0);
	EXPECT(kill(getpid(), SIGUSR1), 0);
	EXPECT(syscall(SYS_rt_sigpending, &set, 8), 0);
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0}, oss;
	EXPECT(sigaltstack(&ss, &oss), 0);
	EXPECT(sigaltstack(NULL, &oss), 0);
	EXPECT(sigaltstack(bad, NULL), EFAULT);
	EXPECT(alarm(0), 0);
}

static void descriptors(void)
{
	int p[2], sv[2];
	char buf[32];
	EXPECT(pipe(p), 0);
	EXPECT(pipe2(bad, O_CLOEXEC), EFAULT);
	EXPECT(write(p[1], "through the pipe", 16), 0);
	struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	EXPECT(poll(pf, 2, 100), 0);
	EXPECT(poll(bad, 1, 0), EFAULT);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = {1, 0};
	EXPECT(select(p[0] + 1, &rs, NULL, NULL, &tv), 0);
	EXPECT(read(p[0], buf, sizeof buf), 0);
	int ep;
	EXPECT(ep = epoll_create1(EPOLL_CLOEXEC), 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], bad), EFAULT);
	EXPECT(write(p[1], "x", 1), 0);
	struct epoll_event evs[4];
	EXPECT(epoll_wait(ep, evs, 4, 100), 0);
	EXPECT(close(ep), 0);
	int efd;
	EXPECT(efd = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK), 0);
	EXPECT(close(efd), 0);
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT(send(sv[0], "over the socket", 15, 0), 0);
	EXPECT(recv(sv[1], buf, sizeof buf, 0), 0);
	struct iovec iov = {(void *)"msg", 3};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	EXPECT(sendmsg(sv[0], &mh, 0), 0);
	struct iovec riov = {buf, sizeof buf};
	struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1};
	EXPECT(recvmsg(sv[1], &rmh, 0), 0);
	EXPECT(sendmsg(sv[0], bad, 0), EFAULT);
	EXPECT(shutdown(sv[0], SHUT_RDWR), 0);
	int one = 1;
	EXPECT(setsockopt(sv[1], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);
	socklen_t len = sizeof one;
	EXPECT(getsockopt(sv[1], SOL_SOCKET, SO_TYPE, &one, &len), 0);
	EXPECT(close(sv[0]), 0);
	EXPECT(close(sv[1]), 0);
	EXPECT(close(p[0]), 0);
	EXPECT(close(p[1]), 0);
}

static void network(void)
{
	int s;
	EXPECT(s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 0);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(0)};
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT(bind(s, (struct sockaddr *)&in, sizeof in), 0);
	EXPECT(bind(s, bad, sizeof in), EFAULT);
	EXPECT(connect(s, (struct sockaddr *)&in, sizeof in), 0);
	EXPECT(close(s), 0);
	EXPECT(s = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, "sock");
	EXPECT(bind(s, (struct sockaddr *)&un, sizeof un), 0);
	EXPECT(listen(s, 4), 0);
	struct sockaddr_un got;
	socklen_t len = sizeof got;
	EXPECT(getsockname(s, (struct sockaddr *)&got, &len), 0);
	EXPECT(getsockname(s, bad, &len), EFAULT);
	int c;
	EXPECT(c = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	strcpy(un.sun_path, "nowhere");
	EXPECT(connect(c, (struct sockaddr *)&un, sizeof un), ENOENT);
	EXPECT(close(c), 0);
	EXPECT(close(s), 0);
	EXPECT(unlink("sock"), 0);
	EXPECT(s = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP), 0);
	struct sockaddr_in6 in6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	EXPECT(connect(s, (struct sockaddr *)&in6, sizeof in6), ECONNREFUSED);
	EXPECT(close(s), 0);
}

static void processes(void)
{
	struct utsname u;
	struct rlimit rl;
	struct rusage ru;
	EXPECT(getpid(), 0);
	EXPECT(getppid(), 0);
	EXPECT(getuid(), 0);
	EXPECT(geteuid(), 0);
	EXPECT(getgid(), 0);
	EXPECT(getegid(), 0);
	EXPECT(syscall(SYS_gettid), 0);
	EXPECT(getpgrp(), 0);
	EXPECT(uname(&u), 0);
	EXPECT(uname(bad), EFAULT);
	EXPECT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	EXPECT(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl), 0);
	EXPECT(getrusage(RUSAGE_SELF, &ru), 0);
	EXPECT(getrusage(RUSAGE_SELF, bad), EFAULT);
	char name[16];
	EXPECT(prctl(PR_SET_NAME, "calls-prog"), 0);
	EXPECT(prctl(PR_GET_NAME, name), 0);
	EXPECT(prctl(PR_GET_DUMPABLE), 0);
	EXPECT(sched_yield(), 0);
	struct timespec ts = {0, 1000};
	EXPECT(nanosleep(&ts, NULL), 0);
	EXPECT(nanosleep(bad, NULL), EFAULT);
	EXPECT(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL), 0);
	EXPECT(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts), 0);
	EXPECT(syscall(SYS_clock_gettime, 0x7777, &ts), EINVAL);
	EXPECT(syscall(SYS_wait4, -1, NULL, WNOHANG, NULL), ECHILD);
	EXPECT(syscall(SYS_getgroups, 0, NULL), 0);
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]) != 0) {
		fprintf(stderr, "usage: calls DIR\n");
		return 2;
	}
	setup_pointers();
	files();
	metadata();
	memory();
	signals();
	descriptors();
	network();
	processes();
	if (failures)
		fprintf(stderr, "calls: %d unexpected results\n", failures);
	return failures ? 1 : 0;
}
