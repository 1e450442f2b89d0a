/*
 * Peeks: a check and a tail call into the one-load routine (asm/peek.asm), whose landing returns the
 * fallback. The first calls install the handler through cold copies, so no frame is left on the path.
 */
#include "safecopy.h"
#include "safecopy/tool_routines.h"

__attribute__((noinline, cold)) static uint32_t peek32_first_use(const void *p, uint32_t fallback)
{
	sc_init_slow();
	return sc_peek32(p, fallback);
}

__attribute__((noinline, cold)) static uint64_t peek64_first_use(const void *p, uint64_t fallback)
{
	sc_init_slow();
	return sc_peek64(p, fallback);
}

uint32_t safecopy_peek32(const void *p, uint32_t fallback)
{
	if (__builtin_expect(!sc_is_ready(), 0))
		return peek32_first_use(p, fallback);
	return sc_peek32(p, fallback);
}

uint64_t safecopy_peek64(const void *p, uint64_t fallback)
{
	if (__builtin_expect(!sc_is_ready(), 0))
		return peek64_first_use(p, fallback);
	return sc_peek64(p, fallback);
}

/* A pointer is a 64-bit peek on x86-64. */
void *safecopy_peekptr(const void *p, void *fallback)
{
	if (__builtin_expect(!sc_is_ready(), 0))
		return (void *)(uintptr_t)peek64_first_use(p, (uint64_t)(uintptr_t)fallback);
	return (void *)(uintptr_t)sc_peek64(p, (uint64_t)(uintptr_t)fallback);
}
