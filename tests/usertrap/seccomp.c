/*
 * The program's own seccomp filter (src/usertrap/seccomp.h): once a program installs one, usertrap
 * makes no system call of its own, since the filter may forbid any of them. Each scenario runs in a
 * child of its own (a filter cannot be removed) whose filter kills the process on every call but the
 * few the scenario makes itself: rt_sigreturn, prctl, rt_sigprocmask, openat and pwrite64 (what a
 * SIGSYS, an arming or a patch would need) all kill. The child reports by its exit status.
 */
#include <errno.h>
#include <signal.h>
#include <ucontext.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "usertrap/util.h"

static unsigned long hook_calls;

static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&hook_calls, 1, __ATOMIC_RELAXED);
	return usertrap_syscall(call);
}

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Allows getppid, getuid, getgid and exit_group (and sigaltstack); kills on everything else. */
static struct sock_filter strict[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    ALLOW(SYS_getppid),
    ALLOW(SYS_getuid),
    ALLOW(SYS_getgid),
    ALLOW(SYS_exit_group),
    ALLOW(SYS_sigaltstack), /* ASan's runtime, in the sanitizer build */
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

/* The child: a site patched before the filter, two never reached before it (getuid, getgid), the filter
 * installed through the hook (libc's syscall(): by SIGSYS or a patched site, either way the hook's). */
static void child(void)
{
	unsigned char *before = make_sites(1, SYS_getppid, false), *uid = make_sites(1, SYS_getuid, false),
	              *gid = make_sites(1, SYS_getgid, false);
	long ppid = (long)getppid();
	if (usertrap_capture_thread(true, NULL) != 0)
		_exit(10);
	/* Caught by dispatch and patched, then through the trampoline. */
	if (fn_at(before, 0)(0, 0, 0, 0) != ppid || fn_at(before, 0)(0, 0, 0, 0) != ppid)
		_exit(11);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	if (c.sites_patched < 1 || usertrap_seccomp_sealed())
		_exit(12);
	struct sock_fprog prog = {sizeof strict / sizeof strict[0], strict};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(13);
	unsigned long calls = hook_calls;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		_exit(14);
	/* From here on any system call usertrap made of its own would kill the child with SIGSYS. */
	if (!usertrap_seccomp_sealed() || hook_calls != calls + 1)
		_exit(15);
	/* The patched site still reaches the hook. */
	if (fn_at(before, 0)(0, 0, 0, 0) != ppid || hook_calls != calls + 2)
		_exit(16);
	/* A site never reached before runs uncaptured: no SIGSYS (whose handler would end in rt_sigreturn),
	 * no patch. */
	long u = fn_at(uid, 0)(0, 0, 0, 0);
	if (u < 0 || hook_calls != calls + 2)
		_exit(17);
	/* Capture cannot be resumed (arming is a prctl, answering a SIGSYS an rt_sigreturn). */
	if (usertrap_capture_all(true, NULL) != USERTRAP_ERR_STATE ||
	    usertrap_capture_thread(true, NULL) != USERTRAP_ERR_STATE)
		_exit(18);
	long g = fn_at(gid, 0)(0, 0, 0, 0);
	if (g < 0 || hook_calls != calls + 2)
		_exit(19);
	/* Nor is any site patched explicitly (that writes code through /proc/self/mem or mremap). */
	if (usertrap_patch(site_at(uid, 0), SYS_getuid, NULL) != USERTRAP_ERR_STATE)
		_exit(20);
	usertrap_get_counters(&c);
	if (fn_at(uid, 0)(0, 0, 0, 0) != u || hook_calls != calls + 2)
		_exit(21);
	_exit(0);
}

/* Runs scenario in a child of a process with lazy capture set up: it must exit 0 (a kill by the filter
 * is SIGSYS, a stack run out in a recursion SIGSEGV). */
static void in_a_child(void (*scenario)(void))
{
	lazy_init_or_skip(counting, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		scenario();
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x (SIGSYS is %d)", st, SIGSYS);
}

Test(seccomp, a_filter_seals_usertrap_and_the_program_lives)
{
	in_a_child(child);
}

/* A filter the kernel refuses (an empty program: EINVAL), through a patched site: usertrap stays as it
 * was, capture on, patching on. */
Test(seccomp, a_refused_filter_through_a_patched_site_changes_nothing)
{
	lazy_init_or_skip(counting, 0);
	unsigned char *install = make_sites(1, SYS_seccomp, false), *m = make_sites(1, SYS_getppid, false);
	cr_assert_eq(usertrap_patch(site_at(install, 0), SYS_seccomp, NULL), 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	struct sock_fprog empty = {0, NULL};
	unsigned long calls = hook_calls;
	cr_assert_eq(fn_at(install, 0)(SECCOMP_SET_MODE_FILTER, 0, (long)&empty, 0), -EINVAL);
	cr_assert_eq(hook_calls, calls + 1);
	cr_assert(!usertrap_seccomp_sealed());
	calls = hook_calls;
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), (long)getppid());
	cr_assert_eq(hook_calls, calls + 2, "the site's call and getppid() both reached the hook");
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_geq(c.sites_patched, 2, "the getppid site was patched at its first call");
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
}

/* The same call by SIGSYS runs in place (after the handler's rt_sigreturn), where usertrap does not see
 * the kernel's answer: it stays sealed, the safe side. */
Test(seccomp, a_refused_filter_by_sigsys_leaves_usertrap_sealed)
{
	lazy_init_or_skip(counting, 0);
	unsigned char *install = make_sites(1, SYS_seccomp, false);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	struct sock_fprog empty = {0, NULL};
	struct usertrap_counters before, after;
	usertrap_get_counters(&before);
	cr_assert_eq(fn_at(install, 0)(SECCOMP_SET_MODE_FILTER, 0, (long)&empty, 0), -EINVAL);
	usertrap_get_counters(&after);
	cr_assert_eq(after.in_place_calls, before.in_place_calls + 1);
	cr_assert(usertrap_seccomp_sealed());
	cr_assert_eq(usertrap_capture_thread(true, NULL), USERTRAP_ERR_STATE);
}

/* A filter that traps calls (SECCOMP_RET_TRAP) sends them to the program's SIGSYS handler, as without
 * usertrap, and here traps rt_sigprocmask too: usertrap's passing on of a SIGSYS (its mask calls) would
 * be trapped in turn, recursing until the stack ran out (SIGSEGV before the fix). After the seal SIGSYS
 * is the program's in the kernel: a handler installed then is the one that runs. */
static volatile int traps_first, traps_second;

static void trap_first(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	traps_first++;
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RAX] = si->si_code == 1 /* SYS_SECCOMP */ ? 4243 : -1;
}

static void trap_second(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	traps_second++;
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RAX] = si->si_syscall == SYS_getuid ? 4244 : -1;
}

static struct sock_filter trapping[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigprocmask, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void trapping_child(void)
{
	unsigned char *uid = make_sites(1, SYS_getuid, false);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = trap_first;
	sa.sa_flags = SA_SIGINFO;
	if (usertrap_capture_thread(true, NULL) != 0 || sigaction(SIGSYS, &sa, NULL) != 0)
		_exit(10);
	struct sock_fprog prog = {sizeof trapping / sizeof trapping[0], trapping};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		_exit(11);
	if (fn_at(uid, 0)(0, 0, 0, 0) != 4243 || traps_first != 1)
		_exit(12);
	sa.sa_sigaction = trap_second;
	struct sigaction old;
	if (sigaction(SIGSYS, &sa, &old) != 0 || old.sa_sigaction != trap_first)
		_exit(13);
	if (fn_at(uid, 0)(0, 0, 0, 0) != 4244 || traps_second != 1 || traps_first != 1)
		_exit(14);
	_exit(0);
}

Test(seccomp, a_trapping_filter_reaches_the_programs_handler)
{
	in_a_child(trapping_child);
}
