/*
 * Signals that look like faults but are not: the kernel raises SIGSEGV/SIGBUS with si_code > 0 without
 * any faulting access (a child made by clone() with exit_signal SIGSEGV exits: CLD_EXITED = 1 =
 * SEGV_MAPERR; a descriptor with F_SETSIG SIGSEGV becomes readable: POLL_IN = 1; a thread forges one
 * to itself with rt_tgsigqueueinfo). Each is made to arrive at every instruction of a safecopy call in
 * turn (single-stepping, stepper.h). Wanted: the call's result is exact, nothing outside its memory is
 * written, and the signal reaches the previous handler exactly once, as sent — or, with SIG_DFL
 * before safecopy, ends the process as it would have without safecopy.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#include "stepper.h"

#ifndef BUS_MCEERR_AO
#define BUS_MCEERR_AO 5
#endif

/* ---- the previous handler: counts what reaches it ----------------------------------------------- */

static volatile sig_atomic_t prev_calls, prev_signo, prev_code;
static volatile pid_t prev_pid;

static void prev_handler(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	prev_calls++;
	prev_signo = sig;
	prev_code = info->si_code;
	prev_pid = info->si_pid;
}

static void install_prev_and_safecopy(void)
{
	cr_assert_eq(set_action(SIGSEGV, prev_handler, NULL, SA_SIGINFO), 0);
	cr_assert_eq(set_action(SIGBUS, prev_handler, NULL, SA_SIGINFO), 0);
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(0);
}

/* ---- the signals, raised from the SIGTRAP handler so that they land on the stepped instruction --- */

enum maker { CHILD_EXIT, FD_READY, FORGED_MCE_AO, FORGED_FAULT, MAKER_COUNT };

static const char *const maker_names[] = {"child exit", "F_SETSIG", "forged BUS_MCEERR_AO",
                                          "forged page fault"};

struct raise_spec {
	enum maker maker;
	int sig;
	int pipe_r, pipe_w; /* FD_READY: read end owned by this thread, F_SETSIG sig */
	pid_t child;
	uintptr_t forged_addr; /* FORGED_*: si_addr (the memory the call works on) */
	int expect_code;
};

/* A fork-like clone whose exit signal is sig; its zombie is reaped at once (the signal stays queued). */
static void raise_child_exit(struct raise_spec *r)
{
	long pid = syscall(SYS_clone, (long)r->sig, 0L, 0L, 0L, 0L);
	if (pid == 0)
		syscall(SYS_exit, 0);
	r->child = (pid_t)pid;
	int st;
	while (waitpid((pid_t)pid, &st, __WALL) < 0 && errno == EINTR)
		;
}

static void raise_forged(struct raise_spec *r, int code)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = r->sig;
	si.si_code = code;
	si.si_addr = (void *)r->forged_addr;
	syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid_(), r->sig, &si);
}

static void raise_action(void *uc, void *arg)
{
	(void)uc;
	struct raise_spec *r = arg;
	switch (r->maker) {
	case CHILD_EXIT:
		raise_child_exit(r);
		break;
	case FD_READY:
		(void)!write(r->pipe_w, "x", 1);
		break;
	case FORGED_MCE_AO:
		raise_forged(r, BUS_MCEERR_AO);
		break;
	case FORGED_FAULT:
		raise_forged(r, r->sig == SIGBUS ? BUS_ADRERR : SEGV_MAPERR);
		break;
	case MAKER_COUNT:
		break;
	}
}

static void raise_spec_init(struct raise_spec *r, enum maker m, int sig)
{
	memset(r, 0, sizeof *r);
	r->maker = m;
	r->sig = sig;
	r->pipe_r = r->pipe_w = -1;
	static const int codes[] = {CLD_EXITED, POLL_IN, BUS_MCEERR_AO, 0};
	r->expect_code = m == FORGED_FAULT ? (sig == SIGBUS ? BUS_ADRERR : SEGV_MAPERR) : codes[m];
	if (m == FD_READY) {
		int p[2];
		cr_assert_eq(pipe(p), 0);
		struct f_owner_ex owner = {F_OWNER_TID, gettid_()};
		cr_assert_eq(fcntl(p[0], F_SETOWN_EX, &owner), 0);
		cr_assert_eq(fcntl(p[0], F_SETSIG, sig), 0);
		cr_assert_eq(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK), 0);
		r->pipe_r = p[0];
		r->pipe_w = p[1];
	}
}

