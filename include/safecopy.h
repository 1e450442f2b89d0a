/*
 * safecopy: touch memory that may not be there and get an error back instead of a crash.
 *
 * Every function here runs a small assembly routine whose code range is known to safecopy's
 * SIGSEGV/SIGBUS handler. When the CPU faults inside such a routine, the handler makes the routine
 * return an error that carries the fault address, the signal and si_code; the C function turns that
 * into an exact result. Faults anywhere else are passed on, unchanged, to whatever handled the signal
 * before safecopy_init() installed the handler.
 *
 * Common rules:
 * - `fault` may be NULL. When given, it is always written: status SAFECOPY_OK and zeros on success,
 *   otherwise the reason the operation stopped. For SAFECOPY_ALIGN, SAFECOPY_RANGE and SAFECOPY_INVAL,
 *   addr is the offending pointer and signo/code are 0. (The peeks have no record: see below.)
 * - Only the memory the operation is about is guarded: `fault` and the output pointers of the atomics
 *   must be valid, writable memory of the caller (a bad one crashes like any bad pointer in C).
 * - The first call to any function installs the handler (thread-safely) if safecopy_init() was not
 *   called. After safecopy_init() has returned 0, every function is async-signal-safe and may be
 *   called from signal handlers, including from inside another SIGSEGV or SIGBUS handler.
 * - A fault that happens while SIGSEGV/SIGBUS is blocked cannot be caught: the kernel kills the
 *   process. Do not call these functions with those signals blocked.
 */
#ifndef SAFECOPY_H
#define SAFECOPY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAFECOPY_API __attribute__((visibility("default")))

/*
 * Alternate signal stacks: a fault in a safecopy call needs at most getauxval(AT_MINSIGSTKSZ) +
 * SAFECOPY_SIGSTACK_EXTRA bytes of the alternate stack (the kernel's signal frame, then safecopy's
 * handler, which makes no library call). A foreign fault safecopy passes on needs that much plus
 * whatever the previous handler uses itself. MINSIGSTKSZ (2048) is too small on CPUs with AVX-512.
 */
#define SAFECOPY_SIGSTACK_EXTRA 1024

enum safecopy_status {
	SAFECOPY_OK = 0, /* everything was done */
	SAFECOPY_SEGV,   /* stopped by SIGSEGV: unmapped, no permission, kernel or non-canonical address */
	SAFECOPY_BUS,    /* stopped by SIGBUS: e.g. a file mapping beyond the end of its file */
	SAFECOPY_ALIGN,  /* atomic on a pointer that is not naturally aligned; no access was made */
	SAFECOPY_RANGE,  /* [p, p+n) wraps around the address space; no access was made */
	SAFECOPY_INVAL,  /* an argument outside its documented values (probe flags); no access was made */
};

struct safecopy_fault {
	enum safecopy_status status;
	/* first address that could not be accessed (see each function) */
	void *addr;
	/* SIGSEGV, SIGBUS, or 0 */
	int signo;
	/*
	 * si_code as the kernel gave it: SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR (protection keys, also
	 * execute-only mappings on CPUs that have them), BUS_ADRERR, SI_KERNEL (#GP)...; or 0
	 */
	int code;
};

/*
 * Installs the SIGSEGV and SIGBUS handler (SA_SIGINFO|SA_ONSTACK|SA_NODEFER|SA_RESTART), remembering
 * the actions it replaces so that foreign faults and sent signals reach them exactly as before.
 * Returns 0, or -errno if sigaction failed (nothing is then installed). Idempotent and thread-safe;
 * fork-safe (a child forked in the middle of another thread's installation can install again).
 * Once it has succeeded it does nothing more: it does not reinstall a handler that someone has
 * replaced since (see safecopy_handler_active()). A program that owns SIGSEGV either installs its
 * handler first (safecopy then chains to it) or calls safecopy_handle_signal() from it.
 */
SAFECOPY_API int safecopy_init(void);

/*
 * Copies n bytes from src to dst, forward, and returns how many were copied.
 * The count is exact: with memory not changing underneath, it is the length of the longest prefix
 * whose source bytes are all readable and destination bytes all writable. No byte of dst after the
 * count is written, and nothing outside [dst, dst+n) is ever written.
 * On a short count, fault->addr is the first byte that could not be read (in src) or written (in dst);
 * if both stop at the same offset it is the src byte (every block is read before it is written);
 * for a non-canonical address (#GP: SIGSEGV, SI_KERNEL, no address from the kernel) it is the first
 * byte not done, on the side whose address is non-canonical.
 * n == 0 touches nothing and returns 0 with SAFECOPY_OK, whatever the pointers. If [src, src+n) or
 * [dst, dst+n) wraps around the address space, returns 0 with SAFECOPY_RANGE and touches nothing.
 * If another thread changes the mappings during the call, the count still ends at a byte that was
 * found inaccessible, and every byte before it holds the source's data; fewer than 64 bytes after it
 * may also hold the source's data (copied before their page went away: the routine copies in
 * ascending blocks of at most 64 bytes and never redoes more than the block that faulted).
 * Overlap: bytes are copied in ascending order, but in blocks; if the ranges overlap, the contents of
 * the overlapping part of dst are unspecified (as with memcpy). The count and the guarantee that
 * nothing outside dst is written still hold.
 */
