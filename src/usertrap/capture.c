/*
 * Lazy capture with Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, kernel >= 5.11).
 *
 * A thread is "armed" when it has called the prctl for itself (dispatch is per thread and is not
 * inherited by fork, clone or exec). All armed threads share one selector byte, so capture can be
 * paused in every thread at once. The allowed range is the trap table's code: the syscall gate and the
 * restorer of usertrap's handlers live there, so usertrap's own calls and its sigreturn are never
 * intercepted.
 *
 * The SIGSYS handler hands the call to the hook and sets RAX; if the site has the pattern it is patched
 * first (only when the patch lock is free: a handler never waits on its own thread). Calls that can
 * only run on the caller's stack (rt_sigreturn, vfork, clone with a stack or CLONE_VM) are resumed at
 * the gate of a trap-table slot bound to their syscall instruction: the call runs natively there, in the
 * caller's context, and continues after the original instruction.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64.h"
#include "usertrap/internal.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF          0
#define PR_SYS_DISPATCH_ON           1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

unsigned char ut_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
bool ut_lazy, ut_lazy_patch;
static bool capture_new_threads;
static __thread bool armed UT_TLS;

#define UT_ARM_MAGIC 0x75740001 /* sival_int of the SIGSYS that asks a thread to arm itself */
static int arm_acks;

int ut_sud_probe(void)
{
	long r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	return r == 0 ? 0 : USERTRAP_ERR_NO_SUD;
}

int ut_arm_self(bool on)
{
	long r;
	if (on)
		r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, ut_table,
		            UT_DATA_DELTA, &ut_selector);
	else
		r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	if (r == 0)
		armed = on;
	return (int)r;
}

bool ut_thread_armed(void)
{
	return armed;
}

void ut_after_fork_child(void)
{
	if (armed && ut_state == 1)
		ut_arm_self(true);
	else
		armed = false;
}

/* Resume the caller at a gate bound to its syscall instruction; false if no slot could be had. */
static bool resume_at_gate(uintptr_t insn, long nr, void *uc)
{
	int slot = ut_registry_find(insn, UT_SLOT_GATE);
	if (!slot) {
		for (;;) {
			if (ut_trylock())
				break;
			if (ut_lock_held_by_me())
				return false;
			UT_SYS0(SYS_sched_yield);
		}
		slot = ut_registry_bind(insn, UT_SLOT_GATE, nr);
		ut_unlock();
		if (!slot)
			return false;
	}
	arch_set_rax(uc, (uint64_t)nr);
	arch_set_pc(uc, ut_code_slot((unsigned)slot) + UT_C_GATE);
	return true;
}

static void run_in_place(uintptr_t insn, long nr, void *uc)
{
	UT_COUNT(in_place_calls);
	if (resume_at_gate(insn, nr, uc))
		return;
	/* No slot: run it natively at its own site, which means this thread stops being captured. */
	UT_COUNT(capture_lost);
	ut_arm_self(false);
	arch_set_rax(uc, (uint64_t)nr);
	arch_set_pc(uc, insn);
}

/* Sites already found unpatchable: remembered so that each later hit does not re-read /proc/self/maps. */
#define UT_REFUSED 512
static uintptr_t refused[UT_REFUSED];

static bool was_refused(uintptr_t site)
{
	for (unsigned i = 0, h = (unsigned)(site >> 1) % UT_REFUSED; i < 8; i++, h = (h + 1) % UT_REFUSED) {
		uintptr_t v = __atomic_load_n(&refused[h], __ATOMIC_RELAXED);
		if (v == site)
			return true;
		if (!v)
			return false;
	}
	return false;
}

static void remember_refused(uintptr_t site)
{
	for (unsigned i = 0, h = (unsigned)(site >> 1) % UT_REFUSED; i < 8; i++, h = (h + 1) % UT_REFUSED) {
		uintptr_t expected = 0;
		if (__atomic_compare_exchange_n(&refused[h], &expected, site, false, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED) ||
		    expected == site)
			return;
	}
}

static void lazy_patch(uintptr_t insn, long nr)
{
	uintptr_t site = insn - 5;
	unsigned char b[7];
	if (was_refused(site))
		return;
	if (safecopy_memcpy(b, (const void *)site, 7, NULL) != 7 || b[0] != 0xb8 || b[5] != 0x0f ||
	    b[6] != 0x05)
		return; /* not the pattern: this site stays on the signal path */
	uint32_t imm;
	memcpy(&imm, b + 1, 4);
	if ((long)imm != nr)
		return;
	if (!ut_trylock())
		return; /* another patcher, or this thread inside one: next time */
	int r = ut_patch_locked(site, nr, NULL);
	ut_unlock();
	if (r == 0) {
		UT_COUNT(patches);
	} else {
		UT_COUNT(patch_failures);
		if (r != USERTRAP_ERR_TABLE_FULL)
			remember_refused(site);
	}
}

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	if (info->si_code == SI_QUEUE && info->si_value.sival_int == UT_ARM_MAGIC &&
	    info->si_pid == (pid_t)UT_SYS0(SYS_getpid)) {
		/* Not if the mask this thread returns to blocks SIGSYS (it was caught inside a call with a
		 * temporary mask, e.g. epoll_pwait): its next call would be intercepted and kill it. */
		if (!(*arch_uc_sigmask(uc) & (1ULL << (SIGSYS - 1))))
			ut_arm_self(true);
		__atomic_fetch_add(&arm_acks, 1, __ATOMIC_RELEASE);
		errno = saved_errno;
		return;
	}
	if (info->si_code != SYS_USER_DISPATCH) {
		ut_chain(sig, info, uc);
		errno = saved_errno;
		return;
	}
	UT_COUNT(sigsys_calls);
	long nr = info->si_syscall;
	uintptr_t insn = arch_pc(uc) - 2;
	struct usertrap_call call = {
	    .nr = nr, .site = (void *)insn, .flags = USERTRAP_CALL_SIGSYS, .internal_ = uc};
	arch_syscall_args(uc, call.args);
	if (nr == SYS_rt_sigreturn) { /* not the hook's business: it returns from some signal handler */
		run_in_place(insn, nr, uc);
		errno = saved_errno;
		return;
	}
	if (ut_state != 1) { /* intercepted just as usertrap shut down: the call, without the hook */
		if (ut_in_place(nr, call.args)) {
			run_in_place(insn, nr, uc);
		} else {
			const long *a = call.args;
			arch_set_rax(uc, (uint64_t)ut_sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
		}
		errno = saved_errno;
		return;
	}
	if (ut_in_place(nr, call.args)) {
		call.flags |= USERTRAP_CALL_IN_PLACE;
		long r = ut_run_hook(&call);
		if (r == USERTRAP_RESULT_IN_PLACE)
			run_in_place(insn, nr, uc);
		else
			arch_set_rax(uc, (uint64_t)r);
		errno = saved_errno;
		return;
	}
	if (ut_lazy_patch)
		lazy_patch(insn, nr);
	arch_set_rax(uc, (uint64_t)ut_run_hook(&call));
	errno = saved_errno;
}

