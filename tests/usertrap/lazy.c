/*
 * Test 4: lazy capture on real code. glibc's own wrappers are caught by Syscall User Dispatch, their
 * sites patched, and later calls take the jump (the counters and the hook's view prove it); a site
 * that does not match the pattern (`xor %eax,%eax; syscall`) stays on the signal path and stays right.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#include "usertrap/util.h"

static uint64_t by_nr[512], patched_by_nr[512], sigsys_by_nr[512];
static long other_nr;           /* the last number outside 0..511 the hook saw */
static unsigned other_nr_calls; /* how many such calls */

static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr < 0 || call->nr >= 512) {
		other_nr = call->nr;
		__atomic_fetch_add(&other_nr_calls, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&by_nr[call->nr], 1, __ATOMIC_RELAXED);
		if (call->flags & USERTRAP_CALL_PATCHED)
			__atomic_fetch_add(&patched_by_nr[call->nr], 1, __ATOMIC_RELAXED);
		if (call->flags & USERTRAP_CALL_SIGSYS)
			__atomic_fetch_add(&sigsys_by_nr[call->nr], 1, __ATOMIC_RELAXED);
	}
	return usertrap_syscall(call);
}

static void init_lazy(unsigned extra)
{
	lazy_init_or_skip(counting, extra);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
}

Test(lazy, glibc_wrappers_caught_then_patched)
{
	pid_t ppid = (pid_t)syscall(SYS_getppid), pid = (pid_t)syscall(SYS_getpid);
	init_lazy(0);
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(getppid(), ppid);
		cr_assert_eq(getpid(), pid);
	}
	int p[2];
	cr_assert_eq(pipe(p), 0);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(write(p[1], "abcd", 4), 4);
	char buf[40];
	cr_assert_eq(read(p[0], buf, sizeof buf), 40);
	cr_assert_eq(memcmp(buf, "abcdabcdabcd", 12), 0);
	usertrap_capture_thread(false, NULL);

	cr_assert_eq(by_nr[SYS_getppid], 20, "every getppid reached the hook once");
	cr_assert_eq(sigsys_by_nr[SYS_getppid], 1, "caught once by Syscall User Dispatch");
	cr_assert_eq(patched_by_nr[SYS_getppid], 19, "then through the patched site");
	cr_assert_eq(by_nr[SYS_getpid], 20);
	cr_assert_eq(patched_by_nr[SYS_getpid], 19);
	cr_assert_eq(by_nr[SYS_write], 10);
	cr_assert_geq(by_nr[SYS_read], 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_geq(c.sites_patched, 2);
	cr_assert_geq(c.trampoline_calls, 38);
	cr_log_info("lazy: write patched %llu of 10; %llu sites patched, %llu sigsys, %llu trampoline",
	            (unsigned long long)patched_by_nr[SYS_write], (unsigned long long)c.sites_patched,
	            (unsigned long long)c.sigsys_calls, (unsigned long long)c.trampoline_calls);
}

Test(lazy, unmatched_site_stays_on_signal_path)
{
	/* read(fd, buf, n) with `xor %eax,%eax; syscall; ret` */
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	const unsigned char code[] = {0x31, 0xc0, 0x0f, 0x05, 0xc3};
	memcpy(m, code, sizeof code);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	long (*rd)(long, void *, long) = (long (*)(long, void *, long))(void *)m;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "0123456789", 10), 10);
	init_lazy(0);
	struct usertrap_counters before, after;
	usertrap_get_counters(&before);
	char buf[2];
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(rd(p[0], buf, 2), 2);
		cr_assert_eq(buf[0], '0' + 2 * i);
	}
	usertrap_get_counters(&after);
	usertrap_capture_thread(false, NULL);
	/* At least 5: looking for the pattern in front of this site (at a page start) reads the page before,
	 * whose fault libsafecopy's handler answers, and that handler's return (through glibc's restorer)
	 * is itself a captured rt_sigreturn. */
	cr_assert_geq(after.sigsys_calls - before.sigsys_calls, 5, "each call came by SIGSYS");
	cr_assert_eq(after.sites_patched, before.sites_patched, "the site was not patched");
	cr_assert_eq(memcmp(m, code, sizeof code), 0, "and its bytes are untouched");
	cr_assert_eq(sigsys_by_nr[0], 5);
}

