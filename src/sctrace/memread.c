/*
 * The traced program's memory, read through libsafecopy.
 *
 * sct_read_string is the one place that reads strings: it copies page-bounded chunks with
 * safecopy_memcpy and stops at the chunk holding the NUL, so a string that ends just before an
 * unmapped page is read whole. (Once libsafecopy has string functions, this body is the only one to
 * change.)
 */
#include "sctrace/memread.h"

#include <string.h>

#include "safecopy.h"

#define SCT_PAGE 4096UL

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
	size_t done = 0;
	*len = 0;
	if (addr == 0)
		return SCT_STR_FAULT;
	while (done < max) {
		uintptr_t at = addr + done;
		size_t chunk = SCT_PAGE - (at & (SCT_PAGE - 1));
		if (chunk > max - done)
			chunk = max - done;
		size_t got = safecopy_memcpy(dst + done, (const void *)at, chunk, NULL);
		const char *nul = memchr(dst + done, '\0', got);
		if (nul) {
			*len = (size_t)(nul - dst);
			return SCT_STR_NUL;
		}
		done += got;
		*len = done;
		if (got < chunk)
			return SCT_STR_FAULT;
	}
	return SCT_STR_NO_NUL;
}
