/*
 * Layer 0 (see src/usertrap/README.md). Error recording for the public API, and usertrap's life-cycle state,
 * read atomically everywhere (signal handlers and other threads read it while init or shutdown runs).
 */
#ifndef USERTRAP_STATUS_H
#define USERTRAP_STATUS_H

#include "usertrap/defs.h"

enum ut_state {
	UT_STATE_NEVER = 0, /* usertrap_init has not succeeded yet */
	UT_STATE_RUNNING,   /* between a successful usertrap_init and usertrap_shutdown */
	UT_STATE_SHUT_DOWN, /* after usertrap_shutdown (the table stays mapped) */
};

UT_HIDDEN enum ut_state ut_state(void);
UT_HIDDEN bool ut_running(void);
UT_HIDDEN void ut_set_state(enum ut_state state);

/* Fills *err (if given) with status and sys_errno, a zero fault record; returns status. */
UT_HIDDEN int ut_fail(struct usertrap_error *err, int status, int sys_errno);
/* USERTRAP_ERR_FAULT with the fault record `fault`. */
UT_HIDDEN int ut_fail_fault(struct usertrap_error *err, const struct safecopy_fault *fault);
/* USERTRAP_OK (0). */
UT_HIDDEN int ut_ok(struct usertrap_error *err);
/* For work over many sites that goes on after an error: if r is the first error (*first still 0),
 * keeps it in *first and its details e in *err (if given). */
UT_HIDDEN void ut_keep_first(int *first, int r, const struct usertrap_error *e, struct usertrap_error *err);

#endif
