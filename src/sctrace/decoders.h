/*
 * The decoders of each family (decode_*.c), for the table in sysent.c. Printers (sct_p_*) print one
 * argument; sct_dec_* print a whole call (entry and exit halves).
 */
#ifndef SCTRACE_DECODERS_H
#define SCTRACE_DECODERS_H

#include "sctrace/decode.h"
#include "sctrace/xlat.h"

/* An element printer for sct_print_array: prints *elem; false stops the array. */
typedef bool (*sct_elemfn)(struct sct_call *c, const void *elem, void *data);

/*
 * strace's arrays: NULL, [] for none, [e, e, ...] with at most -s elements, the address when the first
 * element cannot be read, "..." and the address in a comment when a later one cannot.
 */
void sct_print_array(struct sct_call *c, uintptr_t addr, size_t nmemb, void *elem, size_t elem_size,
                     sct_elemfn fn, void *data);
/* The int at addr as [N] (or the address). */
void sct_print_int_in_brackets(struct sct_call *c, uintptr_t addr);
/* A kernel sigset of size bytes at addr: [INT TERM], ~[RTMIN RT_1], or the address. */
void sct_print_sigset_at(struct sct_call *c, uintptr_t addr, unsigned long size);
void sct_print_sigmask(struct sct_line *l, const uint64_t *mask, unsigned long bytes);
/* struct timespec / timeval at addr: {tv_sec=1, tv_nsec=0} */
void sct_print_timespec_at(struct sct_call *c, uintptr_t addr);
void sct_print_timeval_at(struct sct_call *c, uintptr_t addr);
void sct_print_open_flags(struct sct_line *l, unsigned long flags);
/* The O_* flag names other than the access modes. */
const struct sct_xlat *sct_open_flag_names(void);
void sct_print_symbolic_mode(struct sct_line *l, unsigned mode);
void sct_print_sockaddr(struct sct_call *c, uintptr_t addr, long len);
void sct_print_iov(struct sct_call *c, uintptr_t addr, unsigned long count, unsigned long data_size);

extern const struct sct_xlat sct_xlat_at_flags;
extern const struct sct_xlat sct_xlat_access_modes;
extern const struct sct_xlat sct_xlat_whence;

/* ---- file ---- */
void sct_dec_open(struct sct_call *c);
void sct_dec_openat(struct sct_call *c);
void sct_p_stat_out(struct sct_call *c, int i, const void *aux);
void sct_p_statx_out(struct sct_call *c, int i, const void *aux);
void sct_p_at_flags(struct sct_call *c, int i, const void *aux);
void sct_p_statx_flags(struct sct_call *c, int i, const void *aux);
void sct_p_statx_mask(struct sct_call *c, int i, const void *aux);
void sct_p_access_mode(struct sct_call *c, int i, const void *aux);
void sct_p_path_out(struct sct_call *c, int i, const void *aux);
void sct_p_cwd_out(struct sct_call *c, int i, const void *aux);
void sct_p_dirents_out(struct sct_call *c, int i, const void *aux);
void sct_dec_getxattr(struct sct_call *c);
void sct_dec_setxattr(struct sct_call *c);
void sct_dec_listxattr(struct sct_call *c);

/* ---- descriptors ---- */
void sct_p_iov_in(struct sct_call *c, int i, const void *aux);
void sct_p_iov_out(struct sct_call *c, int i, const void *aux);
void sct_p_fd_pair_out(struct sct_call *c, int i, const void *aux);
void sct_p_o_flags(struct sct_call *c, int i, const void *aux);
void sct_p_fd_flags(struct sct_call *c, int i, const void *aux);
void sct_p_loff_in(struct sct_call *c, int i, const void *aux);
void sct_p_loff_out(struct sct_call *c, int i, const void *aux);
void sct_dec_fcntl(struct sct_call *c);
void sct_dec_sendfile(struct sct_call *c);
void sct_dec_ioctl(struct sct_call *c);
void sct_dec_poll(struct sct_call *c);
void sct_dec_ppoll(struct sct_call *c);
void sct_dec_select(struct sct_call *c);
void sct_dec_pselect6(struct sct_call *c);
void sct_p_epoll_event_in(struct sct_call *c, int i, const void *aux);
void sct_p_epoll_events_out(struct sct_call *c, int i, const void *aux);
void sct_p_getrandom_out(struct sct_call *c, int i, const void *aux);
extern const struct sct_xlat sct_xlat_epoll_ctl_ops;
extern const struct sct_xlat sct_xlat_epoll_flags;
extern const struct sct_xlat sct_xlat_efd_flags;
extern const struct sct_xlat sct_xlat_flock_ops;
extern const struct sct_xlat sct_xlat_fadvise;
extern const struct sct_xlat sct_xlat_o_cloexec;
extern const struct sct_xlat sct_xlat_grnd_flags;
extern const struct sct_xlat sct_xlat_mfd_flags;
extern const struct sct_xlat sct_xlat_tfd_flags;
extern const struct sct_xlat sct_xlat_close_range;

