/*
 * The ordered writes. Each is one page swap (pagewrite.c); between them other threads may run the
 * site and must always find either a whole instruction that does the right thing or the guard byte
 * (UT_GUARD), which sends them to the SIGILL handler (restart.c), which restarts them at the site.
 */
#include <string.h>

#include "usertrap/counters.h"
#include "usertrap/pagewrite.h"
#include "usertrap/patcher.h"
#include "usertrap/registry.h"
#include "usertrap/site.h"
#include "usertrap/status.h"

void (*ut_test_step_hook)(uintptr_t site, int step, void *arg);
void *ut_test_step_arg;

static const unsigned char guard = UT_GUARD;

static void step_done(uintptr_t site, int step)
{
	void (*fn)(uintptr_t, int, void *) = ut_test_step_hook;
	if (fn)
		fn(site, step, ut_test_step_arg);
}

static int read_site(uintptr_t site, unsigned char b[UT_SITE_LEN], struct usertrap_error *err)
{
	struct safecopy_fault fault;
	int r = ut_window_settle(site, UT_SITE_LEN, err); /* a batch may hold its bytes */
	if (r)
		return r;
	return safecopy_memcpy(b, (const void *)site, UT_SITE_LEN, &fault) == UT_SITE_LEN
	           ? 0
	           : ut_fail_fault(err, &fault);
}

static void slot_jump(int slot, unsigned char out[UT_SITE_LEN])
{
	ut_jump_bytes((uint32_t)(uintptr_t)&ut_data_slot((unsigned)slot)->entry, out);
}

/* A write failed after the first one succeeded (the page was unmapped or its protection changed under
 * us): the site is left with a guard byte. Threads reaching it are then served by the SIGILL handler,
 * which runs the call itself, instead of being restarted into the guard forever. */
static int broken(int slot, int r)
{
	__atomic_store_n(&ut_site_broken[slot], 1, __ATOMIC_RELEASE);
	return r;
}

/* Patching an already patched site: 0 if it still holds our jump. */
static int check_patched(int slot, const unsigned char cur[UT_SITE_LEN], struct usertrap_error *err)
{
	unsigned char j[UT_SITE_LEN];
	slot_jump(slot, j);
	return memcmp(cur, j, UT_SITE_LEN) == 0 ? ut_ok(err) : ut_fail(err, USERTRAP_ERR_PATTERN, 0);
}

/* The whole jump in one write: no other thread can see the bytes in between (see
 * ut_window_single_threaded), and the caller's signals are blocked while it holds the patch lock. The
 * test step hook observes the ordered writes, so it keeps them. */
static bool one_write(void)
{
	return !ut_test_step_hook && ut_window_single_threaded();
}

static int patch_locked(uintptr_t site, long nr, struct ut_window *w, struct usertrap_error *err)
{
	unsigned char cur[UT_SITE_LEN];
	int r = read_site(site, cur, err);
	if (r)
		return r;
	int slot = ut_registry_find(site, UT_SLOT_PATCH);
	if (slot && ut_site_patched[slot])
		return check_patched(slot, cur, err);
	uint32_t imm;
	if (!ut_site_matches(cur, &imm))
		return ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	if ((long)imm != nr)
		return ut_fail(err, USERTRAP_ERR_NR, 0);
	if (ut_in_place_nr(nr))
		return ut_fail(err, USERTRAP_ERR_IN_PLACE, 0);
	if ((r = ut_window_of(site, w, err)))
		return r;
	slot = ut_registry_bind(site, UT_SLOT_PATCH, nr);
	if (!slot)
		return ut_fail(err, USERTRAP_ERR_TABLE_FULL, 0);
	memcpy(ut_site_orig[slot], cur, UT_SITE_LEN);
	unsigned char j[UT_SITE_LEN];
	slot_jump(slot, j);
	/*
	 * Four writes: the guard at +5, the guard at +0, the jump's bytes +1..+6 (its +5 byte is the
	 * guard), 0xff at +0. Without the guard at +0 (three writes: +5, +1..+6, +0) there is a moment
	 * where +0 is still b8 in front of the jump's bytes: a thread can run that `mov` with a wrong
	 * immediate, be preempted before +5 and, if the site is restored meanwhile, resume at a real
	 * syscall with the wrong number (seen in tests/usertrap/hammer.c). With it, every `mov` any thread
	 * can run loads the right number.
	 */
	if (one_write()) {
		if ((r = ut_window_write(w, site, j, UT_SITE_LEN, err)))
			return r;
		goto written;
	}
	if ((r = ut_window_write(w, site + UT_SYSCALL_OFFSET, &guard, 1, err)))
		return r;
	step_done(site, 1);
	if ((r = ut_window_write(w, site, &guard, 1, err)))
		return broken(slot, r);
	step_done(site, 2);
	if ((r = ut_window_write(w, site + 1, j + 1, UT_SITE_LEN - 1, err)))
		return broken(slot, r);
	step_done(site, 3);
	if ((r = ut_window_write(w, site, j, 1, err)))
		return broken(slot, r);
written:
	ut_site_patched[slot] = 1;
	ut_site_broken[slot] = 0;
	UT_COUNT(sites_patched);
	return ut_ok(err);
}

int ut_patch_locked(uintptr_t site, long nr, struct usertrap_error *err)
{
	struct ut_window w = {.mem_fd = -1};
	int r = patch_locked(site, nr, &w, err);
	ut_window_release(&w);
	return r;
}

static int unpatch_locked(uintptr_t site, struct ut_window *w, struct usertrap_error *err)
{
	int slot = ut_registry_find(site, UT_SLOT_PATCH);
	if (!slot)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	if (!ut_site_patched[slot])
		return ut_ok(err);
	unsigned char cur[UT_SITE_LEN];
	int r = read_site(site, cur, err);
	if (r || (r = check_patched(slot, cur, err)))
		return r;
	if ((r = ut_window_of(site, w, err)))
		return r;
	const unsigned char *orig = ut_site_orig[slot];
	/*
	 * Four writes. Putting b8 back at +0 first would let a thread run `mov $imm,%eax` with the jump's
	 * bytes as imm, be preempted before +5, and run the restored syscall with that number. So: the
	 * guard at +0 first (threads arriving there take SIGILL and are restarted at +0 until it changes),
	 * then the immediate and +6 (the guard at +5 kept), then b8 at +0 (every mov now loads the right
	 * number), then the syscall's first byte at +5.
	 */
	unsigned char mid[UT_SITE_LEN - 1];
	memcpy(mid, orig + 1, sizeof mid);
	mid[UT_SYSCALL_OFFSET - 1] = UT_GUARD;
	if ((r = ut_window_write(w, site, &guard, 1, err)))
		return r;
	step_done(site, 1);
	if ((r = ut_window_write(w, site + 1, mid, sizeof mid, err)))
		return broken(slot, r);
	step_done(site, 2);
	if ((r = ut_window_write(w, site, orig, 1, err)))
		return broken(slot, r);
	step_done(site, 3);
	if ((r = ut_window_write(w, site + UT_SYSCALL_OFFSET, orig + UT_SYSCALL_OFFSET, 1, err)))
		return broken(slot, r);
	ut_site_patched[slot] = 0;
	ut_site_broken[slot] = 0;
	UT_UNCOUNT(sites_patched);
	return ut_ok(err);
}

int ut_unpatch_locked(uintptr_t site, struct usertrap_error *err)
{
	struct ut_window w = {.mem_fd = -1};
	int r = unpatch_locked(site, &w, err);
	ut_window_release(&w);
	return r;
}
