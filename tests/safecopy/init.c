/*
 * Installation: safecopy_init() when sigaction() fails (forced with a seccomp filter), and calls made
 * with SIGSEGV/SIGBUS blocked (documented as fatal).
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include "harness.h"

/*
 * A seccomp filter on rt_sigaction(sig, act != NULL, ...) of this process: such calls get `verdict`
 * (an errno, or a hold for a user-space listener); queries (act == NULL) and everything else pass.
 * Returns what seccomp(2) returns: 0, a listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, or -1.
 */
static int filter_setting_action(int sig, uint32_t verdict, unsigned int flags)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigaction, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)sig, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    /* act == NULL (both halves zero): a query, allowed. */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, verdict),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Makes rt_sigaction(sig, act != NULL, ...) fail with EPERM in this process; queries still work. */
static int deny_setting_action(int sig)
{
	return filter_setting_action(sig, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA), 0);
}

static char *fix_page;
static volatile sig_atomic_t prev_calls;

static void prev_fix(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	prev_calls++;
	if (info->si_addr == fix_page)
		mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static bool action_is(int sig, void (*h)(int, siginfo_t *, void *))
{
	struct sigaction cur;
	return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == h;
}

/*
 * The header: "Returns 0, or -errno if sigaction failed (nothing is then installed)". Installing for
 * SIGBUS fails here, so SIGSEGV must keep its previous action; a second attempt must not remember
 * safecopy's own handler as "the previous one" (a foreign fault would then chain to itself forever).
 */
static int child_init_fails_for_sigbus(void *arg)
{
	bool check_action = arg == NULL;
	fix_page = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || set_action(SIGSEGV, prev_fix, NULL, SA_SIGINFO))
		return 1;
	if (deny_setting_action(SIGBUS) != 0)
		return 100; /* no seccomp filters here */
	child_step(1);
	int r = safecopy_init();
	if (r != -EPERM)
		return 3;
	if (safecopy_handler_active())
		return 4;
	child_step(2);
	if (check_action && !action_is(SIGSEGV, prev_fix))
		return 5; /* "nothing is then installed" */
	child_step(3);
	if (safecopy_init() != -EPERM)
		return 6;
	child_step(4);
	*(volatile char *)fix_page = 1; /* must reach prev_fix */
	if (prev_calls != 1)
		return 7;
	return 0;
}

static void expect_exit_or_skip(int st)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 100)
		cr_skip_test("seccomp filters are not available");
	expect_exit(st, 0);
}

Test(init, failed_init_installs_nothing)
{
	expect_exit_or_skip(run_in_child(child_init_fails_for_sigbus, NULL, 3));
}

/* Whatever a failed init leaves behind, retrying it must not make foreign faults chain to safecopy. */
Test(init, retried_failed_init_still_chains_foreign_faults)
{
	expect_exit_or_skip(run_in_child(child_init_fails_for_sigbus, (void *)1, 3));
}

/* The same with SIGSEGV refused: the first sigaction fails, nothing at all may change. */
static int child_init_fails_for_sigsegv(void *arg)
{
	(void)arg;
	fix_page = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || set_action(SIGSEGV, prev_fix, NULL, SA_SIGINFO) ||
	    set_action(SIGBUS, prev_fix, NULL, SA_SIGINFO))
		return 1;
	if (deny_setting_action(SIGSEGV) != 0)
		return 100;
	if (safecopy_init() != -EPERM)
		return 3;
	if (!action_is(SIGSEGV, prev_fix) || !action_is(SIGBUS, prev_fix))
		return 4;
	if (safecopy_handler_active())
		return 5;
	*(volatile char *)fix_page = 1;
	if (prev_calls != 1)
		return 6;
	return 0;
}

Test(init, failed_init_for_sigsegv_installs_nothing)
{
	expect_exit_or_skip(run_in_child(child_init_fails_for_sigsegv, NULL, 10));
}

/* ---- signals blocked: a fault cannot be caught and the kernel kills (documented) ---------------- */

static int child_blocked(void *arg)
{
	int sig = (int)(intptr_t)arg;
	if (safecopy_init() != 0)
		return 1;
	char *p;
	int fd = -1;
	if (sig == SIGBUS) {
		fd = memfd_create("blocked", MFD_CLOEXEC);
		p = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); /* file size 0: SIGBUS */
	} else {
		p = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (p == MAP_FAILED)
		return 2;
	/* Unblocked: converted. */
	char buf[16];
	struct safecopy_fault f;
	if (safecopy_memcpy(buf, p, sizeof buf, &f) != 0 || f.signo != sig)
		return 3;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	child_step(1);
	safecopy_memcpy(buf, p, sizeof buf, &f);
	child_step(2);
	return 0;
}

