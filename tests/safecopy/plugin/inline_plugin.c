/*
 * A module that uses the header's inline loads and peeks, for tests/safecopy/inline_sites.c to dlopen
 * and dlclose: its list is attached by its first call and must be detached when it is unloaded.
 */
#include "safecopy.h"

#define PLUGIN_API __attribute__((visibility("default")))

PLUGIN_API uint64_t plugin_peek64(const void *p, uint64_t fallback);
PLUGIN_API enum safecopy_status plugin_load64(const uint64_t *p, uint64_t *out, struct safecopy_fault *fault);
PLUGIN_API int64_t plugin_gate(void);
PLUGIN_API const void *plugin_sites(const void **end);

uint64_t plugin_peek64(const void *p, uint64_t fallback)
{
	return safecopy_peek64(p, fallback);
}

enum safecopy_status plugin_load64(const uint64_t *p, uint64_t *out, struct safecopy_fault *fault)
{
	return safecopy_load64(p, out, fault);
}

#ifdef SAFECOPY_INLINE_SITES
int64_t plugin_gate(void)
{
	return safecopy_inline_unit.gate;
}

const void *plugin_sites(const void **end)
{
	*end = __stop_safecopy_inline_sites;
	return __start_safecopy_inline_sites;
}
#else
int64_t plugin_gate(void)
{
	return -1;
}

const void *plugin_sites(const void **end)
{
	*end = 0;
	return 0;
}
#endif
