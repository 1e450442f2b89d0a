/*
 * safecopy_probe: argument checks, then a tail call into the read or write probe routine
 * (asm/probe.asm). A fault comes back here, through the routine's landing, only to be recorded.
 */
#include "safecopy.h"
#include "safecopy/fault_record.h"
#include "safecopy/tool_routines.h"

#define PROBE_FLAGS (SAFECOPY_PROBE_READ | SAFECOPY_PROBE_WRITE)

/*
 * The faulting access touched the single byte addr (the kernel names it; for #GP the handler gives
 * the access's start, the same byte), and every page before it passed: addr - p bytes are accessible.
 */
size_t sc_probe_after_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t addr, uint64_t word)
{
	sc_record_word(fault, word, addr);
	return addr - p;
}

/* The checks before any access. True if the call is already answered. */
static inline bool answered_without_access(uintptr_t p, size_t n, int flags, struct safecopy_fault *fault)
{
	if (flags == 0 || (flags & ~PROBE_FLAGS) != 0) {
		sc_record(fault, SAFECOPY_INVAL, p, 0, 0);
		return true;
	}
	if (n == 0) {
		sc_record_ok(fault);
		return true;
	}
	if (n - 1 > UINTPTR_MAX - p) {
		sc_record(fault, SAFECOPY_RANGE, p, 0, 0);
		return true;
	}
	return false;
}

/* The cold path (first use, calls from inside a previous handler): see sc_fast_path(). */
__attribute__((noinline, cold)) static size_t probe_slow(const void *p, size_t n, int flags,
                                                         struct safecopy_fault *fault)
{
	if (flags & SAFECOPY_PROBE_WRITE)
		return SC_SLOW(size_t, sc_probe_write(p, n, fault));
	return SC_SLOW(size_t, sc_probe_read(p, n, fault));
}

size_t safecopy_probe(const void *p, size_t n, int flags, struct safecopy_fault *fault)
{
	if (answered_without_access((uintptr_t)p, n, flags, fault))
		return 0;
	if (__builtin_expect(!sc_fast_path(), 0))
		return probe_slow(p, n, flags, fault);
	if (flags & SAFECOPY_PROBE_WRITE)
		return sc_probe_write(p, n, fault);
	return sc_probe_read(p, n, fault);
}
