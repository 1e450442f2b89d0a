/*
 * Single-stepping a safecopy call (EFLAGS.TF and a SIGTRAP handler) to act at a chosen instruction:
 * make the kernel raise a signal that lands exactly there, or change a mapping there. Steps are counted
 * from the first instruction after stepper_run() turns TF on until it turns TF off again, so a call
 * made the same way takes the same steps every time; stepper_count() measures how many.
 *
 * The kernel clears TF while it runs a signal handler and sigreturn restores it, so handlers (ours and
 * safecopy's) are not stepped, and stepping resumes after them. A rep string instruction takes one step
 * per iteration.
 */
#ifndef SAFECOPY_TESTS_STEPPER_H
#define SAFECOPY_TESTS_STEPPER_H

#include "harness.h"

#include <ucontext.h>

#define STEPPER_TF 0x100

/* What to do at the chosen step; runs in the SIGTRAP handler (SIGSEGV and SIGBUS blocked there). */
typedef void (*stepper_action)(void *uc, void *arg);

struct stepper {
	long steps;   /* steps taken so far in this run */
	long target;  /* the step to act at (-1: none) */
	long target2; /* a second step to act at (-1: none) */
	stepper_action action;
	void *arg;
	uintptr_t pc_at_target; /* where the thread stood when the action ran */
	uintptr_t trigger_pc;   /* if set: act again the first time this PC is reached after target */
};

static struct stepper stepper_state;

static void stepper_trap(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	if (info->si_code != TRAP_TRACE && info->si_code != TRAP_BRKPT && info->si_code != SI_KERNEL)
		return;
	struct stepper *s = &stepper_state;
	greg_t *gregs = ((ucontext_t *)uc)->uc_mcontext.gregs;
	if (s->trigger_pc && s->steps > s->target && (uintptr_t)gregs[REG_RIP] == s->trigger_pc) {
		s->trigger_pc = 0;
		s->target2 = s->steps; /* acts now, and stepping may stop */
	}
	if (s->steps == s->target || s->steps == s->target2) {
		s->pc_at_target = (uintptr_t)gregs[REG_RIP];
		if (s->action)
			s->action(uc, s->arg);
		if (s->steps >= s->target && s->steps >= s->target2 && !s->trigger_pc)
			gregs[REG_EFL] &=
			    ~(greg_t)STEPPER_TF; /* nothing left to do: run the rest at full speed */
	}
	s->steps++;
}

/* Installs the SIGTRAP handler; extra_blocked: more signals to hold back while an action runs. */
static inline void stepper_install(int extra_blocked)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = stepper_trap;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGSEGV);
	sigaddset(&sa.sa_mask, SIGBUS);
	if (extra_blocked)
		sigaddset(&sa.sa_mask, extra_blocked);
	cr_assert_eq(sigaction(SIGTRAP, &sa, NULL), 0);
}

/* TF on and off without touching the red zone (a leaf caller may keep locals there). */
static inline __attribute__((always_inline)) void stepper_tf_on(void)
{
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
	                 "lea 128(%%rsp), %%rsp" ::
	                     : "memory", "cc");
}

static inline __attribute__((always_inline)) void stepper_tf_off(void)
{
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq\n\t"
	                 "lea 128(%%rsp), %%rsp" ::
	                     : "memory", "cc");
}

static inline void stepper_arm(long target, stepper_action action, void *arg)
{
	stepper_state.steps = 0;
	stepper_state.target = target;
	stepper_state.target2 = -1;
	stepper_state.action = action;
	stepper_state.arg = arg;
	stepper_state.pc_at_target = 0;
	stepper_state.trigger_pc = 0;
}

/*
 * STEPPED(expr): evaluates expr (a safecopy call) single-stepped, acting at the armed step. A macro so
 * that TF goes on and off in the caller's own frame, around nothing but the call.
 */
#define STEPPED(expr)                                      \
	({                                                 \
		stepper_tf_on();                           \
		__typeof__(expr) stepped_result_ = (expr); \
		stepper_tf_off();                          \
		stepped_result_;                           \
	})

#endif
