/*
 * The fast exit (src/safecopy/fast_exit.c): after its own fault the handler jumps to the routine's
 * landing instead of returning through rt_sigreturn. What rt_sigreturn would have restored and the
 * routine's caller can see must survive a faulting call: the floating-point control and status
 * (rounding mode, MXCSR flags, FTZ/DAZ, the x87 control and status words), the callee-saved registers
 * and RSP, the signal mask, the alternate stack; signals arriving meanwhile are delivered as before.
 * Handlers that are not the kernel's direct call of safecopy's action never jump.
 *
 * Every suite checks that safecopy's action carries its own restorer (without it no exit is fast);
 * the static one also counts the fast exits and forces the fallback through the library's switch.
 */
#include <fenv.h>
#include <pthread.h>
#include <ucontext.h>

#include "harness.h"

#ifdef SAFECOPY_TEST_INTERNALS
#include "safecopy/fast_exit.h"
#define FAST_EXITS()       sc_fast_exit_count
#define FORCE_FALLBACK(on) (sc_fast_exit_forced_off = (on))
#else
#define FAST_EXITS()       0ul
#define FORCE_FALLBACK(on) ((void)(on))
#endif

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31) /* Linux 4.7; glibc 2.36's headers lack it */
#endif

#define MXCSR_FTZ 0x8000u
#define MXCSR_DAZ 0x0040u

static char *bad_page(void)
{
	char *p = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	return p;
}

/* A copy from the bad page: 0 bytes, the fault at its first byte. */
static void faulting_copy(char *bad)
{
	char dst[64];
	struct safecopy_fault f;
	memset(dst, 0, sizeof dst);
	size_t got = safecopy_memcpy(dst, bad, 64, &f);
	cr_assert_eq(got, 0);
	cr_assert_eq(f.addr, bad);
	cr_assert_eq(f.signo, SIGSEGV);
}

static unsigned get_mxcsr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned short get_fcw(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static unsigned short get_fsw(void)
{
	unsigned short v;
	__asm__ volatile("fnstsw %0" : "=m"(v));
	return v;
}

static void set_fcw(unsigned short v)
{
	__asm__ volatile("fldcw %0" : : "m"(v));
}

Test(fast_exit, action_carries_safecopys_restorer)
{
	cr_assert_eq(safecopy_init(), 0);
	struct sigaction plain = {.sa_handler = SIG_IGN}, ours, usr;
	cr_assert_eq(sigaction(SIGUSR1, &plain, NULL), 0);
	cr_assert_eq(sigaction(SIGUSR1, NULL, &usr), 0);
	cr_assert_eq(sigaction(SIGSEGV, NULL, &ours), 0);
	cr_assert_neq((void *)ours.sa_restorer, NULL);
	cr_assert_neq((void *)ours.sa_restorer, (void *)usr.sa_restorer, "glibc's restorer: no fast exit");
	/* The libgcc unwinder and gdb know a signal frame by these bytes at its return address. */
	static const unsigned char rt_sigreturn[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	cr_assert_eq(memcmp((void *)ours.sa_restorer, rt_sigreturn, sizeof rt_sigreturn), 0);
	cr_assert_eq(sigaction(SIGBUS, NULL, &ours), 0);
	cr_assert_neq((void *)ours.sa_restorer, (void *)usr.sa_restorer);
	char *bad = bad_page();
	unsigned long before = FAST_EXITS();
	faulting_copy(bad);
#ifdef SAFECOPY_TEST_INTERNALS
	cr_assert_eq(FAST_EXITS(), before + 1, "the fault did not take the fast exit");
#else
	(void)before;
#endif
}

Test(fast_exit, rounding_modes_survive)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	static const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO, FE_TONEAREST};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		cr_assert_eq(fesetround(modes[i]), 0);
		unsigned mxcsr = get_mxcsr();
		unsigned short fcw = get_fcw();
		faulting_copy(bad);
		cr_assert_eq(fegetround(), modes[i], "mode %d", modes[i]);
		cr_assert_eq(get_mxcsr(), mxcsr);
		cr_assert_eq(get_fcw(), fcw);
		/* and the arithmetic obeys it: 1/3 rounded up and down differ in the last bit */
		volatile double one = 1.0, three = 3.0;
		volatile double q = one / three;
		fesetround(FE_TONEAREST);
		volatile double nearest = one / three;
		cr_assert(modes[i] == FE_UPWARD ? q > nearest : q <= nearest);
	}
}

