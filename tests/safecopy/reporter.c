/*
 * The crash-reporter pattern: a SIGSEGV/SIGBUS handler installed before safecopy the common way
 * (SA_SIGINFO, no SA_NODEFER), reached through safecopy's chain on a real crash. The kernel would run
 * it with the signal blocked; safecopy must let it read memory with safecopy all the same, and still
 * end a foreign fault inside it the way the kernel would (default action, no recursion), deliver a
 * signal sent meanwhile only after it returns, and recover when it leaves by longjmp.
 *
 * Every scenario runs in a fork()ed child; a record in shared memory tells the parent what the
 * reporter saw.
 */
#include <setjmp.h>

#include "stepper.h"

struct record {
	int calls;       /* reporter invocations */
	int max_depth;   /* deepest nesting of reporter invocations seen */
	int depth;       /* reporter invocations running now */
	int codes[8];    /* si_code of each invocation */
	void *addrs[8];  /* si_addr of each invocation */
	int reads_ok;    /* the reporter's safecopy reads gave exact results */
	int finished[8]; /* invocation i returned */
	int order_ok;    /* invocation 2 started after invocation 1 returned */
	void *hole;      /* the child's unmapped page */
};

static struct record *rec;
static char *crash_page; /* PROT_NONE: the program's crash */
static char *hole;       /* an unmapped page: what the reporter reads around */
static char *good;       /* readable memory the reporter also reads */
static int crash_fd = -1;

enum mode {
	READS_AND_DIES,         /* reads with safecopy, then SIG_DFL and return: the crash ends the process */
	READS_AND_REPAIRS,      /* reads with safecopy, then repairs: the program goes on */
	FAULTS_ITSELF,          /* dereferences a bad pointer itself */
	SENDS_SIGSEGV,          /* sends SIGSEGV to its own thread, then repairs */
	NODEFER_FAULTS_ONCE,    /* SA_NODEFER: its own first fault recurses into it, which repairs it */
	SIGBUS_MASKING_SIGSEGV, /* a SIGBUS reporter with SIGSEGV in sa_mask that reads with safecopy */
	SENT_DURING_READS,      /* SIGSEGV sent to itself at every instruction of a safecopy read */
};

static enum mode mode;

static void record_entry(siginfo_t *info)
{
	int i = rec->calls++;
	if (i < 8) {
		rec->codes[i] = info->si_code;
		rec->addrs[i] = info->si_addr;
	}
	if (++rec->depth > rec->max_depth)
		rec->max_depth = rec->depth;
	if (i == 1)
		rec->order_ok = rec->finished[0];
}

static void record_exit(void)
{
	rec->depth--;
	if (rec->calls - 1 < 8)
		rec->finished[rec->calls - 1] = 1;
}

/* What a reporter does: read the memory around the fault with safecopy. */
static int read_around(void)
{
	char buf[256];
	struct safecopy_fault f;
	size_t got = safecopy_memcpy(buf, hole - 100, sizeof buf, &f);
	if (got != 100 || f.status != SAFECOPY_SEGV || f.addr != hole || f.code != SEGV_MAPERR ||
	    memcmp(buf, hole - 100, 100) != 0)
		return 2;
	uint64_t v = 0;
	if (safecopy_load64((uint64_t *)(void *)crash_page, &v, &f) != SAFECOPY_SEGV || f.code != SEGV_ACCERR)
		return 3;
	if (safecopy_memcpy(buf, good, 64, &f) != 64 || f.status != SAFECOPY_OK)
		return 4;
	return 1;
}

static void send_sigsegv(void *uc, void *arg)
{
	(void)uc;
	(void)arg;
	syscall(SYS_tgkill, getpid(), gettid_(), SIGSEGV);
}

/* Reads with safecopy single-stepped, a SIGSEGV sent at each step in turn (some inside the window). */
static int reads_with_signals_at_every_step(void)
{
	char buf[256];
	struct safecopy_fault f;
	(void)safecopy_memcpy(buf, hole - 100, sizeof buf, &f); /* binds everything it calls, unstepped */
	stepper_arm(-1, NULL, NULL);
	(void)STEPPED(safecopy_memcpy(buf, hole - 100, sizeof buf, &f));
	long steps = stepper_state.steps;
	for (long i = 0; i < steps; i++) {
		stepper_arm(i, send_sigsegv, NULL);
		if (STEPPED(safecopy_memcpy(buf, hole - 100, sizeof buf, &f)) != 100 || f.addr != hole)
			return 0;
	}
	return steps > 10;
}

