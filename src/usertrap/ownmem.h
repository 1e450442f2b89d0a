/*
 * Layer 3 (see src/usertrap/README.md). usertrap's own memory: the trap table every patched site jumps
 * to and the stub pages of relocated windows. The program's calls that would unmap, replace,
 * re-protect, move or discard it are refused, not made: every patched site would jump into whatever
 * took its place.
 */
#ifndef USERTRAP_OWNMEM_H
#define USERTRAP_OWNMEM_H

#include "usertrap.h"
#include "usertrap/defs.h"

/* The error for such a call (x86-64 or i386 numbers, by call->flags): mmap with MAP_FIXED -ENOMEM
 * (MAP_FIXED_NOREPLACE is the kernel's to refuse), munmap, madvise and mremap -EINVAL, mprotect and
 * pkey_mprotect -EACCES; 0 for every other call. shmat is not looked at (its size is not in the call). */
UT_HIDDEN long ut_own_memory_error(const struct usertrap_call *call);

#endif
