/*
 * Peeks: a check and a tail call into the one-load routine (asm/peek.asm), whose landing returns the
 * fallback. The first calls and calls from inside a previous handler go through cold copies (see
 * sc_fast_path()), so no frame is left on the path.
 */
#include "safecopy.h"
#include "safecopy/tool_routines.h"

__attribute__((noinline, cold)) static uint32_t peek32_slow(const void *p, uint32_t fallback)
{
	return SC_SLOW(uint32_t, sc_peek32(p, fallback));
}

__attribute__((noinline, cold)) static uint64_t peek64_slow(const void *p, uint64_t fallback)
{
	return SC_SLOW(uint64_t, sc_peek64(p, fallback));
}

uint32_t safecopy_peek32(const void *p, uint32_t fallback)
{
	if (__builtin_expect(!sc_fast_path(), 0))
		return peek32_slow(p, fallback);
	return sc_peek32(p, fallback);
}

uint64_t safecopy_peek64(const void *p, uint64_t fallback)
{
	if (__builtin_expect(!sc_fast_path(), 0))
		return peek64_slow(p, fallback);
	return sc_peek64(p, fallback);
}

/* A pointer is a 64-bit peek on x86-64. */
void *safecopy_peekptr(const void *p, void *fallback)
{
	if (__builtin_expect(!sc_fast_path(), 0))
		return (void *)(uintptr_t)peek64_slow(p, (uint64_t)(uintptr_t)fallback);
	return (void *)(uintptr_t)sc_peek64(p, (uint64_t)(uintptr_t)fallback);
}
