/*
 * First hits made cheap: /proc/self/maps read once for many sites, writes through /proc/self/mem (the
 * page keeps its file mapping) or, when forced writes are refused, page swaps that still patch right;
 * a thread meeting a site mid-patch sleeps until the patch is done and then takes the jump; a forked
 * child's counters start at zero.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "usertrap/util.h"

extern unsigned long ut_maps_reads(void);

static uint64_t hook_runs;

static long triple(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&hook_runs, 1, __ATOMIC_RELAXED);
	return call->nr == NR_FAKE ? call->args[0] * 3 + 1 : usertrap_syscall(call);
}

#define SITES 40

/* SITES sites called twice each under lazy capture: the first call patches, the second jumps. */
static void call_each_twice(unsigned char *m)
{
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < SITES; i++)
			cr_assert_eq(fn_at(m, (size_t)i)(i, 0, 0, 0), i * 3 + 1);
}

static void assert_all_patched(unsigned char *m, const struct usertrap_counters *c)
{
	for (int i = 0; i < SITES; i++)
		cr_assert_eq(((unsigned char *)site_at(m, (size_t)i))[0], 0xff, "site %d patched", i);
	cr_assert_eq(c->patches, SITES);
	cr_assert_eq(c->trampoline_calls, SITES);
	cr_assert_eq(c->sigsys_calls, SITES);
}

