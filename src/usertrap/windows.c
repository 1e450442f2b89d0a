/*
 * Relocated windows (see windows.h). A write into code may land byte by byte (pwrite to /proc/self/mem,
 * pagewrite.c), so every write changes either only instruction heads (each byte a thread can start an
 * instruction at, whose tail is then already what it must be) or only bytes no thread can start at
 * (every head of the window a guard meanwhile). Patching, after the stub is written: guards at the
 * window's start and at every other instruction boundary; the jump's displacement and the fill behind
 * the start's guard; the jump's opcode at the start. Restoring: a guard at the start; the original
 * bytes but the boundaries' heads; the heads. A thread meeting a guard at any boundary, the start
 * included, continues at the same point of the stub (the stub is written first and stays).
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/counters.h"
#include "usertrap/decode.h"
#include "usertrap/fde.h"
#include "usertrap/pagewrite.h"
#include "usertrap/patcher.h"
#include "usertrap/plancache.h"
#include "usertrap/registry.h"
#include "usertrap/site.h"
#include "usertrap/status.h"
#include "usertrap/stubcode.h"
#include "usertrap/stubs.h"
#include "usertrap/table.h"
#include "usertrap/windows.h"

struct window {
	uintptr_t start, insn, stub;
	uint8_t len, n, sys_index;
	uint8_t off[UT_WIN_MAX_INSNS]; /* instruction boundaries, from start */
	struct ut_stub_map map;
	unsigned char orig[UT_WIN_MAX_LEN];
	bool patched; /* under the patch lock */
};

static struct window windows[USERTRAP_MAX_WINDOWS];
static unsigned n_windows; /* published with a release store once an entry is complete */

static void step_done(uintptr_t insn, int step)
{
	void (*fn)(uintptr_t, int, void *) = ut_test_step_hook;
	if (fn)
		fn(insn, step, ut_test_step_arg);
}

/* The newest window of the syscall at insn, or NULL. */
static struct window *find(uintptr_t insn)
{
	for (unsigned i = __atomic_load_n(&n_windows, __ATOMIC_ACQUIRE); i-- > 0;)
		if (windows[i].insn == insn)
			return &windows[i];
	return NULL;
}

/* The bytes of the patched window: the jump to the stub, then guards. */
static void patched_bytes(const struct window *w, unsigned char *out)
{
	int32_t rel = (int32_t)(w->stub - (w->start + UT_JUMP_LEN));
	out[0] = 0xe9;
	memcpy(out + 1, &rel, 4);
	memset(out + UT_JUMP_LEN, UT_GUARD, w->len - UT_JUMP_LEN);
}

/* The page or two pages under [start, end), each checked as a 7-byte site inside it would be
 * (ut_window_of); *pw is to be released (ut_window_release) after a 0 return. A window across a page boundary
 * stays patchable after a later swap of one of its pages has split the mapping, since each write swaps both
 * pages at once. */
static int pages_of(uintptr_t start, uintptr_t end, struct ut_window *pw, struct usertrap_error *err)
{
	uintptr_t second = (end - 1) & ~(UT_PAGE - 1);
	if (second <= start) { /* one page: 7 bytes in it that hold the window (it may be shorter) */
		uintptr_t page_end = second + UT_PAGE;
		return ut_window_of(start + UT_SITE_LEN <= page_end ? start : page_end - UT_SITE_LEN, pw,
		                    err);
	}
	struct ut_window tail = {.mem_fd = -1};
	int r = ut_window_of(second - UT_SITE_LEN, pw, err);
	if (!r && !(r = ut_window_of(second, &tail, err)) && tail.prot != pw->prot)
		r = ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0);
	ut_window_release(&tail); /* pw's descriptor writes both pages */
	if (r)
		ut_window_release(pw);
	else
		pw->hi = tail.hi;
	return r;
}

/* A new entry for plan p with its stub written (not yet published). */
static int build(const struct ut_plan *p, struct window *w, struct usertrap_error *err)
{
	unsigned char code[UT_STUB_MAX];
	uint32_t cell = (uint32_t)(uintptr_t)&ut_data_slot(1)->common;
	*w = (struct window){.start = p->start,
	                     .insn = p->insn,
	                     .len = (uint8_t)(p->end - p->start),
	                     .n = (uint8_t)p->n,
	                     .sys_index = (uint8_t)ut_plan_syscall_index(p)};
	size_t size = ut_stub_emit(p, p->start, cell, code, &w->map);
	uintptr_t stub = size ? ut_stub_reserve(p->start, p->end, size, p->start + UT_JUMP_LEN, p->pun) : 0;
	if (!stub || ut_stub_emit(p, stub, cell, code, &w->map) != size)
		return ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0); /* no stub space within reach */
	int r = ut_stub_write(stub, code, size, err);
	if (r)
		return r;
	w->stub = stub;
	for (unsigned i = 0; i < p->n; i++)
		w->off[i] = p->in[i].off;
	memcpy(w->orig, p->bytes, w->len);
	return 0;
}