static void raise_spec_after(struct raise_spec *r)
{
	char c;
	if (r->pipe_r >= 0)
		while (read(r->pipe_r, &c, 1) == 1)
			;
}

static void raise_spec_free(struct raise_spec *r)
{
	if (r->pipe_r >= 0) {
		close(r->pipe_r);
		close(r->pipe_w);
	}
}

/* ---- the operations stepped through --------------------------------------------------------------- */

#define GUARD 64

enum op_kind { OP_COPY, OP_MEMSET, OP_ATOMIC, OP_STRNCPY, OP_STRNLEN, OP_PEEK, OP_PROBE };

struct op {
	enum op_kind kind;
	size_t n;
	int atomic;               /* OP_ATOMIC: index into the atomic list below */
	unsigned char *src, *dst; /* dst has GUARD canary bytes on each side */
};

static unsigned char src_buf[40000], dst_buf[40000 + 2 * GUARD];

/* The atomics: every routine, 32 and 64 bits. Returns the status; *val receives the output if any. */
static enum safecopy_status run_atomic(int which, void *p, uint64_t *val)
{
	uint32_t o32 = 0;
	uint64_t o64 = 0;
	enum safecopy_status st;
	switch (which) {
	case 0:
		st = safecopy_load32(p, &o32, NULL);
		break;
	case 1:
		st = safecopy_store32(p, 0x11223344u, NULL);
		break;
	case 2:
		st = safecopy_swap32(p, 0x55667788u, &o32, NULL);
		break;
	case 3:
		st = safecopy_cas32(p, 0x01020304u, 0x0a0b0c0du, &o32, NULL);
		break;
	case 4:
		st = safecopy_fetch_add32(p, 5, &o32, NULL);
		break;
	case 5:
		st = safecopy_fetch_and32(p, 0xff00ff00u, &o32, NULL);
		break;
	case 6:
		st = safecopy_fetch_or32(p, 0x10u, &o32, NULL);
		break;
	case 7:
		st = safecopy_fetch_xor32(p, 0x3u, &o32, NULL);
		break;
	case 8:
		st = safecopy_load64(p, &o64, NULL);
		break;
	case 9:
		st = safecopy_store64(p, 0x1122334455667788ull, NULL);
		break;
	case 10:
		st = safecopy_swap64(p, 0x99ull, &o64, NULL);
		break;
	case 11:
		st = safecopy_cas64(p, 0x0102030405060708ull, 0x42ull, &o64, NULL);
		break;
	case 12:
		st = safecopy_fetch_add64(p, 7, &o64, NULL);
		break;
	case 13:
		st = safecopy_fetch_and64(p, 0xf0f0ull, &o64, NULL);
		break;
	case 14:
		st = safecopy_fetch_or64(p, 0x8000ull, &o64, NULL);
		break;
	default:
		st = safecopy_fetch_xor64(p, 0x5ull, &o64, NULL);
		break;
	}
	*val = which < 8 ? o32 : o64;
	return st;
}

#define ATOMIC_COUNT 16

/* The value the atomic must leave in memory, from `before`, and the output it must give. */
static void atomic_model(int which, uint64_t before, uint64_t *after, uint64_t *out)
{
	static const uint64_t arg[ATOMIC_COUNT] = {
	    0, 0x11223344u,           0x55667788u, 0x0a0b0c0du, 5, 0xff00ff00u, 0x10u,     0x3u,
	    0, 0x1122334455667788ull, 0x99ull,     0x42ull,     7, 0xf0f0ull,   0x8000ull, 0x5ull};
	uint64_t mask = which < 8 ? 0xffffffffull : ~0ull;
	uint64_t v = before & mask, a = arg[which];
	*out = v;
	switch (which % 8) {
	case 0:
		*after = v;
		break;
	case 1:
		*after = a;
		*out = 0;
		break;
	case 2:
		*after = a;
		break;
	case 3:
		*after = v == (which < 8 ? 0x01020304u : 0x0102030405060708ull) ? a : v;
		break;
	case 4:
		*after = (v + a) & mask;
		break;
	case 5:
		*after = v & a;
		break;
	case 6:
		*after = v | a;
		break;
	default:
		*after = v ^ a;
		break;
	}
}

