/*
 * USERTRAP_RESULT_PASS: the hook passes a call through without its result. Through a patched site the
 * trampoline makes the call itself after the hook returned: interrupted calls restart or fail with
 * EINTR as native ones do, a hook run by a signal handler meanwhile has depth 0, each call is counted
 * once, and the calls usertrap must filter still are. On the signal path the sentinel is the same as
 * usertrap_syscall().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>

#include "usertrap/shapes.h"
#include "usertrap/table.h"
#include "usertrap/util.h"

static volatile long hook_runs[NR_FAKE + 1];
static volatile unsigned fake_depth = ~0u; /* call->depth of the last NR_FAKE call */

/* Answers NR_FAKE (3 * its first argument), passes everything else through. */
static long passing_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr >= 0 && call->nr <= NR_FAKE)
		hook_runs[call->nr]++;
	if (call->nr == NR_FAKE) {
		fake_depth = call->depth;
		return call->args[0] * 3;
	}
	return USERTRAP_RESULT_PASS;
}

/* The same with usertrap_syscall(): the call is made while the hook runs. */
static long calling_hook(struct usertrap_call *call, void *arg)
{
	long r = passing_hook(call, arg);
	return r == USERTRAP_RESULT_PASS ? usertrap_syscall(call) : r;
}

static void init(usertrap_hook_fn hook)
{
	struct usertrap_config cfg = {.hook = hook};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
}

/* A patched site of nr, callable with four arguments. */
static site_fn patched_site(uint32_t nr)
{
	unsigned char *m = make_sites(1, nr, false);
	struct usertrap_error err;
	int r = usertrap_patch(site_at(m, 0), nr, &err);
	cr_assert_eq(r, 0, "patch: %s", usertrap_status_name(r));
	return fn_at(m, 0);
}

static site_fn fake_site;
static int pipe_fds[2];
static volatile int handler_runs;
static volatile long handler_fake_result;
static volatile uintptr_t interrupted_pc;

/* Runs while the main thread is blocked in read: makes a patched call, and gives read a byte. */
static void on_alarm(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	int saved = errno;
	interrupted_pc = (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	handler_runs++;
	handler_fake_result = fake_site(5, 0, 0, 0);
	char x = 'x';
	if (write(pipe_fds[1], &x, 1) != 1)
		handler_runs = -1000;
	errno = saved;
}

struct waker {
	pthread_t target;
	pid_t tid;
};

/* Sends SIGALRM to the target once /proc says it is blocked in read (so the signal interrupts the
 * call, not the code before it). */
static void *wake_reader(void *p)
{
	struct waker *w = p;
	char path[64], line[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)w->tid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");
		bool in_read = f && fgets(line, sizeof line, f) && strncmp(line, "0 ", 2) == 0;
		if (f)
			fclose(f);
		if (in_read)
			break;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	pthread_kill(w->target, SIGALRM);
	return NULL;
}

static site_fn patched_read_site(void)
{
	return patched_site(SYS_read);
}

/* glibc 2.36's read (window_shapes.asm): `xor %eax,%eax; syscall` and a branch, a relocated window. */
static site_fn window_read_site(void)
{
	const struct shape s = SHAPE(read, 11, 0, NULL);
	struct placed p = place_shape(&s);
	struct usertrap_error err;
	int r = usertrap_patch_syscall(p.insn, p.fn, p.end, &err);
	cr_assert_eq(r, 0, "patch: %s", usertrap_status_name(r));
	return (site_fn)(void *)p.fn;
}

/* A blocking read through the site make_site gives, interrupted by SIGALRM with the given sa_flags.
 * Returns the read's result; buf gets what it read. */
static long interrupted_read(usertrap_hook_fn hook, site_fn (*make_site)(void), int sa_flags, char *buf)
{
	init(hook);
	fake_site = patched_site(NR_FAKE);
	site_fn read_site = make_site();
	cr_assert_eq(pipe(pipe_fds), 0);
	struct sigaction sa = {.sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO | sa_flags};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	struct waker w = {pthread_self(), gettid()};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, wake_reader, &w), 0);
	long r = read_site(pipe_fds[0], (long)buf, 16, 0);
	pthread_join(t, NULL);
	cr_assert_eq(handler_runs, 1, "the handler ran once, and its write worked");
	cr_assert_eq(handler_fake_result, 15, "the handler's patched call reached the hook");
	cr_assert_eq(hook_runs[SYS_read], 1, "the hook saw the read once, restarted or not");
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 2, "the read and the handler's call");
	return r;
}

/* Where the read was interrupted, `at` bytes after its gate's syscall instruction (the kernel reports a
 * call it will restart at the instruction, one that failed with EINTR after it): in its slot's gate
 * (the trampoline's own pass-through of a patched site)... */
static bool interrupted_in_a_slot_gate(uintptr_t at)
{
	uintptr_t t = usertrap_table_address(), pc = interrupted_pc;
	return pc >= t + UT_SLOT_SIZE && pc < t + UT_DATA_DELTA &&
	       (pc - t) % UT_PAGE % UT_SLOT_SIZE == UT_C_GATE + at;
}

