/*
 * The call table: for each system call strace decodes in a way worth matching, how its arguments
 * print and which of them print at exit. Calls not listed print their arguments in hex, as strace
 * prints a call it has no decoder for; their argument counts are in sysent_nargs.c.
 */
#include <sys/syscall.h>

#include "sctrace/decoders.h"
#include "sctrace/names.h"

/* One argument: a printer, or a printer and its parameter. */
#define P(fn)                    \
	{                        \
		sct_p_##fn, NULL \
	}
#define PX(fn, x)                         \
	{                                 \
		sct_p_##fn, &sct_xlat_##x \
	}
#define PI(fn, i)                                       \
	{                                               \
		sct_p_##fn, (const void *)(intptr_t)(i) \
	}
/* A call whose arguments all print at entry / from argument `from` on at exit. */
#define IN(ret, n, ...)                          \
	{                                        \
		n, n, SCT_RET_##ret, true, NULL, \
		{                                \
			__VA_ARGS__              \
		}                                \
	}
#define OUT(ret, n, from, ...)                      \
	{                                           \
		n, from, SCT_RET_##ret, true, NULL, \
		{                                   \
			__VA_ARGS__                 \
		}                                   \
	}
/* A call with a decoder of its own. */
#define CUSTOM(ret, n, fn)                               \
	{                                                \
		n, n, SCT_RET_##ret, true, sct_dec_##fn, \
		{                                        \
			{                                \
				0                        \
			}                                \
		}                                        \
	}

