/* Decoders of the process family: wait, limits, identity (clone and exec, prctl: files of their own). */
#include <sched.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"

SCT_XLAT(wait_options, SCT_X(WNOHANG), SCT_X(WUNTRACED), SCT_X(WEXITED), SCT_X(WCONTINUED), SCT_X(WNOWAIT),
         {0x40000000, "__WNOTHREAD"}, {0x80000000, "__WCLONE"}, {0x40000000, "__WALL"});
SCT_XLAT(resources, SCT_X(RLIMIT_CPU), SCT_X(RLIMIT_FSIZE), SCT_X(RLIMIT_DATA), SCT_X(RLIMIT_STACK),
         SCT_X(RLIMIT_CORE), SCT_X(RLIMIT_RSS), SCT_X(RLIMIT_NPROC), SCT_X(RLIMIT_NOFILE),
         SCT_X(RLIMIT_MEMLOCK), SCT_X(RLIMIT_AS), SCT_X(RLIMIT_LOCKS), SCT_X(RLIMIT_SIGPENDING),
         SCT_X(RLIMIT_MSGQUEUE), SCT_X(RLIMIT_NICE), SCT_X(RLIMIT_RTPRIO), SCT_X(RLIMIT_RTTIME));
SCT_XLAT(rusage_who, {0, "RUSAGE_SELF"}, {(uint64_t)-1, "RUSAGE_CHILDREN"}, {1, "RUSAGE_THREAD"});
SCT_XLAT(idtypes, SCT_X(P_ALL), SCT_X(P_PID), SCT_X(P_PGID), {3, "P_PIDFD"});
SCT_XLAT(sched_policies, SCT_X(SCHED_OTHER), SCT_X(SCHED_FIFO), SCT_X(SCHED_RR), SCT_X(SCHED_BATCH),
         SCT_X(SCHED_IDLE), {6, "SCHED_DEADLINE"});

/* ---- wait ---- */

static void print_wait_status(struct sct_line *l, int status)
{
	sct_puts(l, "[{");
	if (WIFSTOPPED(status)) {
		sct_puts(l, "WIFSTOPPED(s) && WSTOPSIG(s) == ");
		sct_print_signal(l, WSTOPSIG(status) & 0x7f);
		if (WSTOPSIG(status) & 0x80)
			sct_puts(l, " | 0x80");
	} else if (WIFSIGNALED(status)) {
		sct_puts(l, "WIFSIGNALED(s) && WTERMSIG(s) == ");
		sct_print_signal(l, WTERMSIG(status));
		if (WCOREDUMP(status))
			sct_puts(l, " && WCOREDUMP(s)");
	} else if (WIFEXITED(status)) {
		sct_puts(l, "WIFEXITED(s) && WEXITSTATUS(s) == ");
		sct_dec(l, WEXITSTATUS(status));
	} else if (WIFCONTINUED(status)) {
		sct_puts(l, "WIFCONTINUED(s)");
	} else {
		l->len -= 1; /* no braces around a raw value */
		sct_hex(l, (unsigned)status);
		sct_putc(l, ']');
		return;
	}
	sct_puts(l, "}]");
}

void sct_p_wait_status_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (c->ret == 0 || sct_print_if_failed(c, a)) {
		if (c->ret == 0)
			sct_ptr(c->l, a);
		return;
	}
	int status;
	if (sct_fetch(c, a, &status, sizeof status))
		print_wait_status(c->l, status);
}

void sct_p_wait_options(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &wait_options, (unsigned)c->a[i], "W???");
}

static void print_timeval_field(struct sct_line *l, const char *name, const struct timeval *tv)
{
	sct_puts(l, name);
	sct_puts(l, "={tv_sec=");
	sct_dec(l, tv->tv_sec);
	sct_puts(l, ", tv_usec=");
	sct_dec(l, tv->tv_usec);
	sct_putc(l, '}');
}

void sct_p_rusage_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (c->nr != SYS_getrusage && c->ret <= 0) { /* wait4: only a reaped child fills it */
		sct_ptr(c->l, a);
		return;
	}
	if (sct_print_if_failed(c, a))
		return;
	struct rusage ru;
	if (!sct_fetch(c, a, &ru, sizeof ru))
		return;
	sct_putc(c->l, '{');
	print_timeval_field(c->l, "ru_utime", &ru.ru_utime);
	sct_puts(c->l, ", ");
	print_timeval_field(c->l, "ru_stime", &ru.ru_stime);
	sct_puts(c->l, ", ...}");
}

void sct_p_rusage_who(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval_d(c->l, &rusage_who, (int)c->a[i], "RUSAGE_???");
}

/* waitid(idtype, id, infop, options, rusage) */
void sct_dec_waitid(struct sct_call *c)
{
	if (!c->exiting) {
		sct_print_xval_d(c->l, &idtypes, (int)c->a[0], "P_???");
		sct_puts(c->l, ", ");
		sct_dec(c->l, (int)c->a[1]);
		sct_puts(c->l, ", ");
		return;
	}
	uintptr_t a = sct_addr(c, 2);
	siginfo_t si;
	if (!sct_print_if_failed(c, a) && sct_fetch(c, a, &si, sizeof si)) {
		if (si.si_signo == 0) {
			sct_puts(c->l, "{}");
		} else {
			sct_puts(c->l, "{si_signo=");
			sct_print_signal(c->l, si.si_signo);
			sct_puts(c->l, ", si_code=");
			static const char *const codes[] = {"",
			                                    "CLD_EXITED",
			                                    "CLD_KILLED",
			                                    "CLD_DUMPED",
			                                    "CLD_TRAPPED",
			                                    "CLD_STOPPED",
			                                    "CLD_CONTINUED"};
			if (si.si_code > 0 && si.si_code <= 6)
				sct_puts(c->l, codes[si.si_code]);
			else
				sct_dec(c->l, si.si_code);
			sct_puts(c->l, ", si_pid=");
			sct_dec(c->l, si.si_pid);
			sct_puts(c->l, ", si_uid=");
			sct_udec(c->l, si.si_uid);
			sct_puts(c->l, ", si_status=");
			if (si.si_code == CLD_EXITED)
				sct_dec(c->l, si.si_status);
			else
				sct_print_signal(c->l, si.si_status);
			sct_puts(c->l, ", si_utime=");
			sct_dec(c->l, (long)si.si_utime);
			sct_puts(c->l, ", si_stime=");
			sct_dec(c->l, (long)si.si_stime);
			sct_putc(c->l, '}');
		}
	}
	sct_puts(c->l, ", ");
	sct_print_flags(c->l, &wait_options, (unsigned)c->a[3], "W???");
	sct_puts(c->l, ", ");
	sct_ptr(c->l, sct_addr(c, 4));
}

