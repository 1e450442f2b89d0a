/*
 * Small alternate stacks (crash reporters run their handlers on one): a faulting safecopy call needs
 * at most getauxval(AT_MINSIGSTKSZ) + SAFECOPY_SIGSTACK_EXTRA bytes of alternate stack, and a chained
 * foreign fault that much plus what the previous handler itself uses. Each test gives the thread an
 * alternate stack of exactly that size with a PROT_NONE page right below it: one byte more and the
 * handler would fault on the guard, which the kernel cannot deliver, and the child would die.
 *
 * Run in the static suite (the library's calls into libc, if any, would go through lazily bound PLT
 * entries: the dynamic linker's resolver alone needs about 1.3 KB) and in the shared ones.
 */
#include <sys/auxv.h>

#include "harness.h"

#define PAINT 0xa5

/* An alternate stack of `size` bytes whose lowest byte sits right above a PROT_NONE page. */
static char *guarded_altstack(size_t size)
{
	size_t pg = pgsz();
	size_t pages = (size + pg - 1) / pg;
	char *m = mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, pg, PROT_NONE) != 0)
		return NULL;
	char *sp = m + pg;
	memset(sp, PAINT, pages * pg);
	stack_t ss = {.ss_sp = sp, .ss_size = size};
	return sigaltstack(&ss, NULL) == 0 ? sp : NULL;
}

static size_t needed(void)
{
	return (size_t)getauxval(AT_MINSIGSTKSZ) + SAFECOPY_SIGSTACK_EXTRA;
}

/* The faulting calls of every kind: copy (both sides), memset, an atomic. 0 if all exact. */
static int faulting_calls(void)
{
	char *bad = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[512];
	struct safecopy_fault f;
	if (bad == MAP_FAILED)
		return 10;
	for (int round = 0; round < 3; round++) {
		if (safecopy_memcpy(buf, bad, sizeof buf, &f) != 0 || f.addr != bad || f.code != SEGV_ACCERR)
			return 11;
		if (safecopy_memcpy(bad, buf, 100, &f) != 0 || f.addr != bad)
			return 12;
		if (safecopy_memset(bad, 1, 20000, &f) != 0 || f.addr != bad)
			return 13;
		uint64_t v;
		if (safecopy_fetch_add64((uint64_t *)(void *)bad, 1, &v, &f) != SAFECOPY_SEGV ||
		    f.addr != bad)
			return 14;
		if (safecopy_memcpy(buf, (void *)0xdead000000000000ull, 64, &f) != 0 || f.code != SI_KERNEL)
			return 15;
		/* the header's inline load and peek (from the second round on, made in this function) */
		v = 7;
		if (safecopy_load64((const uint64_t *)(void *)bad, &v, &f) != SAFECOPY_SEGV ||
		    f.addr != bad || f.code != SEGV_ACCERR || v != 7)
			return 16;
		if (safecopy_peek64(bad, 3) != 3 || safecopy_peek32((void *)0xdead000000000000ull, 4) != 4)
			return 17;
	}
	return 0;
}

static int child_own_faults(void *arg)
{
	(void)arg;
	if (safecopy_init() != 0 || !guarded_altstack(needed()))
		return 1;
	child_step(1);
	return faulting_calls();
}

Test(altstack, own_faults_fit_in_min_sigstksz_plus_the_documented_extra)
{
	expect_exit(run_in_child(child_own_faults, NULL, 10), 0);
}

/* A previous handler that needs no stack of its own to speak of: repairs the page by a raw syscall. */
static char *fix;
static volatile sig_atomic_t prev_calls;

static void prev_tiny(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	prev_calls++;
	syscall(SYS_mprotect, fix, pgsz(), PROT_READ | PROT_WRITE);
}

static int child_chained(void *arg)
{
	(void)arg;
	fix = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix == MAP_FAILED)
		return 1;
	syscall(SYS_mprotect, fix, pgsz(), PROT_NONE); /* binds syscall() before any handler runs */
	if (set_action(SIGSEGV, prev_tiny, NULL, SA_SIGINFO | SA_ONSTACK) != 0 || safecopy_init() != 0 ||
	    !guarded_altstack(needed()))
		return 2;
	child_step(1);
	*(volatile char *)fix = 1;
	if (prev_calls != 1)
		return 3;
	return faulting_calls();
}

Test(altstack, chained_fault_fits_with_a_small_previous_handler)
{
	expect_exit(run_in_child(child_chained, NULL, 10), 0);
}

/* How much of the alternate stack a faulting call really used, from the paint (for the record). */
Test(altstack, measured_use_is_within_the_bound)
{
	cr_assert_eq(safecopy_init(), 0);
	size_t size = 4 * needed();
	char *sp = guarded_altstack(size);
	cr_assert_not_null(sp);
	cr_assert_eq(faulting_calls(), 0);
	size_t untouched = 0;
	while (untouched < size && (unsigned char)sp[untouched] == PAINT)
		untouched++;
	size_t used = size - untouched;
	cr_log_info("a faulting call used %zu bytes of alternate stack (AT_MINSIGSTKSZ %lu)", used,
	            getauxval(AT_MINSIGSTKSZ));
	cr_assert_leq(used, needed(), "used %zu bytes, documented %zu", used, needed());
}
