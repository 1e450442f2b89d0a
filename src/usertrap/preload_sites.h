/*
 * Part of the LD_PRELOAD tool (not of the library): which system call sites the calls that stay on the
 * SIGSYS path come from. Counting is async-signal-safe (the hook runs in the SIGSYS handler): a fixed
 * open-addressed table, no allocation, no lock.
 */
#ifndef USERTRAP_PRELOAD_SITES_H
#define USERTRAP_PRELOAD_SITES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Counts one call of system call nr made by the `syscall` instruction at insn (i386: nr is an i386
 * number, made by `int $0x80` there). Calls beyond the table's capacity are counted as untracked.
 * Async-signal-safe. */
void preload_sites_count(uintptr_t insn, long nr, bool i386);

/* Forgets every count (a forked child, whose only thread calls it). Async-signal-safe. */
void preload_sites_reset(void);

/* Appends to `out` (size n) one line per site among the `top` most-called ones that are still on the
 * SIGSYS path (their `syscall` or `int $0x80` instruction is still in place), hottest first:
 *   usertrap-site pid=P calls=K nr=N addr=0xA bytes=<up to 8 bytes before>[0f05]<4 after> map=FILE+0xOFF
 * nr=N is the number of the first call seen there ("nr=i386:N" for an i386 number, `int $0x80`:
 * [cd80]); "nr=N+" if other numbers came from it too. FILE is
 * the mapping's path from /proc/self/maps ("[anon]" if it has none), OFF the offset in it. Then one
 * line "usertrap-sites pid=P tracked=T untracked=U" (T sites seen). Returns the length written. */
size_t preload_sites_report(long pid, unsigned top, char *out, size_t n);

#endif
