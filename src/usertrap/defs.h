/* Definitions every file of src/usertrap shares (layering: see src/usertrap/README.md). Nothing is exported.
 */
#ifndef USERTRAP_DEFS_H
#define USERTRAP_DEFS_H

#include <stdbool.h>
#include <stdint.h>

#include "usertrap.h"

#define UT_HIDDEN __attribute__((visibility("hidden")))
/* usertrap's thread-local variables are read in signal handlers: no lazy TLS allocation there. */
#define UT_TLS __attribute__((tls_model("initial-exec")))

#define UT_PAGE 4096UL

#endif
