/*
 * The jump-linked routines safecopy_atomic_<op><W>_jl that the header's inline atomics reach by a
 * jump with the return address in R9 (include/safecopy.h): called here exactly so, from an asm
 * harness that also checks what the protocol promises the caller's code: the stack pointer, the red
 * zone below it and the callee-saved registers as they were, whichever way the routine ends (success,
 * a misaligned pointer, a fault, the first use's slow path) and whatever the stack's alignment. The
 * values and fault records are the register-result forms' (atomics.c holds those to the contract of
 * the functions with outputs). Last, the ordering the inline stores and loads promise (seq_cst):
 * a store followed by a load of another location is never reordered.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "harness.h"

/* The routines: not C functions (they return to R9), only jumped to by the harness. */
enum jl_op { JL_STORE, JL_SWAP, JL_CAS, JL_ADD, JL_AND, JL_OR, JL_XOR };
#define JL_ROUTINES_W(X, W)   \
	X(store, W, JL_STORE) \
	X(swap, W, JL_SWAP)   \
	X(cas, W, JL_CAS)     \
	X(fetch_add, W, JL_ADD) X(fetch_and, W, JL_AND) X(fetch_or, W, JL_OR) X(fetch_xor, W, JL_XOR)
#define JL_ROUTINES(X) JL_ROUTINES_W(X, 32) JL_ROUTINES_W(X, 64)
/*
 * Each routine's address, read from the GOT as the header's jump does: a non-PIE executable that
 * named the routine in C would get its own PLT entry as the routine's address, and a lazily bound PLT
 * entry runs the dynamic linker's resolver, which writes into the red zone (the inline atomics never
 * go that way).
 */
