/*
 * Chaining: faults and signals that are not safecopy's reach the action that was installed before
 * safecopy_init(), exactly as the kernel would have delivered them. Every scenario runs in a fork()ed
 * child; the parent checks the exit status or the death signal, and how far the child got.
 *
 * Child exit codes: 0 = all good, anything else = the number of the failed check (see the source).
 */
#include <pthread.h>
#include <sigsegv.h>
#include <ucontext.h>

#include "harness.h"

/* ---- shared child state (each child is a fresh copy) --------------------------------------------- */

static char *fix_page;  /* the page a foreign fault hits and the previous handler repairs */
static int fix_fd = -1; /* for SIGBUS: the memfd to grow back */
static volatile sig_atomic_t prev_calls, prev_signo, prev_code, prev_sent, prev_had_uc;
static void *volatile prev_addr;
static volatile sig_atomic_t prev_mask_ok = -1;

static void prev_siginfo_fix(int sig, siginfo_t *info, void *uc)
{
	prev_calls++;
	prev_signo = sig;
	prev_code = info->si_code;
	prev_addr = info->si_addr;
	prev_had_uc = uc != NULL;
	if (info->si_code <= 0) {
		prev_sent++;
		return;
	}
	if (sig == SIGBUS)
		(void)!ftruncate(fix_fd, (off_t)pgsz());
	else
		mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static void prev_plain_fix(int sig)
{
	prev_calls++;
	prev_signo = sig;
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static char *map_prot_none_page(void)
{
	char *p = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A page of a memfd truncated to 0 bytes: any access raises SIGBUS (BUS_ADRERR). */
static char *map_sigbus_page(int *fd_out)
{
	int fd = memfd_create("chain", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)pgsz()) != 0)
		return NULL;
	char *p = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
		return NULL;
	*fd_out = fd;
	return p;
}

/*
 * The set-up of most children: the page a foreign fault hits (PROT_NONE; for SIGBUS a memfd page past
 * the end of its file) in fix_page, sig's previous action (a SA_SIGINFO handler `info`, or `plain`
 * with flags), then safecopy installed over it. Returns 0, or the step that failed (91-93).
 */
static int setup_child(int sig, void (*info)(int, siginfo_t *, void *), void (*plain)(int), int flags)
{
	fix_page = sig == SIGBUS ? map_sigbus_page(&fix_fd) : map_prot_none_page();
	if (!fix_page)
		return 91;
	if (set_action(sig, info, plain, flags) != 0)
		return 92;
	if (safecopy_init() != 0 || !safecopy_handler_active())
		return 93;
	return 0;
}

/* A safecopy fault is still converted: copying from a fresh PROT_NONE page gives 0, SEGV_ACCERR. */
static int safecopy_still_converts(void)
{
	char *bad = map_prot_none_page();
	char buf[64];
	struct safecopy_fault f;
	if (!bad)
		return 90;
	if (safecopy_memcpy(buf, bad, sizeof buf, &f) != 0)
		return 91;
	if (f.status != SAFECOPY_SEGV || f.addr != bad || f.code != SEGV_ACCERR)
		return 92;
	int fd;
	char *bus = map_sigbus_page(&fd);
	if (!bus)
		return 93;
	uint64_t v = 1;
	if (safecopy_load64((uint64_t *)bus, &v, &f) != SAFECOPY_BUS || f.addr != bus ||
	    f.code != BUS_ADRERR || v != 1)
		return 94;
	munmap(bad, pgsz());
	munmap(bus, pgsz());
	close(fd);
	return 0;
}

/* ---- previous handler SA_SIGINFO: it repairs the fault and the program goes on ------------------- */

static int child_siginfo_prev_repairs(void *arg)
{
	(void)arg;
	int r = setup_child(SIGSEGV, prev_siginfo_fix, NULL, SA_SIGINFO);
	if (r)
		return r;
	r = safecopy_still_converts();
	if (r)
		return r;
	if (prev_calls != 0)
		return 3; /* safecopy's own faults must not reach the previous handler */
	child_step(1);
	*(volatile int *)(fix_page + 8) = 1234; /* foreign fault: repaired by the previous handler */
	if (*(volatile int *)(fix_page + 8) != 1234)
		return 4;
	if (prev_calls != 1 || prev_signo != SIGSEGV || prev_code != SEGV_ACCERR ||
	    prev_addr != fix_page + 8 || !prev_had_uc)
		return 5;
	return 0;
}

Test(chaining, siginfo_previous_handler_repairs_fault)
{
	expect_exit(run_in_child(child_siginfo_prev_repairs, NULL, 10), 0);
}

static int child_siginfo_prev_sigbus(void *arg)
{
	(void)arg;
	int r = setup_child(SIGBUS, prev_siginfo_fix, NULL, SA_SIGINFO);
	if (r)
		return r;
	r = safecopy_still_converts();
	if (r)
		return r;
	child_step(1);
	int v = *(volatile int *)(fix_page + 16); /* SIGBUS, repaired by growing the file back */
	if (v != 0)
		return 4;
	if (prev_calls != 1 || prev_signo != SIGBUS || prev_code != BUS_ADRERR || prev_addr != fix_page + 16)
		return 5;
	return 0;
}

Test(chaining, siginfo_previous_sigbus_handler_repairs_fault)
{
	expect_exit(run_in_child(child_siginfo_prev_sigbus, NULL, 10), 0);
}

/* ---- previous handler plain (no SA_SIGINFO): called with the signal number ------------------------ */

static int child_plain_prev(void *arg)
{
	(void)arg;
	int r = setup_child(SIGSEGV, NULL, prev_plain_fix, 0);
	if (r)
		return r;
	r = safecopy_still_converts();
	if (r)
		return r;
	child_step(1);
	*(volatile int *)fix_page = 7;
	if (prev_calls != 1 || prev_signo != SIGSEGV || *(volatile int *)fix_page != 7)
		return 5;
	return 0;
}

Test(chaining, plain_previous_handler)
{
	expect_exit(run_in_child(child_plain_prev, NULL, 10), 0);
}

/* ---- previous SIG_DFL: a foreign fault kills with the original signal ----------------------------- */

/*
 * A real fault outside safecopy (SIGSEGV: a PROT_NONE page; SIGBUS: a memfd page past the end of its
 * file) with `action` (SIG_DFL or SIG_IGN) in place before safecopy: the kernel's default action must
 * win, so the child dies by the signal after step 1, with safecopy still converting its own faults.
 */
struct real_fault {
	int sig;
	void (*action)(int);
};

static int child_real_fault(void *arg)
{
	const struct real_fault *rf = arg;
	int r = setup_child(rf->sig, NULL, rf->action, 0);
	if (r)
		return r;
	r = safecopy_still_converts();
	if (r)
		return r;
	child_step(1);
	(void)*(volatile int *)fix_page;
	child_step(2);
	return 0;
}

Test(chaining, sig_dfl_foreign_fault_dies_by_sigsegv)
{
	struct real_fault rf = {SIGSEGV, SIG_DFL};
	expect_signal(run_in_child(child_real_fault, &rf, 10), SIGSEGV, 1);
}

Test(chaining, sig_dfl_foreign_truncated_memfd_dies_by_sigbus)
{
	struct real_fault rf = {SIGBUS, SIG_DFL};
	expect_signal(run_in_child(child_real_fault, &rf, 10), SIGBUS, 1);
}

/* A sent SIGSEGV / SIGBUS with SIG_DFL before safecopy: the process dies by it (it is re-sent). */
static int child_dfl_sent(void *arg)
{
	int sig = (int)(intptr_t)arg;
	if (set_action(sig, NULL, SIG_DFL, 0) || safecopy_init() != 0)
		return 1;
	child_step(1);
	kill(getpid(), sig);
	child_step(2);
	return 0;
}

Test(chaining, sig_dfl_sent_sigsegv_kills)
{
	expect_signal(run_in_child(child_dfl_sent, (void *)(intptr_t)SIGSEGV, 10), SIGSEGV, 1);
}

Test(chaining, sig_dfl_sent_sigbus_kills)
{
	expect_signal(run_in_child(child_dfl_sent, (void *)(intptr_t)SIGBUS, 10), SIGBUS, 1);
}

/* ---- previous SIG_IGN: a real fault still kills; a sent signal is ignored ------------------------- */

Test(chaining, sig_ign_real_fault_still_dies_by_sigsegv)
{
	struct real_fault rf = {SIGSEGV, SIG_IGN};
	expect_signal(run_in_child(child_real_fault, &rf, 10), SIGSEGV, 1);
}

Test(chaining, sig_ign_real_sigbus_still_dies_by_sigbus)
{
	struct real_fault rf = {SIGBUS, SIG_IGN};
	expect_signal(run_in_child(child_real_fault, &rf, 10), SIGBUS, 1);
}

static int child_ign_sent(void *arg)
{
	(void)arg;
	if (set_action(SIGSEGV, NULL, SIG_IGN, 0) || set_action(SIGBUS, NULL, SIG_IGN, 0) ||
	    safecopy_init() != 0)
		return 1;
	child_step(1);
	kill(getpid(), SIGSEGV);
	raise(SIGSEGV);
	syscall(SYS_tgkill, getpid(), gettid_(), SIGSEGV);
	union sigval sv = {.sival_int = 5};
	sigqueue(getpid(), SIGSEGV, sv);
	kill(getpid(), SIGBUS);
	child_step(2);
	int r = safecopy_still_converts();
	if (r)
		return r;
	return 0;
}

Test(chaining, sig_ign_sent_signals_are_ignored)
{
	expect_exit(run_in_child(child_ign_sent, NULL, 10), 0);
	cr_assert_eq(child_progress(), 2);
}

/* ---- libsigsegv installed before safecopy ------------------------------------------------------- */

static volatile sig_atomic_t lss_calls;
static void *volatile lss_addr;

static int lss_handler(void *fault_address, int serious)
{
	(void)serious;
	lss_calls++;
	lss_addr = fault_address;
	if ((char *)fault_address >= fix_page && (char *)fault_address < fix_page + pgsz()) {
		mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
		return 1;
	}
	return 0; /* declined: libsigsegv resets SIGSEGV to SIG_DFL and the fault kills */
}

static int child_libsigsegv_first(void *arg)
{
	bool decline = arg != NULL;
	fix_page = map_prot_none_page();
	char *other = map_prot_none_page();
	if (!fix_page || !other)
		return 1;
	if (sigsegv_install_handler(lss_handler) != 0)
		return 2;
	if (safecopy_init() != 0 || !safecopy_handler_active())
		return 3;
	int r = safecopy_still_converts();
	if (r)
		return r;
	if (lss_calls != 0)
		return 4; /* safecopy's faults never reach libsigsegv */
	child_step(1);
	*(volatile int *)(fix_page + 100) = 5; /* handled by libsigsegv's user handler */
	if (lss_calls != 1 || lss_addr != fix_page + 100 || *(volatile int *)(fix_page + 100) != 5)
		return 5;
	child_step(2);
	if (decline)
		*(volatile int *)other = 1; /* declined: dies by SIGSEGV */
	child_step(3);
	return 0;
}

Test(chaining, libsigsegv_before_safecopy)
{
	expect_exit(run_in_child(child_libsigsegv_first, NULL, 10), 0);
	cr_assert_eq(child_progress(), 3);
}

Test(chaining, libsigsegv_before_safecopy_declined_fault_dies)
{
	expect_signal(run_in_child(child_libsigsegv_first, (void *)1, 10), SIGSEGV, 2);
}

/* libsigsegv installed after safecopy silently replaces it: safecopy_handler_active() says so. */
static int child_libsigsegv_after(void *arg)
{
	(void)arg;
	if (safecopy_init() != 0 || !safecopy_handler_active())
		return 1;
	if (sigsegv_install_handler(lss_handler) != 0)
		return 2;
	if (safecopy_handler_active())
		return 3;
	return 0;
}

Test(chaining, libsigsegv_after_safecopy_is_detected)
{
	expect_exit(run_in_child(child_libsigsegv_after, NULL, 10), 0);
}

/* ---- a sent SIGSEGV while a thread is inside a long safecopy routine --------------------------- */

#define LONG_COPY (32u << 20)

static volatile sig_atomic_t sent_seen, sent_in_rep_movsb, sent_in_rep_stosb, real_seen;
static volatile int copier_tid;
static volatile int copier_stop, copier_failures, copier_rounds;

static void prev_count_sent(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	if (info->si_code > 0) {
		real_seen++;
		return;
	}
	if (info->si_code == SI_TKILL)
		sent_seen++;
	/* Delivered in the middle of `rep movsb` (f3 a4) or `rep stosb` (f3 aa)? It is then resumed. */
	const unsigned char *ip = (const unsigned char *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	if (ip[0] == 0xf3 && ip[1] == 0xa4)
		sent_in_rep_movsb++;
	if (ip[0] == 0xf3 && ip[1] == 0xaa)
		sent_in_rep_stosb++;
}

static void *long_copier(void *arg)
{
	char **bufs = arg;
	copier_tid = gettid_();
	while (!copier_stop) {
		struct safecopy_fault f;
		size_t got = safecopy_memcpy(bufs[1], bufs[0], LONG_COPY, &f);
		if (got != LONG_COPY || f.status != SAFECOPY_OK || memcmp(bufs[1], bufs[0], LONG_COPY) != 0)
			copier_failures++;
		/* And a long memset (rep stosb) over bufs[2]. */
		char c = (char)(0x20 + copier_rounds % 64);
		got = safecopy_memset(bufs[2], c, LONG_COPY, &f);
		if (got != LONG_COPY || f.status != SAFECOPY_OK || bufs[2][0] != c ||
		    bufs[2][LONG_COPY - 1] != c || bufs[2][copier_rounds * 4099 % LONG_COPY] != c)
			copier_failures++;
		bufs[1][copier_rounds % LONG_COPY] ^= 1; /* the next round must really copy again */
		copier_rounds++;
	}
	return NULL;
}

enum sent_mode { SENT_TO_HANDLER, SENT_DFL, SENT_IGN };

static int child_sent_during_copy(void *arg)
{
	enum sent_mode mode = (enum sent_mode)(intptr_t)arg;
	char *bufs[3];
	for (int i = 0; i < 3; i++) {
		bufs[i] = mmap(NULL, LONG_COPY, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bufs[i] == MAP_FAILED)
			return 1;
	}
	for (size_t i = 0; i < LONG_COPY; i += 64)
		bufs[0][i] = (char)pat(i / 64);
	if (mode == SENT_DFL   ? set_action(SIGSEGV, NULL, SIG_DFL, 0)
	    : mode == SENT_IGN ? set_action(SIGSEGV, NULL, SIG_IGN, 0)
	                       : set_action(SIGSEGV, prev_count_sent, NULL, SA_SIGINFO))
		return 2;
	if (safecopy_init() != 0)
		return 3;
	pthread_t t;
	if (pthread_create(&t, NULL, long_copier, bufs) != 0)
		return 4;
	while (!copier_tid)
		sched_yield();
	child_step(1);
	/* One signal at a time: wait for each to be handled so none merge while pending. At least 100,
	 * and on until both a copy and a memset were interrupted in their rep: under ASan the copier
	 * spends most of its round in the intercepted memcmp, and 100 signals can all miss the short
	 * rep stosb. */
	for (int i = 0; i < 100 || (mode == SENT_TO_HANDLER && i < 5000 &&
	                            (sent_in_rep_movsb == 0 || sent_in_rep_stosb == 0));
	     i++) {
		usleep(300);
		syscall(SYS_tgkill, getpid(), copier_tid, SIGSEGV);
		while (mode == SENT_TO_HANDLER && sent_seen != i + 1)
			sched_yield();
	}
	child_step(2);
	copier_stop = 1;
	pthread_join(t, NULL);
	if (copier_failures)
		return 10;
	if (copier_rounds == 0)
		return 13;
	if (mode == SENT_IGN)
		return 0;
	if (real_seen)
		return 11;
	if (sent_in_rep_movsb == 0 || sent_in_rep_stosb == 0)
		return 12; /* never interrupted a copy or memset in progress: the test proved nothing */
	return 0;
}

Test(chaining, sent_sigsegv_during_copy_is_chained_not_converted)
{
	expect_exit(run_in_child(child_sent_during_copy, (void *)(intptr_t)SENT_TO_HANDLER, 30), 0);
	cr_assert_eq(child_progress(), 2);
}

Test(chaining, sent_sigsegv_during_copy_with_sig_dfl_kills)
{
	expect_signal(run_in_child(child_sent_during_copy, (void *)(intptr_t)SENT_DFL, 30), SIGSEGV, 1);
}

Test(chaining, sent_sigsegv_during_copy_with_sig_ign_is_ignored)
{
	expect_exit(run_in_child(child_sent_during_copy, (void *)(intptr_t)SENT_IGN, 30), 0);
	cr_assert_eq(child_progress(), 2);
}

/* ---- the previous handler's flags and mask ------------------------------------------------------ */

static void prev_check_mask(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	/* sa_mask had SIGUSR1; no SA_NODEFER, so SIGSEGV itself is blocked too; SIGUSR2 is not. */
	prev_mask_ok = sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGSEGV) == 1 &&
	               sigismember(&cur, SIGUSR2) == 0;
	prev_siginfo_fix(sig, info, uc);
}

static int child_prev_mask(void *arg)
{
	(void)arg;
	fix_page = map_prot_none_page();
	if (!fix_page || set_action_masked(SIGSEGV, prev_check_mask, NULL, SA_SIGINFO, SIGUSR1) != 0 ||
	    safecopy_init() != 0)
		return 1;
	*(volatile char *)fix_page = 1;
	if (prev_calls != 1)
		return 2;
	if (prev_mask_ok != 1)
		return 3;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (sigismember(&cur, SIGUSR1) || sigismember(&cur, SIGSEGV))
		return 4; /* the mask must be back */
	return 0;
}

Test(chaining, previous_handler_runs_under_its_sa_mask)
{
	expect_exit(run_in_child(child_prev_mask, NULL, 10), 0);
}

/* SA_RESETHAND: the first foreign fault reaches the handler, the second finds SIG_DFL. */
static int child_resethand(void *arg)
{
	(void)arg;
	char *second = map_prot_none_page();
	int r = setup_child(SIGSEGV, prev_siginfo_fix, NULL, SA_SIGINFO | SA_RESETHAND);
	if (r || !second)
		return r ? r : 1;
	*(volatile char *)fix_page = 1;
	if (prev_calls != 1)
		return 3;
	/* safecopy itself keeps working. */
	r = safecopy_still_converts();
	if (r)
		return r;
	child_step(1);
	*(volatile char *)second = 1;
	child_step(2);
	return 0;
}

Test(chaining, sa_resethand_previous_handler_is_one_shot)
{
	expect_signal(run_in_child(child_resethand, NULL, 10), SIGSEGV, 1);
}

/*
 * The crash-reporter pattern: a handler installed before safecopy the common way (no SA_NODEFER)
 * reads memory with safecopy while handling a real crash. It runs with SIGSEGV blocked, as the kernel
 * would run it, yet safecopy's own faults inside it are caught (more in reporter.c).
 */
static void prev_uses_safecopy(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	char buf[16];
	struct safecopy_fault f;
	child_step(2);
	if (safecopy_memcpy(buf, fix_page + pgsz(), sizeof buf, &f) != 0 || f.addr != fix_page + pgsz() ||
	    f.code != SEGV_MAPERR)
		return; /* leaves the fault unrepaired: the child dies at step 2 */
	child_step(3);
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static int child_reporter_reads(void *arg)
{
	(void)arg;
	fix_page = mmap(NULL, 2 * pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || munmap(fix_page + pgsz(), pgsz()) != 0)
		return 1;
	if (set_action(SIGSEGV, prev_uses_safecopy, NULL, SA_SIGINFO) || safecopy_init() != 0)
		return 2;
	child_step(1);
	*(volatile char *)fix_page = 1;
	child_step(4);
	return 0;
}

Test(chaining, safecopy_works_inside_a_previous_handler_without_sa_nodefer)
{
	expect_exit(run_in_child(child_reporter_reads, NULL, 10), 0);
	cr_assert_eq(child_progress(), 4);
}

/* ---- safecopy_handler_active() ------------------------------------------------------------------ */

static void other_handler(int sig)
{
	(void)sig;
}

Test(chaining, handler_active_tracks_replacement)
{
	/* Each Criterion test is a fresh process: nothing is installed yet. */
	cr_assert_not(safecopy_handler_active());
	cr_assert_eq(safecopy_init(), 0);
	cr_assert(safecopy_handler_active());
	cr_assert_eq(safecopy_init(), 0, "init is idempotent");
	cr_assert(safecopy_handler_active());

	struct sigaction mine, saved;
	memset(&mine, 0, sizeof mine);
	mine.sa_handler = other_handler;
	sigemptyset(&mine.sa_mask);
	cr_assert_eq(sigaction(SIGSEGV, &mine, &saved), 0);
	cr_assert_not(safecopy_handler_active(), "SIGSEGV replaced");
	cr_assert_eq(sigaction(SIGSEGV, &saved, NULL), 0);
	cr_assert(safecopy_handler_active(), "SIGSEGV restored");

	cr_assert_eq(sigaction(SIGBUS, &mine, &saved), 0);
	cr_assert_not(safecopy_handler_active(), "SIGBUS replaced");
	cr_assert_eq(sigaction(SIGBUS, &saved, NULL), 0);
	cr_assert(safecopy_handler_active(), "SIGBUS restored");

	/* The installed action is the documented one. */
	struct sigaction cur;
	cr_assert_eq(sigaction(SIGSEGV, NULL, &cur), 0);
	int want = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	cr_assert_eq(cur.sa_flags & want, want, "sa_flags %#x", cur.sa_flags);
	cr_assert_eq(sigaction(SIGBUS, NULL, &cur), 0);
	cr_assert_eq(cur.sa_flags & want, want, "sa_flags %#x", cur.sa_flags);
}

Test(chaining, first_use_installs_the_handler)
{
	cr_assert_not(safecopy_handler_active());
	uint32_t v = 0, out;
	cr_assert_eq(safecopy_load32(&v, &out, NULL), SAFECOPY_OK);
	cr_assert(safecopy_handler_active(), "lazy init on first use");
}

Test(chaining, misaligned_or_empty_calls_need_no_handler)
{
	/* Calls that make no access may or may not install; they must work either way. */
	uint64_t v[2] = {0, 0}, out = 9;
	cr_assert_eq(safecopy_load64((uint64_t *)((char *)v + 4), &out, NULL), SAFECOPY_ALIGN);
	cr_assert_eq(safecopy_memcpy(NULL, NULL, 0, NULL), 0);
	cr_assert_eq(out, 9);
}

/*
 * ---- errno: safecopy leaves it alone ----
 * A caught fault does not change it. A chained handler's errno is its own business, as it is when the
 * kernel calls it directly: what it leaves behind is what the program sees, no more, no less.
 */

static void prev_clobbers_errno(int sig, siginfo_t *info, void *uc)
{
	errno = EBADF;
	(void)!write(-1, "", 0); /* a failing syscall inside the handler */
	prev_siginfo_fix(sig, info, uc);
}

static void prev_keeps_errno(int sig, siginfo_t *info, void *uc)
{
	prev_siginfo_fix(sig, info, uc); /* mprotect succeeds: errno untouched */
}

static int child_errno(void *arg)
{
	bool clobber = arg != NULL;
	int r = setup_child(SIGSEGV, clobber ? prev_clobbers_errno : prev_keeps_errno, NULL, SA_SIGINFO);
	if (r)
		return r;
	char *bad = map_prot_none_page();
	char buf[32];
	errno = 4242;
	if (safecopy_memcpy(buf, bad, sizeof buf, NULL) != 0)
		return 2;
	if (errno != 4242)
		return 3;
	errno = 4343;
	*(volatile char *)fix_page = 1; /* chained */
	if (prev_calls != 1)
		return 4;
	if (errno != (clobber ? EBADF : 4343))
		return 5;
	return 0;
}

Test(chaining, errno_untouched_by_a_caught_fault_and_by_chaining)
{
	expect_exit(run_in_child(child_errno, NULL, 10), 0);
}

Test(chaining, errno_left_by_a_chained_handler_reaches_the_program)
{
	expect_exit(run_in_child(child_errno, (void *)1, 10), 0);
}

/* ---- safecopy_handle_signal(): for programs that own the handler -------------------------------- */

static volatile sig_atomic_t own_handled, own_foreign;

static void owning_handler(int sig, siginfo_t *info, void *uc)
{
	if (safecopy_handle_signal(sig, info, uc)) {
		own_handled++;
		return;
	}
	own_foreign++;
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static int child_owner(void *arg)
{
	(void)arg;
	fix_page = map_prot_none_page();
	if (!fix_page || safecopy_init() != 0)
		return 1;
	/* The program takes SIGSEGV and SIGBUS over after init, and forwards through handle_signal. */
	if (set_action(SIGSEGV, owning_handler, NULL, SA_SIGINFO | SA_NODEFER) ||
	    set_action(SIGBUS, owning_handler, NULL, SA_SIGINFO | SA_NODEFER))
		return 2;
	if (safecopy_handler_active())
		return 3;
	int r = safecopy_still_converts();
	if (r)
		return r;
	if (own_handled != 2 || own_foreign != 0)
		return 4;
	*(volatile char *)fix_page = 1;
	if (own_foreign != 1 || own_handled != 2)
		return 5;
	return 0;
}

Test(chaining, owning_program_forwards_with_handle_signal)
{
	expect_exit(run_in_child(child_owner, NULL, 10), 0);
}

/* handle_signal declines (and changes nothing) for anything that is not its own kernel fault. */
Test(chaining, handle_signal_declines_foreign)
{
	ucontext_t uc, before;
	cr_assert_eq(getcontext(&uc), 0);
	memcpy(&before, &uc, sizeof uc);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = SIGSEGV;
	info.si_code = SEGV_MAPERR;
	info.si_addr = (void *)0x1000;
	/* A kernel fault, but the PC is in this test, not in a routine. */
	cr_assert_not(safecopy_handle_signal(SIGSEGV, &info, &uc));
	cr_assert_not(safecopy_handle_signal(SIGBUS, &info, &uc));
	info.si_code = SI_USER;
	cr_assert_not(safecopy_handle_signal(SIGSEGV, &info, &uc));
	info.si_code = SI_TKILL;
	cr_assert_not(safecopy_handle_signal(SIGSEGV, &info, &uc));
	info.si_code = SEGV_MAPERR;
	cr_assert_not(safecopy_handle_signal(SIGUSR1, &info, &uc));
	cr_assert_not(safecopy_handle_signal(SIGSEGV, NULL, &uc));
	cr_assert_not(safecopy_handle_signal(SIGSEGV, &info, NULL));
	cr_assert(memcmp(&before.uc_mcontext.gregs, &uc.uc_mcontext.gregs, sizeof uc.uc_mcontext.gregs) == 0,
	          "the context was changed");
}

/* ---- the previous handler gets the real ucontext: its changes take effect ----------------------- */

static volatile sig_atomic_t skip_calls;

/* Emulates the faulting 2-byte `mov eax, [rdi]` (8b 07): result 0x5a5a, RIP past it. */
static void prev_skip_insn(int sig, siginfo_t *info, void *ucv)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = ucv;
	const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
	if (ip[0] == 0x8b && ip[1] == 0x07) {
		skip_calls++;
		uc->uc_mcontext.gregs[REG_RIP] += 2;
		uc->uc_mcontext.gregs[REG_RAX] = 0x5a5a;
	}
}

static int load_via_rdi(const void *p)
{
	int v;
	__asm__ volatile("mov $0x1111, %%eax\n\tmovl (%%rdi), %%eax" : "=&a"(v) : "D"(p) : "memory");
	return v;
}

static int child_prev_edits_context(void *arg)
{
	(void)arg;
	char *p = map_prot_none_page();
	if (!p || set_action(SIGSEGV, prev_skip_insn, NULL, SA_SIGINFO) || safecopy_init() != 0)
		return 1;
	child_step(1);
	int v = load_via_rdi(p);
	if (skip_calls != 1)
		return 2;
	if (v != 0x5a5a)
		return 3;
	int r = safecopy_still_converts();
	if (r)
		return r;
	return 0;
}

Test(chaining, previous_handler_can_edit_the_context)
{
	expect_exit(run_in_child(child_prev_edits_context, NULL, 10), 0);
}

/* ---- a stack overflow reaches the previous handler on the alternate stack ----------------------- */

#include <setjmp.h>

static sigjmp_buf overflow_env;
static volatile sig_atomic_t overflow_calls;
static char *overflow_alt_lo, *overflow_alt_hi;
static volatile sig_atomic_t overflow_on_alt;

static void prev_overflow(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	char here;
	overflow_calls++;
	overflow_on_alt = &here >= overflow_alt_lo && &here < overflow_alt_hi;
	siglongjmp(overflow_env, 1);
}

static volatile int recurse_limit = 1 << 30;

__attribute__((noinline)) static int recurse(volatile char *prev, int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	frame[511] = prev ? prev[0] : 0;
	if (depth >= recurse_limit)
		return 0;
	return recurse(frame, depth + 1) + frame[7];
}

static int child_stack_overflow(void *arg)
{
	bool dfl = arg != NULL;
	size_t size = 256 * 1024;
	char *alt = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		return 1;
	overflow_alt_lo = alt;
	overflow_alt_hi = alt + size;
	stack_t ss = {.ss_sp = alt, .ss_size = size};
	if (sigaltstack(&ss, NULL))
		return 2;
	/* Keep the overflow quick: a 1 MiB stack. */
	struct rlimit rl = {1 << 20, 1 << 20};
	setrlimit(RLIMIT_STACK, &rl);
	if (dfl ? set_action(SIGSEGV, NULL, SIG_DFL, 0)
	        : set_action(SIGSEGV, prev_overflow, NULL, SA_SIGINFO | SA_ONSTACK))
		return 3;
	if (safecopy_init() != 0)
		return 4;
	child_step(1);
	if (sigsetjmp(overflow_env, 1) == 0) {
		recurse(NULL, 0);
		return 5;
	}
	child_step(2);
	if (overflow_calls != 1 || !overflow_on_alt)
		return 6;
	int r = safecopy_still_converts();
	if (r)
		return r;
	return 0;
}

Test(chaining, stack_overflow_reaches_previous_handler)
{
	expect_exit(run_in_child(child_stack_overflow, NULL, 20), 0);
}

Test(chaining, stack_overflow_with_sig_dfl_dies_by_sigsegv)
{
	expect_signal(run_in_child(child_stack_overflow, (void *)1, 20), SIGSEGV, 1);
}

/* ---- libsigsegv's stack-overflow handler, installed before safecopy, still works --------------- */

static sigjmp_buf lss_overflow_env;
static volatile sig_atomic_t lss_overflow_calls;

static void lss_overflow_continue(void *a, void *b, void *c)
{
	(void)a;
	(void)b;
	(void)c;
	siglongjmp(lss_overflow_env, 1);
}

static void lss_overflow_handler(int emergency, stackoverflow_context_t scp)
{
	(void)emergency;
	(void)scp;
	lss_overflow_calls++;
	sigsegv_leave_handler(lss_overflow_continue, NULL, NULL, NULL);
}

static int child_libsigsegv_stack_overflow(void *arg)
{
	(void)arg;
	static char extra_stack[256 * 1024];
	struct rlimit rl = {1 << 20, 1 << 20};
	setrlimit(RLIMIT_STACK, &rl);
	if (stackoverflow_install_handler(lss_overflow_handler, extra_stack, sizeof extra_stack) != 0)
		return 1;
	if (safecopy_init() != 0 || !safecopy_handler_active())
		return 2;
	int r = safecopy_still_converts();
	if (r)
		return r;
	child_step(1);
	if (sigsetjmp(lss_overflow_env, 1) == 0) {
		recurse(NULL, 0);
		return 3;
	}
	child_step(2);
	if (lss_overflow_calls != 1)
		return 4;
	/* Both still work afterwards. */
	r = safecopy_still_converts();
	if (r)
		return r;
	return 0;
}

Test(chaining, libsigsegv_stack_overflow_handler_before_safecopy)
{
	expect_exit(run_in_child(child_libsigsegv_stack_overflow, NULL, 20), 0);
	cr_assert_eq(child_progress(), 2);
}
