/*
 * The syscall sites of the libc.so.6 a process runs on, and which of them the planner gives a window
 * (decode.c): shared by windows.c (the system's glibc, in the suite's process) and
 * programs/libc_windows_probe.c (run under glibc 2.41's dynamic linker by preload.c). No Criterion:
 * the probe is a plain program.
 */
#ifndef USERTRAP_TEST_LIBC_SITES_H
#define USERTRAP_TEST_LIBC_SITES_H

#include <stdbool.h>
#include <stdint.h>

#define LIBC_SITES_MAX_REFUSED 16

struct libc_sites {
	unsigned sites;    /* `syscall` instructions that decode from a function's start (FDE) */
	unsigned seven;    /* of which in the 7-byte `mov $nr,%eax; syscall` form */
	unsigned windowed; /* of which the planner gives a window */
	/* glibc 2.41's __internal_syscall_cancel site, `mov 0x10(%rsp),%rax; syscall; pop %rbx; ret`:
	 * its address (0 if libc has none) and whether it has a window. */
	uintptr_t cancel_site;
	bool cancel_windowed;
	unsigned n_refused; /* the first LIBC_SITES_MAX_REFUSED sites without a window */
	uintptr_t refused[LIBC_SITES_MAX_REFUSED];
	uintptr_t libc_lo; /* the start of libc's executable segment (0: libc.so.6 not found) */
};

/* Scans the executable segment of the loaded libc.so.6 and fills *s. */
void libc_sites_count(struct libc_sites *s);

#endif
