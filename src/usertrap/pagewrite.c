/*
 * One write into code. A page that is already writable (JIT code) is written in place. Otherwise the
 * page is never made writable at all: a copy of it is made in a fresh read-write page, the bytes are
 * written there, the copy gets the page's exact protection (read-execute: never writable and executable
 * at once) and mremap() puts it in the page's place in one step. Threads running that code meanwhile see
 * the old page or the new one, never a page they cannot execute (making the page itself read-write made
 * them fault; a thread that had SIGSEGV blocked, e.g. a new thread under ASan, was then killed). The
 * page becomes private anonymous memory with the same contents otherwise. Every access goes through
 * libsafecopy: a page that vanishes meanwhile is an error, never a crash. Async-signal-safe.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/exclude.h"
#include "usertrap/maps.h"
#include "usertrap/pagewrite.h"
#include "usertrap/site.h"
#include "usertrap/status.h"
#include "usertrap/table.h"

/* The page at addr went away: a fault there, as libsafecopy would have reported it. */
static int vanished(struct usertrap_error *err, uintptr_t addr)
{
	struct safecopy_fault f = {
	    .status = SAFECOPY_SEGV, .addr = (void *)addr, .signo = SIGSEGV, .code = SEGV_MAPERR};
	return ut_fail_fault(err, &f);
}

int ut_window_of(uintptr_t site, struct ut_window *w, struct usertrap_error *err)
{
	w->lo = site & ~(UT_PAGE - 1);
	w->hi = (site + UT_SITE_LEN + UT_PAGE - 1) & ~(UT_PAGE - 1);
	if (ut_table_contains(site, UT_SITE_LEN) || ut_excluded(w->lo, w->hi))
		return ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0);
	struct ut_mapping m;
	int r = ut_find_mapping(site, &m);
	if (r == -ENOENT)
		return vanished(err, site);
	if (r < 0)
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	if (m.shared || m.vdso || !(m.prot & PROT_EXEC) || m.end < site + UT_SITE_LEN)
		return ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0);
	w->prot = m.prot;
	return 0;
}

int ut_window_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                    struct usertrap_error *err)
{
	struct safecopy_fault fault;
	if (w->prot & PROT_WRITE)
		return safecopy_memcpy((void *)dst, src, n, &fault) == n ? 0 : ut_fail_fault(err, &fault);
	size_t len = w->hi - w->lo;
	long copy =
	    ut_sys(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy < 0 && copy > -4096)
		return ut_fail(err, USERTRAP_ERR_SYS, (int)-copy);
	int r = 0;
	if ((uintptr_t)copy < w->hi && (uintptr_t)copy + len > w->lo) {
		r = vanished(err, w->lo); /* the kernel gave us the very place: the page had been unmapped */
		goto out;
	}
	if (safecopy_memcpy((void *)copy, (const void *)w->lo, len, &fault) != len) {
		r = ut_fail_fault(err, &fault); /* the page vanished (or cannot be read) */
		goto out;
	}
	safecopy_memcpy((void *)(copy + (dst - w->lo)), src, n, NULL);
	long e = UT_SYS3(SYS_mprotect, copy, len, w->prot);
	if (e == 0)
		e = UT_SYS5(SYS_mremap, copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, w->lo);
	if (e < 0 && e > -4096) {
		r = e == -ENOMEM ? vanished(err, w->lo) : ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, (int)-e);
		goto out;
	}
	return 0; /* the copy now is the page */
out:
	UT_SYS2(SYS_munmap, copy, len);
	return r;
}
