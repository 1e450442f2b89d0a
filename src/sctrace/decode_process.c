/* Decoders of the process family: clone, exec, wait, limits, identity, prctl. */
#include <asm/prctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"

SCT_XLAT(clone_flags, SCT_X(CLONE_VM), SCT_X(CLONE_FS), SCT_X(CLONE_FILES), SCT_X(CLONE_SIGHAND),
         {0x1000, "CLONE_PIDFD"}, SCT_X(CLONE_PTRACE), SCT_X(CLONE_VFORK), SCT_X(CLONE_PARENT),
         SCT_X(CLONE_THREAD), SCT_X(CLONE_NEWNS), SCT_X(CLONE_SYSVSEM), SCT_X(CLONE_SETTLS),
         SCT_X(CLONE_PARENT_SETTID), SCT_X(CLONE_CHILD_CLEARTID), SCT_X(CLONE_UNTRACED),
         SCT_X(CLONE_CHILD_SETTID), SCT_X(CLONE_NEWCGROUP), SCT_X(CLONE_NEWUTS), SCT_X(CLONE_NEWIPC),
         SCT_X(CLONE_NEWUSER), SCT_X(CLONE_NEWPID), SCT_X(CLONE_NEWNET), SCT_X(CLONE_IO),
         {0x100000000ULL, "CLONE_CLEAR_SIGHAND"}, {0x200000000ULL, "CLONE_INTO_CGROUP"});
SCT_XLAT(wait_options, SCT_X(WNOHANG), SCT_X(WUNTRACED), SCT_X(WEXITED), SCT_X(WCONTINUED), SCT_X(WNOWAIT),
         {0x40000000, "__WNOTHREAD"}, {0x80000000, "__WCLONE"}, {0x40000000, "__WALL"});
SCT_XLAT(resources, SCT_X(RLIMIT_CPU), SCT_X(RLIMIT_FSIZE), SCT_X(RLIMIT_DATA), SCT_X(RLIMIT_STACK),
         SCT_X(RLIMIT_CORE), SCT_X(RLIMIT_RSS), SCT_X(RLIMIT_NPROC), SCT_X(RLIMIT_NOFILE),
         SCT_X(RLIMIT_MEMLOCK), SCT_X(RLIMIT_AS), SCT_X(RLIMIT_LOCKS), SCT_X(RLIMIT_SIGPENDING),
         SCT_X(RLIMIT_MSGQUEUE), SCT_X(RLIMIT_NICE), SCT_X(RLIMIT_RTPRIO), SCT_X(RLIMIT_RTTIME));
