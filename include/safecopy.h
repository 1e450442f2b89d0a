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
 *   otherwise the reason the operation stopped. For SAFECOPY_ALIGN and SAFECOPY_RANGE, addr is the
 *   offending pointer and signo/code are 0.
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

#ifdef __cplusplus
}
#endif

#endif /* SAFECOPY_H */
