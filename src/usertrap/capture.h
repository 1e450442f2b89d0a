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

#endif
