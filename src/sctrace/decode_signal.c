/* Decoders of the signal family: masks, actions, alternate stacks, interval timers. */
#include <signal.h>
#include <sys/time.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#define SCT_NSIG_BYTES 8 /* the kernel's sigset on x86-64: 64 signals */

SCT_XLAT(sigact_flags, SCT_X(SA_RESTORER), SCT_X(SA_ONSTACK), SCT_X(SA_RESTART), {0x20000000, "SA_INTERRUPT"},
         SCT_X(SA_NODEFER), SCT_X(SA_RESETHAND), SCT_X(SA_SIGINFO), SCT_X(SA_NOCLDSTOP), SCT_X(SA_NOCLDWAIT));
SCT_XLAT(sigprocmask_how, SCT_X(SIG_BLOCK), SCT_X(SIG_UNBLOCK), SCT_X(SIG_SETMASK));
SCT_XLAT(ss_flags, SCT_X(SS_ONSTACK), SCT_X(SS_DISABLE), {1U << 31, "SS_AUTODISARM"});
SCT_XLAT(itimer_which, SCT_X(ITIMER_REAL), SCT_X(ITIMER_VIRTUAL), SCT_X(ITIMER_PROF));

/* [INT TERM], or ~[...] listing the signals not in the mask when two thirds or more are in it */
void sct_print_sigmask(struct sct_line *l, const uint64_t *mask, unsigned long bytes)
{
	uint64_t m = 0;
	unsigned bits = (unsigned)(bytes < 8 ? bytes : 8) * 8;
	for (unsigned long k = 0; k < bytes && k < 8; k++)
		m |= (mask[0] & (0xffULL << (8 * k)));
	unsigned words = (bits + 31) / 32;
	if ((unsigned)__builtin_popcountll(m) >= words * 32 * 2 / 3) {
		sct_putc(l, '~');
		m = ~m;
		if (bits < 64)
			m &= (1ULL << bits) - 1;
	}
	sct_putc(l, '[');
	bool first = true;
	for (unsigned s = 1; s <= bits; s++) {
		if (!((m >> (s - 1)) & 1))
			continue;
		if (!first)
			sct_putc(l, ' ');
		first = false;
		char buf[16];
		const char *a = sct_signal_abbrev(s, buf);
		if (a)
			sct_puts(l, a);
		else
			sct_udec(l, s);
	}
	sct_putc(l, ']');
}

void sct_print_sigset_at(struct sct_call *c, uintptr_t addr, unsigned long size)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	if (size < 1 || size > SCT_NSIG_BYTES) {
		sct_hex(c->l, addr);
		return;
	}
	uint64_t mask = 0;
	if (!sct_peek(&mask, addr, size)) {
		sct_hex(c->l, addr);
		return;
	}
	sct_print_sigmask(c->l, &mask, size);
}

void sct_p_sigset_in(struct sct_call *c, int i, const void *aux)
{
	sct_print_sigset_at(c, sct_addr(c, i), (unsigned long)c->a[(intptr_t)aux]);
}

void sct_p_sigset_out(struct sct_call *c, int i, const void *aux)
{
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		sct_print_sigset_at(c, sct_addr(c, i), (unsigned long)c->a[(intptr_t)aux]);
}

/* rt_sigsuspend(mask, size), rt_sigpending: the size is the next argument */
void sct_p_sigset_size_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_sigset_at(c, sct_addr(c, i), (unsigned long)c->a[i + 1]);
}

struct kernel_sigaction {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	uint64_t mask;
};

static void print_sigaction(struct sct_call *c, uintptr_t addr)
{
	struct kernel_sigaction sa;
	if (!sct_fetch(c, addr, &sa, sizeof sa))
		return;
	sct_puts(c->l, "{sa_handler=");
	if (sa.handler == (unsigned long)SIG_DFL)
		sct_puts(c->l, "SIG_DFL");
	else if (sa.handler == (unsigned long)SIG_IGN)
		sct_puts(c->l, "SIG_IGN");
	else
		sct_ptr(c->l, sa.handler);
	sct_puts(c->l, ", sa_mask=");
	sct_print_sigmask(c->l, &sa.mask, SCT_NSIG_BYTES);
	sct_puts(c->l, ", sa_flags=");
	sct_print_flags(c->l, &sigact_flags, sa.flags, "SA_???");
	if (sa.flags & SA_RESTORER) {
		sct_puts(c->l, ", sa_restorer=");
		sct_ptr(c->l, sa.restorer);
	}
	sct_putc(c->l, '}');
}

void sct_dec_rt_sigaction(struct sct_call *c)
{
	if (!c->exiting) {
		sct_print_signal(c->l, (int)c->a[0]);
		sct_puts(c->l, ", ");
		print_sigaction(c, sct_addr(c, 1));
		sct_puts(c->l, ", ");
		return;
	}
	if (!sct_print_if_failed(c, sct_addr(c, 2)))
		print_sigaction(c, sct_addr(c, 2));
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[3]);
}

void sct_dec_rt_sigprocmask(struct sct_call *c)
{
	if (!c->exiting) {
		sct_print_xval(c->l, &sigprocmask_how, (unsigned)c->a[0], "SIG_???");
		sct_puts(c->l, ", ");
		sct_print_sigset_at(c, sct_addr(c, 1), (unsigned long)c->a[3]);
		sct_puts(c->l, ", ");
		return;
	}
	if (!sct_print_if_failed(c, sct_addr(c, 2)))
		sct_print_sigset_at(c, sct_addr(c, 2), (unsigned long)c->a[3]);
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[3]);
}

static void print_stack(struct sct_call *c, uintptr_t addr)
{
	stack_t ss;
	if (!sct_fetch(c, addr, &ss, sizeof ss))
		return;
	sct_puts(c->l, "{ss_sp=");
	sct_ptr(c->l, (uintptr_t)ss.ss_sp);
	sct_puts(c->l, ", ss_flags=");
	sct_print_flags(c->l, &ss_flags, (unsigned)ss.ss_flags, "SS_???");
	sct_puts(c->l, ", ss_size=");
	sct_udec(c->l, ss.ss_size);
	sct_putc(c->l, '}');
}

void sct_p_stack_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	print_stack(c, sct_addr(c, i));
}

void sct_p_stack_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		print_stack(c, sct_addr(c, i));
}

void sct_p_itimer_which(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval(c->l, &itimer_which, (unsigned)c->a[i], "ITIMER_???");
}

static void print_itimerval(struct sct_call *c, uintptr_t addr)
{
	struct itimerval v;
	if (!sct_fetch(c, addr, &v, sizeof v))
		return;
	sct_puts(c->l, "{it_interval={tv_sec=");
	sct_dec(c->l, v.it_interval.tv_sec);
	sct_puts(c->l, ", tv_usec=");
	sct_dec(c->l, v.it_interval.tv_usec);
	sct_puts(c->l, "}, it_value={tv_sec=");
	sct_dec(c->l, v.it_value.tv_sec);
	sct_puts(c->l, ", tv_usec=");
	sct_dec(c->l, v.it_value.tv_usec);
	sct_puts(c->l, "}}");
}

void sct_p_itimerval_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	print_itimerval(c, sct_addr(c, i));
}

void sct_p_itimerval_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		print_itimerval(c, sct_addr(c, i));
}
