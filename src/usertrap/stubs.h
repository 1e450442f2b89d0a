/*
 * Layer 3 (see src/usertrap/README.md). The pages that hold the windows' stubs, each within reach of a
 * `jmp rel32` from the code it serves. A stub page is never writable and executable at once: a new
 * page is filled while read-write and then made read-execute; later stubs are written into it by a page
 * swap (pagewrite.c), since other threads may be running the stubs already there. Stubs are never
 * freed (a thread may be inside one after its site is restored). Needs the patch lock;
 * async-signal-safe (raw system calls only).
 */
#ifndef USERTRAP_STUBS_H
#define USERTRAP_STUBS_H

#include <stddef.h>

#include "usertrap/defs.h"

#define UT_STUB_PAGES 1024

/* Room for `size` bytes (in one page) that a rel32 from every address in [lo, hi) reaches and back,
 * at an address a such that the rel32 of a jump ending at `from` to a has UT_GUARD in each byte k
 * whose bit k is set in `pun` (instruction punning: see decode.h); taken for good. Returns a, or 0
 * (no such page could be mapped, or UT_STUB_PAGES are in use). */
UT_HIDDEN uintptr_t ut_stub_reserve(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t from, unsigned pun);

/* Writes n bytes at `at` (inside one reserved stub, before any jump to it is written): one pwrite to
 * /proc/self/mem while a hold is on (ut_window_hold), else one page swap. Returns 0 or the errors of
 * ut_window_write(). */
UT_HIDDEN int ut_stub_write(uintptr_t at, const unsigned char *b, size_t n, struct usertrap_error *err);

/* Whether [lo, hi) overlaps a stub page. Lock-free: a page is listed once it is mapped. */
UT_HIDDEN bool ut_stub_pages_overlap(uintptr_t lo, uintptr_t hi);

/* Tests only: how many mmap calls tried to place a new stub page (the taken ones counted too). */
UT_HIDDEN unsigned long ut_stub_mmaps(void);

#endif
