/* Look-ups over the generated name table. */
#include "sctrace/names.h"

#include <string.h>

const char *sct_syscall_name(long nr)
{
	return nr >= 0 && nr < SCT_NR_COUNT ? sct_syscall_names[nr] : NULL;
}

long sct_syscall_lookup(const char *name)
{
	for (long nr = 0; nr < SCT_NR_COUNT; nr++)
		if (sct_syscall_names[nr] && strcmp(sct_syscall_names[nr], name) == 0)
			return nr;
	return -1;
}
