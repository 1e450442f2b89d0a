/*
 * Test 5: threads and processes under lazy capture: pthread_create, fork, vfork + exec, posix_spawn, a
 * raw clone(CLONE_VM) on its own stack; EINTR and SA_RESTART on a blocking patched call; a signal
 * handler that makes system calls while its thread is inside the hook.
 */
#include <errno.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "usertrap/util.h"

extern char **environ;

static uint64_t calls;
static __thread uint64_t my_calls;

static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	my_calls++;
	return usertrap_syscall(call);
}

static void init_all(void)
{
	lazy_init_or_skip(counting, 0);
	cr_assert_eq(usertrap_capture_all(true, NULL), 0);
}

/* getpid through `mov $39,%eax; nop; syscall; ret`: never patched, so always a SIGSYS when captured. */
static long (*unmatched_getpid)(void);

static void make_unmatched(void)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0x90, 0x0f, 0x05, 0xc3};
	memcpy(m, code, sizeof code);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	unmatched_getpid = (long (*)(void))(void *)m;
}

/* Waits for child c, which must exit with `code`. */
static void assert_exits_with(pid_t c, int code, const char *what)
{
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == code, "%s: status %#x, not exit %d", what, st, code);
}

static void *thread_body(void *p)
{
	(void)p;
	uint64_t before = my_calls;
	long pid = unmatched_getpid();
	return (void *)(uintptr_t)(pid == getpid() && my_calls > before);
}

Test(procs, new_threads_come_up_captured)
{
	make_unmatched();
	init_all();
	for (int i = 0; i < 4; i++) {
		pthread_t t;
		void *ok;
		cr_assert_eq(pthread_create(&t, NULL, thread_body, NULL), 0);
		cr_assert_eq(pthread_join(t, &ok), 0);
		cr_assert_eq(ok, (void *)1, "thread %d's calls reached the hook", i);
	}
}

Test(procs, fork_child_runs_and_is_captured)
{
	make_unmatched();
	init_all();
	pid_t parent = getpid();
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		uint64_t before = my_calls;
		bool ok = getppid() == parent && unmatched_getpid() == getpid() && my_calls > before;
		_exit(ok ? 21 : 1);
	}
	assert_exits_with(c, 21, "the child saw the right pids and its calls reached the hook");
	cr_assert_eq(unmatched_getpid(), getpid(), "the parent is still captured");
}

Test(procs, vfork_exec)
{
	init_all();
	pid_t c = vfork();
	if (c == 0) {
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(c, 0);
	assert_exits_with(c, 5, "the child");
	struct usertrap_counters cnt;
	usertrap_get_counters(&cnt);
	cr_assert_geq(cnt.in_place_calls, 1, "vfork ran in place");
	cr_assert_eq(cnt.capture_lost, 0);
}

Test(procs, posix_spawn)
{
	init_all();
	pid_t c;
	char *argv[] = {"sh", "-c", "exit 7", NULL};
	cr_assert_eq(posix_spawn(&c, "/bin/sh", NULL, NULL, argv, environ), 0);
	assert_exits_with(c, 7, "the child");
}

static volatile int clone_flag;

static int clone_child(void *arg)
{
	clone_flag = (int)(intptr_t)arg;
	return 42;
}

Test(procs, raw_clone_vm_own_stack)
{
	init_all();
	size_t sz = 256 * 1024;
	char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	cr_assert(stack != MAP_FAILED);
	pid_t c = clone(clone_child, stack + sz, CLONE_VM | SIGCHLD, (void *)(intptr_t)1234);
	cr_assert_gt(c, 0, "clone: %s", strerror(errno));
	assert_exits_with(c, 42, "the child");
	cr_assert_eq(clone_flag, 1234, "the child wrote the shared memory");
}

/* ---- blocking patched call and signals ---- */

static unsigned char *read_site;
static int pipe_fd[2];
static volatile long read_result;
static volatile int handler_ok;
static long (*patched_getppid)(long, long, long, long);

static void on_usr1(int sig)
{
	(void)sig;
	/* System calls from a handler that interrupted the hook (the thread is inside a patched read). */
	int e = errno;
	uint64_t before = my_calls;
	handler_ok = patched_getppid(0, 0, 0, 0) == getppid() && my_calls > before;
	errno = e;
}

static volatile pid_t reader_tid;

/* Until thread tid sleeps inside read(2) (signalling it earlier would not interrupt the read). */
static void wait_blocked_in_read(void)
{
	while (!reader_tid)
		sched_yield();
	char path[64], line[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)reader_tid);
	for (int i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");
		cr_assert(f);
		bool in_read = fgets(line, sizeof line, f) && strncmp(line, "0 ", 2) == 0;
		fclose(f);
		if (in_read)
			return;
		struct timespec d = {0, 1000 * 1000};
		nanosleep(&d, NULL);
	}
	cr_assert_fail("the reader never blocked in read");
}