static void op_prepare(struct op *o)
{
	for (size_t i = 0; i < sizeof src_buf; i++)
		src_buf[i] = pat(i);
	for (size_t i = 0; i < sizeof dst_buf; i++)
		dst_buf[i] = canary(i);
	o->src = src_buf;
	o->dst = dst_buf + GUARD;
}

/* A copy or memset that returned got with record f did exactly its job. */
static void op_check_copy(struct op *o, size_t got, const struct safecopy_fault *f, const char *what)
{
	CHECK(got == o->n, "%s: count %zu, want %zu", what, got, o->n);
	check_fault_ok(f, what);
	for (size_t i = 0; i < o->n; i++)
		CHECK(o->dst[i] == (o->kind == OP_COPY ? pat(i) : 0x5a), "%s: dst[%zu] wrong", what, i);
	for (size_t i = 0; i < GUARD; i++)
		CHECK(dst_buf[i] == canary(i), "%s: byte %zu before dst written", what, GUARD - i);
	for (size_t i = GUARD + o->n; i < 2 * GUARD + o->n; i++)
		CHECK(dst_buf[i] == canary(i), "%s: byte %zu after dst written", what, i - GUARD - o->n);
}

/* Runs the operation (stepped when `stepped`) and checks it did exactly its job. */
/* Strings of n letters then a NUL; strncpy into dst with room for n + 10. */
static void op_string(struct op *o, bool stepped, const char *what)
{
	for (size_t i = 0; i < o->n; i++)
		o->src[i] = (unsigned char)('a' + i % 26);
	o->src[o->n] = '\0';
	struct safecopy_fault f = fault_garbage();
	size_t got;
	if (o->kind == OP_STRNLEN) {
		got = stepped ? STEPPED(safecopy_strnlen((const char *)o->src, o->n + 10, &f))
		              : safecopy_strnlen((const char *)o->src, o->n + 10, &f);
		CHECK(got == o->n, "%s: strnlen %zu, want %zu", what, got, o->n);
		check_fault_ok(&f, what);
		return;
	}
	got = stepped ? STEPPED(safecopy_strncpy((char *)o->dst, (const char *)o->src, o->n + 10, &f))
	              : safecopy_strncpy((char *)o->dst, (const char *)o->src, o->n + 10, &f);
	CHECK(got == o->n, "%s: strncpy %zu, want %zu", what, got, o->n);
	check_fault_ok(&f, what);
	CHECK(memcmp(o->dst, o->src, o->n + 1) == 0, "%s: string not copied with its NUL", what);
	for (size_t i = 0; i < GUARD; i++)
		CHECK(dst_buf[i] == canary(i), "%s: byte %zu before dst written", what, GUARD - i);
	for (size_t i = GUARD + o->n + 1; i < 2 * GUARD + o->n + 10; i++)
		CHECK(dst_buf[i] == canary(i), "%s: byte %zu after the NUL written", what,
		      i - GUARD - o->n - 1);
}

/* A peek of each width, and a read/write probe of n bytes that must change nothing. */
static void op_peek_probe(struct op *o, bool stepped, const char *what)
{
	if (o->kind == OP_PEEK) {
		uint64_t cell = 0x1122334455667788ull;
		uint64_t v64 = stepped ? STEPPED(safecopy_peek64(&cell, 1)) : safecopy_peek64(&cell, 1);
		uint32_t v32 = stepped ? STEPPED(safecopy_peek32(&cell, 2)) : safecopy_peek32(&cell, 2);
		void *vp = stepped ? STEPPED(safecopy_peekptr(&cell, NULL)) : safecopy_peekptr(&cell, NULL);
		CHECK(v64 == cell && v32 == (uint32_t)cell && vp == (void *)(uintptr_t)cell,
		      "%s: peeks wrong", what);
		return;
	}
	struct safecopy_fault f = fault_garbage();
	int flags = SAFECOPY_PROBE_READ | SAFECOPY_PROBE_WRITE;
	size_t got = stepped ? STEPPED(safecopy_probe(o->dst, o->n, flags, &f))
	                     : safecopy_probe(o->dst, o->n, flags, &f);
	CHECK(got == o->n, "%s: probe %zu, want %zu", what, got, o->n);
	check_fault_ok(&f, what);
	for (size_t i = 0; i < sizeof dst_buf; i++)
		CHECK(dst_buf[i] == canary(i), "%s: the probe changed byte %zu", what, i);
}

