/*
 * The routines of the string, peek and probe families (asm/string.asm, asm/peek.asm, asm/probe.asm)
 * and the C functions their landings end in. Internal to libsafecopy.
 */
#ifndef SAFECOPY_TOOL_ROUTINES_H
#define SAFECOPY_TOOL_ROUTINES_H

#include "safecopy/blocked.h"
#include "safecopy/routines.h"

/*
 * The string routines access src (and dst) in ascending order; when an access that starts at offset a
 * is made, every byte before a - SC_STR_SPAN has been found non-NUL and copied (asm/string.asm).
 */
#define SC_STR_SPAN 96

/*
 * The whole fast paths of safecopy_strncpy/safecopy_strnlen for size > 0: they return the length (NUL
 * not counted, or size) and clear *fault; a fault ends in the matching *_after_fault function with
 * the same arguments plus the fault's addr and word, whose result they return.
 */
SC_HIDDEN size_t sc_strncpy(char *dst, const char *src, size_t size, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_strnlen(const char *src, size_t size, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_strncpy_after_fault(char *dst, const char *src, size_t size, struct safecopy_fault *fault,
                                        uint64_t addr, uint64_t word);
SC_HIDDEN size_t sc_strnlen_after_fault(const char *src, size_t size, struct safecopy_fault *fault,
                                        uint64_t addr, uint64_t word);

/*
 * The peek routines are the exported safecopy_peek32/safecopy_peek64/safecopy_peekptr themselves
 * (asm/peek.asm): while sc_gate is not 0 their entry tail-jumps to sc_peek<W>_slow (same arguments),
 * which runs sc_peek<W>_unchecked, the load after that check, inside the window. Each returns *p,
 * or fallback when the load faults.
 */
SC_HIDDEN uint32_t sc_peek32_unchecked(const void *p, uint32_t fallback);
SC_HIDDEN uint64_t sc_peek64_unchecked(const void *p, uint64_t fallback);
SC_HIDDEN uint32_t sc_peek32_slow(const void *p, uint32_t fallback);
SC_HIDDEN uint64_t sc_peek64_slow(const void *p, uint64_t fallback);

/*
 * One access per page of [p, p+n) (n > 0, no wrap); n on success (*fault cleared), else what
 * sc_probe_after_fault(fault, p, addr, word) returns: addr - p, with the record filled.
 */
SC_HIDDEN size_t sc_probe_read(const void *p, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_probe_write(const void *p, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_probe_after_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t addr,
                                      uint64_t word);

/*
 * SC_SLOW(type, call): the value of call (a routine) made on the cold path: first use, or from inside a
 * previous handler that runs with SIGSEGV/SIGBUS blocked (see sc_fast_path() and blocked.h).
 */
#define SC_SLOW(type, call)                    \
	({                                     \
		struct sc_window sc_window_;   \
		sc_window_enter(&sc_window_);  \
		type sc_slow_result_ = (call); \
		sc_window_leave(&sc_window_);  \
		sc_slow_result_;               \
	})

#endif