Test(fast_exit, mxcsr_flags_ftz_daz_survive)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	/* round toward zero, FTZ and DAZ on, inexact and divide-by-zero raised, one exception unmasked */
	unsigned want = (0x1f80u & ~0x0200u) | 0x6000u | MXCSR_FTZ | MXCSR_DAZ | 0x0020u | 0x0004u;
	feclearexcept(FE_ALL_EXCEPT);
	set_mxcsr(want);
	faulting_copy(bad);
	unsigned got = get_mxcsr();
	set_mxcsr(0x1f80);
	cr_assert_eq(got, want, "MXCSR %#x, want %#x", got, want);
	/* the status flags as fetestexcept() sees them */
	set_mxcsr(0x1f80 | 0x20);
	faulting_copy(bad);
	cr_assert_eq(fetestexcept(FE_ALL_EXCEPT), FE_INEXACT);
	set_mxcsr(0x1f80);
}

Test(fast_exit, x87_control_and_status_words_survive)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	/* single precision, round up: not the kernel's 0x37f */
	unsigned short fcw = 0x0800 | 0x007f;
	set_fcw(fcw);
	faulting_copy(bad);
	cr_assert_eq(get_fcw(), fcw);
	/* a masked x87 division by zero leaves ZE in the status word (the stack empty again) */
	__asm__ volatile("fninit; fldz; fld1; fdiv %%st(1), %%st; fstp %%st(0); fstp %%st(0)" ::: "memory");
	unsigned short fsw = get_fsw();
	cr_assert_eq(fsw & 0x3f, 0x04, "x87 status %#x", fsw);
	faulting_copy(bad);
	cr_assert_eq(get_fsw(), fsw);
	cr_assert_eq(fetestexcept(FE_DIVBYZERO), FE_DIVBYZERO);
	__asm__ volatile("fninit");
}

/* ---- callee-saved registers, checked by an asm caller ------------------------------------------- */

/*
 * fe_patterned_copy(dst, src, n, &result): calls safecopy_memcpy(dst, src, n, NULL) with RBX, RBP and
 * R12-R15 holding patterns, stores its result, and returns a bit per register found changed (bit 6:
 * RSP).
 */
uint64_t fe_patterned_copy(void *dst, const void *src, size_t n, size_t *result);
__asm__(".text\n"
        ".globl fe_patterned_copy\n"
        ".type fe_patterned_copy, @function\n"
        "fe_patterned_copy:\n"
        "	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
        "	push %rcx\n" /* &result; RSP is now 16-byte aligned */
        "	movabs $0x1111111111111111, %rbx\n"
        "	movabs $0x2222222222222222, %rbp\n"
        "	movabs $0x3333333333333333, %r12\n"
        "	movabs $0x4444444444444444, %r13\n"
        "	movabs $0x5555555555555555, %r14\n"
        "	movabs $0x6666666666666666, %r15\n"
        "	mov %rsp, fe_saved_rsp(%rip)\n"
        "	xor %ecx, %ecx\n"
        "	call safecopy_memcpy@PLT\n"
        "	mov %rax, %rdi\n"
        "	xor %eax, %eax\n"
        "	movabs $0x1111111111111111, %rdx\n	cmp %rdx, %rbx\n	je 1f\n	or $1, %eax\n1:\n"
        "	movabs $0x2222222222222222, %rdx\n	cmp %rdx, %rbp\n	je 1f\n	or $2, %eax\n1:\n"
        "	movabs $0x3333333333333333, %rdx\n	cmp %rdx, %r12\n	je 1f\n	or $4, %eax\n1:\n"
        "	movabs $0x4444444444444444, %rdx\n	cmp %rdx, %r13\n	je 1f\n	or $8, %eax\n1:\n"
        "	movabs $0x5555555555555555, %rdx\n	cmp %rdx, %r14\n	je 1f\n	or $16, %eax\n1:\n"
        "	movabs $0x6666666666666666, %rdx\n	cmp %rdx, %r15\n	je 1f\n	or $32, %eax\n1:\n"
        "	cmp fe_saved_rsp(%rip), %rsp\n	je 1f\n	or $64, %eax\n"
        "	mov fe_saved_rsp(%rip), %rsp\n1:\n"
        "	pop %rcx\n	mov %rdi, (%rcx)\n"
        "	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
        "	ret\n"
        ".size fe_patterned_copy, .-fe_patterned_copy\n"
        ".local fe_saved_rsp\n"
        ".comm fe_saved_rsp, 8, 8\n");

