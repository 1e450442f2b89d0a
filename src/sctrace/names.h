/*
 * System call names, generated at build time from the kernel's unistd header (see SConscript): the
 * table holds every x86-64 number the header defines, and nothing typed by hand.
 */
#ifndef SCTRACE_NAMES_H
#define SCTRACE_NAMES_H

/* Numbers below this are x86-64 system calls (the x32 range starts at 512). */
#define SCT_NR_COUNT 512

/* Name by number; NULL for a number the header does not define. Generated. */
extern const char *const sct_syscall_names[SCT_NR_COUNT];

/* The name of nr, or NULL. */
const char *sct_syscall_name(long nr);

/* The number of the system call called name, or -1. */
long sct_syscall_lookup(const char *name);

#endif
