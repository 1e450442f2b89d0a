/*
 * The decoders, on calls made up here with arguments in this process's own memory: strace's text for
 * flags, strings, structures and results, and the address for every argument that cannot be read.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "sctrace/decode.h"
#include "sctrace/options.h"

static struct sct_options opts;
static char line[4096], scratch[8192];

static void defaults(void)
{
	char *argv[] = {"sctrace", "x", NULL};
	char err[64];
	cr_assert_eq(sct_parse_options(2, argv, &opts, err, sizeof err), SCT_PARSE_OK);
}

TestSuite(decode, .init = defaults);

/* The whole line of call nr with arguments a (the missing ones 0) that returned ret. */
static const char *decoded(long nr, long ret, const long a[6])
{
	struct sct_line l;
	sct_line_init(&l, line, sizeof line);
	struct sct_call c = {
	    .nr = nr, .o = &opts, .l = &l, .scratch = scratch, .scratch_cap = sizeof scratch};
	memcpy(c.a, a, sizeof c.a);
	sct_decode_entry(&c);
	c.ret = ret;
	sct_decode_exit(&c);
	sct_decode_result(&c);
	line[l.len] = '\0';
	return line;
}

/* The same with the padding before " = " (strace's column 40) taken out, for the expectations to read. */
static const char *unpadded(const char *s)
{
	static char out[sizeof line];
	const char *eq = strstr(s, " = ");
	const char *pad = eq;
	while (pad && pad > s && pad[-1] == ' ')
		pad--;
	if (!eq || pad == eq) {
		snprintf(out, sizeof out, "%s", s);
		return out;
	}
	snprintf(out, sizeof out, "%.*s%s", (int)(pad - s), s, eq);
	return out;
}

#define D(nr, ret, ...)       unpadded(decoded(nr, ret, (const long[6]){__VA_ARGS__}))
#define D_EXACT(nr, ret, ...) decoded(nr, ret, (const long[6]){__VA_ARGS__})

/* An unmapped page, and a string that runs into a PROT_NONE page without a NUL. */
static char *unmapped_page(void)
{
	char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	munmap(p, 4096);
	return p;
}

Test(decode, open_flags_and_modes)
{
	cr_assert_str_eq(D(SYS_openat, 3, AT_FDCWD, (long)"/etc/passwd", O_RDONLY | O_CLOEXEC),
	                 "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3");
	cr_assert_str_eq(D(SYS_open, 4, (long)"f", O_WRONLY | O_CREAT | O_TRUNC, 0640),
	                 "open(\"f\", O_WRONLY|O_CREAT|O_TRUNC, 0640) = 4");
	/* the mode only with O_CREAT or O_TMPFILE; O_DIRECTORY alone is not O_TMPFILE */
	cr_assert_str_eq(D(SYS_openat, 3, 5, (long)"d", O_RDONLY | O_DIRECTORY, 0777),
	                 "openat(5, \"d\", O_RDONLY|O_DIRECTORY) = 3");
	cr_assert_str_eq(D(SYS_openat, 3, AT_FDCWD, (long)"/tmp", O_RDWR | O_TMPFILE, 0),
	                 "openat(AT_FDCWD, \"/tmp\", O_RDWR|O_TMPFILE, 000) = 3");
	cr_assert_str_eq(D(SYS_open, -ENOENT, (long)"missing", 0x40000000 | O_RDONLY),
	                 "open(\"missing\", O_RDONLY|0x40000000) = -1 ENOENT (No such file or directory)");
}

