/*
 * Nesting: safecopy called from signal handlers (SIGUSR1, a timer interrupting copies in progress,
 * another library's SIGSEGV handler reached through the chain) and on a small sigaltstack.
 */
#include <sys/time.h>
#include <ucontext.h>

#include "harness.h"

/* Results recorded by handlers (async-signal-safe: plain stores only). */
static struct zone g_src, g_dst; /* g_src: pattern, PROT_NONE page; g_dst: canary, unmapped page */
static volatile size_t h_count;
static struct safecopy_fault h_fault, h_fault2;
static volatile sig_atomic_t h_calls, h_errors;
static volatile enum safecopy_status h_st;
static volatile uint64_t h_val;

/* One faulting copy and one faulting memset, checked in the handler; returns 0 if exact. */
static int nested_work(void)
{
	char buf[300];
	struct safecopy_fault f;
	size_t got = safecopy_memcpy(buf, g_src.bad - 37, 200, &f);
	if (got != 37 || f.status != SAFECOPY_SEGV || f.addr != g_src.bad || f.code != SEGV_ACCERR ||
	    memcmp(buf, g_src.bad - 37, 37) != 0)
		return 1;
	got = safecopy_memset(g_dst.bad - 5, 0x33, 3000, &f);
	if (got != 5 || f.status != SAFECOPY_SEGV || f.addr != g_dst.bad || f.code != SEGV_MAPERR)
		return 2;
	for (int i = 0; i < 5; i++)
		if (g_dst.bad[i - 5] != 0x33)
			return 3;
	for (int i = 0; i < 5; i++)
		g_dst.bad[i - 5] = (char)zone_fill_byte(&g_dst, g_dst.bad + i - 5);
	return 0;
}

static void zones_make(void)
{
	zone_make(&g_src, pgsz(), BAD_PROT_NONE, true);
	zone_make(&g_dst, pgsz(), BAD_UNMAPPED, false);
}

static void zones_free(void)
{
	zone_check_bad_page_untouched(&g_src);
	zone_check_bad_page_untouched(&g_dst);
	zone_free(&g_src);
	zone_free(&g_dst);
}

/* ---- SIGUSR1 ------------------------------------------------------------------------------------ */

static void usr1_handler(int sig)
{
	(void)sig;
	h_calls++;
	char buf[100];
	h_count = safecopy_memcpy(buf, g_src.bad - 10, sizeof buf, &h_fault);
	uint64_t v = 0;
	h_st = safecopy_load64((uint64_t *)g_dst.bad, &v, &h_fault2);
	h_val = v;
	h_errors += nested_work();
}

Test(nesting, safecopy_in_sigusr1_handler)
{
	zones_make();
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(set_action(SIGUSR1, NULL, usr1_handler, 0), 0);
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert_eq(h_calls, 1);
	cr_assert_eq(h_count, 10);
	check_fault(&h_fault, SAFECOPY_SEGV, g_src.bad, SIGSEGV, SEGV_ACCERR, "copy in SIGUSR1 handler");
	cr_assert_eq(h_st, SAFECOPY_SEGV);
	check_fault(&h_fault2, SAFECOPY_SEGV, g_dst.bad, SIGSEGV, SEGV_MAPERR, "load64 in SIGUSR1 handler");
	cr_assert_eq(h_val, 0, "output written on a fault");
	cr_assert_eq(h_errors, 0, "nested_work failed with %d", (int)h_errors);
	zones_free();
}

/* ---- a timer interrupting long copies; its handler faults inside safecopy ----------------------- */

#define BIGCOPY (8u << 20)

static void alrm_handler(int sig)
{
	(void)sig;
	h_calls++;
	h_errors += nested_work();
}