/* ---- memory ---- */
void sct_dec_mmap(struct sct_call *c);
void sct_dec_mremap(struct sct_call *c);
extern const struct sct_xlat sct_xlat_prot;
extern const struct sct_xlat sct_xlat_madvise;
extern const struct sct_xlat sct_xlat_msync;
extern const struct sct_xlat sct_xlat_mlockall;

/* ---- processes ---- */
void sct_dec_clone(struct sct_call *c);
void sct_dec_clone3(struct sct_call *c);
void sct_dec_execve(struct sct_call *c);
void sct_dec_execveat(struct sct_call *c);
void sct_p_wait_status_out(struct sct_call *c, int i, const void *aux);
void sct_p_rusage_out(struct sct_call *c, int i, const void *aux);
void sct_p_wait_options(struct sct_call *c, int i, const void *aux);
void sct_dec_waitid(struct sct_call *c);
void sct_dec_prlimit64(struct sct_call *c);
void sct_p_rlimit_res(struct sct_call *c, int i, const void *aux);
void sct_p_rlimit_out(struct sct_call *c, int i, const void *aux);
void sct_p_rlimit_in(struct sct_call *c, int i, const void *aux);
void sct_p_uname_out(struct sct_call *c, int i, const void *aux);
void sct_p_tms_out(struct sct_call *c, int i, const void *aux);
void sct_p_rusage_who(struct sct_call *c, int i, const void *aux);
void sct_dec_prctl(struct sct_call *c);
void sct_dec_arch_prctl(struct sct_call *c);
void sct_p_uid_array_out(struct sct_call *c, int i, const void *aux);
void sct_p_int_out(struct sct_call *c, int i, const void *aux);
void sct_p_cpuset_out(struct sct_call *c, int i, const void *aux);
void sct_p_sched_policy(struct sct_call *c, int i, const void *aux);

/* ---- signals ---- */
void sct_dec_rt_sigaction(struct sct_call *c);
void sct_dec_rt_sigprocmask(struct sct_call *c);
void sct_p_sigset_in(struct sct_call *c, int i, const void *aux);
void sct_p_sigset_out(struct sct_call *c, int i, const void *aux);
void sct_p_stack_in(struct sct_call *c, int i, const void *aux);
void sct_p_stack_out(struct sct_call *c, int i, const void *aux);
void sct_p_itimer_which(struct sct_call *c, int i, const void *aux);
void sct_p_itimerval_in(struct sct_call *c, int i, const void *aux);
void sct_p_itimerval_out(struct sct_call *c, int i, const void *aux);
void sct_p_sigset_size_in(struct sct_call *c, int i, const void *aux);

/* ---- network ---- */
void sct_p_sock_domain(struct sct_call *c, int i, const void *aux);
void sct_p_sock_type(struct sct_call *c, int i, const void *aux);
void sct_dec_socket(struct sct_call *c);
void sct_p_sockaddr_in(struct sct_call *c, int i, const void *aux);
void sct_p_sockaddr_out(struct sct_call *c, int i, const void *aux);
void sct_p_socklen_inout(struct sct_call *c, int i, const void *aux);
void sct_p_msg_flags(struct sct_call *c, int i, const void *aux);
void sct_p_msghdr_in(struct sct_call *c, int i, const void *aux);
void sct_p_msghdr_out(struct sct_call *c, int i, const void *aux);
void sct_dec_setsockopt(struct sct_call *c);
void sct_dec_sockname(struct sct_call *c);
void sct_dec_recvfrom(struct sct_call *c);
void sct_dec_getsockopt(struct sct_call *c);
extern const struct sct_xlat sct_xlat_shutdown;

/* ---- time ---- */
void sct_p_timespec_in(struct sct_call *c, int i, const void *aux);
void sct_p_timespec_out(struct sct_call *c, int i, const void *aux);
void sct_p_timeval_out(struct sct_call *c, int i, const void *aux);
void sct_p_clockid(struct sct_call *c, int i, const void *aux);
void sct_p_timer_flags(struct sct_call *c, int i, const void *aux);
void sct_p_rem_out(struct sct_call *c, int i, const void *aux);
void sct_p_itimerspec_in(struct sct_call *c, int i, const void *aux);
void sct_p_itimerspec_out(struct sct_call *c, int i, const void *aux);
void sct_dec_futex(struct sct_call *c);

#endif