int ut_capture_install(void)
{
	/* SA_NODEFER: the hook may make calls that are intercepted in turn. No SA_ONSTACK: calls like
	 * sigaltstack look at the stack pointer, which must stay the caller's stack. */
	return ut_chain_install(SIGSYS, on_sigsys, SA_NODEFER | SA_RESTART);
}

int ut_capture_uninstall(void)
{
	ut_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	capture_new_threads = false;
	if (armed)
		ut_arm_self(false);
	return ut_chain_restore(SIGSYS);
}

/* An armed thread must never block SIGSYS: an intercepted call would then kill the process. */
static void unblock_keep_set(void)
{
	uint64_t keep = UT_KEEP_MASK;
	UT_SYS4(SYS_rt_sigprocmask, SIG_UNBLOCK, &keep, NULL, 8);
}

int usertrap_capture_thread(bool on, struct usertrap_error *err)
{
	if (ut_state != 1 || !ut_lazy)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (on)
		unblock_keep_set();
	int r = ut_arm_self(on);
	return r ? ut_fail(err, USERTRAP_ERR_SYS, -r) : ut_ok(err);
}

/* True if thread tid blocks SIGSYS now (it could not answer; it is left as it is). */
static bool blocks_sigsys(long tid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	bool blocked = false;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "SigBlk:", 7) == 0)
			blocked = (strtoull(line + 7, NULL, 16) >> (SIGSYS - 1)) & 1;
	fclose(f);
	return blocked;
}

/* Asks every other thread to arm itself (those that block SIGSYS cannot and are skipped); waits for the
 * answers, or 1 s. */
static int arm_others(void)
{
	long pid = UT_SYS0(SYS_getpid), self = UT_SYS0(SYS_gettid);
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	int sent = 0;
	__atomic_store_n(&arm_acks, 0, __ATOMIC_RELEASE);
	struct dirent *e;
	while ((e = readdir(d))) {
		long tid = strtol(e->d_name, NULL, 10);
		if (tid <= 0 || tid == self || blocks_sigsys(tid))
			continue;
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGSYS;
		si.si_code = SI_QUEUE;
		si.si_pid = (pid_t)pid;
		si.si_uid = getuid();
		si.si_value.sival_int = UT_ARM_MAGIC;
		if (UT_SYS4(SYS_rt_tgsigqueueinfo, pid, tid, SIGSYS, &si) == 0)
			sent++;
	}
	closedir(d);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&arm_acks, __ATOMIC_ACQUIRE) < sent) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 1000000000L)
			break;
		UT_SYS0(SYS_sched_yield);
	}
	return 0;
}

int usertrap_capture_all(bool on, struct usertrap_error *err)
{
	if (ut_state != 1 || !ut_lazy)
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (!on) {
		__atomic_store_n(&ut_selector, SYSCALL_DISPATCH_FILTER_ALLOW, __ATOMIC_SEQ_CST);
		capture_new_threads = false;
		return ut_ok(err);
	}
	__atomic_store_n(&ut_selector, SYSCALL_DISPATCH_FILTER_BLOCK, __ATOMIC_SEQ_CST);
	capture_new_threads = true;
	unblock_keep_set();
	int r = ut_arm_self(true);
	if (r)
		return ut_fail(err, USERTRAP_ERR_SYS, -r);
	r = arm_others();
	return r ? ut_fail(err, USERTRAP_ERR_SYS, -r) : ut_ok(err);
}

/* ---- new threads come up armed: pthread_create is wrapped ---- */

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *start_armed(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	if (ut_state == 1 && ut_lazy) {
		unblock_keep_set();
		ut_arm_self(true);
	}
	return s.fn(s.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
	static pthread_create_fn real;
	pthread_create_fn f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
		if (!f)
			return EAGAIN;
		__atomic_store_n(&real, f, __ATOMIC_RELEASE);
	}
	if (!__atomic_load_n(&capture_new_threads, __ATOMIC_ACQUIRE))
		return f(t, attr, fn, arg);
	struct start *s = malloc(sizeof *s);
	if (!s)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	int r = f(t, attr, start_armed, s);
	if (r)
		free(s);
	return r;
}