Test(lazy, no_patch_mode_keeps_everything_on_the_signal_path)
{
	pid_t ppid = getppid();
	init_lazy(USERTRAP_LAZY_NO_PATCH);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(getppid(), ppid);
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(sigsys_by_nr[SYS_getppid], 10);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sites_patched, 0);
}

/* On the signal path too the hook sees the number the kernel runs (EAX sign-extended: si_syscall),
 * never RAX's upper half (windows::hook_sees_the_number_the_kernel_runs is the patched path). */
Test(lazy, signal_path_number_ignores_the_upper_half_of_rax)
{
	pid_t ppid = getppid();
	init_lazy(USERTRAP_LAZY_NO_PATCH);
	for (int i = 0; i < 3; i++) {
		long r;
		__asm__ volatile("syscall"
		                 : "=a"(r)
		                 : "a"((0x5a5a5a5aL << 32) | SYS_getppid)
		                 : "rcx", "r11", "memory");
		cr_assert_eq(r, ppid);
	}
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(sigsys_by_nr[SYS_getppid], 3);
}

/* Numbers no x86-64 call has (x32's bit 30, negative, past the table) reach the hook as the kernel
 * would run them, index nothing, and come back -ENOSYS from this kernel (x32 is off here). */
Test(lazy, numbers_outside_the_table_reach_the_hook_unchanged)
{
	static const long odd[] = {0x40000027, 0x4000000e, -1, 0x7fffffff, INT32_MIN, 512, 1000};
	init_lazy(USERTRAP_LAZY_NO_PATCH);
	for (unsigned i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		unsigned before = other_nr_calls;
		long r;
		__asm__ volatile("syscall" : "=a"(r) : "a"(odd[i]) : "rcx", "r11", "memory");
		cr_assert_eq(r, -ENOSYS, "nr %#lx", odd[i]);
		cr_assert_eq(other_nr_calls, before + 1, "nr %#lx reached the hook once", odd[i]);
		cr_assert_eq(other_nr, odd[i]);
	}
	usertrap_capture_thread(false, NULL);
}

Test(lazy, capture_off_and_pause)
{
	pid_t ppid = getppid();
	init_lazy(USERTRAP_LAZY_NO_PATCH);
	cr_assert_eq(getppid(), ppid);
	cr_assert_eq(usertrap_capture_all(false, NULL), 0); /* paused everywhere */
	cr_assert_eq(getppid(), ppid);
	cr_assert_eq(usertrap_capture_all(true, NULL), 0);
	cr_assert_eq(getppid(), ppid);
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
	cr_assert_eq(getppid(), ppid);
	cr_assert_eq(by_nr[SYS_getppid], 2, "only the calls made while captured");
}

Test(lazy, blocking_sigsys_is_filtered)
{
	init_lazy(0);
	sigset_t all, old, now;
	sigfillset(&all);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &all, &old), 0);
	cr_assert_eq(getppid(), (pid_t)syscall(SYS_getppid), "still alive and captured");
	cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	cr_assert(sigismember(&now, SIGUSR1));
	cr_assert(!sigismember(&now, SIGSYS), "SIGSYS stays deliverable");
	cr_assert(!sigismember(&now, SIGILL));
	cr_assert_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	cr_assert(!sigismember(&now, SIGUSR1));
	usertrap_capture_thread(false, NULL);
}

static volatile int app_sigsys;
static void on_app_sigsys(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	if (info->si_code == SI_TKILL)
		app_sigsys++;
}

Test(lazy, application_sigsys_handler_is_kept_and_chained)
{
	init_lazy(0);
	struct sigaction sa = {.sa_sigaction = on_app_sigsys, .sa_flags = SA_SIGINFO}, old;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGSYS, &sa, &old), 0);
	cr_assert_eq(getppid(), (pid_t)syscall(SYS_getppid), "capture still works");
	raise(SIGSYS); /* not from Syscall User Dispatch: the application's handler gets it */
	cr_assert_eq(app_sigsys, 1);
	struct sigaction cur;
	cr_assert_eq(sigaction(SIGSYS, NULL, &cur), 0);
	cr_assert_eq((void *)cur.sa_sigaction, (void *)on_app_sigsys, "the application sees its own action");
	usertrap_capture_thread(false, NULL);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* The kernel's struct sigaction, read natively (glibc's syscall() is never patched; capture is off). */