Test(decode, unreadable_arguments_print_as_addresses)
{
	char *bad = unmapped_page();
	char hex[32];
	snprintf(hex, sizeof hex, "%p", (void *)bad);
	char want[128];
	snprintf(want, sizeof want, "open(%s, O_RDONLY) = -1 EFAULT (Bad address)", hex);
	cr_assert_str_eq(D(SYS_open, -EFAULT, (long)bad, O_RDONLY), want);
	cr_assert_str_eq(D(SYS_open, -EFAULT, 0, O_RDONLY), "open(NULL, O_RDONLY) = -1 EFAULT (Bad address)");
	snprintf(want, sizeof want, "write(1, %s, 10) = -1 EFAULT (Bad address)", hex);
	cr_assert_str_eq(D(SYS_write, -EFAULT, 1, (long)bad, 10), want);
	snprintf(want, sizeof want, "read(0, %s, 5) = -1 EFAULT (Bad address)", hex);
	cr_assert_str_eq(D(SYS_read, -EFAULT, 0, (long)bad, 5), want);
	snprintf(want, sizeof want, "fstat(3, %s) = -1 EFAULT (Bad address)", hex);
	cr_assert_str_eq(D(SYS_fstat, -EFAULT, 3, (long)bad), want);
	/* a successful call whose output cannot be read back (it was unmapped since) */
	snprintf(want, sizeof want, "fstat(3, %s) = 0", hex);
	cr_assert_str_eq(D(SYS_fstat, 0, 3, (long)bad), want);
	/* non-canonical */
	cr_assert_str_eq(D(SYS_open, -EFAULT, (long)0xdead000000000000UL, O_RDONLY),
	                 "open(0xdead000000000000, O_RDONLY) = -1 EFAULT (Bad address)");
}

Test(decode, string_running_into_an_unreadable_page)
{
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	cr_assert_eq(mprotect(m + 4096, 4096, PROT_NONE), 0);
	char *edge = m + 4096 - 3, *whole = m + 4096 - 8;
	memcpy(edge, "abc", 3);    /* no NUL before the PROT_NONE page */
	memcpy(whole, "xyz\0", 4); /* ends 4 bytes before it: readable */
	char want[128];
	snprintf(want, sizeof want, "open(%p, O_RDONLY) = -1 EFAULT (Bad address)", (void *)edge);
	cr_assert_str_eq(D(SYS_open, -EFAULT, (long)edge, O_RDONLY), want);
	cr_assert_str_eq(D(SYS_open, -ENOENT, (long)whole, O_RDONLY),
	                 "open(\"xyz\", O_RDONLY) = -1 ENOENT (No such file or directory)");
	munmap(m, 8192);
}

Test(decode, buffers_truncated_at_s)
{
	const char *text = "0123456789abcdefghijklmnopqrstuvwxyz";
	cr_assert_str_eq(D(SYS_write, 36, 1, (long)text, 36),
	                 "write(1, \"0123456789abcdefghijklmnopqrstuv\"..., 36) = 36");
	opts.max_strlen = 4;
	cr_assert_str_eq(D(SYS_write, 4, 1, (long)text, 4), "write(1, \"0123\", 4) = 4");
	cr_assert_str_eq(D(SYS_write, 5, 1, (long)text, 5), "write(1, \"0123\"..., 5) = 5");
	/* the byte after the shown ones is a digit: the last shown octal still needs no padding */
	cr_assert_str_eq(D(SYS_write, 5, 1, (long)"abc\0001", 5), "write(1, \"abc\\0\"..., 5) = 5");
	/* read: the data only at exit, as much as the result says */
	char got[16] = "hello world";
	cr_assert_str_eq(D(SYS_read, 2, 0, (long)got, 16), "read(0, \"he\", 16) = 2");
	/* a path ignores -s */
	cr_assert_str_eq(D(SYS_unlink, 0, (long)"/a/long/path/name"), "unlink(\"/a/long/path/name\") = 0");
	/* an argv string does not */
	char *argv[] = {"program", "x", NULL};
	char *env[] = {"A=1", "B=2", NULL};
	char want[160];
	snprintf(want, sizeof want, "execve(\"/bin/program\", [\"prog\"..., \"x\"], %p /* 2 vars */) = 0",
	         (void *)env);
	cr_assert_str_eq(D(SYS_execve, 0, (long)"/bin/program", (long)argv, (long)env), want);
}

