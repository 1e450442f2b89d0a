/*
 * Where a SIGSEGV or SIGBUS came from, as far as the kernel's siginfo and saved context tell.
 * Internal to libsafecopy.
 */
#ifndef SAFECOPY_ORIGIN_H
#define SAFECOPY_ORIGIN_H

#include <signal.h>
#include <stdbool.h>

#include "safecopy/routines.h"

enum sc_origin {
	/*
	 * Sent, or raised by the kernel without any faulting instruction (a child's exit signal, F_SETSIG,
	 * an asynchronous machine check): the kernel delivers it like kill() would, dropping it when
	 * ignored and keeping it pending while blocked.
	 */
	SC_ORIGIN_SENT,
	/*
	 * Forced by the kernel without an address to re-fault on (#GP, #AC, a signal frame it could not
	 * push, a synchronous machine check): the process dies by it even when it is ignored or blocked.
	 */
	SC_ORIGIN_FORCED,
	/* A page fault of the instruction at the PC: returning re-runs the instruction and faults again. */
	SC_ORIGIN_PAGE_FAULT,
};

/* Async-signal-safe. */
SC_HIDDEN enum sc_origin sc_origin_of(int signo, const siginfo_t *info, const void *ucontext);

#endif
