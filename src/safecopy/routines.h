/*
 * The assembly routines (asm/) and the protocol between them, the signal handler and the C wrappers.
 * Internal to libsafecopy.
 */
#ifndef SAFECOPY_ROUTINES_H
#define SAFECOPY_ROUTINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safecopy.h"

#define SC_HIDDEN __attribute__((visibility("hidden")))

/*
 * How a landing learns about its fault: the handler puts a value in RAX and a fault word (never 0) in
 * RDX. With SC_WORD_ADDR_KNOWN the value is the first byte the faulting access could not reach, and
 * SC_WORD_DIST(word) how far that byte lies past the start of the access (so everything before the
 * access, value - dist, was done). With SC_WORD_ACCESS_START instead (#GP from a non-canonical address,
 * #AC: the kernel gives no address) the value is the start of the faulting access.
 */
#define SC_WORD_SIGNO(w)     ((int)((w)&0xff))
#define SC_WORD_CODE(w)      ((int)(int16_t)(((w) >> 8) & 0xffff))
#define SC_WORD_WRITE        ((uint64_t)1 << 24) /* the faulting access writes (the destination side) */
#define SC_WORD_ADDR_KNOWN   ((uint64_t)1 << 25)
#define SC_WORD_ACCESS_START ((uint64_t)1 << 26)
#define SC_WORD_DIST(w)      ((size_t)((w) >> 32))

/* dist saturates: the landing then redoes from further back than needed, which is still exact. */
static inline uint64_t sc_word_make(int signo, int code, uint64_t flags, uintptr_t dist)
{
	uint64_t d = dist > UINT32_MAX ? UINT32_MAX : dist;
	return (uint64_t)(signo & 0xff) | ((uint64_t)(uint16_t)code << 8) | flags | (d << 32);
}

/*
 * The copy and memset routines access memory in ascending order, at most this many bytes at once; so
 * when memory changes during a call, fewer than this many bytes after the count can hold data.
 */
#define SC_COPY_SPAN 64

/*
 * The complete fast paths of safecopy_memcpy/safecopy_memset once the arguments are checked: on
 * success they clear *fault (if not NULL) and return n; on a fault their landing tail-calls the
 * matching *_after_fault function with the same first four arguments plus the fault's addr and word,
 * and its result is returned.
 */
SC_HIDDEN size_t sc_copy(void *dst, const void *src, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_memset(void *dst, int c, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_copy_after_fault(void *dst, const void *src, size_t n, struct safecopy_fault *fault,
                                     uint64_t addr, uint64_t word);
SC_HIDDEN size_t sc_memset_after_fault(void *dst, int c, size_t n, struct safecopy_fault *fault,
                                       uint64_t addr, uint64_t word);

/*
 * The atomic routines (asm/atomic.asm) are the exported register-result functions
 * safecopy_atomic_<op><W> themselves. Their entry checks the alignment (misaligned: tail-jump to
 * sc_atomic_misaligned) and sc_gate (not 0: tail-jump to sc_atomic_slow_<op><W>, same arguments, which
 * runs the routine from sc_<op><W>_unchecked, after the checks, inside the window); a fault ends in
 * sc_atomic_fault(fault, p, word). Each returns the routine's result.
 */
/* clang-format off */
#define SC_DECLARE_ATOMIC(W, op, params)                                                                    \
	SC_HIDDEN struct safecopy_atomic_result sc_##op##W##_unchecked params;                              \
	SC_HIDDEN struct safecopy_atomic_result sc_atomic_slow_##op##W params;
#define SC_DECLARE_ATOMICS(W)                                                                               \
	SC_DECLARE_ATOMIC(W, load, (const uint##W##_t *p, struct safecopy_fault *f))                        \
	SC_DECLARE_ATOMIC(W, store, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))             \
	SC_DECLARE_ATOMIC(W, swap, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))              \
	SC_DECLARE_ATOMIC(W, cas, (uint##W##_t *p, uint##W##_t e, uint##W##_t d, struct safecopy_fault *f)) \
	SC_DECLARE_ATOMIC(W, fetch_add, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))         \
	SC_DECLARE_ATOMIC(W, fetch_and, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))         \
	SC_DECLARE_ATOMIC(W, fetch_or, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))          \
	SC_DECLARE_ATOMIC(W, fetch_xor, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f))
/* clang-format on */
SC_DECLARE_ATOMICS(32)
SC_DECLARE_ATOMICS(64)
SC_HIDDEN struct safecopy_atomic_result sc_atomic_fault(struct safecopy_fault *fault, uintptr_t p,
                                                        uint64_t word);
