/* Decoders of time: timespec, timeval, clocks, sleeps, timers, futex. */
#include <linux/futex.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"

SCT_XLAT(clocks, SCT_X(CLOCK_REALTIME), SCT_X(CLOCK_MONOTONIC), SCT_X(CLOCK_PROCESS_CPUTIME_ID),
         SCT_X(CLOCK_THREAD_CPUTIME_ID), SCT_X(CLOCK_MONOTONIC_RAW), SCT_X(CLOCK_REALTIME_COARSE),
         SCT_X(CLOCK_MONOTONIC_COARSE), SCT_X(CLOCK_BOOTTIME), SCT_X(CLOCK_REALTIME_ALARM),
         SCT_X(CLOCK_BOOTTIME_ALARM), SCT_X(CLOCK_TAI));
SCT_XLAT(timer_flags, SCT_X(TIMER_ABSTIME));
SCT_XLAT(futex_ops, SCT_X(FUTEX_WAIT), SCT_X(FUTEX_WAKE), SCT_X(FUTEX_FD), SCT_X(FUTEX_REQUEUE),
         SCT_X(FUTEX_CMP_REQUEUE), SCT_X(FUTEX_WAKE_OP), SCT_X(FUTEX_LOCK_PI), SCT_X(FUTEX_UNLOCK_PI),
         SCT_X(FUTEX_TRYLOCK_PI), SCT_X(FUTEX_WAIT_BITSET), SCT_X(FUTEX_WAKE_BITSET),
         SCT_X(FUTEX_WAIT_REQUEUE_PI), SCT_X(FUTEX_CMP_REQUEUE_PI), {13, "FUTEX_LOCK_PI2"});

static void print_ts(struct sct_line *l, long long sec, long long nsec, const char *frac)
{
	sct_puts(l, "{tv_sec=");
	sct_dec(l, sec);
	sct_puts(l, ", ");
	sct_puts(l, frac);
	sct_putc(l, '=');
	sct_dec(l, nsec);
	sct_putc(l, '}');
}

void sct_print_timespec_at(struct sct_call *c, uintptr_t addr)
{
	struct timespec ts;
	if (sct_fetch(c, addr, &ts, sizeof ts))
		print_ts(c->l, ts.tv_sec, ts.tv_nsec, "tv_nsec");
}

void sct_print_timeval_at(struct sct_call *c, uintptr_t addr)
{
	struct timeval tv;
	if (sct_fetch(c, addr, &tv, sizeof tv))
		print_ts(c->l, tv.tv_sec, tv.tv_usec, "tv_usec");
}

void sct_p_timespec_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_timespec_at(c, sct_addr(c, i));
}

void sct_p_timespec_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		sct_print_timespec_at(c, sct_addr(c, i));
}

void sct_p_timeval_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		sct_print_timeval_at(c, sct_addr(c, i));
}

void sct_p_clockid(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval(c->l, &clocks, (unsigned)c->a[i], "CLOCK_???");
}

void sct_p_timer_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &timer_flags, (unsigned)c->a[i], "TIMER_???");
}

/* nanosleep's and clock_nanosleep's remaining time: written only when a signal cut the sleep short */
void sct_p_rem_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (!a || !sct_failed(c->ret) || c->ret != -4 /* EINTR */) {
		sct_ptr(c->l, a);
		return;
	}
	sct_print_timespec_at(c, a);
}

static void print_itimerspec(struct sct_call *c, uintptr_t addr)
{
	struct itimerspec v;
	if (!sct_fetch(c, addr, &v, sizeof v))
		return;
	sct_puts(c->l, "{it_interval=");
	print_ts(c->l, v.it_interval.tv_sec, v.it_interval.tv_nsec, "tv_nsec");
	sct_puts(c->l, ", it_value=");
	print_ts(c->l, v.it_value.tv_sec, v.it_value.tv_nsec, "tv_nsec");
	sct_putc(c->l, '}');
}