Test(fast_exit, callee_saved_registers_and_rsp_survive)
{
	cr_assert_eq(safecopy_init(), 0);
	struct zone z;
	zone_make(&z, 4 * pgsz(), BAD_PROT_NONE, true);
	static char dst[32768];
	/* each copy path: registers, AVX2 loop, rep movsb; faulting k bytes before the bad page */
	static const size_t sizes[] = {8, 64, 200, 3000, 20000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t k = sizes[i] / 2;
		size_t got = 12345;
		uint64_t changed = fe_patterned_copy(dst, z.bad - k, sizes[i], &got);
		cr_assert_eq(changed, 0, "n=%zu: registers changed: %#lx", sizes[i], (unsigned long)changed);
		cr_assert_eq(got, k, "n=%zu", sizes[i]);
		cr_assert_eq(memcmp(dst, z.bad - k, k), 0);
	}
	size_t got = 0;
	cr_assert_eq(fe_patterned_copy(dst, z.base, 100, &got), 0); /* and without a fault */
	cr_assert_eq(got, 100);
}

/* ---- the signal mask and signals arriving meanwhile --------------------------------------------- */

static volatile sig_atomic_t usr1_seen, usr2_seen;

static void count_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

static void count_usr2(int sig)
{
	(void)sig;
	usr2_seen++;
}

static void current_mask(sigset_t *s)
{
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, NULL, s), 0);
}

static void assert_same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < NSIG; s++)
		cr_assert_eq(sigismember(a, s), sigismember(b, s), "signal %d", s);
}

Test(fast_exit, signal_mask_survives)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	struct sigaction sa = {.sa_handler = count_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, before, after;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGRTMIN + 3);
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);
	current_mask(&before);
	raise(SIGUSR1); /* pending, blocked */
	faulting_copy(bad);
	current_mask(&after);
	assert_same_mask(&before, &after);
	cr_assert_eq(usr1_seen, 0, "a blocked signal was delivered by the faulting call");
	cr_assert_eq(pthread_sigmask(SIG_UNBLOCK, &block, NULL), 0);
	cr_assert_eq(usr1_seen, 1);
	/* and with nothing blocked, nothing gets blocked */
	current_mask(&before);
	faulting_copy(bad);
	current_mask(&after);
	assert_same_mask(&before, &after);
	cr_assert_eq(sigismember(&after, SIGSEGV), 0);
}

struct sender {
	pthread_t target;
	volatile int stop;
	unsigned long sent_usr1, sent_usr2;
};

static void *send_signals(void *arg)
{
	struct sender *s = arg;
	while (!s->stop) {
		if (pthread_kill(s->target, SIGUSR2) == 0)
			s->sent_usr2++;
		if (s->sent_usr2 % 16 == 0 && pthread_kill(s->target, SIGUSR1) == 0)
			s->sent_usr1++;
		usleep(20);
	}
	return NULL;
}

/*
 * Signals sent by another thread while faulting calls run: an unblocked one (SIGUSR2) is delivered,
 * also when it lands inside safecopy's handler or its exit; a blocked one (SIGUSR1) stays pending
 * until it is unblocked after the calls. Every call stays exact.
 */
Test(fast_exit, signals_sent_during_calls)
{
	cr_assert_eq(safecopy_init(), 0);
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	struct sigaction sa = {.sa_handler = count_usr2, .sa_flags = SA_RESTART};
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = count_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	struct sender s = {.target = pthread_self()};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, send_signals, &s), 0);
	static char dst[4096];
	unsigned long calls = 0;
	while (usr2_seen < 2000 && calls < 3000000) {
		size_t k = calls % 97;
		size_t got = safecopy_memcpy(dst, z.bad - k, 300, NULL);
		CHECK(got == k, "call %lu: %zu, want %zu", calls, got, k);
		calls++;
	}
	s.stop = 1;
	pthread_join(t, NULL);
	cr_assert_geq(usr2_seen, 2000, "only %d SIGUSR2 in %lu calls", (int)usr2_seen, calls);
	cr_assert_eq(usr1_seen, 0, "SIGUSR1 was delivered while blocked");
	cr_assert_gt(s.sent_usr1, 0);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	cr_assert_eq(usr1_seen, 1, "the pending SIGUSR1 (standard signals coalesce)");
}

