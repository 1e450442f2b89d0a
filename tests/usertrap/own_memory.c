/*
 * usertrap's own memory (the trap table every patched site jumps to, the stub pages of relocated
 * windows) cannot be unmapped, replaced, re-protected, moved or discarded by the program's calls:
 * usertrap_syscall refuses them (mmap MAP_FIXED: ENOMEM; munmap, madvise, mremap: EINVAL; mprotect:
 * EACCES), and the patched sites keep working. A program mapping low memory at a fixed address (an
 * emulator's guest space) used to replace the table and die at its next patched call.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/table.h"
#include "usertrap/util.h"

extern uintptr_t ut_stub_reserve(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t from, unsigned pun);
extern void ut_lock(void);
extern void ut_unlock(void);

static unsigned long hook_calls, by_nr[512];

static long counting(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&hook_calls, 1, __ATOMIC_RELAXED);
	if (call->nr >= 0 && call->nr < 512)
		__atomic_fetch_add(&by_nr[call->nr], 1, __ATOMIC_RELAXED);
	return usertrap_syscall(call);
}

/* The calls, through the hook (capture on: by SIGSYS or a patched site); each must fail as said and
 * leave the PAGE bytes at p as they were. */
static void every_change_is_refused(uintptr_t p)
{
	/* The same calls on a page of the program's first: their sites' first hits patch them (which may
	 * write into the table and the stub pages) before the page is compared. */
	void *spare = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(spare != MAP_FAILED);
	cr_assert_eq(mmap(spare, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), spare);
	cr_assert_eq(mprotect(spare, 4096, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(madvise(spare, 4096, MADV_DONTNEED), 0);
	cr_assert_eq(munmap((char *)spare + 4096, 4096), 0);
	void *moved = mremap(spare, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (char *)spare + 4096);
	cr_assert_eq(moved, (char *)spare + 4096);
	spare = moved;
	cr_assert_eq(syscall(SYS_getppid), (long)getppid()); /* libc's syscall(), used below */
	unsigned char before[4096];
	memcpy(before, (const void *)p, sizeof before);
	unsigned long mm = by_nr[SYS_mmap], un = by_nr[SYS_munmap], pr = by_nr[SYS_mprotect],
	              ma = by_nr[SYS_madvise], mr = by_nr[SYS_mremap];
	errno = 0;
	cr_assert_eq(
	    mmap((void *)p, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
	    MAP_FAILED);
	cr_assert_eq(errno, ENOMEM);
	/* a range that only starts below it, and one whose length wraps around */
	cr_assert_eq(munmap((void *)(p - 4096), 8192), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(syscall(SYS_munmap, p - 4096, -4096L), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(mprotect((void *)p, 4096, PROT_READ | PROT_WRITE), -1);
	cr_assert_eq(errno, EACCES);
	cr_assert_eq(madvise((void *)p, 4096, MADV_DONTNEED), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(mremap((void *)p, 4096, 8192, MREMAP_MAYMOVE), MAP_FAILED);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(mremap(spare, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)p), MAP_FAILED);
	cr_assert_eq(errno, EINVAL);
	/* each through the hook, once (the wrapping munmap's EINVAL is the kernel's answer too) */
	cr_assert(by_nr[SYS_mmap] == mm + 1 && by_nr[SYS_munmap] == un + 2 && by_nr[SYS_mprotect] == pr + 1 &&
	          by_nr[SYS_madvise] == ma + 1 && by_nr[SYS_mremap] == mr + 2);
	cr_assert_eq(memcmp((const void *)p, before, sizeof before), 0);
	/* What is not usertrap's is the program's as before. */
	cr_assert_eq(mprotect(spare, 4096, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(munmap(spare, 4096), 0);
}

Test(own_memory, the_trap_table_stays)
{
	lazy_init_or_skip(counting, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	unsigned char *m = make_sites(1, SYS_getppid, false);
	long ppid = (long)getppid();
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), ppid);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_geq(c.sites_patched, 1);
	every_change_is_refused(ut_table());
	every_change_is_refused(ut_table() + UT_TABLE_SIZE - 4096);
	unsigned long calls = hook_calls;
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), ppid, "the patched site still works");
	cr_assert_eq(hook_calls, calls + 1);
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
}

Test(own_memory, a_stub_page_stays)
{
	lazy_init_or_skip(counting, 0);
	unsigned char *m = make_sites(1, SYS_getppid, false);
	uintptr_t code = (uintptr_t)m;
	ut_lock();
	uintptr_t stub = ut_stub_reserve(code, code + 16, 64, code + 5, 0);
	ut_unlock();
	cr_assert_neq(stub, 0);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	every_change_is_refused(stub & ~(uintptr_t)4095);
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
}
