/* Decoders of the calls that make processes and threads or replace their image: clone, clone3, execve. */
#include <linux/sched.h>
#include <sched.h>
#include <stddef.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"

SCT_XLAT(clone_flags, SCT_X(CLONE_VM), SCT_X(CLONE_FS), SCT_X(CLONE_FILES), SCT_X(CLONE_SIGHAND),
         {0x1000, "CLONE_PIDFD"}, SCT_X(CLONE_PTRACE), SCT_X(CLONE_VFORK), SCT_X(CLONE_PARENT),
         SCT_X(CLONE_THREAD), SCT_X(CLONE_NEWNS), SCT_X(CLONE_SYSVSEM), SCT_X(CLONE_SETTLS),
         SCT_X(CLONE_PARENT_SETTID), SCT_X(CLONE_CHILD_CLEARTID), SCT_X(CLONE_UNTRACED),
         SCT_X(CLONE_CHILD_SETTID), SCT_X(CLONE_NEWCGROUP), SCT_X(CLONE_NEWUTS), SCT_X(CLONE_NEWIPC),
         SCT_X(CLONE_NEWUSER), SCT_X(CLONE_NEWPID), SCT_X(CLONE_NEWNET), SCT_X(CLONE_IO),
         {0x100000000ULL, "CLONE_CLEAR_SIGHAND"}, {0x200000000ULL, "CLONE_INTO_CGROUP"});

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
