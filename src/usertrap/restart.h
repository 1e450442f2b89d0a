/*
 * Layer 5 (see src/usertrap/README.md). The SIGILL handler: threads caught on a guard byte of a site being
 * patched or restored are restarted at the site; every other SIGILL is passed on.
 */
#ifndef USERTRAP_RESTART_H
#define USERTRAP_RESTART_H

#include "usertrap/defs.h"

/* Installs it. Returns 0, 1 if it was still installed (by an earlier init), or -errno. */
UT_HIDDEN int ut_restart_install(void);
/* Puts the previous SIGILL action back (an init that failed after installing it). */
UT_HIDDEN int ut_restart_uninstall(void);

#endif