SCT_XLAT(rusage_who, {0, "RUSAGE_SELF"}, {(uint64_t)-1, "RUSAGE_CHILDREN"}, {1, "RUSAGE_THREAD"});
SCT_XLAT(idtypes, SCT_X(P_ALL), SCT_X(P_PID), SCT_X(P_PGID), {3, "P_PIDFD"});
SCT_XLAT(arch_prctl_codes, SCT_X(ARCH_SET_GS), SCT_X(ARCH_SET_FS), SCT_X(ARCH_GET_FS), SCT_X(ARCH_GET_GS),
         {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"}, {0x1021, "ARCH_GET_XCOMP_SUPP"},
         {0x1022, "ARCH_GET_XCOMP_PERM"}, {0x1023, "ARCH_REQ_XCOMP_PERM"});
SCT_XLAT(sched_policies, SCT_X(SCHED_OTHER), SCT_X(SCHED_FIFO), SCT_X(SCHED_RR), SCT_X(SCHED_BATCH),
         SCT_X(SCHED_IDLE), {6, "SCHED_DEADLINE"});
SCT_XLAT(prctl_options, SCT_X(PR_SET_PDEATHSIG), SCT_X(PR_GET_PDEATHSIG), SCT_X(PR_GET_DUMPABLE),
         SCT_X(PR_SET_DUMPABLE), SCT_X(PR_GET_KEEPCAPS), SCT_X(PR_SET_KEEPCAPS), SCT_X(PR_SET_NAME),
         SCT_X(PR_GET_NAME), SCT_X(PR_GET_SECCOMP), SCT_X(PR_SET_SECCOMP), SCT_X(PR_CAPBSET_READ),
         SCT_X(PR_CAPBSET_DROP), SCT_X(PR_GET_TIMERSLACK), SCT_X(PR_SET_TIMERSLACK),
         SCT_X(PR_SET_CHILD_SUBREAPER), SCT_X(PR_GET_CHILD_SUBREAPER), SCT_X(PR_SET_NO_NEW_PRIVS),
         SCT_X(PR_GET_NO_NEW_PRIVS), SCT_X(PR_SET_THP_DISABLE), SCT_X(PR_GET_THP_DISABLE),
         SCT_X(PR_CAP_AMBIENT), SCT_X(PR_GET_SPECULATION_CTRL), SCT_X(PR_SET_SPECULATION_CTRL),
         {59, "PR_SET_SYSCALL_USER_DISPATCH"}, {0x59616d61, "PR_SET_PTRACER"});
SCT_XLAT(dumpable, {0, "SUID_DUMP_DISABLE"}, {1, "SUID_DUMP_USER"}, {2, "SUID_DUMP_ROOT"});

/* ---- clone ---- */

static void print_clone_flags(struct sct_line *l, unsigned long long flags)
{
	unsigned sig = (unsigned)(flags & CSIGNAL);
	flags &= ~(unsigned long long)CSIGNAL;
	if (flags) {
		sct_print_flags(l, &clone_flags, flags, "CLONE_???");
		if (sig) {
			sct_putc(l, '|');
			sct_print_signal(l, sig);
		}
	} else {
		sct_print_signal(l, sig);
	}
}

/* clone(flags, stack, parent_tid, child_tid, tls) on x86-64; strace names each argument. */
void sct_dec_clone(struct sct_call *c)
{
	unsigned long flags = (unsigned long)c->a[0] & ~(unsigned long)CSIGNAL;
	bool exit_part =
	    flags & (CLONE_PARENT_SETTID | 0x1000 | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS);
	if (!c->exiting) {
		sct_puts(c->l, "child_stack=");
		sct_ptr(c->l, sct_addr(c, 1));
		sct_puts(c->l, ", flags=");
		print_clone_flags(c->l, (unsigned long)c->a[0]);
		return;
	}
	if (!exit_part)
		return;
	if (flags & (CLONE_PARENT_SETTID | 0x1000)) {
		sct_puts(c->l, ", parent_tid=");
		sct_print_int_in_brackets(c, sct_addr(c, 2));
	}
	if (flags & CLONE_SETTLS) {
		sct_puts(c->l, ", tls=");
		sct_ptr(c->l, sct_addr(c, 4));
	}
	if (flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) {
		sct_puts(c->l, ", child_tidptr=");
		sct_ptr(c->l, sct_addr(c, 3));
	}
}

/*
 * clone3({...} => {parent_tid=[N]}, size): what the kernel writes is shown at exit, from the pointers
 * saved at entry (the structure itself is often on a stack that is gone by then).
 */
void sct_dec_clone3(struct sct_call *c)
{
	struct clone_args ca = {0};
	unsigned long size = (unsigned long)c->a[1];
	size_t need = offsetof(struct clone_args, tls) + sizeof ca.tls;
	size_t fetch = size < sizeof ca ? size : sizeof ca;
	if (c->exiting) {
		if (c->saved[0]) {
			if (!sct_failed(c->ret)) {
				const char *sep = " => {";
				if (c->saved[0] & 0x1000) {
					sct_puts(c->l, sep);
					sct_puts(c->l, "pidfd=");
					sct_print_int_in_brackets(c, c->saved[2]);
					sep = ", ";
				}
				if (c->saved[0] & CLONE_PARENT_SETTID) {
					sct_puts(c->l, sep);
					sct_puts(c->l, "parent_tid=[");
					sct_dec(c->l, c->ret);
					sct_putc(c->l, ']');
				}
				sct_putc(c->l, '}');
			}
			sct_puts(c->l, ", ");
			sct_udec(c->l, size);
		}
		return;
	}
	c->saved[0] = 0;
	if (fetch < need) {
		sct_ptr(c->l, sct_addr(c, 0));
	} else if (sct_fetch(c, sct_addr(c, 0), &ca, fetch)) {
		sct_puts(c->l, "{flags=");
		sct_print_flags(c->l, &clone_flags, ca.flags, "CLONE_???");
		if (ca.flags & 0x1000) {
			sct_puts(c->l, ", pidfd=");
			sct_ptr(c->l, ca.pidfd);
		}
		if (ca.flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) {
			sct_puts(c->l, ", child_tid=");
			sct_ptr(c->l, ca.child_tid);
		}
		if (ca.flags & CLONE_PARENT_SETTID) {
			sct_puts(c->l, ", parent_tid=");
			sct_ptr(c->l, ca.parent_tid);
		}
		sct_puts(c->l, ", exit_signal=");
		if (ca.exit_signal < 0x7fffffff)
			sct_print_signal(c->l, (long)ca.exit_signal);
		else
			sct_udec(c->l, ca.exit_signal);
		sct_puts(c->l, ", stack=");
		sct_ptr(c->l, ca.stack);
		sct_puts(c->l, ", stack_size=");
		sct_hex(c->l, ca.stack_size);
		if (ca.flags & CLONE_SETTLS) {
			sct_puts(c->l, ", tls=");
			sct_ptr(c->l, ca.tls);
		}
		sct_putc(c->l, '}');
		if (ca.flags & (0x1000 | CLONE_PARENT_SETTID)) {
			/* the rest at exit; the kernel writes the child's id where parent_tid points */
			c->saved[0] = ca.flags & (0x1000 | CLONE_PARENT_SETTID);
			c->saved[1] = ca.parent_tid;
			c->saved[2] = ca.pidfd;
			return;
		}
	}
	sct_puts(c->l, ", ");
	sct_udec(c->l, size);
}

/* ---- exec ---- */

/* argv: ["ls", "-l"], at most -s elements */
static void print_argv(struct sct_call *c, uintptr_t addr)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	for (unsigned n = 0;; n++, addr += sizeof(uintptr_t)) {
		uintptr_t word;
		if (!sct_peek(&word, addr, sizeof word)) {
			if (n == 0) {
				sct_hex(c->l, addr);
				return;
			}
			sct_puts(c->l, ", ... /* ");
			sct_hex(c->l, addr);
			sct_puts(c->l, " */");
			break;
		}
		if (n == 0)
			sct_putc(c->l, '[');
		if (word == 0)
			break;
		if (n)
			sct_puts(c->l, ", ");
		if (n >= c->o->max_strlen) {
			sct_puts(c->l, "...");
			break;
		}
		sct_print_string(c, word);
	}
	sct_putc(c->l, ']');
}