struct kernel_action {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct kernel_action kernel_action(int sig)
{
	struct kernel_action k;
	cr_assert_eq(syscall(SYS_rt_sigaction, sig, NULL, &k, 8), 0);
	return k;
}

static uint64_t mask_word(const sigset_t *set)
{
	uint64_t w;
	memcpy(&w, set, sizeof w);
	return w;
}

#define BIT(sig) (1ULL << ((sig)-1))
#define KEEP     (BIT(SIGSYS) | BIT(SIGILL) | BIT(SIGSEGV) | BIT(SIGBUS))

/* An action that would block SIGSYS, SIGILL, SIGSEGV or SIGBUS while its handler runs reaches the
 * kernel without them; the application reads back the action it gave. */
Test(lazy, sigaction_keeps_usertraps_signals_out_of_handler_masks)
{
	init_lazy(0);
	struct sigaction full = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	sigfillset(&full.sa_mask);
	cr_assert_eq(sigaction(SIGUSR2, &full, NULL), 0);
	struct sigaction own = {.sa_handler = on_signal}; /* SIGBUS would block itself */
	sigemptyset(&own.sa_mask);
	sigaddset(&own.sa_mask, SIGILL);
	cr_assert_eq(sigaction(SIGBUS, &own, NULL), 0);

	struct sigaction seen;
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(sigaction(SIGUSR2, NULL, &seen), 0);
	uint64_t given = mask_word(&full.sa_mask) & ~(BIT(SIGKILL) | BIT(SIGSTOP));
	cr_assert_eq(mask_word(&seen.sa_mask), given, "the application's view: %#lx",
	             mask_word(&seen.sa_mask));
	cr_assert_eq(seen.sa_flags & (SA_RESTART | SA_NODEFER), SA_RESTART);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(sigaction(SIGBUS, NULL, &seen), 0);
	cr_assert_eq(mask_word(&seen.sa_mask), BIT(SIGILL));
	cr_assert_eq(seen.sa_flags & SA_NODEFER, 0, "no SA_NODEFER in the application's view");

	usertrap_capture_thread(false, NULL);
	struct kernel_action k = kernel_action(SIGUSR2);
	cr_assert_eq(k.handler, (void *)on_signal);
	cr_assert_eq(k.mask, given & ~KEEP, "the kernel's: %#lx", k.mask);
	cr_assert_eq(k.flags & (SA_RESTART | SA_NODEFER), SA_RESTART);
	k = kernel_action(SIGBUS);
	cr_assert_eq(k.mask, 0);
	cr_assert_eq(k.flags & SA_NODEFER, SA_NODEFER, "SIGBUS does not block itself");

	/* An action the kernel got from elsewhere (not through the hook) is shown as the kernel has it. */
	struct kernel_action other = {.handler = (void *)on_signal, .mask = BIT(SIGUSR1)};
	cr_assert_eq(syscall(SYS_rt_sigaction, SIGBUS, &other, NULL, 8), 0);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(sigaction(SIGBUS, NULL, &seen), 0);
	cr_assert_eq(mask_word(&seen.sa_mask), BIT(SIGUSR1));
	cr_assert_eq(seen.sa_flags & SA_NODEFER, 0);
}

Test(lazy, shutdown_restores_sites)
{
	init_lazy(0);
	pid_t ppid = getppid();
	for (int i = 0; i < 3; i++)
		cr_assert_eq(getppid(), ppid);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_geq(c.sites_patched, 1);
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	usertrap_get_counters(&c);
	cr_assert_eq(c.sites_patched, 0);
	uint64_t n = by_nr[SYS_getppid];
	cr_assert_eq(getppid(), ppid);
	cr_assert_eq(by_nr[SYS_getppid], n, "no hook after shutdown");
}

/* A site in a MAP_SHARED mapping is refused (and the refusal remembered); the same address mapped
 * privately afterwards holds a site that must be patched. */
static unsigned char *shared_site_refused(void)
{
	unsigned char *m = make_sites(1, NR_FAKE, true);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), -ENOSYS);
	cr_assert_eq(sigsys_by_nr[NR_FAKE], 2, "refused: both calls came by SIGSYS");
	return m;
}

