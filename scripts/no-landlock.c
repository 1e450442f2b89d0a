/*
 * no-landlock PROGRAM [ARGS...]: runs PROGRAM with landlock_create_ruleset failing with ENOSYS, as on a
 * kernel built without Landlock. For scripts/preload-shares only: xz 5.6 and later sandbox themselves
 * with Landlock, which then denies the preload library's report file (opened at exit) and its
 * /proc/self/mem writes, and xz closes its stderr before exiting, so its counts could not be read.
 * Programs handle ENOSYS as "no sandbox here" (xz does). Exit status 127 if the filter or exec fails.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no-landlock PROGRAM [ARGS...]\n");
		return 127;
	}
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("no-landlock: seccomp");
		return 127;
	}
	execvp(argv[1], argv + 1);
	perror("no-landlock: exec");
	return 127;
}
