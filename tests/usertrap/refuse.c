/*
 * Test 3: patches that must be refused cleanly, with the right error and the site left as it was:
 * unmapped site, a page that vanishes between two of the ordered writes, pattern mismatch, imm32 that is
 * not the syscall number, a MAP_SHARED executable mapping, a page that is not executable, a syscall
 * that must run in place, the table full (sites 256 and 257), the table range occupied, bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "usertrap/util.h"

static long hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr == NR_FAKE)
		return 4242;
	return usertrap_syscall(call);
}

static void init(void)
{
	struct usertrap_config cfg = {.hook = hook};
	struct usertrap_error err;
	int r = usertrap_init(&cfg, &err);
	cr_assert_eq(r, 0, "init: %s", usertrap_status_name(r));
}

static const unsigned char *original(uint32_t nr)
{
	static unsigned char b[7] = {0xb8, 0, 0, 0, 0, 0x0f, 0x05};
	memcpy(b + 1, &nr, 4);
	return b;
}

/* Patching the site of m for nr fails with `status` and leaves the bytes (those of a site of site_nr)
 * as they were. */
static void assert_refused(unsigned char *m, uint32_t site_nr, long nr, int status)
{
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(site_at(m, 0), nr, &err), status, "%s", usertrap_status_name(err.status));
	cr_assert_eq(err.status, status);
	cr_assert_eq(memcmp(site_at(m, 0), original(site_nr), 7), 0, "the site is as it was");
}

Test(refuse, before_init)
{
	unsigned char *m = make_sites(1, NR_FAKE, false);
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, &err), USERTRAP_ERR_STATE);
	cr_assert_eq(err.status, USERTRAP_ERR_STATE);
}

Test(refuse, unmapped_site)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	munmap(m, 4096);
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, &err), USERTRAP_ERR_FAULT);
	cr_assert_eq(err.fault.status, SAFECOPY_SEGV);
	cr_assert_eq(err.fault.addr, site_at(m, 0));
	cr_assert_eq(err.fault.code, SEGV_MAPERR);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.slots_used, 0, "no slot taken by a refused site");
}

static void vanish(uintptr_t site, int step, void *arg)
{
	(void)arg;
	if (step == 1)
		munmap((void *)(site & ~4095UL), 4096);
}

Test(refuse, page_vanishes_between_writes)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	ut_test_step_hook = vanish;
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, &err), USERTRAP_ERR_FAULT);
	cr_assert_eq(err.fault.status, SAFECOPY_SEGV);
	cr_assert_eq(err.fault.signo, SIGSEGV);
	cr_assert_eq((uintptr_t)err.fault.addr & ~4095UL, (uintptr_t)m, "fault on the vanished page: %p",
	             err.fault.addr);
	ut_test_step_hook = NULL;
	/* And the patcher still works afterwards. */
	unsigned char *m2 = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_patch(site_at(m2, 0), NR_FAKE, &err), 0);
	cr_assert_eq(fn_at(m2, 0)(0, 0, 0, 0), 4242);
}

Test(refuse, pattern_mismatch)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	struct usertrap_error err;
	/* One byte into the site: `00 00 00 0f 05 c3 cc`. */
	cr_assert_eq(usertrap_patch((unsigned char *)site_at(m, 0) + 1, NR_FAKE, &err), USERTRAP_ERR_PATTERN);
	cr_assert_eq(err.status, USERTRAP_ERR_PATTERN);
	/* `mov %rcx,%r10` in front of the site. */
	cr_assert_eq(usertrap_patch(m, NR_FAKE, &err), USERTRAP_ERR_PATTERN);
	cr_assert_eq(memcmp(site_at(m, 0), original(NR_FAKE), 7), 0);
}

Test(refuse, imm32_is_not_the_syscall_number)
{
	init();
	assert_refused(make_sites(1, NR_FAKE, false), NR_FAKE, NR_FAKE + 1, USERTRAP_ERR_NR);
}

Test(refuse, map_shared_executable)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, true);
	assert_refused(m, NR_FAKE, NR_FAKE, USERTRAP_ERR_NOT_PATCHABLE);
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), -ENOSYS, "the site still runs natively");
}

Test(refuse, not_executable)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(mprotect(m, 4096, PROT_READ), 0);
	assert_refused(m, NR_FAKE, NR_FAKE, USERTRAP_ERR_NOT_PATCHABLE);
}

Test(refuse, in_place_syscall)
{
	init();
	assert_refused(make_sites(1, SYS_clone, false), SYS_clone, SYS_clone, USERTRAP_ERR_IN_PLACE);
}