Test(decode, iovecs)
{
	struct iovec v[2] = {{"one ", 4}, {"two\n", 4}};
	cr_assert_str_eq(
	    D(SYS_writev, 8, 1, (long)v, 2),
	    "writev(1, [{iov_base=\"one \", iov_len=4}, {iov_base=\"two\\n\", iov_len=4}], 2) = 8");
	char a[8] = "abcdefg", b[8] = "ABCDEFG";
	struct iovec r[2] = {{a, 4}, {b, 8}};
	/* readv: the data up to the result, spread over the vectors */
	cr_assert_str_eq(D(SYS_readv, 6, 3, (long)r, 2),
	                 "readv(3, [{iov_base=\"abcd\", iov_len=4}, {iov_base=\"AB\", iov_len=8}], 2) = 6");
}

Test(decode, stat_structures)
{
	struct stat st = {.st_mode = S_IFREG | 0644, .st_size = 1234};
	cr_assert_str_eq(D(SYS_newfstatat, 0, AT_FDCWD, (long)"f", (long)&st, AT_SYMLINK_NOFOLLOW),
	                 "newfstatat(AT_FDCWD, \"f\", {st_mode=S_IFREG|0644, st_size=1234, ...}, "
	                 "AT_SYMLINK_NOFOLLOW) = 0");
	struct stat dev = {.st_mode = S_IFCHR | 0666, .st_rdev = makedev(1, 3)};
	cr_assert_str_eq(D(SYS_fstat, 0, 1, (long)&dev),
	                 "fstat(1, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0");
	struct stat dir = {.st_mode = S_IFDIR | S_ISVTX | 0777, .st_size = 4096};
	cr_assert_str_eq(D(SYS_stat, 0, (long)"/tmp", (long)&dir),
	                 "stat(\"/tmp\", {st_mode=S_IFDIR|S_ISVTX|0777, st_size=4096, ...}) = 0");
}

Test(decode, signals_and_masks)
{
	uint64_t mask = (1ULL << (SIGINT - 1)) | (1ULL << (SIGTERM - 1));
	uint64_t old = 0;
	cr_assert_str_eq(D(SYS_rt_sigprocmask, 0, SIG_BLOCK, (long)&mask, (long)&old, 8),
	                 "rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0");
	uint64_t full = ~((1ULL << 31) | (1ULL << 32));
	cr_assert_str_eq(D(SYS_rt_sigprocmask, 0, SIG_SETMASK, (long)&full, 0, 8),
	                 "rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], NULL, 8) = 0");
	cr_assert_str_eq(D(SYS_kill, 0, 42, SIGUSR1), "kill(42, SIGUSR1) = 0");
	cr_assert_str_eq(D(SYS_kill, 0, 42, SIGIO), "kill(42, SIGIO) = 0");
	cr_assert_str_eq(D(SYS_tgkill, 0, 1, 2, 40), "tgkill(1, 2, SIGRT_8) = 0");
	cr_assert_str_eq(D(SYS_kill, -EINVAL, 1, 99), "kill(1, 99) = -1 EINVAL (Invalid argument)");
	struct {
		unsigned long handler, flags, restorer;
		uint64_t mask;
	} act = {(unsigned long)SIG_IGN, SA_RESTART, 0, 1ULL << (SIGINT - 1)};
	cr_assert_str_eq(
	    D(SYS_rt_sigaction, 0, SIGUSR1, (long)&act, 0, 8),
	    "rt_sigaction(SIGUSR1, {sa_handler=SIG_IGN, sa_mask=[INT], sa_flags=SA_RESTART}, NULL, 8) = 0");
}