static const struct sct_sysent table[SCT_NR_COUNT] = {
    /* descriptors */
    [SYS_read] = OUT(DEC, 3, 1, P(fd), P(buf_out), P(ulong)),
    [SYS_write] = IN(DEC, 3, P(fd), PI(buf_in, 2), P(ulong)),
    [SYS_pread64] = OUT(DEC, 4, 1, P(fd), P(buf_out), P(ulong), P(long)),
    [SYS_pwrite64] = IN(DEC, 4, P(fd), PI(buf_in, 2), P(ulong), P(long)),
    [SYS_readv] = OUT(DEC, 3, 1, P(fd), P(iov_out), P(ulong)),
    [SYS_writev] = IN(DEC, 3, P(fd), P(iov_in), P(ulong)),
    [SYS_preadv] = OUT(DEC, 4, 1, P(fd), P(iov_out), P(ulong), P(long)),
    [SYS_pwritev] = IN(DEC, 4, P(fd), P(iov_in), P(ulong), P(long)),
    [SYS_close] = IN(DEC, 1, P(fd)),
    [SYS_lseek] = IN(DEC, 3, P(fd), P(long), PX(xval, whence)),
    [SYS_dup] = IN(FD, 1, P(fd)),
    [SYS_dup2] = IN(FD, 2, P(fd), P(fd)),
    [SYS_dup3] = IN(FD, 3, P(fd), P(fd), PX(flags, o_cloexec)),
    [SYS_pipe] = OUT(DEC, 1, 0, P(fd_pair_out)),
    [SYS_pipe2] = OUT(DEC, 2, 0, P(fd_pair_out), P(fd_flags)),
    [SYS_fcntl] = CUSTOM(DEC, 3, fcntl),
    [SYS_ioctl] = CUSTOM(DEC, 3, ioctl),
    [SYS_flock] = IN(DEC, 2, P(fd), PX(flags, flock_ops)),
    [SYS_fsync] = IN(DEC, 1, P(fd)),
    [SYS_fdatasync] = IN(DEC, 1, P(fd)),
    [SYS_syncfs] = IN(DEC, 1, P(fd)),
    [SYS_sync] = IN(DEC, 0, ),
    [SYS_ftruncate] = IN(DEC, 2, P(fd), P(long)),
    [SYS_fallocate] = IN(DEC, 4, P(fd), P(int), P(long), P(long)),
    [SYS_fadvise64] = IN(DEC, 4, P(fd), P(long), P(long), PX(xval, fadvise)),
    [SYS_poll] = CUSTOM(DEC, 3, poll),
    [SYS_ppoll] = CUSTOM(DEC, 5, ppoll),
    [SYS_select] = CUSTOM(DEC, 5, select),
    [SYS_pselect6] = CUSTOM(DEC, 6, pselect6),
    [SYS_epoll_create] = IN(FD, 1, P(int)),
    [SYS_epoll_create1] = IN(FD, 1, PX(flags, epoll_flags)),
    [SYS_epoll_ctl] = IN(DEC, 4, P(fd), PX(xval, epoll_ctl_ops), P(fd), P(epoll_event_in)),
    [SYS_epoll_wait] = OUT(DEC, 4, 1, P(fd), P(epoll_events_out), P(int), P(int)),
    [SYS_epoll_pwait] =
        OUT(DEC, 6, 1, P(fd), P(epoll_events_out), P(int), P(int), PI(sigset_in, 5), P(ulong)),
    [SYS_eventfd2] = IN(FD, 2, P(uint), PX(flags, efd_flags)),
    [SYS_eventfd] = IN(FD, 1, P(uint)),
    [SYS_timerfd_create] = IN(FD, 2, P(clockid), PX(flags, tfd_flags)),
    [SYS_timerfd_settime] = OUT(DEC, 4, 3, P(fd), PX(flags, tfd_flags), P(itimerspec_in), P(itimerspec_out)),
    [SYS_timerfd_gettime] = OUT(DEC, 2, 1, P(fd), P(itimerspec_out)),
    [SYS_signalfd4] = IN(FD, 4, P(fd), PI(sigset_in, 2), P(ulong), P(fd_flags)),
    [SYS_memfd_create] = IN(FD, 2, P(str), PX(flags, mfd_flags)),
    [SYS_sendfile] = CUSTOM(DEC, 4, sendfile),
    [SYS_getrandom] = OUT(DEC, 3, 0, P(getrandom_out), P(ulong), PX(flags, grnd_flags)),
    [SYS_close_range] = IN(DEC, 3, P(uint), P(uint), PX(flags, close_range)),
    [SYS_copy_file_range] = IN(DEC, 6, P(fd), P(loff_in), P(fd), P(loff_in), P(ulong), P(uint)),
    [SYS_readahead] = IN(DEC, 3, P(fd), P(long), P(ulong)),
    /* files */
    [SYS_open] = CUSTOM(FD, 3, open),
    [SYS_openat] = CUSTOM(FD, 4, openat),
    [SYS_creat] = IN(FD, 2, P(path), P(mode)),
    [SYS_stat] = OUT(DEC, 2, 1, P(path), P(stat_out)),
    [SYS_lstat] = OUT(DEC, 2, 1, P(path), P(stat_out)),
    [SYS_fstat] = OUT(DEC, 2, 1, P(fd), P(stat_out)),
    [SYS_newfstatat] = OUT(DEC, 4, 2, P(dirfd), P(path), P(stat_out), P(at_flags)),
    [SYS_statx] = OUT(DEC, 5, 4, P(dirfd), P(path), P(statx_flags), P(statx_mask), P(statx_out)),
    [SYS_access] = IN(DEC, 2, P(path), P(access_mode)),
    [SYS_faccessat] = IN(DEC, 3, P(dirfd), P(path), P(access_mode)),
    [SYS_faccessat2] = IN(DEC, 4, P(dirfd), P(path), P(access_mode), P(at_flags)),
    [SYS_readlink] = OUT(DEC, 3, 1, P(path), P(path_out), P(ulong)),
    [SYS_readlinkat] = OUT(DEC, 4, 2, P(dirfd), P(path), P(path_out), P(ulong)),
    [SYS_getcwd] = OUT(DEC, 2, 0, P(cwd_out), P(ulong)),
    [SYS_chdir] = IN(DEC, 1, P(path)),
    [SYS_fchdir] = IN(DEC, 1, P(fd)),
    [SYS_chroot] = IN(DEC, 1, P(path)),
    [SYS_mkdir] = IN(DEC, 2, P(path), P(mode)),
    [SYS_mkdirat] = IN(DEC, 3, P(dirfd), P(path), P(mode)),
    [SYS_rmdir] = IN(DEC, 1, P(path)),
    [SYS_unlink] = IN(DEC, 1, P(path)),
    [SYS_unlinkat] = IN(DEC, 3, P(dirfd), P(path), P(at_flags)),
    [SYS_rename] = IN(DEC, 2, P(path), P(path)),
    [SYS_renameat] = IN(DEC, 4, P(dirfd), P(path), P(dirfd), P(path)),
    [SYS_link] = IN(DEC, 2, P(path), P(path)),
    [SYS_linkat] = IN(DEC, 5, P(dirfd), P(path), P(dirfd), P(path), P(at_flags)),
    [SYS_symlink] = IN(DEC, 2, P(path), P(path)),
    [SYS_symlinkat] = IN(DEC, 3, P(path), P(dirfd), P(path)),
    [SYS_chmod] = IN(DEC, 2, P(path), P(mode)),
    [SYS_fchmod] = IN(DEC, 2, P(fd), P(mode)),
    [SYS_fchmodat] = IN(DEC, 3, P(dirfd), P(path), P(mode)),
    [SYS_chown] = IN(DEC, 3, P(path), P(int), P(int)),
    [SYS_lchown] = IN(DEC, 3, P(path), P(int), P(int)),
    [SYS_fchown] = IN(DEC, 3, P(fd), P(int), P(int)),
    [SYS_fchownat] = IN(DEC, 5, P(dirfd), P(path), P(int), P(int), P(at_flags)),
    [SYS_truncate] = IN(DEC, 2, P(path), P(long)),
    [SYS_umask] = IN(OCT, 1, P(mode)),
    [SYS_getdents64] = OUT(DEC, 3, 1, P(fd), P(dirents_out), P(uint)),
    [SYS_getxattr] = CUSTOM(DEC, 4, getxattr),
    [SYS_lgetxattr] = CUSTOM(DEC, 4, getxattr),
    [SYS_fgetxattr] = CUSTOM(DEC, 4, getxattr),
    [SYS_setxattr] = CUSTOM(DEC, 5, setxattr),
    [SYS_lsetxattr] = CUSTOM(DEC, 5, setxattr),
    [SYS_fsetxattr] = CUSTOM(DEC, 5, setxattr),
    [SYS_listxattr] = CUSTOM(DEC, 3, listxattr),
    [SYS_llistxattr] = CUSTOM(DEC, 3, listxattr),
    [SYS_flistxattr] = CUSTOM(DEC, 3, listxattr),
    [SYS_removexattr] = IN(DEC, 2, P(path), P(str)),
    [SYS_lremovexattr] = IN(DEC, 2, P(path), P(str)),
    [SYS_fremovexattr] = IN(DEC, 2, P(fd), P(str)),
    [SYS_mknod] = IN(DEC, 3, P(path), P(mode), P(hex)),
    /* memory */
    [SYS_mmap] = CUSTOM(HEX, 6, mmap),
    [SYS_mprotect] = IN(DEC, 3, P(ptr), P(ulong), PX(flags, prot)),
    [SYS_munmap] = IN(DEC, 2, P(ptr), P(ulong)),
    [SYS_brk] = IN(HEX, 1, P(ptr)),
    [SYS_mremap] = CUSTOM(HEX, 5, mremap),
    [SYS_msync] = IN(DEC, 3, P(ptr), P(ulong), PX(flags, msync)),
    [SYS_madvise] = IN(DEC, 3, P(ptr), P(ulong), PX(xval, madvise)),
    [SYS_mlock] = IN(DEC, 2, P(ptr), P(ulong)),
    [SYS_munlock] = IN(DEC, 2, P(ptr), P(ulong)),
    [SYS_mlockall] = IN(DEC, 1, PX(flags, mlockall)),
    [SYS_munlockall] = IN(DEC, 0, ),
    [SYS_mincore] = OUT(DEC, 3, 2, P(ptr), P(ulong), P(ptr)),
    /* processes */
    [SYS_clone] = CUSTOM(DEC, 5, clone),
    [SYS_clone3] = CUSTOM(DEC, 2, clone3),
    [SYS_fork] = IN(DEC, 0, ),
    [SYS_vfork] = IN(DEC, 0, ),
    [SYS_execve] = CUSTOM(DEC, 3, execve),
    [SYS_execveat] = CUSTOM(DEC, 5, execveat),
    [SYS_exit] = IN(NONE, 1, P(int)),
    [SYS_exit_group] = IN(NONE, 1, P(int)),
    [SYS_wait4] = OUT(DEC, 4, 1, P(int), P(wait_status_out), P(wait_options), P(rusage_out)),
    [SYS_waitid] = CUSTOM(DEC, 5, waitid),
    [SYS_kill] = IN(DEC, 2, P(int), P(signal)),
    [SYS_tkill] = IN(DEC, 2, P(int), P(signal)),
    [SYS_tgkill] = IN(DEC, 3, P(int), P(int), P(signal)),
    [SYS_getpid] = IN(DEC, 0, ),
    [SYS_getppid] = IN(DEC, 0, ),
    [SYS_gettid] = IN(DEC, 0, ),
    [SYS_getuid] = IN(DEC, 0, ),
    [SYS_geteuid] = IN(DEC, 0, ),
    [SYS_getgid] = IN(DEC, 0, ),
    [SYS_getegid] = IN(DEC, 0, ),
    [SYS_getpgrp] = IN(DEC, 0, ),
    [SYS_setsid] = IN(DEC, 0, ),
    [SYS_getpgid] = IN(DEC, 1, P(int)),
    [SYS_getsid] = IN(DEC, 1, P(int)),
    [SYS_setpgid] = IN(DEC, 2, P(int), P(int)),
    [SYS_setuid] = IN(DEC, 1, P(uint)),
    [SYS_setgid] = IN(DEC, 1, P(uint)),
    [SYS_setreuid] = IN(DEC, 2, P(int), P(int)),
    [SYS_setregid] = IN(DEC, 2, P(int), P(int)),
    [SYS_setresuid] = IN(DEC, 3, P(int), P(int), P(int)),
    [SYS_setresgid] = IN(DEC, 3, P(int), P(int), P(int)),
    [SYS_getresuid] = OUT(DEC, 3, 0, P(int_out), P(int_out), P(int_out)),
    [SYS_getresgid] = OUT(DEC, 3, 0, P(int_out), P(int_out), P(int_out)),
    [SYS_getgroups] = OUT(DEC, 2, 1, P(int), P(uid_array_out)),
    [SYS_set_tid_address] = IN(DEC, 1, P(ptr)),
    [SYS_set_robust_list] = IN(DEC, 2, P(ptr), P(ulong)),
    [SYS_uname] = OUT(DEC, 1, 0, P(uname_out)),
    [SYS_times] = OUT(DEC, 1, 0, P(tms_out)),
    [SYS_getrlimit] = OUT(DEC, 2, 1, P(rlimit_res), P(rlimit_out)),
    [SYS_setrlimit] = IN(DEC, 2, P(rlimit_res), P(rlimit_in)),
    [SYS_prlimit64] = CUSTOM(DEC, 4, prlimit64),
    [SYS_getrusage] = OUT(DEC, 2, 1, P(rusage_who), P(rusage_out)),
    [SYS_prctl] = CUSTOM(DEC, 5, prctl),
    [SYS_arch_prctl] = CUSTOM(DEC, 2, arch_prctl),
    [SYS_sched_yield] = IN(DEC, 0, ),
    [SYS_sched_getaffinity] = OUT(DEC, 3, 2, P(int), P(uint), P(cpuset_out)),
    [SYS_sched_getscheduler] = IN(DEC, 1, P(int)),
    [SYS_personality] = IN(HEX, 1, P(hex)),
    /* signals */
    [SYS_rt_sigaction] = CUSTOM(DEC, 4, rt_sigaction),
    [SYS_rt_sigprocmask] = CUSTOM(DEC, 4, rt_sigprocmask),
    [SYS_rt_sigpending] = OUT(DEC, 2, 0, PI(sigset_out, 1), P(ulong)),
    [SYS_rt_sigsuspend] = IN(DEC, 2, P(sigset_size_in), P(ulong)),
    [SYS_sigaltstack] = OUT(DEC, 2, 1, P(stack_in), P(stack_out)),
    [SYS_pause] = IN(DEC, 0, ),
    [SYS_alarm] = IN(DEC, 1, P(uint)),
    [SYS_getitimer] = OUT(DEC, 2, 1, P(itimer_which), P(itimerval_out)),
    [SYS_setitimer] = OUT(DEC, 3, 2, P(itimer_which), P(itimerval_in), P(itimerval_out)),
    /* network */
    [SYS_socket] = CUSTOM(FD, 3, socket),
    [SYS_socketpair] = OUT(DEC, 4, 3, P(sock_domain), P(sock_type), P(int), P(fd_pair_out)),
    [SYS_bind] = IN(DEC, 3, P(fd), P(sockaddr_in), P(int)),
    [SYS_connect] = IN(DEC, 3, P(fd), P(sockaddr_in), P(int)),
    [SYS_listen] = IN(DEC, 2, P(fd), P(int)),
    [SYS_accept] = CUSTOM(FD, 3, sockname),
    [SYS_accept4] = CUSTOM(FD, 4, sockname),
    [SYS_getsockname] = CUSTOM(DEC, 3, sockname),
    [SYS_getpeername] = CUSTOM(DEC, 3, sockname),
    [SYS_sendto] = IN(DEC, 6, P(fd), PI(buf_in, 2), P(ulong), P(msg_flags), P(sockaddr_in), P(int)),
    [SYS_recvfrom] = CUSTOM(DEC, 6, recvfrom),
    [SYS_sendmsg] = IN(DEC, 3, P(fd), P(msghdr_in), P(msg_flags)),
    [SYS_recvmsg] = OUT(DEC, 3, 1, P(fd), P(msghdr_out), P(msg_flags)),
    [SYS_shutdown] = IN(DEC, 2, P(fd), PX(xval, shutdown)),
    [SYS_setsockopt] = CUSTOM(DEC, 5, setsockopt),
    [SYS_getsockopt] = CUSTOM(DEC, 5, getsockopt),
    /* time */
    [SYS_nanosleep] = OUT(DEC, 2, 1, P(timespec_in), P(rem_out)),
    [SYS_clock_nanosleep] = OUT(DEC, 4, 3, P(clockid), P(timer_flags), P(timespec_in), P(rem_out)),
    [SYS_clock_gettime] = OUT(DEC, 2, 1, P(clockid), P(timespec_out)),
    [SYS_clock_getres] = OUT(DEC, 2, 1, P(clockid), P(timespec_out)),
    [SYS_gettimeofday] = OUT(DEC, 2, 0, P(timeval_out), P(ptr)),
    [SYS_futex] = CUSTOM(DEC, 6, futex),
};

/* Calls without a decoder: each argument in hex. */
static const struct sct_sysent generic[7] = {
    {0, 0, SCT_RET_DEC, true, NULL, {{0}}},
    {1, 1, SCT_RET_DEC, true, NULL, {P(hex)}},
    {2, 2, SCT_RET_DEC, true, NULL, {P(hex), P(hex)}},
    {3, 3, SCT_RET_DEC, true, NULL, {P(hex), P(hex), P(hex)}},
    {4, 4, SCT_RET_DEC, true, NULL, {P(hex), P(hex), P(hex), P(hex)}},
    {5, 5, SCT_RET_DEC, true, NULL, {P(hex), P(hex), P(hex), P(hex), P(hex)}},
    {6, 6, SCT_RET_DEC, true, NULL, {P(hex), P(hex), P(hex), P(hex), P(hex), P(hex)}},
};

const struct sct_sysent *sct_sysent(long nr)
{
	if (nr >= 0 && nr < SCT_NR_COUNT && table[nr].known)
		return &table[nr];
	return &generic[sct_syscall_nargs(nr)];
}