static int plan_error(int plan, struct usertrap_error *err)
{
	return plan == UT_PLAN_FAULT ? ut_fail(err, USERTRAP_ERR_FAULT, 0)
	                             : ut_fail(err, USERTRAP_ERR_PATTERN, 0);
}

/* [lo, hi) overlapped with [at, at + n): copies src's bytes there into buf (holding [at, at + n)). */
static void put_back(uintptr_t at, unsigned char *buf, size_t n, uintptr_t lo, uintptr_t hi,
                     const unsigned char *src)
{
	uintptr_t from = lo > at ? lo : at, to = hi < at + n ? hi : at + n;
	if (from < to)
		memcpy(buf + (from - at), src + (from - lo), to - from);
}

/* ut_code_view.original: the bytes of patched windows and 7-byte sites as they were. Patch lock. */
static void original_code(uintptr_t at, unsigned char *buf, size_t n)
{
	for (unsigned i = 0; i < n_windows; i++)
		if (windows[i].patched)
			put_back(at, buf, n, windows[i].start, windows[i].start + windows[i].len,
			         windows[i].orig);
	unsigned slots = ut_registry_used() + 1;
	for (unsigned i = 1; i < slots; i++)
		if (ut_site_patched[i])
			put_back(at, buf, n, (uintptr_t)ut_data_slot(i)->site,
			         (uintptr_t)ut_data_slot(i)->site + UT_SITE_LEN, ut_site_orig[i]);
}

/* ut_code_view.patched: [lo, hi) overlaps a patched window or 7-byte site. Patch lock. */
static bool patched_code(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < n_windows; i++)
		if (windows[i].patched && lo < windows[i].start + windows[i].len && hi > windows[i].start)
			return true;
	unsigned slots = ut_registry_used() + 1;
	for (unsigned i = 1; i < slots; i++) {
		uintptr_t site = (uintptr_t)ut_data_slot(i)->site;
		if (ut_site_patched[i] && lo < site + UT_SITE_LEN && hi > site)
			return true;
	}
	return false;
}

static const struct ut_code_view before_patches = {original_code, patched_code};

/* A plan from the plan cache fits the code: inside the function, over no patched site, and its bytes
 * those there now (the cache checked the function's hash; this costs a compare). */
static bool given_plan_fits(const struct ut_plan *p, uintptr_t fn_lo, uintptr_t fn_hi)
{
	unsigned char cur[UT_WIN_MAX_LEN];
	size_t len = p->end - p->start;
	return p->start >= fn_lo && p->end <= fn_hi && len <= UT_WIN_MAX_LEN &&
	       !patched_code(p->start, p->end) &&
	       safecopy_memcpy(cur, (const void *)p->start, len, NULL) == len && !memcmp(cur, p->bytes, len);
}

/* The plan of insn into *p: the one given (*result >= 0, from the plan cache), or the planner's
 * (*result set to what it returned). 0 or the error. */
static int plan_for(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p, int *result,
                    struct usertrap_error *err)
{
	if (*result == UT_PLAN_OK)
		return given_plan_fits(p, fn_lo, fn_hi) ? 0 : ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	if (*result > 0)
		return plan_error(*result, err);
	if (!fn_lo && !ut_function_of(insn, &fn_lo, &fn_hi))
		return ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	*result = ut_plan_window(insn, fn_lo, fn_hi, &before_patches, p);
	return *result ? plan_error(*result, err) : 0;
}

/* The window of insn: one still matching the code (its stub reused), or a new one of plan *p (see
 * plan_for). */
static int window_for(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p, int *result,
                      struct window **out, struct usertrap_error *err)
{
	struct window *w = find(insn);
	unsigned char cur[UT_WIN_MAX_LEN];
	if (w && safecopy_memcpy(cur, (const void *)w->start, w->len, NULL) == w->len &&
	    memcmp(cur, w->orig, w->len) == 0) {
		*out = w;
		return 0;
	}
	unsigned n = n_windows;
	if (n == USERTRAP_MAX_WINDOWS)
		return ut_fail(err, USERTRAP_ERR_TABLE_FULL, 0);
	int r = plan_for(insn, fn_lo, fn_hi, p, result, err);
	if (r)
		return r;
	struct ut_window pw;
	if ((r = pages_of(p->start, p->end, &pw, err)))
		return r;
	ut_window_release(&pw);
	if ((r = build(p, &windows[n], err)))
		return r;
	__atomic_store_n(&n_windows, n + 1, __ATOMIC_RELEASE);
	*out = &windows[n];
	return 0;
}