/* envp: its address and how many variables it holds */
static void print_envc(struct sct_call *c, uintptr_t addr)
{
	sct_ptr(c->l, addr);
	if (!addr)
		return;
	unsigned n = 0;
	for (;; n++) {
		uintptr_t word;
		if (!sct_peek(&word, addr + n * sizeof word, sizeof word)) {
			if (n == 0)
				return;
			break;
		}
		if (word == 0)
			break;
	}
	sct_puts(c->l, " /* ");
	sct_udec(c->l, n);
	sct_puts(c->l, n == 1 ? " var */" : " vars */");
}

static void print_exec_args(struct sct_call *c, int i)
{
	sct_print_path(c, sct_addr(c, i));
	sct_puts(c->l, ", ");
	print_argv(c, sct_addr(c, i + 1));
	sct_puts(c->l, ", ");
	print_envc(c, sct_addr(c, i + 2));
}

void sct_dec_execve(struct sct_call *c)
{
	if (!c->exiting)
		print_exec_args(c, 0);
}

void sct_dec_execveat(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_p_dirfd(c, 0, NULL);
	sct_puts(c->l, ", ");
	print_exec_args(c, 1);
	sct_puts(c->l, ", ");
	sct_print_flags(c->l, &sct_xlat_at_flags, (unsigned)c->a[4], "AT_???");
}

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

/* ---- prctl ---- */