/*
 * Starts `read_fn` on a thread, waits until it sleeps in read(2), sends it SIGUSR1 (whose handler makes
 * syscalls itself), then writes 3 bytes: with SA_RESTART the read must get them, without it -EINTR.
 */
static void interrupt_blocked_reader(void *(*read_fn)(void *), bool restart)
{
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, read_fn, NULL), 0);
	wait_blocked_in_read();
	struct timespec d = {0, 100 * 1000 * 1000};
	cr_assert_eq(pthread_kill(t, SIGUSR1), 0);
	nanosleep(&d, NULL);
	cr_assert_eq(write(pipe_fd[1], "xyz", 3), 3);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert(handler_ok, "the handler's syscalls worked and reached the hook");
	if (restart)
		cr_assert_eq(read_result, 3, "SA_RESTART: the read went on and got the data");
	else
		cr_assert_eq(read_result, -EINTR);
}

static void *reader(void *p)
{
	(void)p;
	char buf[8];
	reader_tid = (pid_t)syscall(SYS_gettid);
	read_result = fn_at(read_site, 0)(pipe_fd[0], (long)buf, sizeof buf, 0);
	return NULL;
}

static void blocking_read(bool restart)
{
	make_unmatched();
	init_all();
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(pipe(pipe_fd), 0);
	read_site = make_sites(2, SYS_read, false);
	unsigned char *g = make_sites(1, SYS_getppid, false);
	patched_getppid = fn_at(g, 0);
	cr_assert_eq(usertrap_patch(site_at(read_site, 0), SYS_read, NULL), 0);
	cr_assert_eq(usertrap_patch(site_at(g, 0), SYS_getppid, NULL), 0);
	interrupt_blocked_reader(reader, restart);
}

Test(procs, eintr_on_blocking_patched_call)
{
	blocking_read(false);
}

Test(procs, sa_restart_on_blocking_patched_call)
{
	blocking_read(true);
}