Test(nesting, timer_handler_faults_while_copies_are_in_progress)
{
	zones_make();
	cr_assert_eq(safecopy_init(), 0);
	char *a = map_anon(BIGCOPY, PROT_READ | PROT_WRITE);
	char *b = map_anon(BIGCOPY, PROT_READ | PROT_WRITE);
	for (size_t i = 0; i < BIGCOPY; i += 8)
		*(uint64_t *)(a + i) = i * 0x9e3779b97f4a7c15ull;
	cr_assert_eq(set_action(SIGALRM, NULL, alrm_handler, SA_RESTART), 0);
	struct itimerval it = {{0, 200}, {0, 200}};
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	int rounds = 0, bad_rounds = 0;
	/* Run until the handler has run many times (bounded by the rounds as well). */
	while (h_calls < 50 && rounds < 2000) {
		struct safecopy_fault f;
		size_t n = BIGCOPY - (size_t)(rounds % 97);
		size_t got = safecopy_memcpy(b, a + rounds % 97, n, &f);
		if (got != n || f.status != SAFECOPY_OK || memcmp(b, a + rounds % 97, n) != 0)
			bad_rounds++;
		got = safecopy_memset(b, rounds & 0x7f, BIGCOPY, &f);
		if (got != BIGCOPY || f.status != SAFECOPY_OK || b[BIGCOPY - 1] != (char)(rounds & 0x7f))
			bad_rounds++;
		rounds++;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	cr_assert_eq(bad_rounds, 0, "%d of %d outer copies were wrong", bad_rounds, rounds);
	cr_assert_eq(h_errors, 0, "%d nested calls were wrong", (int)h_errors);
	cr_assert_geq(h_calls, 1, "the timer never fired: the test proved nothing");
	munmap(a, BIGCOPY);
	munmap(b, BIGCOPY);
	zones_free();
}

/* ---- another library's SIGSEGV handler, reached through the chain, uses safecopy --------------- */

static char *foreign_page;
static volatile sig_atomic_t foreign_calls, foreign_bus_ok;

static void foreign_segv_handler(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	foreign_calls++;
	if (sig != SIGSEGV || info->si_addr != foreign_page) {
		h_errors += 100;
		return;
	}
	/* SA_NODEFER: SIGSEGV is not blocked here, so safecopy's faults are caught. */
	h_errors += nested_work();
	char buf[100];
	h_count = safecopy_memcpy(buf, g_src.bad - 64, 100, &h_fault);
	/* SIGBUS is never blocked by this handler either. */
	int mfd = memfd_create("nest", MFD_CLOEXEC);
	if (mfd >= 0 && ftruncate(mfd, (off_t)pgsz()) == 0) {
		char *m = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (m != MAP_FAILED && ftruncate(mfd, 0) == 0) {
			struct safecopy_fault f;
			foreign_bus_ok = safecopy_memset(m, 0, 64, &f) == 0 && f.status == SAFECOPY_BUS &&
			                 f.addr == m && f.code == BUS_ADRERR;
			munmap(m, pgsz());
		}
		close(mfd);
	}
	mprotect(foreign_page, pgsz(), PROT_READ | PROT_WRITE);
}

Test(nesting, inside_another_librarys_sigsegv_handler)
{
	/* Before the zones: a one-page mapping made later could fill their unmapped page. */
	foreign_page = map_anon(pgsz(), PROT_READ); /* a write faults; memcheck flags one into PROT_NONE */
	zones_make();
	cr_assert_eq(set_action(SIGSEGV, foreign_segv_handler, NULL, SA_SIGINFO | SA_NODEFER), 0);
	cr_assert_eq(safecopy_init(), 0);
	*(volatile char *)foreign_page = 1;
	cr_assert_eq(foreign_calls, 1);
	cr_assert_eq(h_errors, 0, "nested calls in the foreign handler failed: %d", (int)h_errors);
	cr_assert_eq(h_count, 64);
	check_fault(&h_fault, SAFECOPY_SEGV, g_src.bad, SIGSEGV, SEGV_ACCERR, "copy in foreign handler");
	cr_assert(foreign_bus_ok, "SIGBUS fault in the foreign handler not converted");
	cr_assert_eq(*(volatile char *)foreign_page, 1);
	munmap(foreign_page, pgsz());
	zones_free();
}

/* ---- a small sigaltstack ------------------------------------------------------------------------ */

static char *alt_lo, *alt_hi;
static volatile sig_atomic_t on_alt;

static void alt_prev_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	char local;
	on_alt = &local >= alt_lo && &local < alt_hi;
	foreign_calls++;
	mprotect(foreign_page, pgsz(), PROT_READ | PROT_WRITE);
}

