/*
 * The patch policy of lazy capture (usertrap_set_patch_hits): with k set, a site's first k-1 calls stay
 * on the SIGSYS path and leave it unpatched, its k-th call patches it, and later calls take the jump.
 * Counted on a site of our own (`mov $getppid,%eax; syscall`), so that nothing else calls it.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/hits.h"
#include "usertrap/site.h"
#include "usertrap/util.h"

static uint64_t hook_sigsys, hook_patched;

static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr == SYS_getppid) {
		if (call->flags & USERTRAP_CALL_SIGSYS)
			__atomic_fetch_add(&hook_sigsys, 1, __ATOMIC_RELAXED);
		if (call->flags & USERTRAP_CALL_PATCHED)
			__atomic_fetch_add(&hook_patched, 1, __ATOMIC_RELAXED);
	}
	return usertrap_syscall(call);
}

static site_fn own_site(unsigned char **page)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	/* Not at the page's start: finding the pattern then reads no byte of the page before. */
	write_site(m + 64, SYS_getppid);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	*page = m;
	return (site_fn)(void *)(m + 64);
}

static long parent; /* getppid(), read before capture: libc's getppid would be counted too */

/* Calls the site once; checks its result. */
static void call_site(site_fn f)
{
	cr_assert_eq(f(0, 0, 0, 0), parent);
}

/* k = 3: calls 1 and 2 by SIGSYS and unpatched, call 3 by SIGSYS and patching, calls 4-6 by the jump. */
static void check_threshold(unsigned k)
{
	unsigned char *m;
	site_fn f = own_site(&m);
	uintptr_t insn = (uintptr_t)m + 64 + SITE_OFFSET + UT_SYSCALL_OFFSET;
	parent = (long)getppid();
	usertrap_set_patch_hits(k);
	lazy_init_or_skip(counting, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	struct usertrap_counters c0, c;
	usertrap_get_counters(&c0);
	for (unsigned i = 1; i < k; i++) {
		call_site(f);
		usertrap_get_counters(&c);
		cr_assert_eq(hook_sigsys, i, "call %u came by SIGSYS", i);
		cr_assert_eq(ut_hits_of(insn), i, "and was counted");
		cr_assert_eq(c.patches - c0.patches, 0, "call %u patched nothing", i);
		cr_assert_eq(c.sites_patched, c0.sites_patched);
		cr_assert_eq(m[64 + SITE_OFFSET], 0xb8, "the site still holds its mov");
	}
	call_site(f);
	usertrap_get_counters(&c);
	cr_assert_eq(hook_sigsys, k, "the k-th call came by SIGSYS too");
	cr_assert_eq(hook_patched, 0);
	cr_assert_eq(c.patches - c0.patches, 1, "and patched the site");
	cr_assert_eq(c.sites_patched, c0.sites_patched + 1);
	cr_assert_neq(m[64 + SITE_OFFSET], 0xb8, "the site now holds the jump");
	for (int i = 0; i < 3; i++)
		call_site(f);
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(hook_sigsys, k, "no SIGSYS after the patch");
	cr_assert_eq(hook_patched, 3, "the later calls took the jump");
	usertrap_get_counters(&c);
	cr_assert_eq(c.patch_failures - c0.patch_failures, 0);
}

Test(patch_hits, third_call_patches_when_k_is_3)
{
	check_threshold(3);
}

Test(patch_hits, second_call_patches_when_k_is_2)
{
	check_threshold(2);
}

Test(patch_hits, first_call_patches_by_default)
{
	check_threshold(1);
}

Test(patch_hits, zero_means_the_first_call)
{
	usertrap_set_patch_hits(0);
	cr_assert_eq(ut_hits_threshold(), 1);
}

Test(patch_hits, counts_are_per_site_and_forgotten_at_shutdown)
{
	usertrap_set_patch_hits(5);
	lazy_init_or_skip(counting, 0);
	cr_assert(!ut_hits_reached(0x1000));
	cr_assert(!ut_hits_reached(0x1000));
	cr_assert(!ut_hits_reached(0x2000));
	cr_assert_eq(ut_hits_of(0x1000), 2);
	cr_assert_eq(ut_hits_of(0x2000), 1);
	cr_assert_eq(ut_hits_of(0x3000), 0, "a site never caught has no count");
	cr_assert(!ut_hits_reached(0x1000));
	cr_assert(!ut_hits_reached(0x1000));
	cr_assert(ut_hits_reached(0x1000), "the fifth");
	cr_assert(ut_hits_reached(0x1000), "and every later one");
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	cr_assert_eq(ut_hits_of(0x1000), 0);
	cr_assert_eq(ut_hits_threshold(), 5, "k is kept");
}

Test(patch_hits, a_full_table_patches_at_once)
{
	usertrap_set_patch_hits(2);
	for (uintptr_t i = 1; i <= UT_HITS_SLOTS; i++)
		cr_assert(!ut_hits_reached(i * 16), "site %lu: first call", (unsigned long)i);
	cr_assert(ut_hits_reached(0x7000000), "no slot left: patched at its first call");
	cr_assert_eq(ut_hits_of(0x7000000), 0);
	cr_assert(ut_hits_reached(16), "a counted site still counts: its second call");
}