/* ---- the alternate stack ------------------------------------------------------------------------ */

static char *make_altstack(size_t size, int flags)
{
	char *sp = map_anon(size, PROT_READ | PROT_WRITE);
	stack_t ss = {.ss_sp = sp, .ss_size = size, .ss_flags = flags};
	cr_assert_eq(sigaltstack(&ss, NULL), 0, "%s", strerror(errno));
	return sp;
}

static void assert_altstack(const char *sp, size_t size, int flags)
{
	stack_t now;
	cr_assert_eq(sigaltstack(NULL, &now), 0);
	cr_assert_eq(now.ss_sp, sp);
	cr_assert_eq(now.ss_size, size);
	cr_assert_eq(now.ss_flags, flags, "ss_flags %#x, want %#x", now.ss_flags, flags);
}

Test(fast_exit, altstack_state_survives)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	size_t size = 64 * 1024;
	char *sp = make_altstack(size, 0);
	for (int i = 0; i < 10000; i++)
		faulting_copy(bad);
	assert_altstack(sp, size, 0);
}

/* SS_AUTODISARM: the kernel disarms the stack for the handler, rt_sigreturn arms it again. */
Test(fast_exit, autodisarm_altstack_is_armed_again)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	size_t size = 64 * 1024;
	char *sp = make_altstack(size, SS_AUTODISARM);
	unsigned long before = FAST_EXITS();
	for (int i = 0; i < 3; i++)
		faulting_copy(bad);
	assert_altstack(sp, size, SS_AUTODISARM);
	cr_assert_eq(FAST_EXITS(), before, "a fast exit left the stack disarmed");
}

/* ---- nested: faulting calls from a handler running on the alternate stack ----------------------- */

static char *h_bad;
static volatile int h_errors, h_rounds;
static stack_t h_inside;
static char *h_alt;
static size_t h_alt_size;

static void faulting_handler(int sig)
{
	(void)sig;
	char dst[64];
	struct safecopy_fault f;
	for (int i = 0; i < 100; i++) {
		char local;
		if (safecopy_memcpy(dst, h_bad, 64, &f) != 0 || f.addr != h_bad)
			h_errors++;
		/* still on the alternate stack, at the same depth */
		if (&local < h_alt || &local >= h_alt + h_alt_size)
			h_errors++;
	}
	sigaltstack(NULL, &h_inside);
	h_rounds++;
}

Test(fast_exit, nested_in_a_handler_on_the_altstack)
{
	cr_assert_eq(safecopy_init(), 0);
	h_bad = bad_page();
	/* small: a frame per fault that was never popped would exhaust it within a few calls */
	h_alt_size = 5 * (size_t)sysconf(_SC_MINSIGSTKSZ) + 16384;
	h_alt = make_altstack(h_alt_size, 0);
	struct sigaction sa = {.sa_handler = faulting_handler, .sa_flags = SA_ONSTACK};
	sigaction(SIGUSR1, &sa, NULL);
	unsigned long before = FAST_EXITS();
	for (int i = 0; i < 100; i++)
		raise(SIGUSR1);
	cr_assert_eq(h_rounds, 100);
	cr_assert_eq(h_errors, 0);
	cr_assert_eq(h_inside.ss_flags, SS_ONSTACK);
	assert_altstack(h_alt, h_alt_size, 0);
#ifdef SAFECOPY_TEST_INTERNALS
	cr_assert_eq(FAST_EXITS(), before + 100 * 100);
#else
	(void)before;
#endif
}

/* ---- handlers that are not the kernel's call of safecopy's action ------------------------------- */

static void (*fe_next_handler)(int, siginfo_t *, void *);
static volatile int foreign_calls;