SC_HIDDEN struct safecopy_atomic_result sc_atomic_misaligned(const void *p, struct safecopy_fault *fault);

/* One instruction of a routine that may fault, as SC_LOAD/SC_STORE/... in asm/safecopy.inc declare it. */
enum sc_access_kind {
	SC_ACC_LOAD,  /* reads [base + index + disp, +width) */
	SC_ACC_STORE, /* writes it */
	SC_ACC_RMW,   /* reads and writes it */
	SC_ACC_MOVS,  /* rep movsb: reads [rsi, rsi+rcx), writes [rdi, rdi+rcx) */
	SC_ACC_STOS,  /* rep stosb: writes [rdi, rdi+rcx) */
};

struct sc_access {
	uint16_t offset; /* of the instruction from the routine's start */
	uint8_t base;    /* register numbers as encoded (arch_reg()); ARCH_REG_NONE for none */
	uint8_t index;   /* scale 1 */
	int16_t disp;
	uint8_t width;
	uint8_t kind; /* enum sc_access_kind */
};
_Static_assert(sizeof(struct sc_access) == 8, "asm/safecopy.inc emits struct sc_access as 8 bytes");

/* One routine, filled by its asm address stub sc_range_<routine>(). */
struct sc_routine_range {
	uintptr_t begin;
	uintptr_t end;
	uintptr_t landing;
	const struct sc_access *access; /* its declared accesses, [access, access_end) */
	const struct sc_access *access_end;
};

/* Fills the routine table from the address stubs and detects the CPU's features, once. */
SC_HIDDEN void sc_routine_table_init(void);

/* The routine whose code contains pc, or NULL. Async-signal-safe. */
SC_HIDDEN const struct sc_routine_range *sc_routine_at(uintptr_t pc);

/* The declared access at exactly pc inside routine r, or NULL. Async-signal-safe. */
SC_HIDDEN const struct sc_access *sc_access_at(const struct sc_routine_range *r, uintptr_t pc);

/*
 * The wrappers' fast path runs while sc_gate is 0; otherwise they take a cold path that puts
 * sc_window_enter/leave (blocked.h) around the routine: before the handler is installed (SC_GATE_NEW:
 * the first use installs it), and while some thread runs a previous handler with SIGSEGV/SIGBUS
 * blocked (one SC_GATE_THREAD per such thread: calls from inside one need them unblocked for their
 * routine). Keeping that call off the fast path lets every compiler turn the wrappers into a check
 * and a tail call.
 *
 * The gate is a 64-bit word that counts down from 0: -(SC_GATE_NEW + SC_GATE_THREAD * threads). So
 * it is negative exactly while it is not 0, and the copy and memset entries (asm/entry.inc) test it
 * with their pointers and length in one OR and one sign test. SC_GATE_NEW is set exactly while the
 * gate is odd (threads only add even amounts). The atomics and peeks test the gate's low 32 bits
 * (`or eax, [sc_gate]`, `cmp dword [sc_gate], 0`): -x for 0 < x < 2^32 has low 32 bits 2^32 - x,
 * never 0, so that test is exact too. Every change is one atomic read-modify-write: no lock,
 * async-signal-safe.
 */
#define SC_GATE_NEW    1
#define SC_GATE_THREAD 2
SC_HIDDEN extern int64_t sc_gate;
SC_HIDDEN void sc_init_slow(void);
static inline bool sc_fast_path(void)
{
	return __atomic_load_n(&sc_gate, __ATOMIC_ACQUIRE) == 0;
}

static inline bool sc_gate_is_new(void)
{
	return __atomic_load_n(&sc_gate, __ATOMIC_ACQUIRE) & SC_GATE_NEW;
}

/* delta threads more (or fewer, delta < 0) run a previous handler with the fault signals blocked. */
static inline void sc_gate_count_threads(int delta)
{
	__atomic_fetch_sub(&sc_gate, (int64_t)SC_GATE_THREAD * delta, __ATOMIC_ACQ_REL);
}

/* Clears SC_GATE_NEW, if set (idempotent: a forked child may run the end of safecopy_init() again). */
static inline void sc_gate_clear_new(void)
{
	int64_t g = __atomic_load_n(&sc_gate, __ATOMIC_ACQUIRE);
	while ((g & SC_GATE_NEW) && !__atomic_compare_exchange_n(&sc_gate, &g, g + SC_GATE_NEW, false,
	                                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

#endif