void sct_p_itimerspec_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	print_itimerspec(c, sct_addr(c, i));
}

void sct_p_itimerspec_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		print_itimerspec(c, sct_addr(c, i));
}

/* futex(uaddr, op, val, timeout, uaddr2, val3): which arguments follow depends on the operation */
void sct_dec_futex(struct sct_call *c)
{
	if (c->exiting)
		return;
	unsigned op = (unsigned)c->a[1];
	unsigned cmd = op & FUTEX_CMD_MASK;
	sct_ptr(c->l, sct_addr(c, 0));
	sct_puts(c->l, ", ");
	const char *name = sct_xlat_name(&futex_ops, cmd);
	if (name) {
		sct_puts(c->l, name);
		if (op & FUTEX_PRIVATE_FLAG)
			sct_puts(c->l, "_PRIVATE");
		if (op & FUTEX_CLOCK_REALTIME)
			sct_puts(c->l, "|FUTEX_CLOCK_REALTIME");
		unsigned rest = op & ~(unsigned)(FUTEX_CMD_MASK | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
		if (rest) {
			sct_putc(c->l, '|');
			sct_hex(c->l, rest);
		}
	} else {
		sct_hex(c->l, op);
		sct_comment(c->l, "FUTEX_???");
	}
	sct_puts(c->l, ", ");
	switch (cmd) {
	case FUTEX_WAIT:
		sct_udec(c->l, (unsigned)c->a[2]);
		sct_puts(c->l, ", ");
		sct_print_timespec_at(c, sct_addr(c, 3));
		break;
	case FUTEX_WAIT_BITSET:
		sct_udec(c->l, (unsigned)c->a[2]);
		sct_puts(c->l, ", ");
		sct_print_timespec_at(c, sct_addr(c, 3));
		sct_puts(c->l, ", NULL, ");
		if ((unsigned)c->a[5] == FUTEX_BITSET_MATCH_ANY)
			sct_puts(c->l, "FUTEX_BITSET_MATCH_ANY");
		else
			sct_hex(c->l, (unsigned)c->a[5]);
		break;
	case FUTEX_WAKE:
		sct_dec(c->l, (int)c->a[2]);
		break;
	case FUTEX_WAKE_BITSET:
		sct_dec(c->l, (int)c->a[2]);
		sct_puts(c->l, ", NULL, NULL, ");
		if ((unsigned)c->a[5] == FUTEX_BITSET_MATCH_ANY)
			sct_puts(c->l, "FUTEX_BITSET_MATCH_ANY");
		else
			sct_hex(c->l, (unsigned)c->a[5]);
		break;
	case FUTEX_REQUEUE:
		sct_dec(c->l, (int)c->a[2]);
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned long)c->a[3]);
		sct_puts(c->l, ", ");
		sct_ptr(c->l, sct_addr(c, 4));
		break;
	case FUTEX_CMP_REQUEUE:
	case FUTEX_CMP_REQUEUE_PI:
		sct_dec(c->l, (int)c->a[2]);
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned long)c->a[3]);
		sct_puts(c->l, ", ");
		sct_ptr(c->l, sct_addr(c, 4));
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned)c->a[5]);
		break;
	case FUTEX_LOCK_PI:
	case 13:
		sct_print_timespec_at(c, sct_addr(c, 3));
		break;
	case FUTEX_UNLOCK_PI:
	case FUTEX_TRYLOCK_PI:
		c->l->len -= 2; /* no argument follows the operation */
		break;
	default:
		sct_udec(c->l, (unsigned)c->a[2]);
		sct_puts(c->l, ", ");
		sct_hex(c->l, (unsigned long)c->a[3]);
		sct_puts(c->l, ", ");
		sct_ptr(c->l, sct_addr(c, 4));
		sct_puts(c->l, ", ");
		sct_hex(c->l, (unsigned)c->a[5]);
	}
}