/* A crash reporter's handler, installed after safecopy, that ends by tail-calling the handler it
 * replaced: safecopy's handler then runs on the kernel's frame of the reporter's action. */
void fe_tail_calling_handler(int sig, siginfo_t *info, void *uc);
__asm__(".text\n"
        ".globl fe_tail_calling_handler\n"
        ".type fe_tail_calling_handler, @function\n"
        "fe_tail_calling_handler:\n"
        "	addl $1, foreign_calls(%rip)\n"
        "	jmp *fe_next_handler(%rip)\n"
        ".size fe_tail_calling_handler, .-fe_tail_calling_handler\n");

/*
 * Installs h after safecopy, the way crash reporters do (no SA_NODEFER: the kernel blocks SIGSEGV while
 * h runs); h passes faults on to safecopy's handler, fe_next_handler. Then makes 5 faulting calls.
 */
static void five_faults_behind(void (*h)(int, siginfo_t *, void *))
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	struct sigaction old, sa = {.sa_sigaction = h, .sa_flags = SA_SIGINFO};
	cr_assert_eq(sigaction(SIGSEGV, &sa, &old), 0);
	fe_next_handler = old.sa_sigaction;
	for (int i = 0; i < 5; i++)
		faulting_copy(bad);
}

Test(fast_exit, tail_called_from_a_handler_installed_later)
{
	sigset_t before, after;
	current_mask(&before);
	unsigned long fast = FAST_EXITS();
	five_faults_behind(fe_tail_calling_handler);
	current_mask(&after);
	cr_assert_eq(foreign_calls, 5);
	assert_same_mask(&before, &after);
	cr_assert_eq(sigismember(&after, SIGSEGV), 0, "SIGSEGV left blocked");
	cr_assert_eq(FAST_EXITS(), fast);
}

static volatile int after_chained_call;

static void chaining_handler(int sig, siginfo_t *info, void *uc)
{
	foreign_calls++;
	fe_next_handler(sig, info, uc);
	after_chained_call++; /* must run: the reporter's handler is not done */
}

Test(fast_exit, called_from_a_handler_installed_later)
{
	unsigned long fast = FAST_EXITS();
	five_faults_behind(chaining_handler);
	cr_assert_eq(foreign_calls, 5);
	cr_assert_eq(after_chained_call, 5);
	cr_assert_eq(FAST_EXITS(), fast);
}

/*
 * A crash reporter installed before safecopy runs with SIGSEGV blocked; its safecopy calls unblock it
 * for their routine (blocked.c's window), and their faults take rt_sigreturn.
 */
static char *rep_foreign, *rep_bad;
static volatile size_t rep_got = 99;
static volatile unsigned long rep_fast;
static volatile int rep_calls;

static void reporter(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	unsigned long before = FAST_EXITS();
	char buf[16];
	rep_got = safecopy_memcpy(buf, rep_bad, sizeof buf, NULL);
	rep_fast = FAST_EXITS() - before;
	rep_calls++;
	mprotect(info->si_addr, pgsz(), PROT_READ); /* the foreign access succeeds when re-run */
}

Test(fast_exit, reporter_window_takes_rt_sigreturn)
{
	rep_foreign = bad_page();
	rep_bad = bad_page();
	struct sigaction sa = {.sa_sigaction = reporter, .sa_flags = SA_SIGINFO};
	cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
	cr_assert_eq(safecopy_init(), 0);
	sigset_t before, after;
	current_mask(&before);
	cr_assert_eq(*(volatile char *)rep_foreign, 0);
	current_mask(&after);
	assert_same_mask(&before, &after);
	cr_assert_eq(rep_calls, 1);
	cr_assert_eq(rep_got, 0);
	cr_assert_eq(rep_fast, 0, "a fast exit inside blocked.c's window");
}

/* safecopy's own handler re-installed through sigaction (glibc's restorer): the exit falls back. */
Test(fast_exit, reinstalled_through_sigaction)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	struct sigaction ours;
	cr_assert_eq(sigaction(SIGSEGV, NULL, &ours), 0);
	ours.sa_flags &= ~SA_NODEFER; /* and now SIGSEGV is blocked while it runs */
	cr_assert_eq(sigaction(SIGSEGV, &ours, NULL), 0);
	sigset_t before, after;
	current_mask(&before);
	unsigned long fast = FAST_EXITS();
	faulting_copy(bad);
	current_mask(&after);
	assert_same_mask(&before, &after);
	cr_assert_eq(FAST_EXITS(), fast);
	cr_assert(safecopy_handler_active());
}

