/* The calls that would change usertrap's own memory (see ownmem.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "safecopy.h"
#include "usertrap/ownmem.h"
#include "usertrap/stubs.h"
#include "usertrap/table.h"

enum op { OTHER, MAP, UNMAP, ADVISE, PROTECT, REMAP };

/* What the call does to [a[0], a[0] + a[1]), by its number (i386 numbers from syscall_32.tbl). */
static enum op op_of(long nr, bool i386)
{
	if (i386)
		return nr == 90 || nr == 192    ? MAP
		       : nr == 91               ? UNMAP
		       : nr == 219              ? ADVISE
		       : nr == 125 || nr == 380 ? PROTECT
		       : nr == 163              ? REMAP
		                                : OTHER;
	return nr == SYS_mmap                                  ? MAP
	       : nr == SYS_munmap                              ? UNMAP
	       : nr == SYS_madvise                             ? ADVISE
	       : nr == SYS_mprotect || nr == SYS_pkey_mprotect ? PROTECT
	       : nr == SYS_mremap                              ? REMAP
	                                                       : OTHER;
}

/* Whether [a, a + len) (a length that wraps: everything from a up) overlaps usertrap's own memory. */
static bool own_memory(uintptr_t a, uintptr_t len)
{
	uintptr_t hi = a + len < a ? UINTPTR_MAX : a + len, t = ut_table();
	return (t && a < t + UT_TABLE_SIZE && hi > t) || ut_stub_pages_overlap(a, hi);
}

long ut_own_memory_error(const struct usertrap_call *call)
{
	long a[6];
	memcpy(a, call->args, sizeof a);
	bool i386 = (call->flags & USERTRAP_CALL_I386) != 0;
	enum op op = op_of(call->nr, i386);
	if (op == MAP && i386 &&
	    call->nr == 90) { /* old_mmap: {addr, len, prot, flags, fd, offset} in memory */
		uint32_t m[6];
		if (safecopy_memcpy(m, (const void *)a[0], sizeof m, NULL) != sizeof m)
			return 0; /* the kernel's EFAULT */
		for (int i = 0; i < 6; i++)
			a[i] = m[i];
	}
	switch (op) {
	case MAP:
		return (a[3] & MAP_FIXED) && !(a[3] & MAP_FIXED_NOREPLACE) &&
		               own_memory((uintptr_t)a[0], (uintptr_t)a[1])
		           ? -ENOMEM
		           : 0;
	case UNMAP:
	case ADVISE:
		return own_memory((uintptr_t)a[0], (uintptr_t)a[1]) ? -EINVAL : 0;
	case PROTECT:
		return own_memory((uintptr_t)a[0], (uintptr_t)a[1]) ? -EACCES : 0;
	case REMAP: /* the old range; with MREMAP_FIXED the new one too */
		return own_memory((uintptr_t)a[0], (uintptr_t)a[1]) ||
		               ((a[3] & MREMAP_FIXED) && own_memory((uintptr_t)a[4], (uintptr_t)a[2]))
		           ? -EINVAL
		           : 0;
	case OTHER:
	default:
		return 0;
	}
}