static void reporter(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	record_entry(info);
	switch (mode) {
	case READS_AND_DIES:
		rec->reads_ok = read_around();
		set_action(sig, NULL, SIG_DFL, 0);
		break;
	case READS_AND_REPAIRS:
		rec->reads_ok = read_around();
		mprotect(crash_page, pgsz(), PROT_READ | PROT_WRITE);
		break;
	case FAULTS_ITSELF:
		*(volatile char *)hole = 1;
		break;
	case SENDS_SIGSEGV:
		if (rec->calls == 1) {
			syscall(SYS_tgkill, getpid(), gettid_(), SIGSEGV);
			mprotect(crash_page, pgsz(), PROT_READ | PROT_WRITE);
		}
		break;
	case NODEFER_FAULTS_ONCE:
		if (rec->calls == 1)
			*(volatile char *)hole = 1; /* recurses: SA_NODEFER */
		else
			mmap(hole, pgsz(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			     -1, 0);
		mprotect(crash_page, pgsz(), PROT_READ | PROT_WRITE);
		break;
	case SENT_DURING_READS:
		if (rec->calls == 1) {
			rec->reads_ok = reads_with_signals_at_every_step();
			mprotect(crash_page, pgsz(), PROT_READ | PROT_WRITE);
		}
		break;
	case SIGBUS_MASKING_SIGSEGV:
		rec->reads_ok = read_around();
		(void)!ftruncate(crash_fd, (off_t)pgsz());
		break;
	}
	record_exit();
}

static int setup(int sig, int flags, int masked)
{
	size_t pg = pgsz();
	crash_page = mmap(NULL, 3 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (crash_page == MAP_FAILED)
		return 1;
	good = crash_page + pg;
	hole = crash_page + 2 * pg;
	if (mprotect(good, pg, PROT_READ | PROT_WRITE) != 0 || munmap(hole, pg) != 0)
		return 2;
	rec->hole = hole;
	for (size_t i = 0; i < pg; i++)
		good[i] = (char)pat(i);
	if (set_action_masked(sig, reporter, NULL, SA_SIGINFO | flags, masked) != 0)
		return 3;
	return safecopy_init() != 0 ? 4 : 0;
}

static int child(void *arg)
{
	mode = (enum mode)(intptr_t)arg;
	int r = setup(SIGSEGV, mode == NODEFER_FAULTS_ONCE ? SA_NODEFER : 0, 0);
	if (r)
		return r;
	stepper_install(0);
	child_step(1);
	*(volatile char *)crash_page = 1; /* the crash */
	child_step(2);
	return 0;
}

static void run(enum mode m, int *status)
{
	static struct record *shared;
	if (!shared) {
		shared =
		    mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cr_assert(shared != MAP_FAILED);
	}
	memset(shared, 0, sizeof *shared);
	rec = shared;
	*status = run_in_child(child, (void *)(intptr_t)m, 120);
}

Test(reporter, reads_with_safecopy_then_the_crash_ends_the_process)
{
	int st;
	run(READS_AND_DIES, &st);
	expect_signal(st, SIGSEGV, 1);
	cr_assert_eq(rec->calls, 1);
	cr_assert_eq(rec->reads_ok, 1, "safecopy inside the reporter gave a wrong result");
	cr_assert_eq(rec->codes[0], SEGV_ACCERR);
}

Test(reporter, reads_with_safecopy_then_repairs_and_the_program_goes_on)
{
	int st;
	run(READS_AND_REPAIRS, &st);
	expect_exit(st, 0);
	cr_assert_eq(child_progress(), 2);
	cr_assert_eq(rec->calls, 1);
	cr_assert_eq(rec->reads_ok, 1, "read_around gave %d", rec->reads_ok);
}

/* The kernel would have had SIGSEGV blocked: a fault inside the reporter kills at once. */
Test(reporter, foreign_fault_inside_it_ends_the_process_without_recursion)
{
	int st;
	run(FAULTS_ITSELF, &st);
	expect_signal(st, SIGSEGV, 1);
	cr_assert_eq(rec->calls, 1, "the reporter was entered %d times", rec->calls);
	cr_assert_eq(rec->max_depth, 1);
}

/* A SIGSEGV sent while it runs is pending until it returns, then delivered to it. */
Test(reporter, sigsegv_sent_inside_it_arrives_after_it_returns)
{
	int st;
	run(SENDS_SIGSEGV, &st);
	expect_exit(st, 0);
	cr_assert_eq(child_progress(), 2);
	cr_assert_eq(rec->calls, 2);
	cr_assert_eq(rec->max_depth, 1, "the sent signal was delivered inside the reporter");
	cr_assert_eq(rec->order_ok, 1);
	cr_assert_eq(rec->codes[0], SEGV_ACCERR);
	cr_assert_eq(rec->codes[1], SI_TKILL);
}

/*
 * A SIGSEGV sent while a safecopy call inside it has SIGSEGV unblocked for its routine: held, and
 * still delivered only after the reporter returns (the sends coalesce into one pending SIGSEGV).
 */
Test(reporter, sigsegv_sent_during_its_safecopy_calls_arrives_after_it_returns)
{
	int st;
	run(SENT_DURING_READS, &st);
	expect_exit(st, 0);
	cr_assert_eq(rec->reads_ok, 1);
	cr_assert_eq(rec->max_depth, 1, "a sent SIGSEGV was delivered inside the reporter");
	cr_assert_eq(rec->calls, 2);
	cr_assert_eq(rec->order_ok, 1);
	cr_assert_eq(rec->codes[1], SI_TKILL);
}

/* With SA_NODEFER the kernel does not block: a fault inside it recurses, as it would have. */
Test(reporter, with_sa_nodefer_a_fault_inside_it_recurses)
{
	int st;
	run(NODEFER_FAULTS_ONCE, &st);
	expect_exit(st, 0);
	cr_assert_eq(rec->calls, 2);
	cr_assert_eq(rec->max_depth, 2);
	cr_assert_eq(rec->addrs[1], rec->hole);
}

/* A SIGBUS reporter with SIGSEGV in its sa_mask: SIGSEGV faults of safecopy still caught inside it. */
static int child_bus(void *arg)
{
	(void)arg;
	mode = SIGBUS_MASKING_SIGSEGV;
	/* Mapped first: a mapping made after setup() could land in its hole. */
	crash_fd = memfd_create("reporter", MFD_CLOEXEC);
	if (crash_fd < 0 || ftruncate(crash_fd, (off_t)pgsz()) != 0)
		return 5;
	char *bus = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED, crash_fd, 0);
	if (bus == MAP_FAILED || ftruncate(crash_fd, 0) != 0)
		return 6;
	int r = setup(SIGBUS, 0, SIGSEGV);
	if (r)
		return r;
	child_step(1);
	char c = *(volatile char *)bus; /* SIGBUS: the crash */
	child_step(2);
	return c;
}

Test(reporter, sigbus_reporter_with_sigsegv_in_its_mask_reads_with_safecopy)
{
	memset(rec = mmap(NULL, sizeof *rec, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), 0,
	       sizeof *rec);
	int st = run_in_child(child_bus, NULL, 10);
	expect_exit(st, 0);
	cr_assert_eq(rec->calls, 1);
	cr_assert_eq(rec->reads_ok, 1, "read_around gave %d", rec->reads_ok);
	cr_assert_eq(rec->codes[0], BUS_ADRERR);
}

/*
 * ---- a previous handler that leaves by siglongjmp (the sigsetjmp recovery pattern) ----
 * Nothing of the abandoned call may linger: later faults and sent signals reach the handler as usual,
 * also faults deeper on the stack than the first one, with and without an alternate stack.
 */
static sigjmp_buf recover;
static volatile int jumps;

static void jumping_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	record_entry(info);
	rec->depth--;
	jumps++;
	siglongjmp(recover, 1);
}

