/*
 * SIGILL: the restart_syscall special case, and SIGILLs that are not usertrap's being passed on.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

#include "usertrap/util.h"

static long pass(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

static void init(void)
{
	struct usertrap_config cfg = {.hook = pass};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
}

static unsigned char *sleep_sites;
static long sleep_result = 1;
static pthread_t sleeper;

static volatile int sleeper_started;

static void *sleep_thread(void *p)
{
	(void)p;
	struct timespec ts = {0, 300 * 1000 * 1000};
	sleeper_started = 1;
	sleep_result = fn_at(sleep_sites, 0)((long)&ts, 0, 0, 0);
	return NULL;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Between the first and second write: stop the whole process while the sleeper is inside nanosleep;
 * a child (forked before) continues it. The kernel resumes the sleeper at the syscall instruction with
 * RAX = restart_syscall, where it now meets the guard byte. */
static void stop_and_continue(uintptr_t site, int step, void *arg)
{
	(void)site;
	(void)arg;
	if (step != 1)
		return;
	raise(SIGSTOP);
	pthread_join(sleeper, NULL); /* with the guard byte still in place */
}

Test(restart, restart_syscall_meets_guard_byte, .timeout = 20)
{
	init();
	sleep_sites = make_sites(1, SYS_nanosleep, false);
	double t0 = now();
	cr_assert_eq(pthread_create(&sleeper, NULL, sleep_thread, NULL), 0);
	while (!sleeper_started)
		sched_yield();
	struct timespec ts = {0, 50 * 1000 * 1000}; /* it is inside nanosleep by then */
	nanosleep(&ts, NULL);
	pid_t parent = getpid();
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct timespec d = {0, 150 * 1000 * 1000};
		nanosleep(&d, NULL);
		kill(parent, SIGCONT);
		_exit(0);
	}
	ut_test_step_hook = stop_and_continue;
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(site_at(sleep_sites, 0), SYS_nanosleep, &err), 0, "%s",
	             usertrap_status_name(err.status));
	double t = now() - t0;
	int st;
	waitpid(child, &st, 0);
	cr_assert_eq(sleep_result, 0, "nanosleep finished, not interrupted: %ld", sleep_result);
	cr_assert_geq(t, 0.29, "slept the whole time (%.3f s)", t);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.restart_syscalls, 1);
	cr_assert_eq(c.sigill_restarts, 1);
}

static volatile int foreign_sigills;

static void app_sigill(int sig, siginfo_t *info, void *ucv)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = ucv;
	foreign_sigills++;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip the ud2 */
}

Test(restart, foreign_sigill_reaches_previous_handler)
{
	struct sigaction sa = {.sa_sigaction = app_sigill, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGILL, &sa, NULL), 0);
	init();
	__asm__ volatile("ud2");
	cr_assert_eq(foreign_sigills, 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sigill_restarts, 0);
}

Test(restart, foreign_sigill_with_default_action_kills, .signal = SIGILL)
{
	init();
	__asm__ volatile("ud2");
}

Test(restart, foreign_sigsegv_still_kills, .signal = SIGSEGV)
{
	init();
	/* The address hidden from the optimiser, which rejects a constant wild store. */
	volatile int *wild = (volatile int *)16;
	__asm__ volatile("" : "+r"(wild));
	*wild = 1;
}

Test(restart, safecopy_still_works_under_usertrap)
{
	init();
	unsigned char *m = make_sites(1, NR_FAKE, false);
	munmap(m, 4096);
	struct safecopy_fault f;
	char buf[8];
	cr_assert_eq(safecopy_memcpy(buf, m, 8, &f), 0);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
	cr_assert_eq(f.addr, m);
}