/* Writes n bytes at dst in pieces of at most UT_SITE_LEN bytes (each piece one write): the callers'
 * writes do not depend on the order their bytes land in. */
static int write_pieces(const struct ut_window *pw, uintptr_t dst, const unsigned char *src, size_t n,
                        struct usertrap_error *err)
{
	for (size_t done = 0; done < n; done += UT_SITE_LEN) {
		size_t k = n - done < UT_SITE_LEN ? n - done : UT_SITE_LEN;
		int r = ut_window_write(pw, dst + done, src + done, k, err);
		if (r)
			return r;
	}
	return 0;
}

/* bytes with UT_GUARD at the window's start (if `start`) and at every other instruction boundary. */
static void guard_heads(const struct window *w, const unsigned char *bytes, bool start, unsigned char *out)
{
	memcpy(out, bytes, w->len);
	if (start)
		out[0] = UT_GUARD;
	for (unsigned k = 1; k < w->n; k++)
		out[w->off[k]] = UT_GUARD;
}

/* The three writes of a patch or a restore: `heads` (differs from the bytes there only in instruction
 * heads, or only at the start), `body` over [start + 1, end) with every head a guard, then `last`
 * (again heads only). */
static int three_writes(struct window *w, const unsigned char *heads, size_t heads_len,
                        const unsigned char *body, const unsigned char *last, struct usertrap_error *err)
{
	struct ut_window pw;
	int r = pages_of(w->start, w->start + w->len, &pw, err);
	if (r || (r = write_pieces(&pw, w->start, heads, heads_len, err)))
		goto out;
	step_done(w->insn, 1);
	if ((r = write_pieces(&pw, w->start + 1, body + 1, w->len - 1u, err)))
		goto out;
	step_done(w->insn, 2);
	r = write_pieces(&pw, w->start, last, w->len, err);
out:
	ut_window_release(&pw);
	return r;
}

/* The whole window in one write: no other thread can see the bytes in between (see
 * ut_window_single_threaded), and the patching thread's signals are blocked while it holds the patch
 * lock. The test step hook observes the three writes, so it keeps them. */
static bool one_write(void)
{
	return !ut_test_step_hook && ut_window_single_threaded();
}

/* The window's final bytes in one write (one pwrite instead of up to three per 7 bytes). */
static int whole_write(struct window *w, const unsigned char *fin, struct usertrap_error *err)
{
	struct ut_window pw;
	int r = pages_of(w->start, w->start + w->len, &pw, err);
	if (!r)
		r = ut_window_write(&pw, w->start, fin, w->len, err);
	ut_window_release(&pw);
	return r;
}

/* ut_window_patch_locked of a window not patched yet, under a hold of /proc/self/mem. */
static int patch_held(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p, int *result,
                      struct usertrap_error *err)
{
	struct window *w = NULL;
	int r = window_for(insn, fn_lo, fn_hi, p, result, &w, err);
	if (r)
		return r;
	unsigned char fin[UT_WIN_MAX_LEN], heads[UT_WIN_MAX_LEN];
	patched_bytes(w, fin); /* every head of it is a guard but the jump's opcode */
	guard_heads(w, w->orig, true, heads);
	/* If a write fails midway the guards stay: threads reaching them continue in the stub. */
	if ((r = one_write() ? whole_write(w, fin, err) : three_writes(w, heads, w->len, fin, fin, err)))
		return r;
	w->patched = true;
	UT_COUNT(sites_patched);
	return ut_ok(err);
}

/* A first hit's window with the plan cache (plancache.h): a cached plan used, a new one recorded; a
 * site the decoder could not plan (not loaded, or the window refused with this process's patches)
 * noted for the process's end, which plans it alone. */
static int patch_cached(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct usertrap_error *err)
{
	struct ut_fn_key key;
	struct ut_plan p;
	if (!ut_window_code_key(fn_lo, fn_hi, &key))
		return ut_fail(err, USERTRAP_ERR_FAULT, 0);
	uint32_t off = (uint32_t)(insn - fn_lo);
	int result = ut_plancache_plan(&key, off, fn_lo, &p), cached = result;
	int r = ut_window_patch_plan_locked(insn, fn_lo, fn_hi, &p, &result, err);
	if (cached < 0 && result == UT_PLAN_OK)
		ut_plancache_put_plan(&key, off, fn_lo, result, &p);
	else if (cached < 0 && result > 0)
		ut_plancache_put_missing(&key, insn, fn_lo, fn_hi);
	return r;
}