static void remap_privately(unsigned char *m)
{
	cr_assert_eq(munmap(m, 4096), 0);
	unsigned char *again =
	    mmap(m, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(again, m, "the same address again");
	write_site(m, NR_FAKE);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
}

static void assert_patched_now(unsigned char *m)
{
	uint64_t sigsys = sigsys_by_nr[NR_FAKE], patched = patched_by_nr[NR_FAKE];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), -ENOSYS);
	cr_assert_eq(sigsys_by_nr[NR_FAKE], sigsys + 1, "one SIGSYS, which patched the site");
	cr_assert_eq(patched_by_nr[NR_FAKE], patched + 2, "then through the patched site");
}

Test(lazy, reused_address_is_patchable_again)
{
	init_lazy(0);
	unsigned char *m = shared_site_refused();
	remap_privately(m); /* munmap, mmap and mprotect pass through the hook */
	assert_patched_now(m);
}

Test(lazy, refusals_are_forgotten_across_shutdown_and_init)
{
	init_lazy(0);
	unsigned char *m = shared_site_refused();
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	remap_privately(m); /* not seen by usertrap */
	init_lazy(0);
	assert_patched_now(m);
}

static unsigned max_depth;
static long nesting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->depth > max_depth)
		max_depth = call->depth;
	if (call->nr == SYS_getppid && call->depth == 0)
		return getpid() > 0 ? usertrap_syscall(call) : -1; /* a libc call from inside the hook */
	return usertrap_syscall(call);
}

Test(lazy, hook_calls_from_inside_the_hook_nest)
{
	lazy_init_or_skip(nesting, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	pid_t ppid = (pid_t)syscall(SYS_getppid);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(getppid(), ppid); /* the first by SIGSYS, then patched; getpid nested inside */
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(max_depth, 1, "getpid made by the hook reached it again, one level down");
}

static long answer_one(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == 500 ? 1 : usertrap_syscall(call);
}

static long answer_two(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == 500 ? 2 : usertrap_syscall(call);
}

Test(lazy, init_again_after_shutdown)
{
	struct usertrap_config cfg = {.hook = answer_one};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	uintptr_t table = usertrap_table_address();
	unsigned char *m = make_sites(1, 500, false);
	cr_assert_eq(usertrap_patch(site_at(m, 0), 500, NULL), 0);
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), 1);
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), -ENOSYS, "restored: runs natively");
	cr_assert_eq(usertrap_patch(site_at(m, 0), 500, NULL), USERTRAP_ERR_STATE);
	cfg.hook = answer_two;
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	cr_assert_eq(usertrap_table_address(), table, "the table is kept");
	cr_assert_eq(usertrap_patch(site_at(m, 0), 500, NULL), 0);
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), 2, "the new hook");
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.slots_used, 1, "the site's slot was reused");
}

/* exit_group's site is never patched: the call ends the process, a patch would never run. The hook,
 * which runs after a first hit's patch, sends the patch count through a pipe. */
static int exit_pipe = -1;
static volatile ssize_t exit_report;

static long report_patches_at_exit(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr == SYS_exit_group) {
		struct usertrap_counters c;
		usertrap_get_counters(&c);
		uint64_t n = c.patches + c.patch_failures;
		exit_report = write(exit_pipe, &n, sizeof n); /* the parent reads nothing if this fails */
	}
	return usertrap_syscall(call);
}

Test(lazy, exit_group_site_is_not_patched)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	exit_pipe = fds[1];
	/* mov $231,%eax; syscall: the 7-byte form a first hit patches */
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	const unsigned char code[] = {0xb8, 231, 0, 0, 0, 0x0f, 0x05, 0xcc};
	memcpy(m, code, sizeof code);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	lazy_init_or_skip(report_patches_at_exit, 0);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		if (usertrap_capture_thread(true, NULL) != 0)
			_exit(10);
		__asm__ volatile("mov $7, %%edi; jmp *%0" ::"r"(m) : "memory");
	}
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
	uint64_t n = 99;
	cr_assert_eq(read(fds[0], &n, sizeof n), (ssize_t)sizeof n);
	cr_assert_eq(n, 0, "patches (and failures) made at the exit_group: %llu", (unsigned long long)n);
	cr_assert_eq(memcmp(m, code, sizeof code), 0, "the parent's copy is unchanged");
}
