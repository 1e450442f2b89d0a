/* usertrap internals shared by the files of src/usertrap/. Nothing here is exported. */
#ifndef USERTRAP_INTERNAL_H
#define USERTRAP_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "usertrap.h"

#define UT_HIDDEN __attribute__((visibility("hidden")))
#define UT_TLS    __attribute__((tls_model("initial-exec")))

/* Table layout: mirrors asm/usertrap_table.inc. */
#define UT_PAGE           4096UL
#define UT_SLOT_SIZE      80
#define UT_SLOTS_PER_PAGE 51
#define UT_SLOTS          256
#define UT_CODE_PAGES     6
#define UT_DATA_DELTA     (UT_CODE_PAGES * UT_PAGE)
#define UT_TABLE_SIZE     (2 * UT_DATA_DELTA)
#define UT_C_GATE         32
#define UT_H_SYSCALL      0
#define UT_H_RESTORER     48

/* A data slot (80 bytes; the asm reads entry, resume, nr and common at fixed offsets). */
struct ut_data_slot {
	uint64_t entry;  /* address of the slot's code: the cell a patched site jumps through */
	uint64_t resume; /* patched: site + 7; gate: syscall instruction + 2 */
	uint64_t nr;
	uint64_t common; /* trampoline body */
	uint64_t site;   /* patched: pattern start; gate: syscall instruction */
	uint64_t kind;   /* enum ut_slot_kind */
	uint64_t spare[4];
};
_Static_assert(sizeof(struct ut_data_slot) == UT_SLOT_SIZE, "slot layout");

/* The header, in data slot 0. */
struct ut_table_header {
	uint64_t magic;
	uint64_t next_free; /* first never-used slot index (slots are bound for good once used) */
	uint64_t spare[8];
};
_Static_assert(sizeof(struct ut_table_header) == UT_SLOT_SIZE, "header layout");

enum ut_slot_kind { UT_SLOT_FREE = 0, UT_SLOT_PATCH = 1, UT_SLOT_GATE = 2 };

static inline uintptr_t ut_slot_offset(unsigned i)
{
	return (uintptr_t)(i / UT_SLOTS_PER_PAGE) * UT_PAGE +
	       (uintptr_t)(i % UT_SLOTS_PER_PAGE) * UT_SLOT_SIZE;
}

/* ---- table.c ---- */
UT_HIDDEN extern uintptr_t ut_table; /* code base; 0 before init */
UT_HIDDEN extern uint64_t ut_xsave_size;
UT_HIDDEN extern uint64_t ut_xsave_mask;
UT_HIDDEN int ut_table_map(uintptr_t want, struct usertrap_error *err);
UT_HIDDEN bool ut_table_contains(uintptr_t a, uintptr_t len);
UT_HIDDEN struct ut_data_slot *ut_data_slot(unsigned i);
UT_HIDDEN struct ut_table_header *ut_header(void);
UT_HIDDEN uintptr_t ut_code_slot(unsigned i);
UT_HIDDEN uintptr_t ut_restorer(void);
UT_HIDDEN int ut_vector_setup(enum usertrap_vector_save mode, uint64_t *common);
UT_HIDDEN extern uint64_t ut_common_entry; /* trampoline body chosen at init */

