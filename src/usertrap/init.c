/*
 * Layer 6, the top (see src/usertrap/README.md): usertrap_init, usertrap_shutdown, usertrap_patch and
 * usertrap_unpatch. Init order matters: libsafecopy first (the patcher reads and writes through it),
 * then the table (its gate and restorer are needed to install handlers), then the handlers, then the
 * hook. An init that fails undoes what it did, in reverse; what cannot be undone (libsafecopy's handler,
 * the fork handlers) is harmless while usertrap does not run.
 */
#include <errno.h>

#include "usertrap/capture.h"
#include "usertrap/counters.h"
#include "usertrap/decode.h"
#include "usertrap/dispatch.h"
#include "usertrap/exclude.h"
#include "usertrap/fork.h"
#include "usertrap/hits.h"
#include "usertrap/lock.h"
#include "usertrap/maps.h"
#include "usertrap/patcher.h"
#include "usertrap/plancache.h"
#include "usertrap/refused.h"
#include "usertrap/registry.h"
#include "usertrap/restart.h"
#include "usertrap/sigaction.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"
#include "usertrap/tramp.h"
#include "usertrap/windows.h"

#define KNOWN_FLAGS (USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH | USERTRAP_HOOK_NO_VECTOR)

/* ---- init ---- */

static bool config_valid(const struct usertrap_config *config)
{
	return config && config->hook && !(config->flags & ~KNOWN_FLAGS) &&
	       (unsigned)config->vector_save <= USERTRAP_VECTOR_INUSE;
}

/* The table with `body` in every slot: mapped now (*mapped set), or the one an earlier init left. */
static int table_with(const struct usertrap_config *config, uintptr_t body, bool *mapped,
                      struct usertrap_error *err)
{
	*mapped = false;
	if (ut_table())
		return 0;
	int r = ut_table_map(config->table_addr, body, err);
	*mapped = r == 0;
	return r;
}

/* The handlers; on failure none is left installed that was not before. Returns 0 or -errno. */
static int install_handlers(bool lazy, bool patch)
{
	int sigill = ut_restart_install(); /* 1: still installed by an earlier init */
	if (sigill < 0 || !lazy)
		return sigill < 0 ? sigill : 0;
	int r = ut_capture_install(patch);
	if (r < 0 && sigill == 0)
		ut_restart_uninstall();
	return r < 0 ? r : 0;
}

int usertrap_init(const struct usertrap_config *config, struct usertrap_error *err)
{
	if (!config_valid(config))
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	if (ut_running())
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	bool lazy = (config->flags & USERTRAP_LAZY) != 0;
	int why = lazy ? ut_sud_probe() : 0;
	if (why)
		return ut_fail(err, USERTRAP_ERR_NO_SUD, why);
	enum usertrap_vector_save mode =
	    config->flags & USERTRAP_HOOK_NO_VECTOR ? USERTRAP_VECTOR_NONE : config->vector_save;
	struct ut_tramp_mode tramp;
	int r = ut_tramp_choose(mode, &tramp);
	if (r)
		return ut_fail(err, r, 0);
	if ((r = safecopy_init()))
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	if ((r = ut_fork_handlers_register()))
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	bool mapped;
	if ((r = table_with(config, tramp.body, &mapped, err)))
		return r;
	if ((r = install_handlers(lazy, !(config->flags & USERTRAP_LAZY_NO_PATCH)))) {
		if (mapped)
			ut_table_unmap();
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	}
	/* Nothing can fail from here on. */
	ut_tramp_use(&tramp);
	ut_table_set_common(tramp.body);
	ut_exclusions_setup();
	ut_refused_clear();
	ut_maps_forget(0, UINTPTR_MAX);
	/* Lazy first hits may need the decoder for windows, and must never load it (in the SIGSYS
	 * handler). With a plan cache set they take their plans from it (read here: never in a handler),
	 * and the eager pass decides (eager.c): a warm process does without. */
	if (!ut_plancache_enabled())
		ut_decoder_load();
	else
		ut_plancache_load();
	ut_dispatch_set_hook(config->hook, config->arg);
	ut_sud_set_in_use(lazy);
	if (lazy) {
		ut_sud_select(true);
		ut_actions_filter();
	}
	ut_set_state(UT_STATE_RUNNING);
	return ut_ok(err);
}

/* ---- explicit patching ---- */

/* The checks every explicit (un)patch makes first: 0, or the error. */
static int check_explicit(const void *site, struct usertrap_error *err)
{
	if (!ut_running() || ut_sud_sealed()) /* sealed: writing code takes system calls (seccomp.h) */
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	return site ? 0 : ut_fail(err, USERTRAP_ERR_INVAL, 0);
}

/* The patch lock for an explicit (un)patch: mappings changed behind the hook's back are read afresh. */
static void lock_explicit(void)
{
	ut_lock();
	ut_maps_forget(0, UINTPTR_MAX);
}

/* Counts the outcome r of an explicit patch; returns r. */
static int count_patch(int r)
{
	if (r == 0)
		UT_COUNT(patches);
	else
		UT_COUNT(patch_failures);
	return r;
}

int usertrap_patch(void *site, long nr, struct usertrap_error *err)
{
	int r = check_explicit(site, err);
	if (r)
		return r;
	lock_explicit();
	r = ut_patch_locked((uintptr_t)site, nr, err);
	ut_unlock();
	return count_patch(r);
}

int usertrap_unpatch(void *site, struct usertrap_error *err)
{
	int r = check_explicit(site, err);
	if (r)
		return r;
	lock_explicit();
	r = ut_unpatch_locked((uintptr_t)site, err);
	ut_unlock();
	return r;
}

int usertrap_patch_syscall(void *insn, const void *fn_start, const void *fn_end, struct usertrap_error *err)
{
	int r = check_explicit(insn, err);
	if (r)
		return r;
	if (!fn_start != !fn_end)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	lock_explicit();
	r = ut_window_patch_locked((uintptr_t)insn, (uintptr_t)fn_start, (uintptr_t)fn_end, err);
	ut_unlock();
	return count_patch(r);
}

int usertrap_unpatch_syscall(void *insn, struct usertrap_error *err)
{
	int r = check_explicit(insn, err);
	if (r)
		return r;
	lock_explicit();
	r = ut_window_unpatch_locked((uintptr_t)insn, err);
	ut_unlock();
	return r;
}

/* ---- shutdown ---- */

/* Restores every patched site; returns the first error (in *err), the others still restored. */
static int unpatch_all(struct usertrap_error *err)
{
	int first = 0;
	struct usertrap_error e;
	ut_lock();
	unsigned n = ut_registry_used() + 1;
	for (unsigned i = 1; i < n; i++) {
		struct ut_data_slot *d = ut_data_slot(i);
		if (d->kind != UT_SLOT_PATCH || !ut_site_patched[i])
			continue;
		ut_keep_first(&first, ut_unpatch_locked((uintptr_t)d->site, &e), &e, err);
	}
	ut_keep_first(&first, ut_window_unpatch_all_locked(&e), &e, err);
	ut_unlock();
	return first;
}

int usertrap_shutdown(struct usertrap_error *err)
{
	if (!ut_running())
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (ut_sud_in_use())
		ut_capture_uninstall();
	int first = unpatch_all(err);
	ut_actions_restore();
	ut_sud_set_in_use(false);
	ut_refused_clear();
	ut_hits_clear();
	ut_maps_forget(0, UINTPTR_MAX);
	ut_set_state(UT_STATE_SHUT_DOWN);
	return first ? first : ut_ok(err);
}