Test(firsthit, maps_read_once_for_many_sites)
{
	unsigned char *m = make_sites(SITES, NR_FAKE, false);
	lazy_init_or_skip(triple, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	unsigned long before = ut_maps_reads();
	call_each_twice(m);
	unsigned long reads = ut_maps_reads() - before;
	usertrap_capture_thread(false, NULL);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	assert_all_patched(m, &c);
	cr_assert_leq(reads, 1, "/proc/self/maps read %lu times for %d sites in one mapping", reads, SITES);
}

/* The page swap, as on a kernel that refuses forced writes: the same result. */
Test(firsthit, page_swap_when_proc_mem_is_refused)
{
	unsigned char *m = make_sites(SITES, NR_FAKE, false);
	ut_test_no_proc_mem = true;
	lazy_init_or_skip(triple, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	call_each_twice(m);
	usertrap_capture_thread(false, NULL);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	assert_all_patched(m, &c);
	cr_assert_eq(hook_runs, 2 * SITES);
}

/* Sites in a file mapped privately, patched explicitly; returns the maps line of their page. */
static void patched_file_page(char *line, size_t n)
{
	char path[] = "/tmp/usertrap-firsthit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unsigned char page[4096];
	memset(page, 0xcc, sizeof page);
	write_site(page, NR_FAKE);
	cr_assert_eq(write(fd, page, sizeof page), (ssize_t)sizeof page);
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	cr_assert(m != MAP_FAILED);
	close(fd);
	struct usertrap_config cfg = {.hook = triple};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	cr_assert_eq(fn_at(m, 0)(5, 0, 0, 0), 16);
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert(f);
	line[0] = 0;
	while (fgets(line, (int)n, f))
		if (strtoul(line, NULL, 16) <= (uintptr_t)m && strchr(line, '-') &&
		    strtoul(strchr(line, '-') + 1, NULL, 16) > (uintptr_t)m)
			break;
	fclose(f);
	unlink(path);
}

Test(firsthit, proc_mem_write_keeps_the_file_mapping)
{
	char line[512];
	patched_file_page(line, sizeof line);
	cr_assert(strstr(line, "usertrap-firsthit-"), "the patched page still names its file: %s", line);
	cr_assert(strstr(line, " r-xp "), "%s", line);
}

Test(firsthit, page_swap_makes_the_page_anonymous)
{
	ut_test_no_proc_mem = true;
	char line[512];
	patched_file_page(line, sizeof line);
	cr_assert_null(strstr(line, "usertrap-firsthit-"), "swapped in an anonymous copy: %s", line);
	cr_assert(strstr(line, " r-xp "), "%s", line);
}

/* A thread that meets a site while it is being patched sleeps, not spins (one SIGILL, not one per
 * retry), and once the patch is done runs the patched site: its call goes through the trampoline. */
static site_fn mid_fn;
static volatile long mid_result;
static volatile int mid_tid, mid_started;

static void *call_mid_patch(void *arg)
{
	(void)arg;
	mid_tid = (int)syscall(SYS_gettid);
	__atomic_store_n(&mid_started, 1, __ATOMIC_SEQ_CST);
	mid_result = mid_fn(7, 0, 0, 0);
	return NULL;
}

static char thread_state(int tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static pthread_t mid_thread;
static uint64_t restarts_while_paused;
static char state_while_paused;

static void start_caller_at_step_two(uintptr_t site, int step, void *arg)
{
	(void)site;
	(void)arg;
	if (step != 2) /* the guard is now at +0 and at +5 */
		return;
	cr_assert_eq(pthread_create(&mid_thread, NULL, call_mid_patch, NULL), 0);
	while (!__atomic_load_n(&mid_started, __ATOMIC_SEQ_CST))
		sched_yield();
	struct timespec ts = {0, 2 * 1000 * 1000};
	for (int i = 0; i < 1000; i++) { /* up to 2 s for it to reach the guard and sleep */
		struct usertrap_counters c;
		usertrap_get_counters(&c);
		if (thread_state(mid_tid) == 'S')
			break;
		nanosleep(&ts, NULL);
	}
	struct timespec settle = {0, 100 * 1000 * 1000};
	nanosleep(&settle, NULL);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	restarts_while_paused = c.sigill_restarts;
	state_while_paused = thread_state(mid_tid);
}

/* usertrap_init with `triple`, then one NR_FAKE site (its function into *fn) patched explicitly with
 * `step` as the patcher's step hook. */
static void patch_one_site_with(void (*step)(uintptr_t, int, void *), site_fn *fn)
{
	struct usertrap_config cfg = {.hook = triple};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	unsigned char *m = make_sites(1, NR_FAKE, false);
	*fn = fn_at(m, 0);
	ut_test_step_hook = step;
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	ut_test_step_hook = NULL;
}

Test(firsthit, thread_meeting_a_site_mid_patch_sleeps_then_takes_the_jump, .timeout = 30)
{
	patch_one_site_with(start_caller_at_step_two, &mid_fn);
	pthread_join(mid_thread, NULL);
	cr_assert_eq(state_while_paused, 'S', "the caller slept while the patch was paused");
	cr_assert_eq(restarts_while_paused, 0, "asleep inside its first SIGILL, not restarted (%llu)",
	             (unsigned long long)restarts_while_paused);
	cr_assert_eq(mid_result, 22);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(hook_runs, 1, "the call reached the hook once");
	cr_assert_eq(c.trampoline_calls, 1, "through the patched site");
	cr_assert_eq(c.sigill_calls, 0, "not served by the SIGILL handler");
	cr_assert_eq(c.sigill_restarts, 1);
}

/* A forked child's counters start at zero (the state, sites patched, stays); a hook that resets its
 * own count the same way finds trampoline + sigsys + sigill equal to it in the child too. */
static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&hook_runs, 1, __ATOMIC_RELAXED);
	long r = call->nr == NR_FAKE ? call->args[0] * 3 + 1 : usertrap_syscall(call);
	if (r == 0 && !(call->flags & USERTRAP_CALL_IN_PLACE) &&
	    (call->nr == SYS_fork || call->nr == SYS_clone || call->nr == SYS_clone3))
		hook_runs = 0;
	return r;
}

static int child_checks(const struct usertrap_counters *parent)
{
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	if (c.sites_patched != parent->sites_patched)
		return 10;
	if (c.trampoline_calls >= 100 || c.patches >= parent->patches)
		return 11; /* the parent's 100 jumps and its patches are not the child's */
	if (c.trampoline_calls + c.sigsys_calls + c.sigill_calls != hook_runs)
		return 12;
	return 0;
}

Test(firsthit, forked_child_counts_from_zero)
{
	unsigned char *m = make_sites(1, NR_FAKE, false);
	lazy_init_or_skip(counting, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	for (int i = 0; i < 101; i++)
		cr_assert_eq(fn_at(m, 0)(i, 0, 0, 0), i * 3 + 1);
	cr_assert_eq(getppid(), getppid());
	struct usertrap_counters parent;
	usertrap_get_counters(&parent);
	cr_assert_geq(parent.trampoline_calls, 100);
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_checks(&parent));
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	usertrap_capture_thread(false, NULL);
	cr_assert(WIFEXITED(status), "child status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed", WEXITSTATUS(status));
	struct usertrap_counters after;
	usertrap_get_counters(&after);
	cr_assert_geq(after.trampoline_calls, parent.trampoline_calls, "the parent's counts stay");
}

/* The patching thread itself runs the site between two of its writes (as a handler of its own could):
 * waiting for the lock would never end, so the SIGILL handler makes the call through the hook. */
static long own_result;

static void call_own_site(uintptr_t site, int step, void *arg)
{
	(void)arg;
	if (step == 2) /* the guard at +0 and +5 */
		own_result = ((site_fn)(site - SITE_OFFSET))(9, 0, 0, 0);
}

Test(firsthit, patcher_meeting_its_own_site_mid_patch_is_served, .timeout = 30)
{
	struct usertrap_config cfg = {.hook = triple};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	unsigned char *m = make_sites(1, NR_FAKE, false);
	ut_test_step_hook = call_own_site;
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	ut_test_step_hook = NULL;
	cr_assert_eq(own_result, 28);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sigill_calls, 1, "served by the SIGILL handler");
	cr_assert_eq(c.sigill_restarts, 1);
	cr_assert_eq(hook_runs, 1);
	cr_assert_eq(fn_at(m, 0)(1, 0, 0, 0), 4, "and the patch was finished");
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 1);
}

