/*
 * One write into code. A page that is already writable (JIT code) is written in place. Otherwise the
 * page is never made writable at all, and either of two ways is taken:
 *
 * - pwrite() into /proc/self/mem (one system call). The kernel forces the write into the read-execute
 *   page, as for a debugger's breakpoint: the page gets a private copy but stays in its file-backed
 *   mapping (/proc/self/maps keeps the file's name). The descriptor is opened for one window and
 *   closed with it: one kept open would be inherited by a forked child (it names the parent's memory),
 *   seen in /proc/self/fd, or closed and its number reused by the program. A pass of many patches
 *   under one hold of the patch lock (eager.c), and each relocated window (its stub, its check and
 *   its writes: windows.c), keep one open for the pass (ut_window_hold): the fork handlers wait for
 *   the lock, so no child inherits it, and an open and a close per site (a third of the system calls
 *   of a 7-byte patch) are saved. A hold opens it at its first use only: a pass that writes nothing
 *   opens nothing.
 * - Where the kernel refuses forced writes (proc_mem.force_override=never: EIO or EPERM on a page that
 *   is there) or /proc is missing, a page swap: a copy of the page is made in a fresh read-write page,
 *   the bytes are written there, the copy gets the page's exact protection (read-execute: never
 *   writable and executable at once) and mremap() puts it in the page's place in one step. Threads
 *   running that code meanwhile see the old page or the new one, never a page they cannot execute
 *   (making the page itself read-write made them fault; a thread that had SIGSEGV blocked, e.g. a new
 *   thread under ASan, was then killed). The page becomes private anonymous memory with the same
 *   contents otherwise.
 *
 * Every access goes through libsafecopy or the kernel: a page that vanishes meanwhile is an error,
 * never a crash. Async-signal-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/exclude.h"
#include "usertrap/maps.h"
#include "usertrap/pagewrite.h"
#include "usertrap/site.h"
#include "usertrap/status.h"
#include "usertrap/table.h"

bool ut_test_no_proc_mem;
static bool proc_mem_refused; /* learnt once: this kernel refuses forced writes */
static bool clone_vm_seen;
/* For the tests: opens of /proc/self/mem, ut_window_write calls, page swaps, writes into code made. */
static unsigned long opens, writes, swaps, code_writes;
static struct ut_held mem_held = UT_HELD_INIT; /* /proc/self/mem for a pass (ut_window_hold) */
extern char __libc_single_threaded __attribute__((weak));

/*
 * A batch (ut_window_batch): the bytes written into one read-execute page through the held descriptor,
 * not yet written. Each pwrite into a file-backed page costs a system call and a walk of the page
 * tables (the page's private copy is made once whatever the number of writes), so the sites of one page
 * become one pwrite of the span [lo, hi) of the page, with the bytes between them as they are now.
 * Only while no other thread can run (ut_window_single_threaded): nobody sees the page between the
 * writes that were merged. Patch lock.
 */
static struct {
	int depth;                /* ut_window_batch nesting; 0: every write is made at once */
	uintptr_t page;           /* the page pending, or 0 */
	size_t lo, hi;            /* the span pending, offsets in the page */
	int prot, mem_fd;         /* the page's window */
	unsigned char b[UT_PAGE]; /* b[lo..hi): the page's bytes as they are to be */
} batch;

/* The page at addr went away: a fault there, as libsafecopy would have reported it. */
static int vanished(struct usertrap_error *err, uintptr_t addr)
{
	struct safecopy_fault f = {
	    .status = SAFECOPY_SEGV, .addr = (void *)addr, .signo = SIGSEGV, .code = SEGV_MAPERR};
	return ut_fail_fault(err, &f);
}

static int open_proc_mem(void)
{
	if (ut_test_no_proc_mem || __atomic_load_n(&proc_mem_refused, __ATOMIC_RELAXED))
		return -1;
	if (mem_held.fd >= 0)
		return mem_held.fd;
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/mem", O_RDWR | O_CLOEXEC, 0);
	__atomic_fetch_add(&opens, 1, __ATOMIC_RELAXED);
	return fd < 0 ? -1 : ut_held_keep(&mem_held, fd);
}

int ut_window_of(uintptr_t site, struct ut_window *w, struct usertrap_error *err)
{
	w->mem_fd = -1;
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
	if (!(m.prot & PROT_WRITE))
		w->mem_fd = open_proc_mem();
	return 0;
}

void ut_window_release(struct ut_window *w)
{
	if (w->mem_fd >= 0 && w->mem_fd != mem_held.fd)
		UT_SYS1(SYS_close, w->mem_fd);
	w->mem_fd = -1;
}

void ut_window_hold(bool on)
{
	ut_maps_hold(on); /* the mappings are looked up for the same writes */
	ut_held_hold(&mem_held, on);
}

void ut_window_of_own(uintptr_t page, struct ut_window *w)
{
	*w =
	    (struct ut_window){.lo = page, .hi = page + UT_PAGE, .prot = PROT_READ | PROT_EXEC, .mem_fd = -1};
	if (mem_held.holds)
		w->mem_fd = open_proc_mem();
}

unsigned long ut_window_opens(void)
{
	return __atomic_load_n(&opens, __ATOMIC_RELAXED);
}

unsigned long ut_window_writes(void)
{
	return __atomic_load_n(&writes, __ATOMIC_RELAXED);
}

unsigned long ut_window_swaps(void)
{
	return __atomic_load_n(&swaps, __ATOMIC_RELAXED);
}

