/* What the usertrap row files share. */
#ifndef BENCH_USERTRAP_SETUP_H
#define BENCH_USERTRAP_SETUP_H

#include <stdio.h>

#include "usertrap.h"

/* A row's check() result for the usertrap status its enter() met: NULL for 0, else why the row
 * cannot be measured (a static buffer). */
static inline const char *usertrap_setup_failure(int status)
{
	static char why[96];
	if (status == 0)
		return NULL;
	snprintf(why, sizeof why, "usertrap set-up failed: %s", usertrap_status_name(status));
	return why;
}

/* The two pass-through hooks: the call made by the trampoline after the hook returned
 * (USERTRAP_RESULT_PASS), or inside the hook's call chain (usertrap_syscall). */
static inline long bench_hook_pass(struct usertrap_call *call, void *arg)
{
	(void)arg;
	(void)call;
	return USERTRAP_RESULT_PASS;
}

static inline long bench_hook_call(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

#endif