/* Maps an alternate stack of `size` bytes with a PROT_NONE guard page below it, filled with 0xaa. */
static stack_t map_altstack(size_t size)
{
	size_t pg = pgsz();
	size_t len = (size + pg - 1) / pg * pg;
	char *m = map_anon(len + pg, PROT_READ | PROT_WRITE);
	cr_assert_eq(mprotect(m, pg, PROT_NONE), 0);
	stack_t ss = {.ss_sp = m + pg + len - size, .ss_size = size, .ss_flags = 0};
	memset(ss.ss_sp, 0xaa, size);
	alt_lo = ss.ss_sp;
	alt_hi = alt_lo + size;
	return ss;
}

static size_t altstack_used(void)
{
	size_t used = 0;
	for (char *p = alt_lo; p < alt_hi; p++)
		used += (uint8_t)*p != 0xaa;
	return used;
}

Test(nesting, small_sigaltstack)
{
	long min = sysconf(_SC_MINSIGSTKSZ);
	cr_assert_gt(min, 0);
	size_t size = (size_t)min + 2048;
	stack_t ss = map_altstack(size);
	cr_assert_eq(sigaltstack(&ss, NULL), 0, "sigaltstack(%zu): %s", size, strerror(errno));
	/* Before the zones: a one-page mapping made later could fill their unmapped page. */
	foreign_page = map_anon(pgsz(), PROT_READ); /* a write faults; memcheck flags one into PROT_NONE */
	zones_make();
	cr_assert_eq(set_action(SIGSEGV, alt_prev_handler, NULL, SA_SIGINFO | SA_ONSTACK), 0);
	cr_assert_eq(safecopy_init(), 0);

	/* A safecopy fault: the handler runs on the small stack (it is SA_ONSTACK) and works there. */
	char buf[128];
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_memcpy(buf, g_src.bad - 100, sizeof buf, &f), 100);
	check_fault(&f, SAFECOPY_SEGV, g_src.bad, SIGSEGV, SEGV_ACCERR, "copy with handler on sigaltstack");
	cr_assert_gt(altstack_used(), 0, "the handler did not run on the alternate stack");
	f = fault_garbage();
	cr_assert_eq(safecopy_memset(g_dst.bad - 3000, 1, 5000, &f), 3000);
	check_fault(&f, SAFECOPY_SEGV, g_dst.bad, SIGSEGV, SEGV_MAPERR, "memset with handler on sigaltstack");

	/* A foreign fault: chained from the small stack to the previous handler, which runs there too. */
	*(volatile char *)foreign_page = 1;
	cr_assert_eq(foreign_calls, 1);
	cr_assert(on_alt, "the chained handler did not run on the alternate stack");

	stack_t cur;
	cr_assert_eq(sigaltstack(NULL, &cur), 0);
	cr_assert_eq(cur.ss_flags & SS_ONSTACK, 0);
	stack_t off = {.ss_flags = SS_DISABLE};
	sigaltstack(&off, NULL);
	munmap(foreign_page, pgsz());
	zones_free();
}

/* safecopy inside a handler that itself runs on the sigaltstack (SIGUSR1, SA_ONSTACK). */
Test(nesting, safecopy_in_handler_on_sigaltstack)
{
	size_t size = 64 * 1024;
	stack_t ss = map_altstack(size);
	cr_assert_eq(sigaltstack(&ss, NULL), 0);
	zones_make();
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(set_action(SIGUSR1, NULL, usr1_handler, SA_ONSTACK), 0);
	raise(SIGUSR1);
	cr_assert_eq(h_calls, 1);
	cr_assert_eq(h_count, 10);
	check_fault(&h_fault, SAFECOPY_SEGV, g_src.bad, SIGSEGV, SEGV_ACCERR, "copy in handler on altstack");
	cr_assert_eq(h_errors, 0);
	cr_assert_gt(altstack_used(), 0);
	stack_t off = {.ss_flags = SS_DISABLE};
	sigaltstack(&off, NULL);
	zones_free();
}
