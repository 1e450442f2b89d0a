/*
 * The traced program's memory, read through libsafecopy.
 *
 * sct_read_string is the one place that reads strings: safecopy_strncpy never reads a page that holds
 * none of the string's bytes, so a string that ends just before an unmapped page is read whole.
 */
#include "sctrace/memread.h"

#include "safecopy.h"

bool sct_peek(void *dst, uintptr_t addr, size_t n)
{
	if (n == 0)
		return true;
	if (addr == 0)
		return false; /* the common bad pointer: no fault needed to know */
	return safecopy_memcpy(dst, (const void *)addr, n, NULL) == n;
}

enum sct_str_result sct_read_string(char *dst, uintptr_t addr, size_t max, size_t *len)
{
	*len = 0;
	if (addr == 0)
		return SCT_STR_FAULT;
	struct safecopy_fault f;
	*len = safecopy_strncpy(dst, (const char *)addr, max, &f);
	if (f.status != SAFECOPY_OK)
		return SCT_STR_FAULT;
	return *len < max ? SCT_STR_NUL : SCT_STR_NO_NUL;
}