Test(init, fault_with_sigsegv_blocked_kills)
{
	expect_signal(run_in_child(child_blocked, (void *)(intptr_t)SIGSEGV, 10), SIGSEGV, 1);
}

Test(init, fault_with_sigbus_blocked_kills)
{
	expect_signal(run_in_child(child_blocked, (void *)(intptr_t)SIGBUS, 10), SIGBUS, 1);
}

/*
 * Use from a constructor. A program (or another library, e.g. a tracer patching code at load time)
 * may call safecopy before main(). In a static link the program's constructors run before those of
 * libsafecopy.a's objects, so the first calls can come before the library's own load-time set-up.
 * The test re-executes this binary with SAFECOPY_TEST_CTOR=1; the constructor below then makes
 * faulting calls and exits before Criterion's main() runs: 0 if every result was exact.
 */
__attribute__((constructor)) static void early_user(void)
{
	if (!getenv("SAFECOPY_TEST_CTOR"))
		return;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + pg, pg, PROT_NONE))
		_exit(1);
	char buf[100];
	struct safecopy_fault f;
	size_t got = safecopy_memcpy(buf, m + pg - 30, sizeof buf, &f);
	if (got != 30 || f.status != SAFECOPY_SEGV || f.addr != m + pg)
		_exit(2);
	uint64_t v = 5;
	if (safecopy_load64((uint64_t *)(m + pg), &v, &f) != SAFECOPY_SEGV || v != 5)
		_exit(3);
	_exit(0);
}

Test(init, safecopy_works_from_a_constructor)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		setenv("SAFECOPY_TEST_CTOR", "1", 1);
		execl("/proc/self/exe", "/proc/self/exe", "--filter", "none/none", (char *)NULL);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	expect_exit(st, 0);
}

/* ---- fork() while another thread is inside safecopy_init() -------------------------------------- */

#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>

/* Holds rt_sigaction(SIGBUS, act != NULL) of any thread until the listener (returned) lets it go on. */
static int hold_sigbus_sigaction(void)
{
	return filter_setting_action(SIGBUS, SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

/* Lets one held syscall continue; returns 0 if there was one within timeout_ms. */
static int release_one(int listener, int timeout_ms)
{
	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	struct seccomp_notif req;
	memset(&req, 0, sizeof req);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return -1;
	struct seccomp_notif_resp resp = {.id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0 ? 0 : -1;
}

static void *initializer(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)safecopy_init();
}

/* The grandchild: a process forked while its parent's other thread was installing the handler. */
static int use_after_fork(void)
{
	alarm(3);
	char *p = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[32];
	struct safecopy_fault f;
	if (safecopy_memcpy(buf, p, sizeof buf, &f) != 0 || f.status != SAFECOPY_SEGV || f.addr != p)
		return 1;
	return 0;
}

static int child_fork_during_init(void *arg)
{
	(void)arg;
	int listener = hold_sigbus_sigaction();
	if (listener < 0)
		return 100; /* no seccomp user notification here */
	pthread_t t;
	if (pthread_create(&t, NULL, initializer, NULL))
		return 2;
	/* Wait until the initializer is held inside safecopy_init(), then fork. */
	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	if (poll(&pfd, 1, 5000) != 1)
		return 3;
	pid_t g = fork();
	if (g == 0)
		_exit(use_after_fork());
	child_step(1);
	/* Let the initializer (and anything the grandchild holds) go on. */
	int st = 0;
	for (;;) {
		release_one(listener, 50);
		pid_t w = waitpid(g, &st, WNOHANG);
		if (w == g)
			break;
		if (w < 0)
			return 4;
	}
	/* The initializer may still be held: safecopy_init() sets each action twice (the second time
	 * with safecopy's own restorer, for the fast exit), and the grandchild's calls may have gone first.
	 */
	void *r;
	while (pthread_tryjoin_np(t, &r) == EBUSY)
		release_one(listener, 50);
	if (r != NULL)
		return 5;
	child_step(2);
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGALRM ? 20 : 21; /* 20: safecopy hung in the forked process */
	return WEXITSTATUS(st) == 0 ? 0 : 22;
}

/*
 * A process forked while another thread is inside safecopy_init() (lazy init from a worker thread
 * while the main thread forks, say) must still be able to use safecopy: pthread_once is fork-safe in
 * glibc for the same reason. Exit 20 means the forked process waited forever for an init that no
 * thread of it will ever finish.
 */
Test(init, fork_while_another_thread_initializes)
{
	expect_exit_or_skip(run_in_child(child_fork_during_init, NULL, 15));
}