Test(refuse, table_full, .timeout = 60)
{
	init();
	unsigned char *m = make_sites(USERTRAP_MAX_SITES + 2, NR_FAKE, false);
	struct usertrap_error err;
	for (int i = 0; i < USERTRAP_MAX_SITES; i++)
		cr_assert_eq(usertrap_patch(site_at(m, i), NR_FAKE, &err), 0, "site %d: %s", i,
		             usertrap_status_name(err.status));
	for (int i = USERTRAP_MAX_SITES; i < USERTRAP_MAX_SITES + 2; i++) {
		cr_assert_eq(usertrap_patch(site_at(m, i), NR_FAKE, &err), USERTRAP_ERR_TABLE_FULL, "site %d",
		             i + 1);
		cr_assert_eq(memcmp(site_at(m, i), original(NR_FAKE), 7), 0);
		cr_assert_eq(fn_at(m, i)(0, 0, 0, 0), -ENOSYS, "an unpatched site still works natively");
	}
	for (int i = 0; i < USERTRAP_MAX_SITES; i++)
		cr_assert_eq(fn_at(m, i)(0, 0, 0, 0), 4242, "site %d", i);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.slots_used, USERTRAP_MAX_SITES);
	cr_assert_eq(c.slots_free, 0);
	cr_assert_eq(c.sites_patched, USERTRAP_MAX_SITES);
	cr_assert_eq(c.patch_failures, 2);
	/* Every slot's cell has 0x06 as its third byte: the guard. */
	cr_assert_eq(((unsigned char *)site_at(m, 0))[5], 0x06);
	cr_assert_eq(((unsigned char *)site_at(m, USERTRAP_MAX_SITES - 1))[5], 0x06);
}

Test(refuse, table_range_occupied)
{
	void *p = mmap((void *)USERTRAP_TABLE_LOW, USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(p, (void *)USERTRAP_TABLE_LOW, "the range must be free in a fresh test process");
	struct usertrap_config cfg = {.hook = hook};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_TABLE_BUSY);
	cr_assert_eq(usertrap_table_address(), 0);
	/* Partly free, but no room for the whole table either. */
	munmap((void *)(USERTRAP_TABLE_LOW + 0x8000), 0x4000);
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_TABLE_BUSY);
	/* Room at the top end. */
	munmap((void *)(USERTRAP_TABLE_LOW + 0x4000), 0xc000);
	cr_assert_eq(usertrap_init(&cfg, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(usertrap_table_address(), USERTRAP_TABLE_LOW + 0x4000);
}

Test(refuse, bad_arguments)
{
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(NULL, &err), USERTRAP_ERR_INVAL);
	struct usertrap_config cfg = {.hook = NULL};
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_INVAL);
	cfg.hook = hook;
	cfg.flags = 0x100;
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_INVAL);
	cfg.flags = 0;
	cfg.table_addr = 0x10000;
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_INVAL, "table outside [0x60000, 0x70000)");
	cfg.table_addr = 0x60000;
	cr_assert_eq(usertrap_init(&cfg, &err), 0);
	cr_assert_eq(usertrap_table_address(), 0x60000);
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_STATE, "initialised twice");
	cr_assert_eq(usertrap_patch(NULL, 1, &err), USERTRAP_ERR_INVAL);
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_unpatch(site_at(m, 0), &err), USERTRAP_ERR_INVAL, "never patched");
	cr_assert_eq(usertrap_capture_thread(true, &err), USERTRAP_ERR_STATE, "no lazy capture set up");
}

Test(refuse, table_never_writable_and_executable)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert(f);
	char line[512];
	int seen = 0;
	uintptr_t t = usertrap_table_address();
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3)
			continue;
		cr_expect(!(perms[1] == 'w' && perms[2] == 'x'), "W+X mapping: %s", line);
		if (lo < t + 0xc000 && hi > t) {
			seen++;
			cr_expect(lo >= USERTRAP_TABLE_LOW && hi <= USERTRAP_TABLE_HIGH, "%s", line);
		}
	}
	fclose(f);
	cr_assert_geq(seen, 2, "code and data mappings of the table");
}

/* A page sealed between the first and second write (mseal, Linux >= 6.10): the patch fails midway and
 * leaves the guard byte in place; calls at the site are then made by the SIGILL handler, through the
 * hook, rather than trapping forever. The page swap is what a seal refuses (forced writes through
 * /proc/self/mem still pass), so the test takes it. */
static void seal(uintptr_t site, int step, void *arg)
{
	(void)arg;
	if (step == 1)
		*(long *)arg = syscall(462 /* mseal */, site & ~4095UL, 4096UL, 0UL);
}

Test(refuse, half_written_site_still_serves_calls)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	long sealed = -1;
	ut_test_no_proc_mem = true;
	ut_test_step_hook = seal;
	ut_test_step_arg = &sealed;
	struct usertrap_error err;
	int r = usertrap_patch(site_at(m, 0), NR_FAKE, &err);
	ut_test_step_hook = NULL;
	if (sealed != 0)
		cr_skip_test("mseal not available: %ld", sealed);
	cr_assert_eq(r, USERTRAP_ERR_NOT_PATCHABLE, "%s", usertrap_status_name(r));
	cr_assert_eq(err.sys_errno, EPERM);
	cr_assert_eq(((unsigned char *)site_at(m, 0))[5], 0x06, "the guard stayed");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), 4242, "served through the hook");
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sigill_restarts, 3);
	cr_assert_eq(c.sites_patched, 0);
}