Test(procs, fork_then_exec_without_usertrap)
{
	init_all();
	pid_t c = fork();
	if (c == 0) {
		/* Capture was re-armed in this child; the new program must come up without it. */
		execl("/bin/sh", "sh", "-c", "exit 9", (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(c, 0);
	assert_exits_with(c, 9, "the child");
}

/* The same blocking read, on the signal path (a site that is never patched): the read runs inside the
 * SIGSYS handler; the signal's handler makes syscalls that are intercepted in turn (nested SIGSYS). */
static long (*unmatched_read)(long, void *, long);

static void *reader_sigsys(void *p)
{
	(void)p;
	char buf[8];
	reader_tid = (pid_t)syscall(SYS_gettid);
	read_result = unmatched_read(pipe_fd[0], buf, sizeof buf);
	return NULL;
}

static void on_usr1_unmatched(int sig)
{
	(void)sig;
	int e = errno;
	uint64_t before = my_calls;
	handler_ok = unmatched_getpid() == getpid() && my_calls > before;
	errno = e;
}

static void blocking_read_sigsys(bool restart)
{
	make_unmatched();
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	const unsigned char code[] = {0x31, 0xc0, 0x0f, 0x05, 0xc3}; /* xor %eax,%eax; syscall; ret */
	memcpy(m, code, sizeof code);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	unmatched_read = (long (*)(long, void *, long))(void *)m;
	init_all();
	struct sigaction sa = {.sa_handler = on_usr1_unmatched, .sa_flags = restart ? SA_RESTART : 0};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(pipe(pipe_fd), 0);
	interrupt_blocked_reader(reader_sigsys, restart);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(memcmp(m, code, sizeof code), 0, "never patched");
}

Test(procs, eintr_on_blocking_call_in_sigsys_handler)
{
	blocking_read_sigsys(false);
}

Test(procs, sa_restart_on_blocking_call_in_sigsys_handler)
{
	blocking_read_sigsys(true);
}

/* A captured thread sleeps in a call that takes a temporary mask, one that blocks everything but
 * SIGUSR1; the handler that SIGUSR1 runs makes intercepted calls. Were SIGSYS blocked by that temporary
 * mask, the first of them would kill the process. */
static volatile int waiter_done;
static int wait_fd = -1;       /* the epoll instance or io_uring the sleeper waits on */
static aio_context_t wait_ctx; /* or its aio context */

typedef void (*sleep_fn)(const sigset_t *mask);

static void in_sigsuspend(const sigset_t *mask)
{
	sigsuspend(mask);
}

static void in_ppoll(const sigset_t *mask)
{
	struct timespec ts = {5, 0};
	ppoll(NULL, 0, &ts, mask);
}

static void in_pselect(const sigset_t *mask)
{
	struct timespec ts = {5, 0};
	pselect(0, NULL, NULL, NULL, &ts, mask);
}

static void in_epoll_pwait(const sigset_t *mask)
{
	struct epoll_event ev;
	epoll_pwait(wait_fd, &ev, 1, 5000, mask);
}

static void in_epoll_pwait2(const sigset_t *mask)
{
	struct epoll_event ev;
	struct timespec ts = {5, 0};
	epoll_pwait2(wait_fd, &ev, 1, &ts, mask);
}

static void in_io_pgetevents(const sigset_t *mask)
{
	struct {
		const sigset_t *mask;
		size_t size;
	} usig = {mask, 8};
	struct io_event ev;
	struct timespec ts = {5, 0};
	syscall(SYS_io_pgetevents, wait_ctx, 1L, 1L, &ev, &ts, &usig);
}

static void in_io_uring_enter(const sigset_t *mask)
{
	syscall(SYS_io_uring_enter, wait_fd, 0, 1, IORING_ENTER_GETEVENTS, mask, 8);
}

static void in_io_uring_enter_ext_arg(const sigset_t *mask)
{
	struct io_uring_getevents_arg arg = {.sigmask = (uint64_t)(uintptr_t)mask, .sigmask_sz = 8};
	syscall(SYS_io_uring_enter, wait_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
	        sizeof arg);
}

static void *sleeper(void *p)
{
	sleep_fn sleep_in = (sleep_fn)p;
	reader_tid = (pid_t)syscall(SYS_gettid);
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGUSR1);
	sleep_in(&all);
	waiter_done = 1;
	return NULL;
}

static void wait_blocked_in(long nr)
{
	while (!reader_tid)
		sched_yield();
	char path[64], line[64], want[16];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)reader_tid);
	snprintf(want, sizeof want, "%ld ", nr);
	for (int i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");
		cr_assert(f);
		bool in = fgets(line, sizeof line, f) && strncmp(line, want, strlen(want)) == 0;
		fclose(f);
		if (in)
			return;
		struct timespec d = {0, 1000 * 1000};
		nanosleep(&d, NULL);
	}
	cr_assert_fail("the thread never slept in syscall %ld", nr);
}