static void op_run_and_check(struct op *o, bool stepped, const char *what)
{
	op_prepare(o);
	if (o->kind == OP_STRNCPY || o->kind == OP_STRNLEN) {
		op_string(o, stepped, what);
		return;
	}
	if (o->kind == OP_PEEK || o->kind == OP_PROBE) {
		op_peek_probe(o, stepped, what);
		return;
	}
	if (o->kind == OP_ATOMIC) {
		uint64_t *cell = (uint64_t *)(void *)o->dst;
		uint64_t before = 0x0102030405060708ull, after, out_want, out = 0;
		*cell = before;
		enum safecopy_status st =
		    stepped ? STEPPED(run_atomic(o->atomic, cell, &out)) : run_atomic(o->atomic, cell, &out);
		atomic_model(o->atomic, before, &after, &out_want);
		uint64_t mask = o->atomic < 8 ? 0xffffffffull : ~0ull;
		CHECK(st == SAFECOPY_OK, "%s: atomic %d status %d", what, o->atomic, st);
		CHECK((*cell & mask) == after && (*cell & ~mask) == (before & ~mask),
		      "%s: atomic %d left %#llx, want %#llx", what, o->atomic, (unsigned long long)*cell,
		      (unsigned long long)after);
		CHECK((out & mask) == out_want, "%s: atomic %d output %#llx, want %#llx", what, o->atomic,
		      (unsigned long long)out, (unsigned long long)out_want);
		for (size_t i = 0; i < GUARD; i++)
			CHECK(dst_buf[i] == canary(i), "%s: byte before the cell written", what);
		for (size_t i = GUARD + 8; i < 2 * GUARD + 8; i++)
			CHECK(dst_buf[i] == canary(i), "%s: byte after the cell written", what);
		return;
	}
	struct safecopy_fault f = fault_garbage();
	size_t got;
	if (o->kind == OP_COPY)
		got = stepped ? STEPPED(safecopy_memcpy(o->dst, o->src, o->n, &f))
		              : safecopy_memcpy(o->dst, o->src, o->n, &f);
	else
		got = stepped ? STEPPED(safecopy_memset(o->dst, 0x5a, o->n, &f))
		              : safecopy_memset(o->dst, 0x5a, o->n, &f);
	op_check_copy(o, got, &f, what);
}

/* How many steps the operation takes (no action), once every function it calls is bound. */
static long op_steps(struct op *o)
{
	op_run_and_check(o, false, "binding");
	stepper_arm(-1, NULL, NULL);
	op_run_and_check(o, true, "counting steps");
	return stepper_state.steps;
}

/* The si_code the kernel gives the signal `m` makes (F_SETSIG: POLL_IN before Linux 4.16, then SI_SIGIO). */
static int calibrate_code(struct raise_spec *r)
{
	if (r->maker != FD_READY)
		return r->expect_code;
	prev_calls = 0;
	raise_action(NULL, r);
	raise_spec_after(r);
	cr_assert_eq(prev_calls, 1, "F_SETSIG raised no signal");
	return prev_code;
}

/* The steps to try of an operation that takes `steps`: all, or for a long rep a sample. */
static long next_step(long i, long steps)
{
	if (steps <= 400 || i < 48 || i >= steps - 8)
		return i + 1;
	return i < steps / 2 ? steps / 2 : steps - 8;
}