/* A site patched by another thread between a thread's syscall there and its SIGSYS handler's look
 * at it: the handler finds the patch done and counts no failure (eight Python threads met this
 * about once in a hundred runs, and the site was refused besides). */
static uintptr_t raced_insn;
static int raced_state; /* 1: the caller's handler waits; 2: the site is patched */
static long raced_result;

static void patch_meanwhile(uintptr_t insn)
{
	if (insn != raced_insn)
		return;
	__atomic_store_n(&raced_state, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&raced_state, __ATOMIC_SEQ_CST) != 2)
		__builtin_ia32_pause(); /* no system call: this thread is captured */
}

static void *call_raced_site(void *fn)
{
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	raced_result = ((site_fn)fn)(5, 0, 0, 0);
	usertrap_capture_thread(false, NULL);
	return NULL;
}

Test(firsthit, site_patched_by_another_thread_before_the_handler_looks, .timeout = 30)
{
	unsigned char *m = make_sites(1, NR_FAKE, false);
	raced_insn = (uintptr_t)site_at(m, 0) + 5;
	lazy_init_or_skip(triple, 0);
	ut_test_first_hit_hook = patch_meanwhile;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, call_raced_site, (void *)fn_at(m, 0)), 0);
	while (__atomic_load_n(&raced_state, __ATOMIC_SEQ_CST) != 1)
		sched_yield();
	struct usertrap_error err;
	int r = usertrap_patch(site_at(m, 0), NR_FAKE, &err);
	__atomic_store_n(&raced_state, 2, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	ut_test_first_hit_hook = NULL;
	cr_assert_eq(r, 0, "patch: %s", usertrap_status_name(r));
	cr_assert_eq(raced_result, 16);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patch_failures, 0, "the patched site is no failure");
	cr_assert_eq(c.sigsys_calls, 1);
	cr_assert_eq(((unsigned char *)site_at(m, 0))[0], 0xff, "the site keeps its jump");
	cr_assert_eq(fn_at(m, 0)(2, 0, 0, 0), 7);
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 1, "and the next call takes it");
	cr_assert_eq(hook_runs, 2);
}

/* A thread whose creator blocked every signal around pthread_create (as nanomsg does for its worker,
 * which Criterion runs in this very process) starts with SIGILL, SIGSEGV and SIGBUS unblocked, the
 * rest of its mask as given: when it meets a site mid-patch, the guard byte's SIGILL restarts it. With
 * SIGILL blocked the kernel would have killed the process there. */
static site_fn blocked_fn;
static int blocked_tid, blocked_go;
static long blocked_result;
static sigset_t blocked_mask;

static void *blocked_thread(void *arg)
{
	(void)arg;
	pthread_sigmask(SIG_BLOCK, NULL, &blocked_mask);
	__atomic_store_n(&blocked_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&blocked_go, __ATOMIC_SEQ_CST))
		sched_yield();
	blocked_result = blocked_fn(7, 0, 0, 0);
	return NULL;
}

static void release_blocked_at_step_two(uintptr_t site, int step, void *arg)
{
	(void)site;
	(void)arg;
	if (step != 2) /* the guard is now at +0 and at +5 */
		return;
	__atomic_store_n(&blocked_go, 1, __ATOMIC_SEQ_CST);
	struct timespec ts = {0, 2 * 1000 * 1000};
	for (int i = 0; i < 1000 && thread_state(blocked_tid) != 'S'; i++)
		nanosleep(&ts, NULL); /* up to 2 s for it to reach the guard and sleep */
	state_while_paused = thread_state(blocked_tid);
}

Test(firsthit, thread_started_with_every_signal_blocked_survives_a_guard, .timeout = 30)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_t t;
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	int r = pthread_create(&t, NULL, blocked_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	cr_assert_eq(r, 0);
	while (!__atomic_load_n(&blocked_tid, __ATOMIC_SEQ_CST))
		sched_yield();
	cr_assert(!sigismember(&blocked_mask, SIGILL) && !sigismember(&blocked_mask, SIGSEGV) &&
	          !sigismember(&blocked_mask, SIGBUS));
	cr_assert(sigismember(&blocked_mask, SIGUSR1) && sigismember(&blocked_mask, SIGTERM),
	          "the rest of the mask is the creator's");
	patch_one_site_with(release_blocked_at_step_two, &blocked_fn);
	pthread_join(t, NULL);
	cr_assert_eq(state_while_paused, 'S', "it met the guard and slept until the patch was done");
	cr_assert_eq(blocked_result, 22);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sigill_restarts, 1);
	cr_assert_eq(c.trampoline_calls, 1, "then it took the jump");
}
