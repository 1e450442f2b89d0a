/*
 * Layer 5 (see src/usertrap/README.md). Lazy capture: the SIGSYS handler that gives each intercepted call to
 * the hook and patches its site, and the public usertrap_capture_thread/usertrap_capture_all.
 */
#ifndef USERTRAP_CAPTURE_H
#define USERTRAP_CAPTURE_H

#include "usertrap/defs.h"

/* Installs the SIGSYS handler; `patch`: intercepted calls patch their site. Returns 0 (or 1, see
 * ut_chain_install) or -errno. */
UT_HIDDEN int ut_capture_install(bool patch);
/* Switches capture off in every thread, stops arming new threads and puts the previous SIGSYS action
 * back. Returns 0 or -errno. */
UT_HIDDEN int ut_capture_uninstall(void);
/* Test-only: called by a first hit (with the syscall instruction's address) before the handler looks at
 * its site, so a test can change the site in between. */
UT_HIDDEN extern void (*ut_test_first_hit_hook)(uintptr_t insn);

#endif