/* The signal made by `m` lands on step i of the operation: exact result, the previous handler saw it. */
static void sweep(struct op *o, enum maker m, int sig)
{
	long steps = op_steps(o);
	cr_assert_gt(steps, 5, "stepping does not work");
	struct raise_spec r;
	raise_spec_init(&r, m, sig);
	r.expect_code = calibrate_code(&r);
	char what[160];
	for (long i = 0; i < steps; i = next_step(i, steps)) {
		r.forged_addr = (uintptr_t)(o->kind == OP_COPY ? o->src : o->dst) + (o->n > 1 ? o->n / 2 : 0);
		prev_calls = 0;
		stepper_arm(i, raise_action, &r);
		snprintf(what, sizeof what, "%s %s at step %ld/%ld (n %zu, atomic %d)", maker_names[m],
		         strsignal(sig), i, steps, o->n, o->atomic);
		op_run_and_check(o, true, what);
		raise_spec_after(&r);
		CHECK(prev_calls == 1, "%s: the previous handler ran %d times", what, (int)prev_calls);
		CHECK(prev_signo == sig && prev_code == r.expect_code, "%s: previous handler got %d/%d", what,
		      (int)prev_signo, (int)prev_code);
		CHECK(m != CHILD_EXIT || prev_pid == r.child, "%s: si_pid %d, child %d", what, (int)prev_pid,
		      (int)r.child);
	}
	raise_spec_free(&r);
}

/*
 * One size per path of copy and memset: 1-3, 4-7, 8-15, 16-32, 33-64, 65-128, 129-256 (AVX-512), the
 * vector loops with and without a whole round of four 64-byte blocks.
 */
static const size_t copy_sizes[] = {1, 3, 5, 12, 16, 33, 65, 129, 300, 700};

static void sweep_copy_and_memset(enum maker m, int sig)
{
	struct op o = {.kind = OP_COPY};
	for (size_t i = 0; i < sizeof copy_sizes / sizeof copy_sizes[0]; i++) {
		o.n = copy_sizes[i];
		o.kind = OP_COPY;
		sweep(&o, m, sig);
		o.kind = OP_MEMSET;
		sweep(&o, m, sig);
	}
}

static void sweep_all(enum maker m, int sig)
{
	install_prev_and_safecopy();
	sweep_copy_and_memset(m, sig);
	struct op o = {.kind = OP_ATOMIC, .n = 8};
	for (o.atomic = 0; o.atomic < ATOMIC_COUNT; o.atomic++)
		sweep(&o, m, sig);
	static const size_t string_sizes[] = {0, 5, 31, 40, 200};
	for (size_t i = 0; i < sizeof string_sizes / sizeof string_sizes[0]; i++) {
		o.n = string_sizes[i];
		o.kind = OP_STRNCPY;
		sweep(&o, m, sig);
		o.kind = OP_STRNLEN;
		sweep(&o, m, sig);
	}
	o.kind = OP_PEEK;
	sweep(&o, m, sig);
	o.kind = OP_PROBE;
	o.n = 3 * 4096 + 5;
	sweep(&o, m, sig);
}

Test(spurious, child_exit_sigsegv_at_every_instruction, .timeout = 120)
{
	sweep_all(CHILD_EXIT, SIGSEGV);
}

Test(spurious, child_exit_sigbus_at_every_instruction, .timeout = 120)
{
	sweep_all(CHILD_EXIT, SIGBUS);
}

Test(spurious, f_setsig_sigsegv_at_every_instruction, .timeout = 120)
{
	sweep_all(FD_READY, SIGSEGV);
}

Test(spurious, f_setsig_sigbus_at_every_instruction, .timeout = 120)
{
	sweep_all(FD_READY, SIGBUS);
}

Test(spurious, forged_async_machine_check_at_every_instruction, .timeout = 120)
{
	sweep_all(FORGED_MCE_AO, SIGBUS);
}

/*
 * A page-fault si_code with an address inside the very memory the call works on, but no page fault
 * behind it (the saved trap number and CR2 say otherwise): sent, not a fault.
 */
Test(spurious, forged_page_fault_at_every_instruction, .timeout = 120)
{
	sweep_all(FORGED_FAULT, SIGSEGV);
}

#ifdef SAFECOPY_TEST_INTERNALS
#include "levels.h"

