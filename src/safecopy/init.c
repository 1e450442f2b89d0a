/*
 * Installing the handler, once, from whichever thread gets there first. Other threads wait for the
 * winner; so a signal handler that interrupts the installing thread and calls safecopy would wait
 * forever, which is why the header asks for safecopy_init() before safecopy is used in handlers.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "safecopy.h"
#include "safecopy/chain.h"
#include "safecopy/fast_exit.h"
#include "safecopy/handler.h"

enum { INIT_IDLE, INIT_RUNNING, INIT_DONE };

int64_t sc_gate = -SC_GATE_NEW;
static int init_state = INIT_IDLE;

static bool is_ours(const struct sigaction *act)
{
	return (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == sc_signal_handler;
}

/* Installs safecopy's action for sig; *previous receives the action it replaced. */
static int install(int sig, struct sigaction *previous)
{
	struct sigaction ours = {
	    .sa_sigaction = sc_signal_handler,
	    .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART,
	};
	sigemptyset(&ours.sa_mask);
	/* Remember the old action before ours is visible: a foreign fault in another thread may come at once.
	 */
	if (sigaction(sig, NULL, previous) != 0)
		return -errno;
	if (is_ours(previous))
		return 0; /* never remember ourselves as the previous action: foreign faults would loop */
	sc_chain_remember(sig, previous);
	if (sigaction(sig, &ours, NULL) != 0)
		return -errno;
	return 0;
}

/* Both signals or neither: on failure the SIGSEGV action is put back as it was. */
static int install_both(void)
{
	struct sigaction previous_segv, previous_bus;
	int err = install(SIGSEGV, &previous_segv);
	if (err)
		return err;
	err = install(SIGBUS, &previous_bus);
	if (err && !is_ours(&previous_segv))
		sigaction(SIGSEGV, &previous_segv, NULL);
	return err;
}

int safecopy_init(void)
{
	int expected = INIT_IDLE;
	if (!__atomic_compare_exchange_n(&init_state, &expected, INIT_RUNNING, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_RUNNING)
			sched_yield();
		if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE)
			return 0;
		return safecopy_init(); /* the other attempt failed: try again */
	}
	/* Also done at load time, but a static program's constructors may call safecopy before that. */
	sc_routine_table_init();
	int err = install_both();
	if (err) {
		__atomic_store_n(&init_state, INIT_IDLE, __ATOMIC_RELEASE);
		return err;
	}
	sc_fast_exit_init();
	sc_gate_clear_new();
	__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A child forked while another thread was installing has no such thread: without this it would wait
 * for it forever. Its handlers may be half installed; a new attempt completes them (install() skips a
 * signal whose action is already ours). This is how glibc keeps pthread_once usable after fork.
 */
static void forget_unfinished_init(void)
{
	if (__atomic_load_n(&init_state, __ATOMIC_RELAXED) == INIT_RUNNING)
		__atomic_store_n(&init_state, INIT_IDLE, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, forget_unfinished_init);
}

void sc_init_slow(void)
{
	(void)safecopy_init();
}