#ifdef SAFECOPY_TEST_INTERNALS
/* ---- the fallback, forced: the same results ----------------------------------------------------- */

struct outcome {
	size_t count[6];
	struct safecopy_fault f[6];
	uint32_t peek;
	enum safecopy_status cas;
	char dst[400];
};

static void every_kind(struct zone *src, struct zone *dst, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	o->count[0] = safecopy_memcpy(o->dst, src->bad - 5, 8, &o->f[0]);
	o->count[1] = safecopy_memcpy(o->dst, src->bad - 150, 400, &o->f[1]);
	static char big[20000];
	o->count[2] = safecopy_memcpy(dst->bad - 77, big, sizeof big, &o->f[2]);
	o->count[3] = safecopy_memset(dst->bad - 3, 0x5c, 200, &o->f[3]);
	o->count[4] = safecopy_strnlen(src->bad - 9, 100, &o->f[4]);
	o->count[5] = safecopy_probe(src->bad - 4096, 8192, SAFECOPY_PROBE_READ, &o->f[5]);
	o->peek = (safecopy_peek32)(src->bad, 0xfeedf00d); /* the routine: inline ones never exit fast */
	uint32_t actual;
	o->cas = safecopy_cas32((uint32_t *)(void *)dst->bad, 1, 2, &actual, NULL);
}

Test(fast_exit, forced_fallback_gives_identical_results)
{
	cr_assert_eq(safecopy_init(), 0);
	struct zone src, dst;
	zone_make(&src, 2 * pgsz(), BAD_PROT_NONE, true);
	zone_make(&dst, 8 * pgsz(), BAD_READONLY, false);
	static struct outcome fast, slow;
	unsigned long before = FAST_EXITS();
	every_kind(&src, &dst, &fast);
	cr_assert_eq(FAST_EXITS(), before + 8);
	FORCE_FALLBACK(1);
	every_kind(&src, &dst, &slow);
	FORCE_FALLBACK(0);
	cr_assert_eq(FAST_EXITS(), before + 8, "a fast exit while forced off");
	cr_assert_eq(memcmp(&fast, &slow, sizeof fast), 0);
	cr_assert_eq(fast.count[0], 5);
	cr_assert_eq(fast.count[1], 150);
	cr_assert_eq(fast.count[2], 77);
	cr_assert_eq(fast.count[3], 3);
	cr_assert_eq(fast.count[4], 9);
	cr_assert_eq(fast.count[5], 4096);
	cr_assert_eq(fast.peek, 0xfeedf00d);
	cr_assert_eq(fast.cas, SAFECOPY_SEGV);
	cr_assert_eq(fast.f[2].addr, dst.bad);
	cr_assert_eq(fast.f[2].code, SEGV_ACCERR);
}

/* The floating-point state after the forced fallback is what the fast exit gives too. */
Test(fast_exit, forced_fallback_same_floating_point_state)
{
	cr_assert_eq(safecopy_init(), 0);
	char *bad = bad_page();
	unsigned want = 0x1f80u | 0x4000u | MXCSR_FTZ | 0x0010u;
	unsigned got[2];
	unsigned short fcw[2];
	for (int forced = 0; forced < 2; forced++) {
		FORCE_FALLBACK(forced);
		set_mxcsr(want);
		set_fcw(0x0c7f);
		faulting_copy(bad);
		got[forced] = get_mxcsr();
		fcw[forced] = get_fcw();
		set_mxcsr(0x1f80);
		set_fcw(0x037f);
	}
	FORCE_FALLBACK(0);
	cr_assert_eq(got[0], want);
	cr_assert_eq(got[1], want);
	cr_assert_eq(fcw[0], 0x0c7f);
	cr_assert_eq(fcw[1], 0x0c7f);
}
#endif

#ifdef SAFECOPY_TEST_INTERNALS
/* ---- the checks on a real frame, and on altered copies of it ------------------------------------ */

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