#define JL_ADDRESS(op, W, kind)                                                             \
	static void (*jl_address_##op##W(void))(void)                                       \
	{                                                                                   \
		void (*f)(void);                                                            \
		__asm__("mov safecopy_atomic_" #op #W "_jl@GOTPCREL(%%rip), %0" : "=r"(f)); \
		return f;                                                                   \
	}
JL_ROUTINES(JL_ADDRESS)

struct jl_routine {
	const char *name;
	void (*(*address)(void))(void);
	enum jl_op op;
	int width;
};

#define JL_ENTRY(op, W, kind) {"safecopy_atomic_" #op #W "_jl", jl_address_##op##W, kind, W},
static const struct jl_routine routines[] = {JL_ROUTINES(JL_ENTRY)};
#define NROUTINES   (sizeof routines / sizeof routines[0])
#define FETCH_ADD64 (&routines[7 + JL_ADD]) /* JL_ROUTINES lists the 7 operations per width */

/*
 * One jump-linked call, as the header's asm makes it: args in RDI, RSI, RDX, RCX, the return address
 * in R9. The harness (linked_call below) first lowers RSP by `misalign` (0 or 8: the caller's RSP
 * has no required alignment), fills the 128-byte red zone below it and the callee-saved registers
 * with known values, and afterwards counts what changed.
 */
struct linked_call {
	uint64_t args[4];
	void (*routine)(void);
	uint64_t misalign;
	uint64_t value, status; /* RAX, RDX on return */
	uint64_t rsp_before, rsp_after;
	uint64_t redzone_changed;      /* red-zone words that no longer hold the fill */
	uint64_t callee_saved_changed; /* of RBX, RBP, R13, R14, R15 (R12 holds the struct) */
};
_Static_assert(sizeof(struct linked_call) == 96, "linked_call's asm uses these offsets");

void linked_call(struct linked_call *c);

#define FILL     "0x5a5a5a5a5a5a5a5a"
#define SENTINEL "0x3c3c3c3c3c3c3c00"
/* clang-format off */
__asm__(".text\n"
        ".globl linked_call\n"
        ".type linked_call, @function\n"
        "linked_call:\n"
        "	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "	mov %rdi, %r12\n"
        "	sub 40(%r12), %rsp\n"
        "	movabs $" FILL ", %rax\n"
        "	.irp i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16\n"
        "	mov %rax, -8*\\i(%rsp)\n"
        "	.endr\n"
        "	movabs $" SENTINEL ", %rbx\n"
        "	lea 1(%rbx), %rbp\n lea 2(%rbx), %r13\n lea 3(%rbx), %r14\n lea 4(%rbx), %r15\n"
        "	mov %rsp, 64(%r12)\n"
        "	mov 0(%r12), %rdi\n mov 8(%r12), %rsi\n mov 16(%r12), %rdx\n mov 24(%r12), %rcx\n"
        "	lea 1f(%rip), %r9\n"
        "	jmp *32(%r12)\n"
        "1:	endbr64\n"
        "	mov %rax, 48(%r12)\n mov %rdx, 56(%r12)\n mov %rsp, 72(%r12)\n"
        "	xor %ecx, %ecx\n"
        "	movabs $" FILL ", %rax\n"
        "	.irp i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16\n"
        "	cmp %rax, -8*\\i(%rsp)\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	.endr\n"
        "	mov %rcx, 80(%r12)\n"
        "	xor %ecx, %ecx\n"
        "	movabs $" SENTINEL ", %rax\n"
        "	cmp %rax, %rbx\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	inc %rax\n cmp %rax, %rbp\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	inc %rax\n cmp %rax, %r13\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	inc %rax\n cmp %rax, %r14\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	inc %rax\n cmp %rax, %r15\n setne %dl\n movzbl %dl, %edx\n add %rdx, %rcx\n"
        "	mov %rcx, 88(%r12)\n"
        "	add 40(%r12), %rsp\n"
        "	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "	ret\n"
        ".size linked_call, . - linked_call\n");
/* clang-format on */

/* Calls routine r on p with operand v (cas: expected e, desired v) and record f; checks the stack. */
static struct linked_call call_linked(const struct jl_routine *r, void *p, uint64_t v, uint64_t e,
                                      struct safecopy_fault *f, uint64_t misalign)
{
	struct linked_call c;
	memset(&c, 0, sizeof c);
	c.args[0] = (uintptr_t)p;
	if (r->op == JL_CAS) {
		c.args[1] = e;
		c.args[2] = v;
		c.args[3] = (uintptr_t)f;
	} else {
		c.args[1] = v;
		c.args[2] = (uintptr_t)f;
	}
	c.routine = r->address();
	c.misalign = misalign;
	linked_call(&c);
	CHECK(c.rsp_after == c.rsp_before, "%s: RSP %#lx after, %#lx before", r->name,
	      (unsigned long)c.rsp_after, (unsigned long)c.rsp_before);
	CHECK(c.redzone_changed == 0, "%s: %lu red-zone words changed", r->name,
	      (unsigned long)c.redzone_changed);
	CHECK(c.callee_saved_changed == 0, "%s: %lu callee-saved registers changed", r->name,
	      (unsigned long)c.callee_saved_changed);
	return c;
}

/* What op does to old with operand v (cas: expected e). */
static uint64_t jl_apply(const struct jl_routine *r, uint64_t old, uint64_t v, uint64_t e)
{
	uint64_t mask = r->width == 32 ? UINT32_MAX : UINT64_MAX;
	switch (r->op) {
	case JL_STORE:
	case JL_SWAP:
		return v & mask;
	case JL_CAS:
		return old == (e & mask) ? v & mask : old;
	case JL_ADD:
		return (old + v) & mask;
	case JL_AND:
		return old & v & mask;
	case JL_OR:
		return (old | v) & mask;
	case JL_XOR:
		return (old ^ v) & mask;
	}
	return 0;
}

static uint64_t cell_read(const void *p, int width)
{
	return width == 32 ? *(const uint32_t *)p : *(const uint64_t *)p;
}

static void cell_write(void *p, int width, uint64_t v)
{
	if (width == 32)
		*(uint32_t *)p = (uint32_t)v;
	else
		*(uint64_t *)p = v;
}

/* Success: the value (the old contents; 0 for a store), memory, the record left as it was. */
Test(linked, success_returns_the_old_value_and_leaves_the_record)
{
	static uint64_t cells[4] __attribute__((aligned(16)));
	const uint64_t olds[] = {0x8000000180000001u, 0xfffffffffffffffeu, 0, 42};
	for (size_t i = 0; i < NROUTINES; i++)
		for (size_t k = 0; k < sizeof olds / sizeof olds[0]; k++)
			for (uint64_t misalign = 0; misalign <= 8; misalign += 8) {
				const struct jl_routine *r = &routines[i];
				uint64_t mask = r->width == 32 ? UINT32_MAX : UINT64_MAX;
				uint64_t old = olds[k] & mask, v = 0x0123456789abcdefu ^ olds[k];
				/* cas: a hit for even k, a miss for odd k. */
				uint64_t e = k % 2 == 0 ? old : old + 1;
				memset(cells, 0xa5, sizeof cells);
				cell_write(&cells[1], r->width, old);
				struct safecopy_fault f = fault_garbage(), before = f;
				struct linked_call c = call_linked(r, &cells[1], v, e, &f, misalign);
				CHECK(c.status == SAFECOPY_OK, "%s: status %lu", r->name,
				      (unsigned long)c.status);
				uint64_t want = r->op == JL_STORE ? 0 : old;
				CHECK(c.value == want, "%s: value %#lx, want %#lx", r->name,
				      (unsigned long)c.value, (unsigned long)want);
				CHECK(cell_read(&cells[1], r->width) == jl_apply(r, old, v, e), "%s: memory",
				      r->name);
				CHECK(memcmp(&f, &before, sizeof f) == 0, "%s: record written on success",
				      r->name);
				uint64_t guard;
				memset(&guard, 0xa5, sizeof guard);
				CHECK(cells[0] == guard && cells[2] == guard, "%s: a neighbour changed",
				      r->name);
				if (r->width == 32)
					CHECK(*((uint32_t *)&cells[1] + 1) == (uint32_t)guard,
					      "%s: the next 4 bytes changed", r->name);
			}
}

/* A misaligned p: SAFECOPY_ALIGN with addr = p and no access (the page after is PROT_NONE). */
Test(linked, misaligned_pointer_is_an_error_without_access)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, false);
	for (size_t i = 0; i < NROUTINES; i++)
		for (uint64_t off = 1; off < (uint64_t)routines[i].width / 8; off++)
			for (uint64_t misalign = 0; misalign <= 8; misalign += 8) {
				const struct jl_routine *r = &routines[i];
				/* Straddles into the PROT_NONE page: any access would fault instead. */
				char *p = z.bad - r->width / 8 + off;
				struct safecopy_fault f = fault_garbage();
				struct linked_call c = call_linked(r, p, 7, 0, &f, misalign);
				CHECK(c.status == SAFECOPY_ALIGN, "%s: status %lu", r->name,
				      (unsigned long)c.status);
				check_fault(&f, SAFECOPY_ALIGN, p, 0, 0, r->name);
				for (char *q = z.bad - 8; q < z.bad; q++)
					CHECK((uint8_t)*q == zone_fill_byte(&z, q), "%s: memory written",
					      r->name);
			}
	zone_free(&z);
}