/* ... or in the header's window gate (a window's). */
static bool interrupted_in_the_window_gate(uintptr_t at)
{
	return interrupted_pc == usertrap_table_address() + UT_H_WINDOW_GATE + at;
}

/* With SA_RESTART the read is restarted at its gate and reads the handler's byte. */
static void expect_restarted(site_fn (*make_site)(void), bool (*interrupted_in_gate)(uintptr_t))
{
	char buf[16] = {0};
	long r = interrupted_read(passing_hook, make_site, SA_RESTART, buf);
	cr_assert_eq(r, 1, "restarted, it read the handler's byte: %ld", r);
	cr_assert_eq(buf[0], 'x');
	cr_assert_eq(fake_depth, 0, "no hook was running below the handler's call");
	cr_assert(interrupted_in_gate(0), "made by the trampoline: interrupted at %#lx",
	          (unsigned long)interrupted_pc);
}

/* Without it the caller gets -EINTR, and the byte stays in the pipe. */
static void expect_eintr(site_fn (*make_site)(void), bool (*interrupted_in_gate)(uintptr_t))
{
	char buf[16] = {0};
	long r = interrupted_read(passing_hook, make_site, 0, buf);
	cr_assert_eq(r, -EINTR, "%ld", r);
	cr_assert_eq(read(pipe_fds[0], buf, sizeof buf), 1, "the handler's byte is still in the pipe");
	cr_assert_eq(buf[0], 'x');
	cr_assert_eq(fake_depth, 0);
	cr_assert(interrupted_in_gate(2), "made by the trampoline: interrupted at %#lx",
	          (unsigned long)interrupted_pc);
}

Test(pass, blocking_read_with_sa_restart_is_restarted, .timeout = 20)
{
	expect_restarted(patched_read_site, interrupted_in_a_slot_gate);
}

Test(pass, blocking_read_without_sa_restart_fails_with_eintr, .timeout = 20)
{
	expect_eintr(patched_read_site, interrupted_in_a_slot_gate);
}

Test(pass, blocking_read_through_a_window_with_sa_restart_is_restarted, .timeout = 20)
{
	expect_restarted(window_read_site, interrupted_in_the_window_gate);
}

Test(pass, blocking_read_through_a_window_without_sa_restart_fails_with_eintr, .timeout = 20)
{
	expect_eintr(window_read_site, interrupted_in_the_window_gate);
}

/* The contrast: with usertrap_syscall() the read is made inside the hook, one level below. */
Test(pass, with_usertrap_syscall_the_handler_runs_above_the_hook, .timeout = 20)
{
	char buf[16] = {0};
	cr_assert_eq(interrupted_read(calling_hook, patched_read_site, SA_RESTART, buf), 1);
	cr_assert_eq(fake_depth, 1);
	uintptr_t t = usertrap_table_address();
	cr_assert(interrupted_pc > t + UT_H_SYSCALL && interrupted_pc < t + UT_H_RESTORER,
	          "in the header's gate: %#lx", (unsigned long)interrupted_pc);
}

Test(pass, each_call_counted_once_with_the_kernels_result)
{
	init(passing_hook);
	site_fn getppid_site = patched_site(SYS_getppid);
	pid_t ppid = getppid();
	for (int i = 0; i < 100; i++)
		cr_assert_eq(getppid_site(0, 0, 0, 0), ppid);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 100);
	cr_assert_eq(hook_runs[SYS_getppid], 100);
	cr_assert_eq(c.sigsys_calls + c.sigill_calls, 0);
}

/* rt_sigprocmask passed through a patched site still never blocks usertrap's signals. */
Test(pass, filtered_calls_are_still_filtered)
{
	init(passing_hook);
	site_fn mask_site = patched_site(SYS_rt_sigprocmask);
	sigset_t old, now;
	uint64_t all = ~0ULL;
	cr_assert_eq(mask_site(SIG_BLOCK, (long)&all, (long)&old, 8), 0);
	cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	cr_assert(sigismember(&now, SIGUSR1), "the call was made");
	cr_assert(!sigismember(&now, SIGSYS), "SIGSYS stays deliverable");
	cr_assert(!sigismember(&now, SIGILL));
	cr_assert(!sigismember(&now, SIGSEGV));
	cr_assert(!sigismember(&now, SIGBUS));
	cr_assert_eq(hook_runs[SYS_rt_sigprocmask], 1);
	cr_assert_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

/* On the signal path (lazy capture, patching off) the sentinel is usertrap_syscall(call). */
Test(pass, captured_calls_pass_through_too)
{
	lazy_init_or_skip(passing_hook, USERTRAP_LAZY_NO_PATCH);
	pid_t ppid = (pid_t)syscall(SYS_getppid);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = syscall(SYS_getppid);
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
	cr_assert_eq(r, ppid, "the kernel's result, not the sentinel: %ld", r);
	cr_assert_eq(hook_runs[SYS_getppid], 1);
}