/* The raw syscall through the table's gate (or libc's before the table exists). Async-signal-safe. */
UT_HIDDEN long ut_sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
#define UT_SYS0(nr)                ut_sys(nr, 0, 0, 0, 0, 0, 0)
#define UT_SYS1(nr, a)             ut_sys(nr, (long)(a), 0, 0, 0, 0, 0)
#define UT_SYS2(nr, a, b)          ut_sys(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define UT_SYS3(nr, a, b, c)       ut_sys(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define UT_SYS4(nr, a, b, c, d)    ut_sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define UT_SYS5(nr, a, b, c, d, e) ut_sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* asm address stubs */
UT_HIDDEN uintptr_t ut_addr_ut_tramp_novec(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_xsavec(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_xsave(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs512(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs256(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs128(void);
UT_HIDDEN extern const unsigned char ut_tpl_header[UT_SLOT_SIZE];
UT_HIDDEN extern const unsigned char ut_tpl_slot[UT_SLOT_SIZE];

/* ---- registry.c: slots bound to sites; lock-free lookups for signal handlers ---- */
UT_HIDDEN int ut_registry_find(uintptr_t site, enum ut_slot_kind kind); /* slot index or 0 */
UT_HIDDEN int ut_registry_bind(uintptr_t site, enum ut_slot_kind kind,
                               long nr); /* needs the lock; 0 if full */
UT_HIDDEN unsigned ut_registry_used(void);
UT_HIDDEN extern unsigned char ut_site_orig[UT_SLOTS][8]; /* original bytes of patched sites */
UT_HIDDEN extern unsigned char ut_site_patched[UT_SLOTS];
UT_HIDDEN extern unsigned char ut_site_broken[UT_SLOTS]; /* left half-written: see restart.c */

/* ---- lock.c: the patch lock, held across fork ---- */
UT_HIDDEN void ut_lock(void);
UT_HIDDEN bool ut_trylock(void); /* for signal handlers: never waits on the calling thread itself */
UT_HIDDEN void ut_unlock(void);
UT_HIDDEN bool ut_lock_held_by_me(void);
UT_HIDDEN int ut_lock_setup(void);

/* ---- patcher.c ---- */
UT_HIDDEN int ut_patch_locked(uintptr_t site, long nr, struct usertrap_error *err);
UT_HIDDEN int ut_unpatch_locked(uintptr_t site, struct usertrap_error *err);
UT_HIDDEN int ut_exclusions_setup(void);
/* Tests: called between the ordered writes (after step 1, 2, 3). */
UT_HIDDEN extern void (*ut_test_step_hook)(uintptr_t site, int step, void *arg);
UT_HIDDEN extern void *ut_test_step_arg;

/* ---- restart.c: SIGILL ---- */
UT_HIDDEN int ut_restart_install(void);

/* ---- chain.c ---- */
enum { UT_CHAIN_SIGILL, UT_CHAIN_SIGSYS, UT_CHAIN_COUNT };
UT_HIDDEN int ut_chain_install(int sig, void (*handler)(int, siginfo_t *, void *), int flags);
UT_HIDDEN void ut_chain(int sig, siginfo_t *info, void *uc);
UT_HIDDEN int ut_chain_restore(int sig);
UT_HIDDEN void ut_chain_set_previous(int sig, const void *kact); /* kernel struct: virtualised rt_sigaction */
UT_HIDDEN void ut_chain_get_previous(int sig, void *kact);

/* Signals that must stay deliverable while usertrap runs: blocking them would turn an intercepted call
 * (SIGSYS), a guard-byte restart (SIGILL) or a libsafecopy fault (SIGSEGV, SIGBUS) into a kill. */
#define UT_KEEP_MASK \
	((1ULL << (SIGSYS - 1)) | (1ULL << (SIGILL - 1)) | (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)))

/* ---- sigcalls.c: calls that give the kernel a signal mask ---- */
/* For usertrap_syscall: true (and *result set) if call->nr is one of them. */
UT_HIDDEN bool ut_mask_call(const struct usertrap_call *call, long *result);
/* Filters the actions installed so far (when capture is set up); gives every filtered action back to
 * the kernel as the application gave it (at shutdown). */
UT_HIDDEN void ut_actions_filter(void);
UT_HIDDEN void ut_actions_restore(void);

/* ---- dispatch.c ---- */
UT_HIDDEN long ut_dispatch(struct usertrap_call *call);
UT_HIDDEN uint64_t ut_trampoline_calls(void);
UT_HIDDEN long ut_run_hook(struct usertrap_call *call);
UT_HIDDEN extern usertrap_hook_fn ut_hook;
UT_HIDDEN extern void *ut_hook_arg;
UT_HIDDEN bool ut_in_place(long nr, const long *args);

/* ---- capture.c ---- */
UT_HIDDEN extern unsigned char ut_selector;
UT_HIDDEN extern bool ut_lazy, ut_lazy_patch;
UT_HIDDEN int ut_capture_install(void);
UT_HIDDEN int ut_capture_uninstall(void);
UT_HIDDEN int ut_arm_self(bool on);
UT_HIDDEN bool ut_thread_armed(void);
UT_HIDDEN int ut_sud_probe(void);
UT_HIDDEN void ut_after_fork_child(void);

/* ---- counters.c ---- */
struct ut_counters {
	uint64_t patches, patch_failures, trampoline_calls, sigsys_calls, in_place_calls, capture_lost,
	    sigill_restarts, restart_syscalls, sites_patched;
};
UT_HIDDEN extern struct ut_counters ut_count;
#define UT_COUNT(field)   __atomic_fetch_add(&ut_count.field, 1, __ATOMIC_RELAXED)
#define UT_UNCOUNT(field) __atomic_fetch_sub(&ut_count.field, 1, __ATOMIC_RELAXED)

/* ---- init.c ---- */
UT_HIDDEN extern int ut_state; /* 0 never, 1 running, 2 shut down */
UT_HIDDEN int ut_fail(struct usertrap_error *err, int status, int sys_errno);
UT_HIDDEN int ut_ok(struct usertrap_error *err);

#endif