Test(decode, memory_flags_and_hex_results)
{
	cr_assert_str_eq(
	    D(SYS_mmap, 0x7f0000001000, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
	    "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000");
	cr_assert_str_eq(D(SYS_mprotect, 0, 0x10000, 4096, PROT_NONE),
	                 "mprotect(0x10000, 4096, PROT_NONE) = 0");
	cr_assert_str_eq(D(SYS_brk, 0x5000000, 0), "brk(NULL) = 0x5000000");
	cr_assert_str_eq(D(SYS_umask, 022, 077), "umask(077) = 022");
}

Test(decode, sockets_and_addresses)
{
	cr_assert_str_eq(D(SYS_socket, 3, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP),
	                 "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3");
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(80)};
	in.sin_addr.s_addr = htonl(0x7f000001);
	cr_assert_str_eq(
	    D(SYS_connect, 0, 3, (long)&in, sizeof in),
	    "connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0");
	struct sockaddr_in6 in6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	cr_assert_str_eq(D(SYS_bind, 0, 3, (long)&in6, sizeof in6),
	                 "bind(3, {sa_family=AF_INET6, sin6_port=htons(9), sin6_flowinfo=htonl(0), "
	                 "inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = 0");
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/x"};
	cr_assert_str_eq(D(SYS_bind, 0, 3, (long)&un, sizeof un),
	                 "bind(3, {sa_family=AF_UNIX, sun_path=\"/run/x\"}, 110) = 0");
	struct sockaddr_un abstract = {.sun_family = AF_UNIX, .sun_path = "\0name"};
	cr_assert_str_eq(D(SYS_connect, 0, 3, (long)&abstract, 2 + 5),
	                 "connect(3, {sa_family=AF_UNIX, sun_path=@\"name\"}, 7) = 0");
}

Test(decode, wait_status_and_process_results)
{
	int st = 0x0100; /* exit 1 */
	cr_assert_str_eq(D(SYS_wait4, 77, -1, (long)&st, 0, 0),
	                 "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 77");
	st = SIGKILL;
	cr_assert_str_eq(D(SYS_wait4, 77, 77, (long)&st, WNOHANG, 0),
	                 "wait4(77, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WNOHANG, NULL) = 77");
	cr_assert_str_eq(D(SYS_exit_group, 0, 3), "exit_group(3) = ?");
	cr_assert_str_eq(
	    D(SYS_clone, 123, SIGCHLD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID, 0, 0, 0x1000, 0),
	    "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
	    "child_tidptr=0x1000) = 123");
}

Test(decode, fcntl_notes_after_the_result)
{
	cr_assert_str_eq(D(SYS_fcntl, O_RDWR | O_APPEND, 3, F_GETFL),
	                 "fcntl(3, F_GETFL) = 0x402 (flags O_RDWR|O_APPEND)");
	cr_assert_str_eq(D(SYS_fcntl, 1, 3, F_GETFD), "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)");
	cr_assert_str_eq(D(SYS_fcntl, 0, 3, F_SETFD, FD_CLOEXEC), "fcntl(3, F_SETFD, FD_CLOEXEC) = 0");
	cr_assert_str_eq(D(SYS_fcntl, 10, 3, F_DUPFD_CLOEXEC, 10), "fcntl(3, F_DUPFD_CLOEXEC, 10) = 10");
	cr_assert_str_eq(D(SYS_fcntl, -EINVAL, 3, 0x7777),
	                 "fcntl(3, 0x7777 /* F_??? */, 0) = -1 EINVAL (Invalid argument)");
}

Test(decode, futex_and_unknown_calls)
{
	int word = 0;
	char want[128];
	snprintf(want, sizeof want, "futex(%p, FUTEX_WAKE_PRIVATE, 1) = 0", (void *)&word);
	cr_assert_str_eq(D(SYS_futex, 0, (long)&word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1), want);
	/* no decoder: the arguments in hex, as many as the call takes */
	cr_assert_str_eq(D(SYS_iopl, -EPERM, 3), "iopl(0x3) = -1 EPERM (Operation not permitted)");
}