/* The copy and memset paths of the lower vector levels, which this CPU would not run by itself. */
Test(spurious, child_exit_at_every_instruction_of_the_avx2_paths, .timeout = 120)
{
	force_level(SC_CPU_AVX2);
	install_prev_and_safecopy();
	sweep_copy_and_memset(CHILD_EXIT, SIGSEGV);
}

Test(spurious, child_exit_at_every_instruction_of_the_sse2_paths, .timeout = 120)
{
	force_level(SC_CPU_SSE2);
	install_prev_and_safecopy();
	sweep_copy_and_memset(CHILD_EXIT, SIGSEGV);
}
#endif

/* The rep paths: a signal during `rep movsb`/`rep stosb` (one step per byte), sampled. */
Test(spurious, child_exit_during_rep_movsb_and_stosb, .timeout = 120)
{
	install_prev_and_safecopy();
	struct op o = {.kind = OP_COPY, .n = 32768 + 7}; /* rep movsb at every level */
	sweep(&o, CHILD_EXIT, SIGSEGV);
	o.kind = OP_MEMSET;
	o.n = 2000; /* below the rep threshold of memset: a vector loop */
	sweep(&o, CHILD_EXIT, SIGSEGV);
}

/* ---- with SIG_DFL before safecopy: the signal ends the process, as it would have without it ---- */

struct dfl_case {
	enum maker maker;
	int sig;
	long step;
	size_t n;
};

static int child_dfl(void *arg)
{
	const struct dfl_case *c = arg;
	if (safecopy_init() != 0)
		return 1;
	stepper_install(0);
	struct raise_spec r;
	raise_spec_init(&r, c->maker, c->sig);
	struct op o = {.kind = OP_COPY, .n = c->n};
	stepper_arm(c->step, raise_action, &r);
	child_step(1);
	op_run_and_check(&o, true, "SIG_DFL");
	child_step(2);
	return 0;
}

static void dfl_sweep(enum maker m, int sig, size_t n)
{
	cr_assert_eq(safecopy_init(), 0); /* over SIG_DFL; children inherit it */
	stepper_install(0);
	struct op o = {.kind = OP_COPY, .n = n};
	long steps = op_steps(&o);
	for (long i = 0; i < steps; i++) {
		struct dfl_case c = {m, sig, i, n};
		int st = run_in_child(child_dfl, &c, 10);
		char d[128];
		describe_status(st, d, sizeof d);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig && child_progress() == 1,
		          "%s %s at step %ld of %ld: child %s at step %d, want death by the signal",
		          maker_names[m], strsignal(sig), i, steps, d, child_progress());
	}
}

Test(spurious, child_exit_sigsegv_with_sig_dfl_kills_at_every_instruction, .timeout = 120)
{
	dfl_sweep(CHILD_EXIT, SIGSEGV, 16);
}

Test(spurious, f_setsig_sigbus_with_sig_dfl_kills_at_every_instruction, .timeout = 120)
{
	dfl_sweep(FD_READY, SIGBUS, 100);
}

/* With SIG_IGN before safecopy: dropped, as the kernel drops an ignored sent signal; safecopy stays. */
Test(spurious, child_exit_with_sig_ign_is_dropped_and_the_handler_stays, .timeout = 120)
{
	cr_assert_eq(set_action(SIGSEGV, NULL, SIG_IGN, 0), 0);
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(0);
	struct op o = {.kind = OP_COPY, .n = 33};
	long steps = op_steps(&o);
	struct raise_spec r;
	raise_spec_init(&r, CHILD_EXIT, SIGSEGV);
	for (long i = 0; i < steps; i++) {
		stepper_arm(i, raise_action, &r);
		op_run_and_check(&o, true, "SIG_IGN");
		cr_assert(safecopy_handler_active(), "step %ld: safecopy's handler is gone", i);
	}
	struct safecopy_fault f;
	char buf[8];
	cr_assert_eq(safecopy_memcpy(buf, NULL, sizeof buf, &f), 0);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
}