struct sc_kernel_action {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static int frame_verdicts[8];
static char *probe_bad;

/* The probe handler's C part: judges its own frame, then altered copies of it. */
void fe_probe_handler(int sig, siginfo_t *info, void *uc, void *frame);
void fe_probe_handler(int sig, siginfo_t *info, void *uc, void *frame)
{
	(void)sig;
	static unsigned char copy[8192] __attribute__((aligned(64)));
	ucontext_t *u = uc;
	frame_verdicts[0] = sc_fast_exit_allowed(uc, info, frame);
	/* the same bytes elsewhere: shape and restorer fine, but not where the kernel put them */
	memcpy(copy + 8, frame, 8 + 304 + 128);
	frame_verdicts[1] = sc_fast_exit_allowed(copy + 16, (void *)(copy + 16 + 304), copy + 8);
	/* an interrupted RSP inside the frame itself: the kernel would have put the frame below it */
	greg_t rsp = u->uc_mcontext.gregs[REG_RSP];
	u->uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)frame + 1024;
	frame_verdicts[2] = sc_fast_exit_allowed(uc, info, frame);
	u->uc_mcontext.gregs[REG_RSP] = rsp;
	/* flags the landing's caller cannot have at a call: TF (single-stepping), DF, AC */
	static const greg_t odd_flags[] = {0x100, 0x400, 0x40000};
	for (int i = 0; i < 3; i++) {
		u->uc_mcontext.gregs[REG_EFL] ^= odd_flags[i];
		frame_verdicts[3 + i] = sc_fast_exit_allowed(uc, info, frame);
		u->uc_mcontext.gregs[REG_EFL] ^= odd_flags[i];
	}
	/* a different saved SS */
	u->uc_mcontext.gregs[REG_CSGSFS] ^= (greg_t)0x8 << 48;
	frame_verdicts[6] = sc_fast_exit_allowed(uc, info, frame);
	u->uc_mcontext.gregs[REG_CSGSFS] ^= (greg_t)0x8 << 48;
	frame_verdicts[7] = sc_fast_exit_allowed(uc, info, frame); /* all put back */
	u->uc_mcontext.gregs[REG_RIP] += 3;                        /* past the faulting load */
}

/* Entered by the kernel: passes its entry RSP, the frame, on as the fourth argument. */
void fe_probe_entry(int sig, siginfo_t *info, void *uc);
__asm__(".text\n"
        ".globl fe_probe_entry\n"
        ".type fe_probe_entry, @function\n"
        "fe_probe_entry:\n"
        "	mov %rsp, %rcx\n"
        "	jmp fe_probe_handler\n"
        ".size fe_probe_entry, .-fe_probe_entry\n");

Test(fast_exit, frame_checks_on_a_real_frame)
{
	cr_assert_eq(safecopy_init(), 0);
	probe_bad = bad_page();
	/* safecopy's flags: with SA_ONSTACK the frame goes on an alternate stack if the thread has one
	 * (ASan gives every thread one) */
	struct sc_kernel_action probe = {.handler = (void *)fe_probe_entry,
	                                 .flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTORER,
	                                 .restorer = (void *)sc_signal_restorer},
	                        saved;
	cr_assert_eq(syscall(SYS_rt_sigaction, SIGSEGV, &probe, &saved, sizeof(uint64_t)), 0);
	/* a 3-byte load from the bad page: mov (%rax), %eax is 2 bytes, the nop makes 3 */
	__asm__ volatile("mov (%0), %%eax\n\tnop" : : "a"(probe_bad) : "memory");
	cr_assert_eq(syscall(SYS_rt_sigaction, SIGSEGV, &saved, NULL, sizeof(uint64_t)), 0);
	cr_assert_eq(frame_verdicts[0], 1, "the kernel's own frame");
	cr_assert_eq(frame_verdicts[1], 0, "a copy of the frame");
	cr_assert_eq(frame_verdicts[2], 0, "RSP moved");
	cr_assert_eq(frame_verdicts[3], 0, "TF");
	cr_assert_eq(frame_verdicts[4], 0, "DF");
	cr_assert_eq(frame_verdicts[5], 0, "AC");
	cr_assert_eq(frame_verdicts[6], 0, "SS");
	cr_assert_eq(frame_verdicts[7], 1, "put back");
}
#endif