Test(decode, errno_names_and_texts)
{
	cr_assert_str_eq(sct_errno_name(ENOENT), "ENOENT");
	cr_assert_str_eq(sct_errno_text(ENOENT), "No such file or directory");
	cr_assert_str_eq(sct_errno_name(EAGAIN), "EAGAIN");
	cr_assert_str_eq(sct_errno_name(512), "ERESTARTSYS");
	cr_assert_null(sct_errno_name(4000));
}

Test(decode, result_column)
{
	/* strace pads to column 40 before " = ", or leaves one space when the call is longer */
	cr_assert_str_eq(D_EXACT(SYS_brk, 0x5000000, 0),
	                 "brk(NULL)                               = 0x5000000");
	cr_assert_str_eq(D_EXACT(SYS_umask, 022, 077), "umask(077)                              = 022");
	cr_assert_str_eq(D_EXACT(SYS_exit_group, 0, 3), "exit_group(3)                           = ?");
	cr_assert_str_eq(D_EXACT(SYS_openat, 3, AT_FDCWD, (long)"/a/path/long/enough", O_RDONLY),
	                 "openat(AT_FDCWD, \"/a/path/long/enough\", O_RDONLY) = 3");
}

/* IPv6 addresses as inet_ntop writes them (the decoder has its own formatter: inet_ntop is not
 * async-signal-safe). */
Test(decode, ipv6_text)
{
	static const char *const samples[] = {"::",
	                                      "::1",
	                                      "1::",
	                                      "2001:db8::ff00:42:8329",
	                                      "::ffff:1.2.3.4",
	                                      "::1.2.3.4",
	                                      "fe80::1:0:0:1",
	                                      "1:0:0:2:0:0:0:3",
	                                      "1:2:3:4:5:6:7:8",
	                                      "1::2:0:0:3",
	                                      "0:1::",
	                                      "::ffff:0:1.2.3.4"};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
		cr_assert_eq(inet_pton(AF_INET6, samples[i], &in6.sin6_addr), 1, "%s", samples[i]);
		char text[INET6_ADDRSTRLEN], want[256];
		cr_assert(inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text));
		snprintf(want, sizeof want,
		         "bind(3, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), "
		         "inet_pton(AF_INET6, \"%s\", &sin6_addr), sin6_scope_id=0}, 28) = 0",
		         text);
		cr_assert_str_eq(D(SYS_bind, 0, 3, (long)&in6, sizeof in6), want);
	}
}

/* A terminal's termios, as strace abbreviates it (the line a real terminal gives, checked against
 * strace on a pseudo-terminal); the address when there is no terminal. */
Test(decode, termios)
{
	struct termios t = {.c_iflag = ICRNL | IXON,
	                    .c_oflag = OPOST | ONLCR,
	                    .c_cflag = B38400 | CS8 | CREAD,
	                    .c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN | ECHOCTL | ECHOKE};
	cr_assert_str_eq(
	    D(SYS_ioctl, 0, 0, TCGETS, (long)&t),
	    "ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, "
	    "c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, "
	    "...}) = 0");
	char want[128];
	snprintf(want, sizeof want, "ioctl(1, TCGETS, %p) = -1 ENOTTY (Inappropriate ioctl for device)",
	         (void *)&t);
	cr_assert_str_eq(D(SYS_ioctl, -ENOTTY, 1, TCGETS, (long)&t), want);
	struct winsize w = {.ws_row = 24, .ws_col = 80};
	cr_assert_str_eq(D(SYS_ioctl, 0, 1, TIOCGWINSZ, (long)&w),
	                 "ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0");
	cr_assert_str_eq(
	    D(SYS_ioctl, -ENOTTY, 3, 0xc0105400, 0x1000),
	    "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x54, 0, 0x10), 0x1000) = -1 ENOTTY (Inappropriate ioctl "
	    "for device)");
}