static void faults_on(enum bad_kind kind)
{
	struct zone z;
	zone_make(&z, pgsz(), kind, false);
	for (size_t i = 0; i < NROUTINES; i++)
		for (uint64_t misalign = 0; misalign <= 8; misalign += 8) {
			const struct jl_routine *r = &routines[i];
			char *p = z.bad + 64;
			struct safecopy_fault f = fault_garbage();
			struct linked_call c = call_linked(r, p, 7, 0, &f, misalign);
			CHECK(c.status == (uint64_t)kind_status(kind), "%s: status %lu", r->name,
			      (unsigned long)c.status);
			check_fault(&f, kind_status(kind), p, kind_signo(kind), kind_code(kind), r->name);
		}
	zone_check_bad_page_untouched(&z);
	zone_free(&z);
}

/* A fault: the record of the register-result form (addr = p, the signal and its code). */
Test(linked, fault_on_unmapped_memory)
{
	faults_on(BAD_UNMAPPED);
}

Test(linked, fault_on_read_only_memory)
{
	faults_on(BAD_READONLY);
}

Test(linked, fault_on_a_file_page_past_its_end)
{
	faults_on(BAD_SIGBUS);
}

/* The process's first safecopy call is a jump-linked one that faults: its slow path (a C call from
 * below the red zone) installs the handler before the access. */
