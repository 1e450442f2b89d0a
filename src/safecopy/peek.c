/*
 * Peeks: the routines of asm/peek.asm are the exported functions themselves (a gate check, the one
 * load, a return); only their cold path is C: the first calls and calls from inside a previous
 * handler (see sc_fast_path()) run the load inside the window.
 */
#include "safecopy.h"
#include "safecopy/tool_routines.h"

__attribute__((cold)) uint32_t sc_peek32_slow(const void *p, uint32_t fallback)
{
	return SC_SLOW(uint32_t, sc_peek32_unchecked(p, fallback));
}

__attribute__((cold)) uint64_t sc_peek64_slow(const void *p, uint64_t fallback)
{
	return SC_SLOW(uint64_t, sc_peek64_unchecked(p, fallback));
}