/* The remaining arguments of an option strace does not decode further, in hex. */
static void print_prctl_rest(struct sct_call *c, int from)
{
	for (int k = from; k < 5; k++) {
		sct_puts(c->l, ", ");
		sct_hex(c->l, (unsigned long)c->a[k]);
	}
}

void sct_dec_prctl(struct sct_call *c)
{
	unsigned opt = (unsigned)c->a[0];
	if (!c->exiting) {
		sct_print_xval(c->l, &prctl_options, opt, "PR_???");
		switch (opt) {
		case PR_SET_NAME:
			sct_puts(c->l, ", ");
			sct_print_string_n(c, sct_addr(c, 1), 15); /* TASK_COMM_LEN - 1 */
			return;
		case PR_GET_NAME:
		case PR_GET_PDEATHSIG:
			sct_puts(c->l, ", ");
			return;
		case PR_SET_PDEATHSIG:
			sct_puts(c->l, ", ");
			if ((unsigned long)c->a[1] > 128)
				sct_udec(c->l, (unsigned long)c->a[1]);
			else
				sct_print_signal(c->l, c->a[1]);
			return;
		case PR_SET_DUMPABLE:
			sct_puts(c->l, ", ");
			sct_print_xval(c->l, &dumpable, (unsigned long)c->a[1], "SUID_DUMP_???");
			return;
		case PR_SET_NO_NEW_PRIVS:
		case PR_SET_THP_DISABLE:
		case PR_SET_CHILD_SUBREAPER:
		case PR_SET_KEEPCAPS:
			sct_puts(c->l, ", ");
			sct_udec(c->l, (unsigned long)c->a[1]);
			if (opt != PR_SET_CHILD_SUBREAPER && opt != PR_SET_KEEPCAPS)
				print_prctl_rest(c, 2);
			return;
		case PR_GET_DUMPABLE:
		case PR_GET_NO_NEW_PRIVS:
		case PR_GET_KEEPCAPS:
		case PR_GET_THP_DISABLE:
		case PR_GET_TIMERSLACK:
		case PR_GET_SECCOMP:
			return;
		case PR_GET_CHILD_SUBREAPER:
			sct_puts(c->l, ", ");
			return;
		default:
			print_prctl_rest(c, 1);
			return;
		}
	}
	switch (opt) {
	case PR_GET_NAME:
		if (sct_print_if_failed(c, sct_addr(c, 1)))
			return;
		{
			char name[16];
			if (sct_fetch(c, sct_addr(c, 1), name, sizeof name))
				sct_quote(c->l, (const unsigned char *)name, sizeof name, SCT_QUOTE_NUL_ENDS);
		}
		return;
	case PR_GET_PDEATHSIG:
		if (!sct_print_if_failed(c, sct_addr(c, 1))) {
			int sig;
			if (sct_fetch(c, sct_addr(c, 1), &sig, sizeof sig)) {
				sct_putc(c->l, '[');
				sct_print_signal(c->l, sig);
				sct_putc(c->l, ']');
			}
		}
		return;
	case PR_GET_CHILD_SUBREAPER:
		sct_p_int_out(c, 1, NULL);
		return;
	case PR_GET_DUMPABLE:
		if (!sct_failed(c->ret)) {
			const char *n = sct_xlat_name(&dumpable, (unsigned long)c->ret);
			if (n) {
				struct sct_line l;
				sct_aux_begin(c, &l);
				sct_puts(&l, n);
				sct_aux_end(c, &l);
			}
		}
		return;
	}
}

void sct_dec_arch_prctl(struct sct_call *c)
{
	unsigned code = (unsigned)c->a[0];
	bool get = code == ARCH_GET_FS || code == ARCH_GET_GS;
	if (!c->exiting) {
		sct_print_xval(c->l, &arch_prctl_codes, code, "ARCH_???");
		sct_puts(c->l, ", ");
		if (!get)
			sct_hex(c->l, (unsigned long)c->a[1]);
		return;
	}
	if (get) {
		uintptr_t a = sct_addr(c, 1);
		unsigned long v;
		if (!sct_print_if_failed(c, a) && sct_fetch(c, a, &v, sizeof v)) {
			sct_putc(c->l, '[');
			sct_hex(c->l, v);
			sct_putc(c->l, ']');
		}
	}
}