SAFECOPY_API size_t safecopy_memcpy(void *dst, const void *src, size_t n, struct safecopy_fault *fault);

/*
 * Sets n bytes at dst to (unsigned char)c and returns how many were set. Exact in the same way as
 * safecopy_memcpy: the longest writable prefix is set, nothing after it is written. n == 0 and
 * wrapping ranges behave as for safecopy_memcpy.
 */
SAFECOPY_API size_t safecopy_memset(void *dst, int c, size_t n, struct safecopy_fault *fault);

/*
 * Atomics. Every access is sequentially consistent (loads are plain aligned moves, which x86-64
 * orders as seq_cst; everything else is lock-prefixed or xchg). p must be naturally aligned, otherwise
 * the call returns SAFECOPY_ALIGN and makes no access. A fault reports fault->addr = p.
 * Output parameters (*out, *old, *actual) are written only when SAFECOPY_OK is returned; they may not
 * be NULL. The return value is the status (the same as fault->status when fault is given).
 *
 * Each of these is also an inline function (below, unless SAFECOPY_NO_INLINE is defined before this
 * header): a call of the register-result form safecopy_atomic_<op><W> (for the operations that
 * write, a jump to its twin safecopy_atomic_<op><W>_jl, which returns to a register: see below; the
 * loads make the access itself inline, see "Inline loads and peeks" at the end), then the output and
 * the record written by the caller's own code, so that the output can stay in a register and a NULL
 * record costs nothing. Taking a function's address, or a build without
 * inlining, gives the exported function, which does exactly the same. (An optimising compiler then
 * sees that an output is written only on success, and may warn where one is read without checking
 * the status.)
 */

