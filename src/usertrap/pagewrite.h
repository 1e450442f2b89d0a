/*
 * Layer 3 (see src/usertrap/README.md). Writing into code that other threads may be running: the page holding
 * a site is never made writable, and never stops being executable (see pagewrite.c).
 */
#ifndef USERTRAP_PAGEWRITE_H
#define USERTRAP_PAGEWRITE_H

#include <stddef.h>

#include "usertrap/defs.h"

struct ut_window {
	uintptr_t lo, hi; /* the page(s) holding the site's bytes */
	int prot;         /* their protection, which the new page(s) get too */
	int mem_fd;       /* /proc/self/mem while the window is open, or -1 (page swaps) */
};

/* The window of the site at `site`, if it may be patched. Returns 0, USERTRAP_ERR_NOT_PATCHABLE (in the
 * trap table or usertrap's own code, MAP_SHARED, the vDSO, not executable, or across two mappings),
 * USERTRAP_ERR_FAULT (nothing mapped there: err->fault), or USERTRAP_ERR_SYS. A window that was
 * returned (0) holds a descriptor until ut_window_release(). */
UT_HIDDEN int ut_window_of(uintptr_t site, struct ut_window *w, struct usertrap_error *err);

/* Closes what ut_window_of opened. Safe on a window ut_window_of refused or never filled (mem_fd -1). */
UT_HIDDEN void ut_window_release(struct ut_window *w);

/* Writes n bytes at dst (inside w) in one step. Returns 0, USERTRAP_ERR_FAULT (the page went away),
 * USERTRAP_ERR_NOT_PATCHABLE (the kernel refused the swap: err->sys_errno) or USERTRAP_ERR_SYS. */
UT_HIDDEN int ut_window_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                              struct usertrap_error *err);

/* True if no other thread can run code of this process now: the caller may write a whole site at
 * once. glibc's __libc_single_threaded (false for good once a thread was created) and no CLONE_VM
 * clone seen by usertrap. Async-signal-safe. */
UT_HIDDEN bool ut_window_single_threaded(void);
/* A CLONE_VM clone was seen (a thread glibc may not know about): never single-threaded again. */
UT_HIDDEN void ut_window_note_thread(void);

/* on: from the first window that needs /proc/self/mem on, every window uses one descriptor (released
 * windows leave it open) until the matching ut_window_hold(false); off: ends one hold, and the
 * outermost one closes the descriptor. Holds nest, and hold /proc/self/maps too (ut_maps_hold). For a pass of
 * many writes under one hold of the patch lock (needed: the fork handlers take the lock, so no child inherits
 * the descriptor). */
UT_HIDDEN void ut_window_hold(bool on);

/* The window over `page`, one of usertrap's own read-execute pages (a stub page) whose written bytes
 * no thread runs before the write is over: through the held descriptor while a hold is on (one pwrite),
 * else (mem_fd -1) by a page swap. Released with ut_window_release. Patch lock. */
UT_HIDDEN void ut_window_of_own(uintptr_t page, struct ut_window *w);

/*
 * on: from now until the matching ut_window_batch(false), writes through the held descriptor (inside a
 * ut_window_hold) while no other thread can run wait, and the writes into one page are made as one
 * pwrite of their span: when a write into another page or one that cannot wait comes (the writes keep
 * their order), at ut_window_flush, or at the end of the batch. Code reads of bytes that may be pending
 * must ut_window_settle first. off: ends one batch (they nest), the outermost one making what is
 * pending; returns 0 or the error of that write. Patch lock; the hold must outlast the batch.
 */
UT_HIDDEN int ut_window_batch(bool on, struct usertrap_error *err);

/* Makes the pending writes of the batch now: 0, or the error of ut_window_write. Nothing pending: 0. */
UT_HIDDEN int ut_window_flush(struct usertrap_error *err);

/* ut_window_flush if any pending byte lies in [a, a + n): after it, memory there is what was written. */
UT_HIDDEN int ut_window_settle(uintptr_t a, size_t n, struct usertrap_error *err);

/* Tests only: how many writes into code were made (pwrites, page swaps, stores), batched ones once. */
UT_HIDDEN unsigned long ut_window_code_writes(void);

/* Tests only: how many times /proc/self/mem was opened; how many writes ut_window_write made; how many
 * of them were page swaps. */
UT_HIDDEN unsigned long ut_window_opens(void);
UT_HIDDEN unsigned long ut_window_writes(void);
UT_HIDDEN unsigned long ut_window_swaps(void);

/* Tests only: true makes every write take the page swap, as if /proc/self/mem refused forced writes. */
UT_HIDDEN extern bool ut_test_no_proc_mem;

#endif
