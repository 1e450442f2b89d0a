/*
 * The write batch of a pass (ut_window_batch, src/usertrap/pagewrite.c): the sites of one page are
 * written into code by one write, in order with the writes of other pages, only while no other thread
 * can run; a site read back during the batch shows what was written.
 */
#include <sys/wait.h>

#include "usertrap/util.h"

extern void ut_lock(void);
extern void ut_unlock(void);
extern void ut_window_hold(bool on);
extern int ut_window_batch(bool on, struct usertrap_error *err);
extern unsigned long ut_window_code_writes(void);
extern int ut_patch_locked(uintptr_t site, long nr, struct usertrap_error *err);
extern char __libc_single_threaded;

#define ANSWER 4242

/* In the forked child: the line of the first check that failed. */
#define CHECK(c)                         \
	do {                             \
		if (!(c))                \
			return __LINE__; \
	} while (0)

static long answering_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == NR_FAKE ? ANSWER : usertrap_syscall(call);
}

/* Sites of m (each `mov $NR_FAKE,%eax; syscall`) patched in the order of idx under one batch: 0 if all
 * were patched. The writes into code made while the batch was on go to *during, the total to *total. */
static int patch_batched(unsigned char *m, const size_t *idx, size_t n, unsigned long *during,
                         unsigned long *total)
{
	unsigned long before = ut_window_code_writes();
	int bad = 0;
	ut_lock();
	ut_window_hold(true);
	ut_window_batch(true, NULL);
	for (size_t i = 0; i < n; i++)
		bad |= ut_patch_locked((uintptr_t)site_at(m, idx[i]), NR_FAKE, NULL);
	*during = ut_window_code_writes() - before;
	bad |= ut_window_batch(false, NULL);
	ut_window_hold(false);
	ut_unlock();
	*total = ut_window_code_writes() - before;
	return bad;
}

/* 0 if each patched site jumps to the hook (an unpatched one would return -ENOSYS: capture is off). */
static int check_patched(unsigned char *m, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(((unsigned char *)site_at(m, idx[i]))[0] == 0xff);
		CHECK(fn_at(m, idx[i])(0, 0, 0, 0) == ANSWER);
	}
	return 0;
}

/* Patches the sites idx of m in one batch: 0 if all were patched, `during` writes into code were made
 * while the batch was on, `total` in all, and each site then answers through the hook. */
static int expect_batch(unsigned char *m, const size_t *idx, size_t n, unsigned long during,
                        unsigned long total)
{
	unsigned long d, t;
	CHECK(patch_batched(m, idx, n, &d, &t) == 0);
	CHECK(d == during);
	CHECK(t == total);
	return check_patched(m, idx, n);
}

/* Runs body in a forked child, which has one thread and says so (Criterion's test process has had
 * threads, and glibc never sets __libc_single_threaded back), unless threads is true. */
static void in_child(int (*body)(void), bool threads)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		__libc_single_threaded = !threads;
		struct usertrap_config cfg = {.hook = answering_hook};
		_exit(usertrap_init(&cfg, NULL) ? 1 : body());
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "the check at line %d failed (1: init)", WEXITSTATUS(status));
}

/* Eight sites on one page: nothing written until the batch ends, then one write. */
static int one_page(void)
{
	unsigned char *m = make_sites(8, NR_FAKE, false);
	const size_t idx[] = {0, 1, 2, 3, 4, 5, 6, 7};
	return expect_batch(m, idx, 8, 0, 1);
}

Test(batch, sites_of_one_page_are_one_write)
{
	in_child(one_page, false);
}

/* Two pages: one write each; back to the first page: a third write (one page waits at a time, the
 * writes keep their order). SITE_STRIDE 16: site 256 is the first of the second page. */
static int two_pages(void)
{
	unsigned char *m = make_sites(300, NR_FAKE, false);
	const size_t two[] = {0, 1, 2, 256, 257}, three[] = {3, 258, 4};
	/* during the first batch: the first page's write, made when the second page's came */
	int r = expect_batch(m, two, 5, 1, 2);
	return r ? r : expect_batch(m, three, 3, 2, 3);
}

Test(batch, pages_are_written_in_order)
{
	in_child(two_pages, false);
}

/* A site patched twice in one batch (two names of one function): the second patch reads the pending
 * jump back (the batch is written first) and finds the site patched. */
static int twice(void)
{
	unsigned char *m = make_sites(2, NR_FAKE, false);
	const size_t idx[] = {0, 1, 0};
	/* the write is made when site 0 is read again; nothing is pending after it */
	int r = expect_batch(m, idx, 3, 1, 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	CHECK(c.sites_patched == 2);
	return r;
}

Test(batch, a_pending_site_reads_back_patched)
{
	in_child(twice, false);
}

/* Once another thread may run, nothing waits: each site takes its four ordered writes at once. */
static int threads(void)
{
	unsigned char *m = make_sites(3, NR_FAKE, false);
	const size_t idx[] = {0, 1, 2};
	return expect_batch(m, idx, 3, 12, 12);
}

Test(batch, no_batch_once_threads_may_run)
{
	in_child(threads, true);
}
