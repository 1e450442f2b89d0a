/*
 * Layer 3 (see src/usertrap/README.md). A seccomp filter that the program installs applies to
 * usertrap's system calls too, and may forbid any of them: patching code (/proc/self/mem, mmap,
 * mprotect), arming threads (prctl), the SIGSYS path's rt_sigreturn. So the calls that install one
 * seal usertrap first (sud.h): from then on it makes no system call of its own. Sites patched before
 * keep reaching the hook (the trampoline makes only the program's own call); calls at other sites run
 * uncaptured. SIGSYS goes back to the program's own action, in the kernel: a filter that traps calls
 * (SECCOMP_RET_TRAP) sends them to the program's handler as without usertrap, and usertrap's passing on
 * (its mask calls) could be the very calls the filter traps.
 */
#ifndef USERTRAP_SECCOMP_H
#define USERTRAP_SECCOMP_H

#include "usertrap/defs.h"

/* Whether the x86-64 call nr(a...) installs a seccomp filter or strict mode: seccomp(2) with
 * SECCOMP_SET_MODE_FILTER or _STRICT, prctl(PR_SET_SECCOMP). */
UT_HIDDEN bool ut_seccomp_installs(long nr, const long a[6]);

/* The same for an i386 call (`int $0x80`: seccomp 354, prctl 172), which only ever comes by SIGSYS. */
UT_HIDDEN bool ut_seccomp_installs_i386(long nr, const long a[6]);

/* Seals usertrap and gives SIGSYS back to the program (before such a call). Returns whether
 * interception was on. */
UT_HIDDEN bool ut_seccomp_seal(void);

/* Such a call, made after sealing usertrap; unsealed again if the kernel refused it. The kernel's
 * result. */
UT_HIDDEN long ut_seccomp_install(long nr, const long a[6]);

#endif
