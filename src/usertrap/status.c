/* Error recording, the life-cycle state and usertrap_status_name(). */
#include "usertrap/status.h"

static int state; /* enum ut_state */

enum ut_state ut_state(void)
{
	return (enum ut_state)__atomic_load_n(&state, __ATOMIC_ACQUIRE);
}

bool ut_running(void)
{
	return ut_state() == UT_STATE_RUNNING;
}

void ut_set_state(enum ut_state s)
{
	__atomic_store_n(&state, (int)s, __ATOMIC_RELEASE);
}

int ut_fail(struct usertrap_error *err, int status, int sys_errno)
{
	if (err) {
		err->status = status;
		err->sys_errno = sys_errno;
		err->fault = (struct safecopy_fault){0};
	}
	return status;
}

int ut_fail_fault(struct usertrap_error *err, const struct safecopy_fault *fault)
{
	if (err) {
		err->status = USERTRAP_ERR_FAULT;
		err->sys_errno = 0;
		err->fault = *fault;
	}
	return USERTRAP_ERR_FAULT;
}

int ut_ok(struct usertrap_error *err)
{
	return ut_fail(err, USERTRAP_OK, 0);
}

const char *usertrap_status_name(int status)
{
	switch (status) {
	case USERTRAP_OK:
		return "ok";
	case USERTRAP_ERR_PATTERN:
		return "pattern";
	case USERTRAP_ERR_NR:
		return "nr";
	case USERTRAP_ERR_TABLE_FULL:
		return "table full";
	case USERTRAP_ERR_NOT_PATCHABLE:
		return "not patchable";
	case USERTRAP_ERR_FAULT:
		return "fault";
	case USERTRAP_ERR_TABLE_BUSY:
		return "table busy";
	case USERTRAP_ERR_NO_SUD:
		return "no syscall user dispatch";
	case USERTRAP_ERR_STATE:
		return "state";
	case USERTRAP_ERR_INVAL:
		return "invalid";
	case USERTRAP_ERR_SYS:
		return "system call failed";
	case USERTRAP_ERR_IN_PLACE:
		return "in place";
	case USERTRAP_ERR_CPU:
		return "cpu";
	}
	return "unknown";
}

void ut_keep_first(int *first, int r, const struct usertrap_error *e, struct usertrap_error *err)
{
	if (!r || *first)
		return;
	*first = r;
	if (err)
		*err = *e;
}