/* *out = *p. */
SAFECOPY_API enum safecopy_status safecopy_load32(const uint32_t *p, uint32_t *out,
                                                  struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_load64(const uint64_t *p, uint64_t *out,
                                                  struct safecopy_fault *fault);

/* *p = v. */
SAFECOPY_API enum safecopy_status safecopy_store32(uint32_t *p, uint32_t v, struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_store64(uint64_t *p, uint64_t v, struct safecopy_fault *fault);

/* *old = *p; *p = v; atomically. */
SAFECOPY_API enum safecopy_status safecopy_swap32(uint32_t *p, uint32_t v, uint32_t *old,
                                                  struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_swap64(uint64_t *p, uint64_t v, uint64_t *old,
                                                  struct safecopy_fault *fault);

/*
 * Compare-and-swap: atomically, *actual = *p and, if it equals expected, *p = desired.
 * SAFECOPY_OK means the access happened; the swap happened exactly when *actual == expected.
 * p must be writable even when the values differ: lock cmpxchg always writes, so a read-only page
 * faults (SEGV_ACCERR) whatever the comparison would have said.
 */
SAFECOPY_API enum safecopy_status safecopy_cas32(uint32_t *p, uint32_t expected, uint32_t desired,
                                                 uint32_t *actual, struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_cas64(uint64_t *p, uint64_t expected, uint64_t desired,
                                                 uint64_t *actual, struct safecopy_fault *fault);

/* Fetch-and-op: atomically, *old = *p; *p = *old OP v. */
SAFECOPY_API enum safecopy_status safecopy_fetch_add32(uint32_t *p, uint32_t v, uint32_t *old,
                                                       struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_and32(uint32_t *p, uint32_t v, uint32_t *old,
                                                       struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_or32(uint32_t *p, uint32_t v, uint32_t *old,
                                                      struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_xor32(uint32_t *p, uint32_t v, uint32_t *old,
                                                       struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_add64(uint64_t *p, uint64_t v, uint64_t *old,
                                                       struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_and64(uint64_t *p, uint64_t v, uint64_t *old,
                                                       struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_or64(uint64_t *p, uint64_t v, uint64_t *old,
                                                      struct safecopy_fault *fault);
SAFECOPY_API enum safecopy_status safecopy_fetch_xor64(uint64_t *p, uint64_t v, uint64_t *old,
                                                       struct safecopy_fault *fault);

/*
 * The register-result forms (part of the ABI, SAFECOPY_1): the same operations with the output
 * returned instead of stored. Returned in RAX (value) and RDX (status) by the x86-64 SysV ABI.
 * value is the output (*out, *old, *actual; zero-extended; 0 for a store) and is meaningful only
 * when status is SAFECOPY_OK. Unlike the functions above they write the record only when the status is
 * not SAFECOPY_OK: on success they leave *fault as it was.
 */
struct safecopy_atomic_result {
	uint64_t value;
	uint64_t status; /* enum safecopy_status */
};

SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_load32(const uint32_t *p,
                                                                  struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_load64(const uint64_t *p,
                                                                  struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_store32(uint32_t *p, uint32_t v,
                                                                   struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_store64(uint64_t *p, uint64_t v,
                                                                   struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_swap32(uint32_t *p, uint32_t v,
                                                                  struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_swap64(uint64_t *p, uint64_t v,
                                                                  struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result
safecopy_atomic_cas32(uint32_t *p, uint32_t expected, uint32_t desired, struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result
safecopy_atomic_cas64(uint64_t *p, uint64_t expected, uint64_t desired, struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_add32(uint32_t *p, uint32_t v,
                                                                       struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_and32(uint32_t *p, uint32_t v,
                                                                       struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_or32(uint32_t *p, uint32_t v,
                                                                      struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_xor32(uint32_t *p, uint32_t v,
                                                                       struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_add64(uint64_t *p, uint64_t v,
                                                                       struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_and64(uint64_t *p, uint64_t v,
                                                                       struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_or64(uint64_t *p, uint64_t v,
                                                                      struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_atomic_fetch_xor64(uint64_t *p, uint64_t v,
                                                                       struct safecopy_fault *fault);

/*
 * GNU inline semantics in every language mode: the definition is used for inlining only and never
 * emitted; calls that are not inlined go to the exported function of that name. The helpers below have
 * no exported function and are always inlined (a static one could not be used by the inline atomics).
 */
#define SAFECOPY_GNU_INLINE    extern __inline__ __attribute__((__gnu_inline__))
#define SAFECOPY_ALWAYS_INLINE extern __inline__ __attribute__((__gnu_inline__, __always_inline__))

/* The second half of every atomic, shared by the inline and the exported functions: the result's
 * status, with the record cleared on success (it holds the failure already otherwise). */
SAFECOPY_ALWAYS_INLINE enum safecopy_status safecopy_atomic_status(struct safecopy_atomic_result r,
                                                                   struct safecopy_fault *fault)
{
	if (r.status == SAFECOPY_OK && fault) {
		fault->status = SAFECOPY_OK;
		fault->addr = 0;
		fault->signo = 0;
		fault->code = 0;
	}
	return (enum safecopy_status)r.status;
}

/*
 * ... and with the output stored on success. A branch, not a conditional move: when the output stays in
 * a register and feeds the next access (a pointer chase), a cmov would make the chain wait for the status
 * too, one cycle more per step (about 1.2x a plain call's 5-cycle load chain); the branch is predicted
 * and adds nothing. The empty asm in the taken arm is what keeps gcc and clang from if-converting it.
 */
SAFECOPY_ALWAYS_INLINE enum safecopy_status safecopy_atomic_out32(struct safecopy_atomic_result r,
                                                                  uint32_t *out, struct safecopy_fault *fault)
{
	if (__builtin_expect(r.status == SAFECOPY_OK, 1)) {
		__asm__("" : "+r"(r.value));
		*out = (uint32_t)r.value;
	}
	return safecopy_atomic_status(r, fault);
}

SAFECOPY_ALWAYS_INLINE enum safecopy_status safecopy_atomic_out64(struct safecopy_atomic_result r,
                                                                  uint64_t *out, struct safecopy_fault *fault)
{
	if (__builtin_expect(r.status == SAFECOPY_OK, 1)) {
		__asm__("" : "+r"(r.value));
		*out = r.value;
	}
	return safecopy_atomic_status(r, fault);
}

/*
 * How the atomics that write reach their routine: not by a call, but by a jump to
 * safecopy_atomic_<op><W>_jl (exported for this use only: no C function) with the return address in
 * R9. A call stores its return address, and every atomic write is a locked instruction, which does
 * not start before every earlier store has reached the cache: on an Intel Xeon (family 6 model 0xa7)
 * that store cost 3.3 ns on each operation (swap 8.1 ns, the builtin's xchg 4.7 ns); on the AMD EPYC
 * (Zen 5) the calls were within 1.1x of the builtin. The routine returns RAX:RDX as its
 * register-result form does and leaves the stack as it was; its cold paths (misaligned p, first use,
 * a fault) call C functions, so the asm clobbers what a call clobbers, memory included (a compiler
 * barrier, as the call was). The landing after the jump starts with ENDBR64: `jmp r9` is an indirect
 * branch. The jump goes through the GOT, never a PLT entry: a lazily bound one would run the dynamic
 * linker's resolver on the way, which writes below RSP (the caller's red zone, live around an asm
 * statement) and keeps only the argument registers. (A static link turns the jump into a direct one.)
 */
#ifdef __SSE__
#define SAFECOPY_CLOBBERS_SSE                                                                               \
	, "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
	    "xmm12", "xmm13", "xmm14", "xmm15"
#else
#define SAFECOPY_CLOBBERS_SSE
#endif
#ifdef __AVX512F__
#define SAFECOPY_CLOBBERS_AVX512                                                                             \
	, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", \
	    "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#else
#define SAFECOPY_CLOBBERS_AVX512
#endif
#define SAFECOPY_CLOBBERS                                                                            \
	"r8", "r9", "r10", "r11", "cc", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", \
	    "st(6)", "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6",                       \
	    "mm7" SAFECOPY_CLOBBERS_SSE SAFECOPY_CLOBBERS_AVX512
#define SAFECOPY_JUMP_LINKED(routine) \
	"lea 1f(%%rip), %%r9\n\tjmp *" routine "@GOTPCREL(%%rip)\n1:\t.byte 0xf3, 0x0f, 0x1e, 0xfa"

/* safecopy_linked_<op><W>(p, v, fault) for store, swap and the fetch-and-ops; cas has its own. */
#define SAFECOPY_LINKED(op, W)                                                         \
	SAFECOPY_ALWAYS_INLINE struct safecopy_atomic_result safecopy_linked_##op##W(  \
	    uint##W##_t *p, uint##W##_t v, struct safecopy_fault *fault) {             \
		struct safecopy_atomic_result r;                                       \
		uint64_t v64 = v;                                                      \
		r.status = (uint64_t)(uintptr_t)fault;                                 \
		__asm__ volatile(SAFECOPY_JUMP_LINKED("safecopy_atomic_" #op #W "_jl") \
		                 : "=a"(r.value), "+d"(r.status), "+D"(p), "+S"(v64)   \
		                 :                                                     \
		                 : "rcx", SAFECOPY_CLOBBERS);                          \
		return r;                                                              \
	}
#define SAFECOPY_LINKED_CAS(W)                                                                         \
	SAFECOPY_ALWAYS_INLINE struct safecopy_atomic_result safecopy_linked_cas##W(                   \
	    uint##W##_t *p, uint##W##_t expected, uint##W##_t desired, struct safecopy_fault *fault) { \
		struct safecopy_atomic_result r;                                                       \
		uint64_t e64 = expected, f64 = (uint64_t)(uintptr_t)fault;                             \
		r.status = desired;                                                                    \
		__asm__ volatile(SAFECOPY_JUMP_LINKED("safecopy_atomic_cas" #W "_jl")                  \
		                 : "=a"(r.value), "+d"(r.status), "+D"(p), "+S"(e64), "+c"(f64)        \
		                 :                                                                     \
		                 : SAFECOPY_CLOBBERS);                                                 \
		return r;                                                                              \
	}
#define SAFECOPY_LINKED_W(W)          \
	SAFECOPY_LINKED(store, W)     \
	SAFECOPY_LINKED(swap, W)      \
	SAFECOPY_LINKED_CAS(W)        \
	SAFECOPY_LINKED(fetch_add, W) \
	SAFECOPY_LINKED(fetch_and, W) SAFECOPY_LINKED(fetch_or, W) SAFECOPY_LINKED(fetch_xor, W)
SAFECOPY_LINKED_W(32)
SAFECOPY_LINKED_W(64)

/*
 * SAFECOPY_ATOMIC_BODIES(DEFINE): the body of every atomic in terms of its register-result form (or
 * its _jl twin), as DEFINE(name, parameters, expression giving the status); the inline definitions
 * below and the exported ones in the library are both made from it.
 */
/* clang-format off */
#define SAFECOPY_ATOMIC_BODIES_W(DEFINE, W)                                                                \
	DEFINE(safecopy_load##W, (const uint##W##_t *p, uint##W##_t *out, struct safecopy_fault *fault),     \
	       safecopy_atomic_out##W(safecopy_atomic_load##W(p, fault), out, fault))                        \
	DEFINE(safecopy_store##W, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *fault),             \
	       safecopy_atomic_status(safecopy_linked_store##W(p, v, fault), fault))                         \
	DEFINE(safecopy_swap##W, (uint##W##_t *p, uint##W##_t v, uint##W##_t *old, struct safecopy_fault *fault), \
	       safecopy_atomic_out##W(safecopy_linked_swap##W(p, v, fault), old, fault))                     \
	DEFINE(safecopy_cas##W,                                                                              \
	       (uint##W##_t *p, uint##W##_t expected, uint##W##_t desired, uint##W##_t *actual,              \
	        struct safecopy_fault *fault),                                                               \
	       safecopy_atomic_out##W(safecopy_linked_cas##W(p, expected, desired, fault), actual, fault))   \
	SAFECOPY_ATOMIC_FETCH_BODY(DEFINE, W, add)                                                           \
	SAFECOPY_ATOMIC_FETCH_BODY(DEFINE, W, and)                                                           \
	SAFECOPY_ATOMIC_FETCH_BODY(DEFINE, W, or) SAFECOPY_ATOMIC_FETCH_BODY(DEFINE, W, xor)
#define SAFECOPY_ATOMIC_FETCH_BODY(DEFINE, W, op)                                                          \
	DEFINE(safecopy_fetch_##op##W, (uint##W##_t *p, uint##W##_t v, uint##W##_t *old, struct safecopy_fault *fault), \
	       safecopy_atomic_out##W(safecopy_linked_fetch_##op##W(p, v, fault), old, fault))
#define SAFECOPY_ATOMIC_BODIES(DEFINE) SAFECOPY_ATOMIC_BODIES_W(DEFINE, 32) SAFECOPY_ATOMIC_BODIES_W(DEFINE, 64)
/* clang-format on */

#ifndef SAFECOPY_NO_INLINE
#define SAFECOPY_INLINE_ATOMIC(name, params, expr)           \
	SAFECOPY_GNU_INLINE enum safecopy_status name params \
	{                                                    \
		return expr;                                 \
	}
SAFECOPY_ATOMIC_BODIES(SAFECOPY_INLINE_ATOMIC)
#endif

/*
 * Strings. One rule for both functions: a length never counts the NUL (as strlen, strnlen and Linux's
 * strncpy_from_user; unlike strnlen_user and strncpy_from_user_nofault, which count it). With src
 * unchanged during the call, the result r is:
 *   r < size, SAFECOPY_OK      the NUL is at src[r]: the string has length r;
 *   r == size, SAFECOPY_OK     src[0, size) holds no NUL (a longer string, or none);
 *   r < size, SEGV or BUS      src[0, r) holds no NUL and src[r] could not be read (fault->addr ==
 *                              src + r), or, for safecopy_strncpy, dst[r] could not be written
 *                              (fault->addr == dst + r, and src[r] may be the NUL; the src byte is
 *                              reported if both fail at r).
 * So a fault looks like the end of the string unless a record is given: pass one when it matters.
 * size is a limit, not a promise: SIZE_MAX means "no limit" (the string still ends at the first
 * inaccessible byte; the top of the address space never is accessible, so nothing wraps).
 * size == 0 reads and writes nothing and returns 0 with SAFECOPY_OK, whatever the pointers.
 * Reading: the functions look at src bytes in ascending order up to the NUL (or the limit, or the
 * fault). To find the NUL they load whole aligned vectors, so they also read other bytes of the pages
 * those bytes lie on (before src, after the NUL or the limit) and ignore them; they never read a page
 * that holds none of src[0, min(r + 1, size)), the bytes they had to look at, so a string that ends
 * just before an inaccessible page is read without a fault. src need not be aligned.
 * Cost of a fault: one signal per faulting call (as for safecopy_memcpy), unless the mappings change
 * during the call.
 */

/*
 * Copies the NUL-terminated string at src, at most size bytes of it, to dst; returns its length r as
 * above. Writes dst[0, r), and also dst[r] = '\0' whenever r < size (the string's NUL, or a
 * terminator after a fault on the source); when r == size no terminator is written (there is no room:
 * dst[size] is never written). So with a buffer of size + 1 bytes, `dst[r] = '\0'` after the call
 * gives a C string in every case. Nothing after dst[r], nor outside [dst, dst + size), is written;
 * bytes of dst are written in ascending order, in blocks. A fault on the destination at byte r leaves
 * dst[r] and everything after it untouched (no terminator). If another thread changes src during the
 * call, dst[r] is still '\0' when r < size, but dst[0, r) may hold a NUL too. Overlapping src and dst:
 * the contents of dst are unspecified (as with memcpy); the count and the limits on writing hold.
 * Typical use, reading a path from an untrusted pointer:
 *     char path[4097];
 *     struct safecopy_fault f;
 *     size_t len = safecopy_strncpy(path, p, sizeof path - 1, &f);
 *     path[len] = '\0';
 *     if (f.status != SAFECOPY_OK) ... faulted at f.addr after len bytes
 *     else if (len == sizeof path - 1) ... longer than 4096 bytes
 */
SAFECOPY_API size_t safecopy_strncpy(char *dst, const char *src, size_t size, struct safecopy_fault *fault);

/* The length r of the NUL-terminated string at src, at most size, as above (nothing is written). */
SAFECOPY_API size_t safecopy_strnlen(const char *src, size_t size, struct safecopy_fault *fault);

/*
 * Peeks: a value, not a status (HotSpot's SafeFetch32/SafeFetchN). Returns the 4 or 8 bytes at p, or
 * fallback if any of them cannot be read (SIGSEGV, SIGBUS, or a non-canonical p). There is no fault
 * record: the fast path is a gate test and one load in the caller's code (see "Inline loads and
 * peeks" below), for profilers walking frame-pointer chains. When a peek returns fallback, either the
 * load faulted or memory held that value: choose a fallback the memory cannot hold (0 for a frame
 * pointer), or use safecopy_load64 to tell. p need not be aligned
 * (an unaligned load is not single-copy atomic, and one that straddles into a bad page gives
 * fallback). Nothing is written.
 */
SAFECOPY_API uint32_t safecopy_peek32(const void *p, uint32_t fallback);
SAFECOPY_API uint64_t safecopy_peek64(const void *p, uint64_t fallback);
SAFECOPY_API void *safecopy_peekptr(const void *p, void *fallback);

/* Flags of safecopy_probe. */
#define SAFECOPY_PROBE_READ  1
#define SAFECOPY_PROBE_WRITE 2

/*
 * Returns how many leading bytes of [p, p+n) are accessible for what flags asks: SAFECOPY_PROBE_READ,
 * SAFECOPY_PROBE_WRITE, or both (x86-64 has no write-only pages: writable implies readable). n when
 * all are; otherwise the offset of the first page that is not, and fault says why (addr = that page's
 * first byte in the range: p itself, or a page start; signo and code as for safecopy_memcpy).
 * How: one 1-byte access per page, in ascending order: p, then the first byte of each later page the
 * range touches. No system call when the range is accessible, one signal when it is not.
 * A read probe loads the byte. A write probe does `lock or byte [x], 0`: an atomic read-modify-write
 * that stores the value it read, so memory keeps its contents even with concurrent writers; but it is
 * a write to the kernel and the hardware, with a write's side effects on each page probed:
 * - a private copy-on-write page (MAP_PRIVATE file mapping, memory shared with a fork()ed parent or
 *   child, KSM-merged page) is copied: memory use grows, and a MAP_PRIVATE file page stops following
 *   the file;
 * - an anonymous page never written (no page yet, or the shared zero page) gets its own zeroed page;
 * - a MAP_SHARED file page is dirtied: written back to the file, and the file's mtime may change;
 * - in a range registered with userfaultfd, a missing page (UFFDIO_REGISTER_MODE_MISSING) or a
 *   write-protected one (MODE_WP) raises an event and the probe blocks until the monitor resolves it;
 *   a thread that is itself the monitor must not probe such ranges.
 * A read probe has a read's side effects: it pages in (file read, swap-in, the zero page for
 * untouched anonymous memory) and raises userfaultfd MISSING events. Probing just below a stack that
 * grows down (MAP_GROWSDOWN) may extend it, as any access would. Neither probe sees memory protection
 * that is finer than a page (none exists on x86-64 Linux) or changes after the probe returns.
 * n == 0 makes no access and returns 0 with SAFECOPY_OK. If [p, p+n) wraps around the address space,
 * returns 0 with SAFECOPY_RANGE; flags of 0 or with other bits return 0 with SAFECOPY_INVAL; neither
 * makes an access.
 */
SAFECOPY_API size_t safecopy_probe(const void *p, size_t n, int flags, struct safecopy_fault *fault);

/* struct iovec from <sys/uio.h> (declared here so this header needs no POSIX header). */
struct iovec;

/*
 * Where safecopy_copyv stopped on each side: the element and the offset in it of the next byte that
 * side would have taken (index == its count when every byte of that side was used). Empty elements
 * are skipped: index names an element with a byte left, or the count.
 */
struct safecopy_iov_pos {
	size_t dst_index;
	size_t dst_offset;
	size_t src_index;
	size_t src_offset;
};

/*
 * Copies the bytes of the src elements, in order, into the dst elements, in order (the in-process
 * counterpart of process_vm_readv/writev, for readv/writev-style I/O on guest memory): as many as
 * both sides hold, min(total of src lengths, total of dst lengths). Returns the exact number of bytes
 * copied: as for safecopy_memcpy applied to the pieces in turn, the longest prefix whose source bytes
 * are readable and destination bytes writable; nothing after it is written, nothing outside the dst
 * elements ever is. On a short count, fault is filled as for safecopy_memcpy (addr: the first byte
 * that could not be read or written; the src byte if both fail at the same point), and *where (if not
 * NULL; always written) names the element holding fault->addr: src[where->src_index] at
 * where->src_offset for a source fault, dst[where->dst_index] at where->dst_offset for a destination
 * fault. Elements of length 0 are never accessed, whatever their base. The iovec arrays themselves
 * are the caller's memory, read as ordinary C (a bad array pointer crashes); NULL is fine with a
 * count of 0. If any element of either array wraps around the address space, nothing is accessed
 * or copied: 0 is returned with SAFECOPY_RANGE, addr = that element's base (the first such element
 * of dst, else of src), and *where names it (offset 0; the other side's index 0).
 * Overlapping elements: as for safecopy_memcpy, the overlapping destination bytes are unspecified.
 */
SAFECOPY_API size_t safecopy_copyv(const struct iovec *dst, size_t dst_count, const struct iovec *src,
                                   size_t src_count, struct safecopy_fault *fault,
                                   struct safecopy_iov_pos *where);

/*
 * For programs that own the SIGSEGV/SIGBUS handler (language runtimes, JIT-ing VMs) and call this first
 * from it with the three arguments of their SA_SIGINFO handler: info is the handler's siginfo_t *,
 * ucontext its ucontext_t *. (info is declared void * so that this header compiles without a POSIX
 * feature macro: strict ISO C builds, -std=c99/c11/c17, do not declare siginfo_t.)
 * Returns true if the signal is the fault of an access a safecopy routine was making at the
 * interrupted instruction (a page fault inside the memory that access touches, or #GP from a
 * non-canonical address); the context is then rewritten so that returning from the handler makes the
 * routine report the fault. Returns false and changes nothing otherwise: for every fault elsewhere,
 * and for any signal no access caused (sent ones, a child's exit signal, F_SETSIG, the SIGSEGV the
 * kernel forces when it cannot push a signal frame), even when it arrives inside a routine.
 * Async-signal-safe; never chains; makes no library call.
 */
SAFECOPY_API bool safecopy_handle_signal(int signo, void *info, void *ucontext);

/*
 * True if safecopy's handler is the current action for both SIGSEGV and SIGBUS. False before
 * installation, or after another sigaction() replaced it (faults in safecopy routines are then no
 * longer caught unless the new handler calls safecopy_handle_signal()).
 */
SAFECOPY_API bool safecopy_handler_active(void);

/* A short constant English name for a status ("ok", "segv", ...); "unknown" for other values. */
SAFECOPY_API const char *safecopy_status_name(enum safecopy_status status);

/*
 * Inline loads and peeks. safecopy_load32, safecopy_load64 and the three peeks are also macros that
 * make the access in the caller's own code, as the kernel's get_user does, instead of calling a
 * routine: the checks (alignment for the loads, and the calling translation unit's gate word), then
 * one `mov (%rdi), %eax/%rax`, listed with its landing in the section safecopy_inline_sites of the
 * calling module (entries of three 32-bit words: the instruction and the landing, each relative to the
 * address of its own word, and the access's width in bytes). Same results, same contract; what differs
 * is the way there:
 * - A unit's gate word starts closed. While it is, calls go to the exported functions, after
 *   safecopy_inline_attach() (below): a unit's first call installs the handler if needed, attaches
 *   its module's list and opens the word. Whenever a thread starts a previous handler that runs with
 *   SIGSEGV/SIGBUS blocked, safecopy closes every attached word, so that calls from inside it go to
 *   the exported functions, which unblock those signals around their access (see safecopy_init()).
 * - A fault at an inline access resumes the caller at its landing with nothing but RIP changed (so
 *   through rt_sigreturn, which gives every register back), and the handler notes the fault for the
 *   thread. A load's landing is its `asm goto` label: it makes the result from that note
 *   (safecopy_inline_landing<W>, below). A peek's landing, out of line, puts the fallback in the
 *   result and jumps back behind the access. Either way one signal per faulting call.
 * - A unit detaches its list when its module is unloaded or the program ends (its entry in
 *   .fini_array, which exists in the units that use these functions).
 * Not used when SAFECOPY_NO_INLINE is defined before this header, nor by compilers without `asm goto`
 * with outputs (before GCC 11 and Clang 11). The name in parentheses, as in
 * (safecopy_load64)(p, &v, NULL), or its address gives the exported function.
 */

/*
 * For the inline functions' slow path only; not to be called otherwise. safecopy_inline_attach()
 * installs the handler if needed, attaches the list [sites, sites_end) of the module that holds *gate
 * unless it is attached, then sets *gate to 0 (open) if the handler is installed, the list attached
 * and no thread runs a previous handler with SIGSEGV/SIGBUS blocked; otherwise *gate keeps a value
 * that is not 0; async-signal-safe once safecopy_init() has succeeded, as every function here.
 * safecopy_inline_detach() closes *gate and removes every attachment of it; once it has returned,
 * safecopy writes to *gate no more (it waits, spinning, for threads that are closing the words
 * meanwhile: it is for .fini_array, not for signal handlers).
 */
SAFECOPY_API void safecopy_inline_attach(int64_t *gate, const void *sites, const void *sites_end);
SAFECOPY_API void safecopy_inline_detach(int64_t *gate);

/*
 * For the landing of an inline load only: safecopy_atomic_load<W>(p, fault)'s result for the fault the
 * handler has just reported at p in this thread, without accessing p again; when that report is not
 * there (a signal handler's own inline access faulted in between), what safecopy_atomic_load<W>(p,
 * fault) returns now.
 */
SAFECOPY_API struct safecopy_atomic_result safecopy_inline_landing32(const uint32_t *p,
                                                                     struct safecopy_fault *fault);
SAFECOPY_API struct safecopy_atomic_result safecopy_inline_landing64(const uint64_t *p,
                                                                     struct safecopy_fault *fault);

#if !defined(SAFECOPY_NO_INLINE) && defined(__x86_64__) && !defined(__ILP32__) && \
    (defined(__clang__) ? __clang_major__ >= 11 : defined(__GNUC__) && __GNUC__ >= 11)
#define SAFECOPY_INLINE_SITES 1

/* The calling module's list: the linker defines these around the sections the inline accesses emit. */
extern const char __start_safecopy_inline_sites[] __attribute__((__weak__, __visibility__("hidden")));
extern const char __stop_safecopy_inline_sites[] __attribute__((__weak__, __visibility__("hidden")));

/* This translation unit's gate word (0: open) and its way out (set once the unit has attached). */
static struct {
	int64_t gate;
	void (*detach)(int64_t *gate);
} safecopy_inline_unit __attribute__((__unused__)) = {1, 0};

/* Static inline so that nothing is emitted where it is unused (even at -O0), noinline to keep the slow
 * path out of line: GCC warns about that pair, on purpose here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes"
static __inline__ __attribute__((__unused__)) void safecopy_inline_fini(void)
{
	if (safecopy_inline_unit.detach)
		safecopy_inline_unit.detach(&safecopy_inline_unit.gate);
}

/*
 * The slow path's attach. Its .fini_array entry detaches the unit when its module is unloaded or the
 * program ends; as a static of this function it exists only where the function does, in the units
 * that use the inline functions (an unused static inline function is not emitted, even at -O0).
 */
static __inline__ __attribute__((__noinline__, __cold__, __unused__)) void safecopy_inline_open(void)
{
	static void (*fini_entry)(void) __attribute__((__section__(".fini_array"), __used__)) =
	    safecopy_inline_fini;
	(void)fini_entry;
	safecopy_inline_unit.detach = safecopy_inline_detach;
	safecopy_inline_attach(&safecopy_inline_unit.gate, __start_safecopy_inline_sites,
	                       __stop_safecopy_inline_sites);
}

/* True when the fast path may run: the unit's gate open and p aligned (its low `mask` bits 0). */
#define SAFECOPY_INLINE_OPEN(p, mask)                                                                    \
	__builtin_expect((((uintptr_t)(p) & (mask)) |                                                    \
	                  (uint64_t)__atomic_load_n(&safecopy_inline_unit.gate, __ATOMIC_RELAXED)) == 0, \
	                 1)

/* The list entry of the access at label 1 with its landing. */
#define SAFECOPY_INLINE_SITE(landing, width)                          \
	".pushsection safecopy_inline_sites, \"aR\"\n\t.balign 4\n\t" \
	".long 1b - ., " landing " - ., " #width "\n\t.popsection"

/*
 * The loads: an `asm goto` whose label is the landing. A seq_cst load is a plain move on x86-64; the
 * memory clobber keeps the compiler's ordering of memory accesses around it as around the call it
 * replaces. The landing's first statement is a call of its own (GCC 12 loses the register copies
 * that an edge from an `asm goto` into a block joining other paths needs), and the closed path calls
 * another function, so that no compiler merges the two into one block.
 */
#define SAFECOPY_INLINE_CLOSED_LOAD(W)                                                                      \
	static __inline__ __attribute__((__noinline__, __cold__, __unused__)) struct safecopy_atomic_result \
	    safecopy_inline_closed_load##W(const uint##W##_t *p, struct safecopy_fault *fault) {            \
		safecopy_inline_open();                                                                     \
		return safecopy_atomic_load##W(p, fault);                                                   \
	}
SAFECOPY_INLINE_CLOSED_LOAD(32)
SAFECOPY_INLINE_CLOSED_LOAD(64)
#pragma GCC diagnostic pop

#define SAFECOPY_INLINE_LOAD(W, mask)                                                                      \
	static __inline__ __attribute__((__always_inline__)) enum safecopy_status safecopy_inline_load##W( \
	    const uint##W##_t *p, uint##W##_t *out, struct safecopy_fault *fault)                          \
	{                                                                                                  \
		struct safecopy_atomic_result r;                                                           \
		if (SAFECOPY_INLINE_OPEN(p, mask)) {                                                       \
			uint##W##_t v;                                                                     \
			__asm__ volatile goto(                                                             \
			    "1:\tmov (%%rdi), %0\n\t" SAFECOPY_INLINE_SITE("%l[landing]", W / 8)           \
			    : "=a"(v)                                                                      \
			    : "D"(p)                                                                       \
			    : "memory"                                                                     \
			    : landing);                                                                    \
			r.value = v;                                                                       \
			r.status = SAFECOPY_OK;                                                            \
			return safecopy_atomic_out##W(r, out, fault);                                      \
		landing:                                                                                   \
			return safecopy_atomic_out##W(safecopy_inline_landing##W(p, fault), out, fault);   \
		}                                                                                          \
		return safecopy_atomic_out##W(safecopy_inline_closed_load##W(p, fault), out, fault);       \
	}
SAFECOPY_INLINE_LOAD(32, 3)
SAFECOPY_INLINE_LOAD(64, 7)

/*
 * The peeks: any alignment, and a plain asm whose landing, out of line, puts the fallback in the
 * output and jumps back to the end of the access: the value is right on the one way out. The "m"
 * operand tells the compiler which bytes the access reads.
 */
#define SAFECOPY_INLINE_PEEK(W, set_fallback)                                                              \
	static __inline__ __attribute__((__always_inline__))                                               \
	uint##W##_t safecopy_inline_peek##W(const void *p, uint##W##_t fallback)                           \
	{                                                                                                  \
		if (SAFECOPY_INLINE_OPEN(p, 0)) {                                                          \
			uint##W##_t v;                                                                     \
			__asm__ volatile("1:\tmov (%%rdi), %0\n2:\n\t"                                     \
			                 ".pushsection .text.unlikely, \"ax\"\n3:\t" set_fallback          \
			                 "\n\tjmp 2b\n\t.popsection\n\t" SAFECOPY_INLINE_SITE("3b", W / 8) \
			                 : "=a"(v)                                                         \
			                 : "D"(p), [fallback] "r"(fallback),                               \
			                   "m"(*(const char(*)[W / 8]) p));                                \
			return v;                                                                          \
		}                                                                                          \
		safecopy_inline_open();                                                                    \
		return (safecopy_peek##W)(p, fallback);                                                    \
	}
SAFECOPY_INLINE_PEEK(32, "mov %k[fallback], %0")
SAFECOPY_INLINE_PEEK(64, "mov %q[fallback], %0")

static __inline__ __attribute__((__always_inline__)) void *safecopy_inline_peekptr(const void *p,
                                                                                   void *fallback)
{
	return (void *)(uintptr_t)safecopy_inline_peek64(p, (uint64_t)(uintptr_t)fallback);
}

#define safecopy_load32(p, out, fault) safecopy_inline_load32(p, out, fault)
#define safecopy_load64(p, out, fault) safecopy_inline_load64(p, out, fault)
#define safecopy_peek32(p, fallback)   safecopy_inline_peek32(p, fallback)
#define safecopy_peek64(p, fallback)   safecopy_inline_peek64(p, fallback)
#define safecopy_peekptr(p, fallback)  safecopy_inline_peekptr(p, fallback)
#endif /* SAFECOPY_INLINE_SITES */

#ifdef __cplusplus
}
#endif

#endif /* SAFECOPY_H */
