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
};

/* The window of the site at `site`, if it may be patched. Returns 0, USERTRAP_ERR_NOT_PATCHABLE (in the
 * trap table or usertrap's own code, MAP_SHARED, the vDSO, not executable, or across two mappings),
 * USERTRAP_ERR_FAULT (nothing mapped there: err->fault), or USERTRAP_ERR_SYS. */
UT_HIDDEN int ut_window_of(uintptr_t site, struct ut_window *w, struct usertrap_error *err);

/* Writes n bytes at dst (inside w) in one step. Returns 0, USERTRAP_ERR_FAULT (the page went away),
 * USERTRAP_ERR_NOT_PATCHABLE (the kernel refused the swap: err->sys_errno) or USERTRAP_ERR_SYS. */
UT_HIDDEN int ut_window_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                              struct usertrap_error *err);

#endif