static void temporary_mask_case(sleep_fn sleep_in, long nr)
{
	make_unmatched();
	init_all();
	struct sigaction sa = {.sa_handler = on_usr1_unmatched};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, sleeper, (void *)sleep_in), 0);
	wait_blocked_in(nr);
	cr_assert_eq(pthread_kill(t, SIGUSR1), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert(waiter_done);
	cr_assert(handler_ok, "the handler's intercepted calls worked");
}

Test(procs, sigsuspend_mask_keeps_sigsys_deliverable)
{
	temporary_mask_case(in_sigsuspend, SYS_rt_sigsuspend);
}

Test(procs, ppoll_mask_keeps_sigsys_deliverable)
{
	temporary_mask_case(in_ppoll, SYS_ppoll);
}

Test(procs, pselect_mask_keeps_sigsys_deliverable)
{
	temporary_mask_case(in_pselect, SYS_pselect6);
}

Test(procs, epoll_pwait_mask_keeps_sigsys_deliverable)
{
	wait_fd = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(wait_fd, 0);
	temporary_mask_case(in_epoll_pwait, SYS_epoll_pwait);
}

Test(procs, epoll_pwait2_mask_keeps_sigsys_deliverable)
{
	wait_fd = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(wait_fd, 0);
	temporary_mask_case(in_epoll_pwait2, SYS_epoll_pwait2);
}

Test(procs, io_pgetevents_mask_keeps_sigsys_deliverable)
{
	cr_assert_eq(syscall(SYS_io_setup, 1, &wait_ctx), 0, "io_setup: %s", strerror(errno));
	temporary_mask_case(in_io_pgetevents, SYS_io_pgetevents);
}

static void open_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	wait_fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (wait_fd < 0)
		cr_skip_test("io_uring not available here: %s", strerror(errno));
}

Test(procs, io_uring_enter_mask_keeps_sigsys_deliverable)
{
	open_io_uring();
	temporary_mask_case(in_io_uring_enter, SYS_io_uring_enter);
}

Test(procs, io_uring_enter_ext_arg_mask_keeps_sigsys_deliverable)
{
	open_io_uring();
	temporary_mask_case(in_io_uring_enter_ext_arg, SYS_io_uring_enter);
}

/* dash's SIGCHLD handler: an action whose sa_mask blocks every signal. The handler makes intercepted
 * calls, and its return (rt_sigreturn through glibc's restorer) is intercepted too. */
static void install_full_mask_handler(int sig)
{
	struct sigaction sa = {.sa_handler = on_usr1_unmatched};
	sigfillset(&sa.sa_mask);
	cr_assert_eq(sigaction(sig, &sa, NULL), 0);
}

Test(procs, handler_with_a_full_mask_makes_calls)
{
	make_unmatched();
	init_all();
	install_full_mask_handler(SIGUSR1);
	uint64_t before = my_calls;
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert(handler_ok, "the handler's intercepted calls worked");
	cr_assert_gt(my_calls, before + 1, "and reached the hook");
	cr_assert_eq(unmatched_getpid(), getpid(), "the thread is still captured after the handler");
}

/* The same with the action installed before usertrap_init: it is filtered when capture is set up, and
 * given back to the kernel as it was at shutdown. */
Test(procs, handler_with_a_full_mask_installed_before_init)
{
	make_unmatched();
	install_full_mask_handler(SIGUSR1);
	struct sigaction before;
	cr_assert_eq(sigaction(SIGUSR1, NULL, &before), 0);
	init_all();
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert(handler_ok, "the handler's intercepted calls worked");
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	struct sigaction after;
	cr_assert_eq(sigaction(SIGUSR1, NULL, &after), 0);
	cr_assert_eq(memcmp(&after.sa_mask, &before.sa_mask, 8), 0, "the full mask is back");
	cr_assert_eq(after.sa_flags, before.sa_flags);
}