/*
 * ---- the SIGSEGV the kernel forces when it cannot push another signal's frame ----
 * The call runs on a stack with 1.5 KiB left above a guard page; a SIGUSR1 whose handler does not use
 * the alternate stack cannot be delivered there, so the kernel raises SIGSEGV (SI_KERNEL) instead, at
 * whatever instruction the thread stands on. safecopy's handler runs on the alternate stack.
 */

#define TINY_STACK 1536

/* Functions that run on a tiny stack: no AddressSanitizer frames (redzones would overflow it). */
#define TINY_STACK_FN __attribute__((no_sanitize_address))

static struct op tiny_op;
static ucontext_t tiny_main_ctx, tiny_ctx;
static volatile sig_atomic_t usr1_calls;

static void usr1_handler(int sig)
{
	(void)sig;
	usr1_calls++;
}

static size_t tiny_got;
static struct safecopy_fault tiny_fault;

/*
 * What runs on the tiny stack: the stepped copy and nothing else (no sanitizer frames, no library
 * call but safecopy's); op_prepare() and the checks run on the normal stack around it.
 */
TINY_STACK_FN static void tiny_run(void)
{
	tiny_got = STEPPED(safecopy_memcpy(tiny_op.dst, tiny_op.src, tiny_op.n, &tiny_fault));
	swapcontext(&tiny_ctx, &tiny_main_ctx);
}

static void send_usr1(void *uc, void *arg)
{
	(void)uc;
	(void)arg;
	syscall(SYS_tgkill, getpid(), gettid_(), SIGUSR1);
}

static char *tiny_stack_setup(void)
{
	size_t pg = pgsz();
	char *region = map_anon(2 * pg, PROT_READ | PROT_WRITE);
	cr_assert_eq(mprotect(region, pg, PROT_NONE), 0);
	static char alt[1 << 16];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
	cr_assert_eq(sigaltstack(&ss, NULL), 0);
	cr_assert_eq(set_action(SIGUSR1, NULL, usr1_handler, 0), 0);
	return region + pg;
}

/*
 * Runs tiny_op on the tiny stack with SIGUSR1 raised at `step`. The first call is made on this stack:
 * it binds every function the run calls (the dynamic linker's lazy-binding resolver needs kilobytes).
 */
static void tiny_call(char *stack, long step)
{
	static bool bound;
	if (!bound) {
		stepper_arm(-1, NULL, NULL);
		op_run_and_check(&tiny_op, true, "binding");
	}
	bound = true;
	op_prepare(&tiny_op);
	stepper_arm(step, send_usr1, NULL);
	cr_assert_eq(getcontext(&tiny_ctx), 0);
	tiny_ctx.uc_stack.ss_sp = stack;
	tiny_ctx.uc_stack.ss_size = TINY_STACK;
	tiny_ctx.uc_link = NULL;
	makecontext(&tiny_ctx, tiny_run, 0);
	cr_assert_eq(swapcontext(&tiny_main_ctx, &tiny_ctx), 0);
	op_check_copy(&tiny_op, tiny_got, &tiny_fault, "forced SIGSEGV on a full stack");
}

Test(spurious, forced_sigsegv_from_an_undeliverable_frame_at_every_instruction, .timeout = 120)
{
	char *stack = tiny_stack_setup();
	cr_assert_eq(set_action(SIGSEGV, prev_handler, NULL, SA_SIGINFO | SA_ONSTACK), 0);
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(SIGUSR1);
	size_t sizes[] = {16, 65, 300};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		tiny_op = (struct op){.kind = OP_COPY, .n = sizes[k]};
		tiny_call(stack, -1);
		long steps = stepper_state.steps;
		for (long i = 0; i < steps; i++) {
			prev_calls = 0;
			usr1_calls = 0;
			tiny_call(stack, i);
			cr_assert_eq(usr1_calls, 0, "step %ld: SIGUSR1 was delivered after all", i);
			cr_assert(prev_calls == 1 && prev_signo == SIGSEGV && prev_code == SI_KERNEL,
			          "n %zu step %ld/%ld: previous handler ran %d times, code %d", sizes[k], i,
			          steps, (int)prev_calls, (int)prev_code);
		}
	}
}