Test(linked, first_use_is_a_linked_call_that_faults)
{
	cr_assert_not(safecopy_handler_active());
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, false);
	struct safecopy_fault f = fault_garbage();
	struct linked_call c = call_linked(FETCH_ADD64, z.bad, 1, 0, &f, 8);
	cr_assert_eq(c.status, SAFECOPY_SEGV);
	check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_ACCERR, "fetch_add64_jl");
	cr_assert(safecopy_handler_active());
	zone_free(&z);
}

/*
 * Store buffering: thread A stores x then loads y, thread B stores y then loads x. Sequential
 * consistency forbids both loads seeing the other's store missing; x86-64 allows it for a plain store
 * (the store waits in the store buffer while the load goes ahead: with release stores and acquire
 * loads instead of these, 3215 of 200000 rounds here), which a locked store forbids. Both threads use
 * the inline functions, so the stores are the jump-linked routines. The threads meet before every
 * round; thread A ends the run after SB_ROUNDS rounds or SB_NS, whichever comes first.
 */
#define SB_ROUNDS     200000
#define SB_NS         2000000000L
#define SB_MIN_ROUNDS 1000

struct sb {
	uint64_t x, pad1[7], y, pad2[7];
	volatile uint64_t round[2]; /* each side's round number, started */
	volatile uint64_t done[2];  /* finished */
	volatile uint64_t last;     /* set by A: the last round (UINT64_MAX until then) */
	uint64_t seen[2][SB_ROUNDS / 64 + 1];
	struct timespec t0;
};

static long sb_elapsed_ns(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Spins until *w >= n or (for B) the run ended before round n; yields now and then, so that the
 * rounds go on when both threads share one CPU. False if the run ended. */
static bool sb_wait(struct sb *s, volatile uint64_t *w, uint64_t n)
{
	for (unsigned spins = 1; *w < n; spins++) {
		if (s->last < n)
			return false;
		if (spins % 1024 == 0)
			sched_yield();
	}
	return true;
}

static void sb_side(struct sb *s, int me)
{
	uint64_t *mine = me ? &s->y : &s->x, *other = me ? &s->x : &s->y;
	for (uint64_t n = 1;; n++) {
		if (!sb_wait(s, &s->done[!me], n - 1))
			return;
		if (me == 0 && (n > SB_ROUNDS || sb_elapsed_ns(&s->t0) > SB_NS)) {
			s->last = n - 1;
			return;
		}
		s->round[me] = n;
		if (!sb_wait(s, &s->round[!me], n))
			return;
		uint64_t v = 0;
		cr_assert_eq(safecopy_store64(mine, n, NULL), SAFECOPY_OK);
		cr_assert_eq(safecopy_load64(other, &v, NULL), SAFECOPY_OK);
		if (v < n)
			s->seen[me][n / 64] |= (uint64_t)1 << (n % 64); /* the other's store was missing */
		s->done[me] = n;
	}
}

static void *sb_thread(void *arg)
{
	sb_side(arg, 1);
	return NULL;
}

Test(linked, store_then_load_is_not_reordered)
{
	static struct sb s;
	memset(&s, 0, sizeof s);
	s.last = UINT64_MAX;
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, sb_thread, &s), 0);
	sb_side(&s, 0);
	pthread_join(t, NULL);
	cr_assert_geq(s.last, SB_MIN_ROUNDS, "only %lu rounds ran", (unsigned long)s.last);
	long both = 0;
	for (size_t i = 0; i < sizeof s.seen[0] / sizeof s.seen[0][0]; i++)
		both += __builtin_popcountll(s.seen[0][i] & s.seen[1][i]);
	cr_assert_eq(both, 0, "%ld of %lu rounds: each thread's load went ahead of its store", both,
	             (unsigned long)s.last);
}