/* Faults at a stack depth below the first fault, with stack memory left as it was (not overwritten). */
static __attribute__((noinline)) void deep_fault(int depth)
{
	volatile char pad[8192];
	pad[0] = 0;
	if (depth > 0)
		deep_fault(depth - 1);
	else
		*(volatile char *)hole = 1;
	(void)pad[0];
}

static int child_jumps(void *arg)
{
	bool altstack = arg != NULL;
	size_t pg = pgsz();
	crash_page = mmap(NULL, 3 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (crash_page == MAP_FAILED)
		return 1;
	good = crash_page + pg;
	hole = crash_page + 2 * pg;
	if (mprotect(good, pg, PROT_READ | PROT_WRITE) != 0 || munmap(hole, pg) != 0)
		return 2;
	static char alt[1 << 16];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
	if (altstack && sigaltstack(&ss, NULL) != 0)
		return 3;
	if (set_action(SIGSEGV, jumping_handler, NULL, SA_SIGINFO | (altstack ? SA_ONSTACK : 0)) != 0 ||
	    safecopy_init() != 0)
		return 4;
	if (sigsetjmp(recover, 1) == 0)
		*(volatile char *)crash_page = 1; /* first fault: the handler jumps back here */
	if (jumps != 1)
		return 5;
	if (sigsetjmp(recover, 1) == 0)
		deep_fault(4); /* a fault 32 KiB deeper than the first */
	if (jumps != 2)
		return 6;
	if (sigsetjmp(recover, 1) == 0) {
		syscall(SYS_tgkill, getpid(), gettid_(), SIGSEGV); /* a sent one */
		return 7;
	}
	if (jumps != 3)
		return 8;
	char buf[16];
	struct safecopy_fault f;
	if (safecopy_memcpy(buf, hole, sizeof buf, &f) != 0 || f.addr != hole)
		return 9;
	return 0;
}

Test(reporter, handler_leaving_by_siglongjmp_leaves_nothing_behind)
{
	int st;
	run(READS_AND_DIES, &st); /* allocates the shared record */
	memset(rec, 0, sizeof *rec);
	expect_exit(run_in_child(child_jumps, NULL, 10), 0);
	cr_assert_eq(rec->calls, 3);
	cr_assert_eq(rec->codes[2], SI_TKILL);
}

Test(reporter, handler_leaving_by_siglongjmp_on_an_alternate_stack_leaves_nothing_behind)
{
	int st;
	run(READS_AND_DIES, &st);
	memset(rec, 0, sizeof *rec);
	expect_exit(run_in_child(child_jumps, (void *)1, 10), 0);
	cr_assert_eq(rec->calls, 3);
}
