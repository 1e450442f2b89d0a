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
#include "usertrap/modplan.h"
#include "usertrap/pagewrite.h"
#include "usertrap/patcher.h"
#include "usertrap/plancache.h"
#include "usertrap/refused.h"
#include "usertrap/site.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/windows.h"

#define NAMES_PER_LOCK 32

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

/* The window of the site at insn, with the plan cache's plan when the function is keyed (key not NULL):
 * a plan learnt from the planner is recorded there. 0 or the error. Needs the patch lock. */
static int patch_window(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, const struct ut_fn_key *key)
{
	struct ut_plan p;
	uint32_t off = (uint32_t)(insn - fn_lo);
	int result = key ? ut_plancache_plan(key, off, fn_lo, &p) : -1, cached = result;
	int r = ut_window_patch_plan_locked(insn, fn_lo, fn_hi, &p, &result, NULL);
	if (key && cached < 0 &&
	    (result == UT_PLAN_OK || result == UT_PLAN_MISALIGNED || result == UT_PLAN_NO_WINDOW))
		ut_plancache_put_plan(key, off, fn_lo, result, &p);
	return r;
}

/* One site, as capture.c's first hit patches it: 0 or the error; *seven set if it took the 7-byte
 * form. Needs the patch lock. */
static int patch_site(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, const struct ut_fn_key *key,
                      bool *seven)
{
	long nr;
	int r = has_pattern(insn, &nr) ? ut_patch_locked(insn - UT_SYSCALL_OFFSET, nr, NULL)
	                               : USERTRAP_ERR_PATTERN;
	*seven = r == 0;
	if (r == USERTRAP_ERR_PATTERN || r == USERTRAP_ERR_TABLE_FULL)
		r = patch_window(insn, fn_lo, fn_hi, key);
	return r;
}

/* The syscall instructions of [lo, hi): from the plan cache when the function is keyed and known
 * there (*known set), else from the decoder. */
static int function_sites(uintptr_t lo, uintptr_t hi, const struct ut_fn_key *key, struct ut_fn_sites *s,
                          bool *known)
{
	*known = key && ut_plancache_sites(key, s);
	if (*known)
		return s->n;
	uintptr_t insns[UT_CACHE_SITES];
	*s = (struct ut_fn_sites){.n = ut_find_syscalls(lo, hi, insns, UT_CACHE_SITES)};
	for (int i = 0; i < s->n; i++)
		s->off[i] = (uint32_t)(insns[i] - lo);
	return s->n;
}

/* Every syscall instruction of the function [lo, hi), keyed k (NULL: not cached): the number patched.
 * Needs the patch lock. */
static int patch_function(uintptr_t lo, uintptr_t hi, const struct ut_fn_key *k)
{
	struct ut_fn_sites s;
	bool known;
	int n = function_sites(lo, hi, k, &s, &known), patched = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t insn = lo + s.off[i];
		unsigned generation = ut_refused_generation();
		bool seven;
		if (patch_site(insn, lo, hi, k, &seven) == 0) {
			UT_COUNT(patches);
			patched++;
		} else {
			UT_COUNT(patch_failures);
			ut_refuse(insn - UT_SYSCALL_OFFSET, generation);
		}
		if (!known && seven)
			s.seven |= 1u << i;
	}
	if (k && !known && n >= 0)
		ut_plancache_put_sites(k, &s);
	return patched;
}

/* The plan cache's keys of the functions [lo[i], hi[i]) (keyed[i] false: not cached); then the decoder
 * loaded (before the patch lock: dlopen takes the loader's lock) unless the cache holds everything
 * they need. */
static void keys_and_decoder(const uintptr_t *lo, const uintptr_t *hi, size_t n, struct ut_fn_key *keys,
                             bool *keyed)
{
	bool complete = ut_plancache_enabled();
	if (complete)
		ut_plancache_load();
	for (size_t i = 0; i < n; i++) {
		keyed[i] = hi[i] && ut_plancache_enabled() && ut_code_key(lo[i], hi[i], NULL, &keys[i]);
		if (hi[i] && !(keyed[i] && ut_plancache_complete(&keys[i])))
			complete = false;
	}
	if (!complete)
		ut_decoder_load();
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
	struct ut_fn_key keys[NAMES_PER_LOCK];
	bool keyed[NAMES_PER_LOCK];
	keys_and_decoder(lo, hi, n, keys, keyed);
	int patched = 0;
	ut_lock();
	ut_maps_forget(0, UINTPTR_MAX); /* mappings changed behind the hook's back are read afresh */
	ut_window_hold(true);
	ut_window_batch(true, NULL);
	for (size_t i = 0; i < n; i++)
		if (hi[i] && (i == 0 || lo[i] != lo[i - 1])) /* two names of one function: patched once */
			patched += patch_function(lo[i], hi[i], keyed[i] ? &keys[i] : NULL);
	/* Practically never fails: single-threaded, under the lock, nothing unmaps the pages written. Its
	 * sites then keep their syscall (served by SIGSYS) and are counted as failures. */
	if (ut_window_batch(false, NULL))
		UT_COUNT(patch_failures);
	ut_window_hold(false);
	ut_unlock();
	return patched;
}

/* The address of the first of names[0..n) that names a symbol (NULL names are skipped), or NULL. */
static void *first_known(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *fn = names[i] ? dlsym(RTLD_DEFAULT, names[i]) : NULL;
		if (fn)
			return fn;
	}
	return NULL;
}

int usertrap_patch_functions(const char *const *names, size_t n, struct usertrap_error *err)
{
	if (!ut_running() || ut_sud_sealed()) /* sealed: seccomp.h */
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (!names && n)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	int patched = 0;
	bool had_decoder = ut_decoder_ready();
	for (size_t i = 0; i < n; i += NAMES_PER_LOCK)
		patched += patch_some(names + i, n - i < NAMES_PER_LOCK ? n - i : NAMES_PER_LOCK);
	/* A cold cache made this pass load the decoder: it plans the rest of the first known function's
	 * module (libc) too, for the processes after it, which will not load it. */
	void *first;
	if (!had_decoder && ut_decoder_ready() && (first = first_known(names, n)))
		ut_plan_module_of((uintptr_t)first);
	ut_plancache_save(); /* what was learnt, for the next process (no lock held: file I/O) */
	ut_ok(err);
	return patched;
}

int usertrap_set_plan_cache(const char *dir)
{
	return ut_plancache_set_dir(dir);
}

/* Plans the sites first hits left without a plan (ut_plancache_put_missing), into the cache. */
static void plan_missing(void)
{
	struct ut_fn_key k;
	uintptr_t insn, lo, hi;
	if (!ut_plancache_missing(0, &k, &insn, &lo, &hi) || !ut_decoder_load())
		return;
	ut_lock();
	for (unsigned i = 0; ut_plancache_missing(i, &k, &insn, &lo, &hi); i++) {
		struct ut_plan p;
		int result = ut_window_plan_alone(insn, lo, hi, &p);
		if (result == UT_PLAN_OK || result == UT_PLAN_MISALIGNED || result == UT_PLAN_NO_WINDOW)
			ut_plancache_put_plan(&k, (uint32_t)(insn - lo), lo, result, &p);
	}
	ut_unlock();
}

int usertrap_save_plan_cache(void)
{
	plan_missing();
	return ut_plancache_save() ? USERTRAP_ERR_SYS : 0;
}
