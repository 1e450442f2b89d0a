/*
 * Eager patching of named functions (usertrap_patch_functions): what a first hit does for each of
 * their syscall instructions, done before the first call, for all of them under one lock.
 */
#include <dlfcn.h>

#include "usertrap/counters.h"
#include "usertrap/decode.h"
#include "usertrap/fde.h"
#include "usertrap/lock.h"
#include "usertrap/maps.h"
#include "usertrap/pagewrite.h"
#include "usertrap/patcher.h"
#include "usertrap/refused.h"
#include "usertrap/site.h"
#include "usertrap/status.h"
#include "usertrap/windows.h"

#define SITES_PER_FUNCTION 8
#define NAMES_PER_LOCK     32

/* The bounds of the function `name`: its FDE in .eh_frame_hdr, which must start where the symbol
 * does (a binary search: dladdr1's symbol size cost a linear scan of libc's symbol table per name,
 * 0.3 ms for the preload's list). False if unknown. */
static bool function_bounds(const char *name, uintptr_t *lo, uintptr_t *hi)
{
	void *fn = dlsym(RTLD_DEFAULT, name);
	return fn && ut_function_of((uintptr_t)fn, lo, hi) && *lo == (uintptr_t)fn;
}

/* The site's 7-byte pattern and its number, if the bytes before the syscall at insn have it. */
static bool has_pattern(uintptr_t insn, long *nr)
{
	unsigned char b[UT_SITE_LEN];
	uint32_t imm;
	uintptr_t site = insn - UT_SYSCALL_OFFSET;
	if (ut_window_settle(site, UT_SITE_LEN, NULL) ||
	    safecopy_memcpy(b, (const void *)site, UT_SITE_LEN, NULL) != UT_SITE_LEN ||
	    !ut_site_matches(b, &imm))
		return false;
	*nr = (long)imm;
	return true;
}

/* One site, as capture.c's first hit patches it: 0 or the error. Needs the patch lock. */
static int patch_site(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi)
{
	long nr;
	int r = has_pattern(insn, &nr) ? ut_patch_locked(insn - UT_SYSCALL_OFFSET, nr, NULL)
	                               : USERTRAP_ERR_PATTERN;
	if (r == USERTRAP_ERR_PATTERN || r == USERTRAP_ERR_TABLE_FULL)
		r = ut_window_patch_locked(insn, fn_lo, fn_hi, NULL);
	return r;
}

/* Every syscall instruction of the function [lo, hi): the number patched. Needs the patch lock. */
static int patch_function(uintptr_t lo, uintptr_t hi)
{
	uintptr_t insns[SITES_PER_FUNCTION];
	int n = ut_find_syscalls(lo, hi, insns, SITES_PER_FUNCTION), patched = 0;
	for (int i = 0; i < n; i++) {
		unsigned generation = ut_refused_generation();
		if (patch_site(insns[i], lo, hi) == 0) {
			UT_COUNT(patches);
			patched++;
		} else {
			UT_COUNT(patch_failures);
			ut_refuse(insns[i] - UT_SYSCALL_OFFSET, generation);
		}
	}
	return patched;
}

/* Sorts the bounds [lo[i], hi[i]) by address (insertion sort: a few dozen), unknown ones (0) first:
 * the sites of neighbouring functions then share the batch's page write. */
static void sort_bounds(uintptr_t *lo, uintptr_t *hi, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uintptr_t l = lo[i], h = hi[i];
		size_t j = i;
		for (; j > 0 && lo[j - 1] > l; j--) {
			lo[j] = lo[j - 1];
			hi[j] = hi[j - 1];
		}
		lo[j] = l;
		hi[j] = h;
	}
}

/* names[0..n), n <= NAMES_PER_LOCK: the number of sites patched. */
static int patch_some(const char *const *names, size_t n)
{
	uintptr_t lo[NAMES_PER_LOCK], hi[NAMES_PER_LOCK];
	/* dlsym and _dl_find_object before the lock: they take the loader's lock, which a thread in a first
	 * hit (holding the patch lock) must never wait for behind us. */
	for (size_t i = 0; i < n; i++)
		if (!names[i] || !function_bounds(names[i], &lo[i], &hi[i]))
			lo[i] = hi[i] = 0;
	sort_bounds(lo, hi, n);
	int patched = 0;
	ut_lock();
	ut_maps_forget(0, UINTPTR_MAX); /* mappings changed behind the hook's back are read afresh */
	ut_window_hold(true);
	ut_window_batch(true, NULL);
	for (size_t i = 0; i < n; i++)
		if (hi[i] && (i == 0 || lo[i] != lo[i - 1])) /* two names of one function: patched once */
			patched += patch_function(lo[i], hi[i]);
	/* Practically never fails: single-threaded, under the lock, nothing unmaps the pages written. Its
	 * sites then keep their syscall (served by SIGSYS) and are counted as failures. */
	if (ut_window_batch(false, NULL))
		UT_COUNT(patch_failures);
	ut_window_hold(false);
	ut_unlock();
	return patched;
}

int usertrap_patch_functions(const char *const *names, size_t n, struct usertrap_error *err)
{
	if (!ut_running())
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (!names && n)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	int patched = 0;
	for (size_t i = 0; i < n; i += NAMES_PER_LOCK)
		patched += patch_some(names + i, n - i < NAMES_PER_LOCK ? n - i : NAMES_PER_LOCK);
	ut_ok(err);
	return patched;
}
