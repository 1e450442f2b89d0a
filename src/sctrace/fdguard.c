/*
 * The tracer's descriptors (the board, the output) live in the traced program's descriptor table.
 * Programs that close every descriptor they do not know (daemons, subprocess launchers) must not take
 * them away: closing one reports EBADF, as it would in the untraced program, where it is not open.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

#include "sctrace/hook.h"
#include "sctrace/output.h"
#include "sctrace/rawsys.h"

/* close_range(lo, hi, flags) around the tracer's descriptors: the pieces between them. */
static long close_range_around(unsigned lo, unsigned hi, unsigned flags)
{
	long first_error = 0;
	unsigned from = lo;
	for (;;) {
		/* the lowest own descriptor in [from, hi] */
		unsigned own = ~0u;
		for (int i = 0; i < SCT_MAX_OWN_FDS; i++) {
			int v = __atomic_load_n(&sct.own_fds[i], __ATOMIC_RELAXED) - 1;
			if (v >= 0 && (unsigned)v >= from && (unsigned)v <= hi && (unsigned)v < own)
				own = (unsigned)v;
		}
		unsigned to = own == ~0u ? hi : own - 1;
		if (own != from) {
			long r = sct_raw3(SYS_close_range, from, to, flags);
			if (r < 0 && !first_error)
				first_error = r;
		}
		if (own == ~0u || own >= hi)
			return first_error;
		from = own + 1;
	}
}

/* Moves an own descriptor out of the way of dup2/dup3 onto its number. */
static bool move_own(int fd)
{
	long moved = sct_raw3(SYS_fcntl, fd, F_DUPFD, 1000);
	if (moved < 0)
		return false;
	sct_own_fd_replace(fd, (int)moved);
	if (sct.board_fd == fd)
		sct.board_fd = (int)moved;
	if (sct.out_fd == fd)
		sct.out_fd = (int)moved;
	return true;
}

long sct_guarded_syscall(const struct usertrap_call *call)
{
	const long *a = call->args;
	if (call->flags & USERTRAP_CALL_I386)
		return usertrap_syscall(
		    call); /* the numbers below are x86-64's (i386 3 is read, not close) */
	if (sct_faults_owns(call->nr, a))
		return sct_faults_sigaction(a);
	switch (call->nr) {
	case SYS_close:
		if (sct_own_fd((int)a[0]))
			return -9; /* EBADF */
		break;
	case SYS_close_range:
		if ((unsigned)a[0] <= (unsigned)a[1])
			return close_range_around((unsigned)a[0], (unsigned)a[1], (unsigned)a[2]);
		break;
	case SYS_dup2:
	case SYS_dup3:
		if (sct_own_fd((int)a[1]) && a[0] != a[1] && !move_own((int)a[1]))
			return -24; /* EMFILE: no room to move ours away */
		break;
	}
	return usertrap_syscall(call);
}