static int child_forced_dfl(void *arg)
{
	char *stack = tiny_stack_setup();
	if (safecopy_init() != 0)
		return 1;
	stepper_install(SIGUSR1);
	tiny_op = (struct op){.kind = OP_COPY, .n = 16};
	child_step(1);
	tiny_call(stack, (long)(intptr_t)arg);
	child_step(2);
	return 0;
}

Test(spurious, forced_sigsegv_from_an_undeliverable_frame_with_sig_dfl_kills, .timeout = 120)
{
	char *stack = tiny_stack_setup();
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(SIGUSR1);
	tiny_op = (struct op){.kind = OP_COPY, .n = 16};
	tiny_call(stack, -1);
	long steps = stepper_state.steps;
	for (long i = 0; i < steps; i++)
		expect_signal(run_in_child(child_forced_dfl, (void *)(intptr_t)i, 10), SIGSEGV, 1);
}

/*
 * A storm: a thread copying on a nearly full stack while another sends it SIGUSR1 every 200 us. Each
 * SIGUSR1 the kernel cannot deliver becomes a forced SIGSEGV at some instruction of the copy loop.
 */
static volatile sig_atomic_t storm_stop, storm_forced;
static volatile long storm_copies, storm_wrong;
static ucontext_t storm_main_ctx, storm_ctx;

static void storm_prev(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	if (info->si_code == SI_KERNEL)
		storm_forced++;
}

/* One copy and its check, by hand: no library call but safecopy's on the tiny stack. */
TINY_STACK_FN static void storm_round(unsigned r)
{
	static unsigned char src[600], dst[600];
	static struct safecopy_fault f;
	size_t n = 1 + (r * 37) % (sizeof src - 1);
	volatile unsigned char *vs = src, *vd = dst; /* no loop turned into a memset() call */
	for (size_t i = 0; i < sizeof src; i++) {
		vs[i] = (unsigned char)(i * 7 + r);
		vd[i] = 0;
	}
	size_t got = safecopy_memcpy(dst, src, n, &f);
	bool wrong = got != n || f.status != SAFECOPY_OK || dst[n] != 0;
	for (size_t i = 0; i < n; i++)
		wrong |= dst[i] != src[i];
	storm_wrong += wrong;
	storm_copies++;
}

TINY_STACK_FN static void storm_loop(void)
{
	for (unsigned r = 0; !storm_stop; r++)
		storm_round(r);
	swapcontext(&storm_ctx, &storm_main_ctx);
}

static void *storm_thread(void *arg)
{
	char *stack = arg;
	static char alt[1 << 16];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt}, old;
	sigaltstack(&ss, &old);
	storm_round(0); /* binds safecopy_memcpy here: the dynamic linker's resolver needs kilobytes */
	getcontext(&storm_ctx);
	storm_ctx.uc_stack.ss_sp = stack;
	storm_ctx.uc_stack.ss_size = TINY_STACK;
	storm_ctx.uc_link = NULL;
	makecontext(&storm_ctx, storm_loop, 0);
	swapcontext(&storm_main_ctx, &storm_ctx);
	sigaltstack(&old, NULL); /* ASan unmaps the thread's alternate stack at exit: give its own back */
	return NULL;
}

Test(spurious, forced_sigsegv_storm_on_a_full_stack, .timeout = 60)
{
	size_t pg = pgsz();
	char *region = map_anon(2 * pg, PROT_READ | PROT_WRITE);
	cr_assert_eq(mprotect(region, pg, PROT_NONE), 0);
	cr_assert_eq(set_action(SIGUSR1, NULL, usr1_handler, 0), 0);
	cr_assert_eq(set_action(SIGSEGV, storm_prev, NULL, SA_SIGINFO), 0);
	cr_assert_eq(safecopy_init(), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, storm_thread, region + pg), 0);
	struct timespec pause = {0, 200 * 1000};
	for (int i = 0; i < 5000 && storm_forced < 500; i++) {
		pthread_kill(t, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	storm_stop = 1;
	pthread_join(t, NULL);
	cr_assert_eq(storm_wrong, 0, "%ld of %ld copies wrong", storm_wrong, storm_copies);
	cr_assert_gt(storm_forced, 10, "only %d forced SIGSEGVs: the storm proved nothing",
	             (int)storm_forced);
}
