/*
 * Run plainly and under the preload tool: a program that confines itself with a seccomp filter, as a
 * sandboxed service does, allowing only the calls it makes itself and killing the process on any
 * other. Under the preload it must live and print the same: usertrap makes no system call of its own
 * once the filter is in (no patch, no SIGSYS and so no rt_sigreturn, no report at exit).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int main(void)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    ALLOW(SYS_read),
	    ALLOW(SYS_write),
	    ALLOW(SYS_exit_group),
	    ALLOW(SYS_getppid),
	    ALLOW(SYS_getuid),
	    ALLOW(SYS_newfstatat),
	    ALLOW(SYS_fstat),
	    ALLOW(SYS_brk),
	    ALLOW(SYS_getrandom),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
	long ppid = (long)getppid();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 1;
	/* syscall(): a site this process has not reached before */
	printf("ppid %s, uid %s\n", syscall(SYS_getppid) == ppid ? "same" : "differs",
	       syscall(SYS_getuid) == (long)getuid() ? "same" : "differs");
	return 0;
}