int ut_window_patch_locked(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct usertrap_error *err)
{
	struct window *w = find(insn);
	if (w && w->patched)
		return ut_ok(err);
	if (ut_plancache_enabled() && (fn_lo || ut_function_of(insn, &fn_lo, &fn_hi)))
		return patch_cached(insn, fn_lo, fn_hi, err);
	struct ut_plan p;
	int result = -1;
	return ut_window_patch_plan_locked(insn, fn_lo, fn_hi, &p, &result, err);
}

bool ut_window_code_key(uintptr_t fn_lo, uintptr_t fn_hi, struct ut_fn_key *key)
{
	return ut_code_key(fn_lo, fn_hi, &before_patches, key);
}

int ut_window_plan_alone(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p)
{
	static const struct ut_code_view original_only = {original_code, NULL};
	return ut_plan_window(insn, fn_lo, fn_hi, &original_only, p);
}

int ut_window_patch_plan_locked(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p,
                                int *result, struct usertrap_error *err)
{
	struct window *w = find(insn);
	if (w && w->patched)
		return ut_ok(err);
	int r = ut_window_flush(err); /* the window reads and relocates code a batch may be writing */
	if (r)
		return r;
	/* One /proc/self/mem descriptor for the check of the pages, the stub and the writes (it was three
	 * opens and a page swap of the stub page: most of a first hit's system calls). */
	ut_window_hold(true);
	r = patch_held(insn, fn_lo, fn_hi, p, result, err);
	ut_window_hold(false);
	return r;
}

int ut_window_unpatch_locked(uintptr_t insn, struct usertrap_error *err)
{
	struct window *w = find(insn);
	if (!w)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	if (!w->patched)
		return ut_ok(err);
	unsigned char want[UT_WIN_MAX_LEN], cur[UT_WIN_MAX_LEN];
	patched_bytes(w, want);
	struct safecopy_fault fault;
	int r = ut_window_settle(w->start, w->len, err);
	if (r)
		return r;
	if (safecopy_memcpy(cur, (const void *)w->start, w->len, &fault) != w->len)
		return ut_fail_fault(err, &fault);
	if (memcmp(cur, want, w->len) != 0)
		return ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	unsigned char body[UT_WIN_MAX_LEN];
	guard_heads(w, w->orig, false, body);
	const unsigned char guard = UT_GUARD;
	ut_window_hold(true);
	r = three_writes(w, &guard, 1, body, w->orig, err);
	ut_window_hold(false);
	if (r)
		return r;
	w->patched = false;
	UT_UNCOUNT(sites_patched);
	return ut_ok(err);
}

int ut_window_unpatch_all_locked(struct usertrap_error *err)
{
	int first = 0;
	struct usertrap_error e;
	ut_window_hold(true);
	for (unsigned i = 0; i < n_windows; i++) {
		if (!windows[i].patched || find(windows[i].insn) != &windows[i])
			continue;
		ut_keep_first(&first, ut_window_unpatch_locked(windows[i].insn, &e), &e, err);
	}
	ut_window_hold(false);
	return first;
}

/* The index of the instruction of w that starts at pc; -1 if none. */
static int boundary(const struct window *w, uintptr_t pc)
{
	for (unsigned k = 0; k < w->n; k++)
		if (w->start + w->off[k] == pc)
			return (int)k;
	return -1;
}

bool ut_window_on_sigill(uintptr_t pc, void *uc)
{
	for (unsigned i = __atomic_load_n(&n_windows, __ATOMIC_ACQUIRE); i-- > 0;) {
		const struct window *w = &windows[i];
		int k = pc >= w->start && pc < w->start + w->len ? boundary(w, pc) : -1;
		if (k < 0)
			continue;
		unsigned char now;
		if (safecopy_memcpy(&now, (const void *)pc, 1, NULL) == 1 && now != UT_GUARD)
			return true; /* restored meanwhile: run the original instruction */
		if (k == w->sys_index && arch_reg_rax(uc) == SYS_restart_syscall) {
			/* an interrupted call the kernel restarts (it backed RIP up to the syscall) */
			UT_COUNT(restart_syscalls);
			arch_set_rax(uc, (uint64_t)UT_SYS0(SYS_restart_syscall));
			arch_set_pc(uc, w->stub + w->map.after_syscall);
		} else {
			arch_set_pc(uc, w->stub + w->map.at[k]);
		}
		return true;
	}
	return false;
}
