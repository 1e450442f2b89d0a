/*
 * Initialisation, explicit patching entry points and shutdown. Init order matters: libsafecopy first
 * (the patcher reads and writes through it), then the table (its gate and restorer are needed to
 * install handlers), then the handlers, then the hook.
 */
#include <errno.h>
#include <signal.h>

#include "usertrap/internal.h"

int ut_state;

int ut_fail(struct usertrap_error *err, int status, int sys_errno)
{
	if (err) {
		err->status = status;
		err->sys_errno = sys_errno;
		err->fault = (struct safecopy_fault){0};
	}
	return status;
}

int ut_ok(struct usertrap_error *err)
{
	return ut_fail(err, USERTRAP_OK, 0);
}

#define UT_KNOWN_FLAGS (USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH | USERTRAP_HOOK_NO_VECTOR)

int usertrap_init(const struct usertrap_config *config, struct usertrap_error *err)
{
	if (!config || !config->hook || (config->flags & ~UT_KNOWN_FLAGS) ||
	    (unsigned)config->vector_save > USERTRAP_VECTOR_REGS)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	if (ut_state == 1)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	bool lazy = (config->flags & USERTRAP_LAZY) != 0;
	if (lazy && ut_sud_probe())
		return ut_fail(err, USERTRAP_ERR_NO_SUD, EINVAL);
	enum usertrap_vector_save mode = config->vector_save;
	if (config->flags & USERTRAP_HOOK_NO_VECTOR)
		mode = USERTRAP_VECTOR_NONE;
	uint64_t common;
	int r = ut_vector_setup(mode, &common);
	if (r)
		return ut_fail(err, r, 0);
	r = safecopy_init();
	if (r)
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	if ((r = ut_lock_setup()))
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	ut_common_entry = common;
	if (!ut_table) {
		if ((r = ut_table_map(config->table_addr, err)))
			return r;
	} else {
		for (unsigned i = 1; i < UT_SLOTS; i++)
			ut_data_slot(i)->common = common;
	}
	ut_exclusions_setup();
	ut_hook = config->hook;
	ut_hook_arg = config->arg;
	if ((r = ut_restart_install()))
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	ut_lazy = lazy;
	ut_lazy_patch = lazy && !(config->flags & USERTRAP_LAZY_NO_PATCH);
	if (lazy) {
		if ((r = ut_capture_install()))
			return ut_fail(err, USERTRAP_ERR_SYS, -r);
		__atomic_store_n(&ut_selector, 1, __ATOMIC_SEQ_CST);
		ut_actions_filter();
	}
	__atomic_store_n(&ut_state, 1, __ATOMIC_RELEASE);
	return ut_ok(err);
}

int usertrap_patch(void *site, long nr, struct usertrap_error *err)
{
	if (ut_state != 1)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (!site)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	ut_lock();
	int r = ut_patch_locked((uintptr_t)site, nr, err);
	ut_unlock();
	if (r == 0)
		UT_COUNT(patches);
	else
		UT_COUNT(patch_failures);
	return r;
}

int usertrap_unpatch(void *site, struct usertrap_error *err)
{
	if (ut_state != 1)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (!site)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	ut_lock();
	int r = ut_unpatch_locked((uintptr_t)site, err);
	ut_unlock();
	return r;
}

int usertrap_shutdown(struct usertrap_error *err)
{
	if (ut_state != 1)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (ut_lazy)
		ut_capture_uninstall();
	int first = 0;
	struct usertrap_error e1;
	ut_lock();
	unsigned n = ut_registry_used() + 1;
	for (unsigned i = 1; i < n; i++) {
		struct ut_data_slot *d = ut_data_slot(i);
		if (d->kind != UT_SLOT_PATCH || !ut_site_patched[i])
			continue;
		int r = ut_unpatch_locked((uintptr_t)d->site, &e1);
		if (r && !first) {
			first = r;
			if (err)
				*err = e1;
		}
	}
	ut_unlock();
	ut_actions_restore();
	ut_lazy = ut_lazy_patch = false;
	__atomic_store_n(&ut_state, 2, __ATOMIC_RELEASE);
	return first ? first : ut_ok(err);
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
