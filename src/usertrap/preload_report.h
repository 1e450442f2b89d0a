/*
 * Part of the LD_PRELOAD tool (not of the library): its per-process counts line, built without stdio
 * or allocation, since the tool also writes it from its hook when the process calls exit_group (a
 * program leaving by _exit, as dash does, runs no destructor), and the hook may run in a signal
 * handler.
 */
#ifndef USERTRAP_PRELOAD_REPORT_H
#define USERTRAP_PRELOAD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "usertrap.h"

/* Writes into out (size n > 0, always terminated; cut short if n is too small) the line
 *   usertrap pid=P calls=N trampoline=N sigsys=N patched=N in_place=N restarts=N sigill=N
 *            sigsys_native=N patches=N patch_failures=N capture_lost=N fast=P.P%
 * (one line, ending in a newline) for pid, the hook's own count of calls and the library's counters;
 * fast is trampoline / calls in per cent, rounded to one decimal (0.0 when calls is 0). Returns the
 * length written. Async-signal-safe. */
size_t preload_counts_line(char *out, size_t n, long pid, uint64_t calls, const struct usertrap_counters *c);

#endif