/* ---- limits ---- */

static void print_rlim(struct sct_line *l, uint64_t v)
{
	if (v == UINT64_MAX) {
		sct_puts(l, "RLIM64_INFINITY");
	} else if (v > 1024 && v % 1024 == 0) {
		sct_udec(l, v / 1024);
		sct_puts(l, "*1024");
	} else {
		sct_udec(l, v);
	}
}

static void print_rlimit_at(struct sct_call *c, uintptr_t a)
{
	uint64_t r[2];
	if (!sct_fetch(c, a, r, sizeof r))
		return;
	sct_puts(c->l, "{rlim_cur=");
	print_rlim(c->l, r[0]);
	sct_puts(c->l, ", rlim_max=");
	print_rlim(c->l, r[1]);
	sct_putc(c->l, '}');
}

void sct_p_rlimit_res(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval(c->l, &resources, (unsigned)c->a[i], "RLIMIT_???");
}

void sct_p_rlimit_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	print_rlimit_at(c, sct_addr(c, i));
}

void sct_p_rlimit_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		print_rlimit_at(c, sct_addr(c, i));
}

/* prlimit64(pid, resource, new, old) */
void sct_dec_prlimit64(struct sct_call *c)
{
	if (!c->exiting) {
		sct_dec(c->l, (int)c->a[0]);
		sct_puts(c->l, ", ");
		sct_p_rlimit_res(c, 1, NULL);
		sct_puts(c->l, ", ");
		print_rlimit_at(c, sct_addr(c, 2));
		sct_puts(c->l, ", ");
		return;
	}
	sct_p_rlimit_out(c, 3, NULL);
}

/* ---- identity, system ---- */

static void print_cstring_field(struct sct_call *c, const char *name, const char *s, size_t n)
{
	sct_puts(c->l, name);
	sct_putc(c->l, '=');
	sct_quote(c->l, (const unsigned char *)s, n, SCT_QUOTE_NUL_ENDS);
}

void sct_p_uname_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	struct utsname u;
	if (!sct_fetch(c, a, &u, sizeof u))
		return;
	sct_putc(c->l, '{');
	print_cstring_field(c, "sysname", u.sysname, sizeof u.sysname);
	sct_puts(c->l, ", ");
	print_cstring_field(c, "nodename", u.nodename, sizeof u.nodename);
	sct_puts(c->l, ", ...}");
}

void sct_p_tms_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	struct tms t;
	if (!sct_fetch(c, a, &t, sizeof t))
		return;
	sct_puts(c->l, "{tms_utime=");
	sct_dec(c->l, (long)t.tms_utime);
	sct_puts(c->l, ", tms_stime=");
	sct_dec(c->l, (long)t.tms_stime);
	sct_puts(c->l, ", tms_cutime=");
	sct_dec(c->l, (long)t.tms_cutime);
	sct_puts(c->l, ", tms_cstime=");
	sct_dec(c->l, (long)t.tms_cstime);
	sct_putc(c->l, '}');
}

/* getgroups' list: [0, 27]; only the result's count of entries is meaningful */
void sct_p_uid_array_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	if ((int)c->a[0] == 0) { /* size 0: the kernel only counts */
		sct_ptr(c->l, a);
		return;
	}
	sct_putc(c->l, '[');
	for (long k = 0; k < c->ret; k++) {
		unsigned g;
		if (k)
			sct_puts(c->l, ", ");
		if (k >= (long)c->o->max_strlen) {
			sct_puts(c->l, "...");
			break;
		}
		if (!sct_peek(&g, a + (uintptr_t)k * sizeof g, sizeof g)) {
			sct_hex(c->l, a + (uintptr_t)k * sizeof g);
			break;
		}
		sct_udec(c->l, g);
	}
	sct_putc(c->l, ']');
}

/* An int the call writes: [N] */
void sct_p_int_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		sct_print_int_in_brackets(c, sct_addr(c, i));
}

/* sched_getaffinity's set: [0 1] */
void sct_p_cpuset_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a) || !a) {
		if (!a)
			sct_puts(c->l, "NULL");
		return;
	}
	unsigned long len = (unsigned long)c->ret;
	unsigned char bits[1024];
	if (len > sizeof bits)
		len = sizeof bits;
	if (!sct_fetch(c, a, bits, len))
		return;
	sct_putc(c->l, '[');
	bool first = true;
	for (unsigned long b = 0; b < len * 8; b++) {
		if (!((bits[b / 8] >> (b % 8)) & 1))
			continue;
		if (!first)
			sct_putc(c->l, ' ');
		first = false;
		sct_udec(c->l, b);
	}
	sct_putc(c->l, ']');
}

void sct_p_sched_policy(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval(c->l, &sched_policies, (unsigned)c->a[i], "SCHED_???");
}