/* The application's own SIGSYS handler (usertrap keeps it and passes it every SIGSYS that is not its
 * own), with a full mask, making intercepted calls. */
Test(procs, application_sigsys_handler_with_a_full_mask_makes_calls)
{
	make_unmatched();
	init_all();
	install_full_mask_handler(SIGSYS);
	cr_assert_eq(raise(SIGSYS), 0);
	cr_assert(handler_ok, "the handler's intercepted calls worked");
}

/* A thread that exists before usertrap_capture_all(true) is armed by it (it is sent a SIGSYS and arms
 * itself). */
static volatile int phase, early_started;

static void *early_thread(void *p)
{
	(void)p;
	early_started = 1; /* its start-up, with every signal blocked, is over */
	while (phase == 0)
		sched_yield();
	uint64_t before = my_calls;
	long pid = unmatched_getpid();
	return (void *)(uintptr_t)(pid == getpid() && my_calls > before);
}

Test(procs, existing_threads_are_armed_by_capture_all)
{
	make_unmatched();
	lazy_init_or_skip(counting, 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, early_thread, NULL), 0); /* capture is not on yet */
	while (!early_started)
		sched_yield();
	cr_assert_eq(usertrap_capture_all(true, NULL), 0);
	phase = 1;
	void *ok;
	cr_assert_eq(pthread_join(t, &ok), 0);
	cr_assert_eq(ok, (void *)1, "the thread's call reached the hook");
}

/* usertrap_capture_all in a process of one thread: its reading of /proc/self/task makes no call that is
 * intercepted (it was opendir's: a SIGSYS and a first hit for each of its calls). Exit 0, or 20 + the
 * intercepted calls (30 if patches were made). */
static int capture_all_alone(void)
{
	if (usertrap_capture_all(true, NULL) != 0)
		return 10;
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	if (c.sigsys_calls || c.sigsys_native)
		return 20 + (int)(c.sigsys_calls + c.sigsys_native);
	return c.patches ? 30 : 0;
}

Test(procs, capture_all_alone_intercepts_nothing)
{
	lazy_init_or_skip(counting, 0);
	pid_t c = fork(); /* a child has one thread; the counters start at zero in it */
	cr_assert_geq(c, 0);
	if (c == 0)
		_exit(capture_all_alone());
	assert_exits_with(c, 0, "capture_all alone");
}

/* In-place calls reach the hook too, flagged; a hook may refuse one instead of letting it run. */
static long deny_vfork(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr == SYS_vfork) {
		cr_assert(call->flags & USERTRAP_CALL_IN_PLACE);
		return -EPERM;
	}
	return usertrap_syscall(call);
}

Test(procs, hook_can_refuse_an_in_place_call)
{
	lazy_init_or_skip(deny_vfork, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	pid_t c = vfork();
	if (c == 0)
		_exit(0); /* not reached: vfork is refused */
	int e = errno;
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(c, -1);
	cr_assert_eq(e, EPERM);
}

static volatile int usr1_seen;
static void on_usr1_count(int sig)
{
	(void)sig;
	usr1_seen++;
}

/* With every slot taken, a handler's return (an in-place rt_sigreturn at a new site) cannot get a gate:
 * it runs natively, and that thread stops being captured (counted), rather than anything breaking. */
Test(procs, in_place_call_without_a_free_slot, .timeout = 60)
{
	make_unmatched();
	lazy_init_or_skip(counting, USERTRAP_LAZY_NO_PATCH);
	take_every_slot();
	struct sigaction sa = {.sa_handler = on_usr1_count};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	uint64_t before = my_calls;
	cr_assert_eq(unmatched_getpid(), getpid());
	cr_assert_gt(my_calls, before, "captured");
	raise(SIGUSR1);
	cr_assert_eq(usr1_seen, 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.capture_lost, 1);
	before = my_calls;
	cr_assert_eq(unmatched_getpid(), getpid(), "still right, now natively");
	cr_assert_eq(my_calls, before, "no longer captured");
}