/* The page swap (see the top of this file). */
static int swap_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                      struct usertrap_error *err)
{
	struct safecopy_fault fault;
	size_t len = w->hi - w->lo;
	__atomic_fetch_add(&swaps, 1, __ATOMIC_RELAXED);
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

/* True if the bytes [dst, dst + n) can be read (the pages are there); n <= 64 (a whole window). */
static bool readable(uintptr_t dst, size_t n)
{
	unsigned char b[64];
	return n <= sizeof b && safecopy_memcpy(b, (const void *)dst, n, NULL) == n;
}

/* The forced write. 1: the kernel refused it on pages that are there (take the page swap). */
static int proc_mem_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                          struct usertrap_error *err)
{
	long r = UT_SYS4(SYS_pwrite64, w->mem_fd, src, n, dst);
	if (r == (long)n)
		return 0;
	if (r >= 0) /* a short write: the page after the first vanished (the kernel stops there) */
		return vanished(err, (dst + (size_t)r) & ~(UT_PAGE - 1));
	if (!readable(dst, n))
		return vanished(err, dst & ~(UT_PAGE - 1));
	__atomic_store_n(&proc_mem_refused, true, __ATOMIC_RELAXED);
	return 1;
}

/* The write itself, made now. */
static int write_now(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                     struct usertrap_error *err)
{
	struct safecopy_fault fault;
	__atomic_fetch_add(&code_writes, 1, __ATOMIC_RELAXED);
	if (w->prot & PROT_WRITE)
		return safecopy_memcpy((void *)dst, src, n, &fault) == n ? 0 : ut_fail_fault(err, &fault);
	if (w->mem_fd >= 0 && !ut_test_no_proc_mem && !__atomic_load_n(&proc_mem_refused, __ATOMIC_RELAXED)) {
		int r = proc_mem_write(w, dst, src, n, err);
		if (r <= 0)
			return r;
	}
	return swap_write(w, dst, src, n, err);
}

int ut_window_flush(struct usertrap_error *err)
{
	if (!batch.page)
		return 0;
	struct ut_window w = {
	    .lo = batch.page, .hi = batch.page + UT_PAGE, .prot = batch.prot, .mem_fd = batch.mem_fd};
	batch.page = 0;
	return write_now(&w, w.lo + batch.lo, batch.b + batch.lo, batch.hi - batch.lo, err);
}

int ut_window_settle(uintptr_t a, size_t n, struct usertrap_error *err)
{
	if (batch.page && a < batch.page + batch.hi && a + n > batch.page + batch.lo)
		return ut_window_flush(err);
	return 0;
}

/* Adds [dst, dst + n), inside one page, to the batch: 0, or the error of the write it had to make
 * first (the batch of another page) or of the read of the bytes between. */
static int defer(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                 struct usertrap_error *err)
{
	uintptr_t page = dst & ~(UT_PAGE - 1);
	size_t off = dst - page;
	int r;
	if (batch.page != page && (r = ut_window_flush(err)))
		return r;
	if (!batch.page) {
		batch.page = page;
		batch.lo = batch.hi = off;
		batch.prot = w->prot;
		batch.mem_fd = w->mem_fd;
	}
	/* The bytes the span now takes in between are the page's own (none of them is pending). */
	size_t lo = off < batch.lo ? off : batch.lo, hi = off + n > batch.hi ? off + n : batch.hi;
	struct safecopy_fault fault;
	if (lo < batch.lo &&
	    safecopy_memcpy(batch.b + lo, (const void *)(page + lo), batch.lo - lo, &fault) != batch.lo - lo)
		return ut_fail_fault(err, &fault);
	if (hi > batch.hi && safecopy_memcpy(batch.b + batch.hi, (const void *)(page + batch.hi),
	                                     hi - batch.hi, &fault) != hi - batch.hi)
		return ut_fail_fault(err, &fault);
	batch.lo = lo;
	batch.hi = hi;
	memcpy(batch.b + off, src, n);
	return 0;
}

/* True if this write may wait in the batch: a batch is on, no other thread runs, and it goes through the
 * held descriptor into one page. */
static bool deferrable(const struct ut_window *w, uintptr_t dst, size_t n)
{
	return batch.depth && n && !(w->prot & PROT_WRITE) && w->mem_fd >= 0 && w->mem_fd == mem_held.fd &&
	       (dst & ~(UT_PAGE - 1)) == ((dst + n - 1) & ~(UT_PAGE - 1)) && ut_window_single_threaded();
}

int ut_window_write(const struct ut_window *w, uintptr_t dst, const unsigned char *src, size_t n,
                    struct usertrap_error *err)
{
	__atomic_fetch_add(&writes, 1, __ATOMIC_RELAXED);
	if (deferrable(w, dst, n))
		return defer(w, dst, src, n, err);
	int r = ut_window_flush(err); /* the writes keep their order */
	return r ? r : write_now(w, dst, src, n, err);
}

int ut_window_batch(bool on, struct usertrap_error *err)
{
	if (on) {
		batch.depth++;
		return 0;
	}
	int r = batch.depth == 1 ? ut_window_flush(err) : 0;
	batch.depth--;
	return r;
}

unsigned long ut_window_code_writes(void)
{
	return __atomic_load_n(&code_writes, __ATOMIC_RELAXED);
}

bool ut_window_single_threaded(void)
{
	return &__libc_single_threaded && __libc_single_threaded &&
	       !__atomic_load_n(&clone_vm_seen, __ATOMIC_RELAXED);
}

void ut_window_note_thread(void)
{
	__atomic_store_n(&clone_vm_seen, true, __ATOMIC_RELAXED);
}
