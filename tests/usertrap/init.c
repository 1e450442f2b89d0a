/*
 * usertrap_init changes nothing when it fails, at each point where it can (a system call it needs is
 * refused with a seccomp filter): no trap table left mapped, no SIGILL or SIGSYS action left changed,
 * an earlier init's table and trampoline kept as they were, and a fork afterwards is unaffected.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "usertrap/table.h"
#include "usertrap/util.h"

static long pass(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

/* From now on the kernel answers system call `nr` with -err when its first argument is `arg0` and (if
 * only_setting) its second is not NULL: for rt_sigaction, installing an action for that signal fails
 * while reading it still works. */
static void refuse(long nr, unsigned arg0, bool only_setting, int err)
{
	const unsigned allow = 10, deny = 11;
	struct sock_filter f[] = {
	    [0] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    [1] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, allow - 2),
	    [2] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    [3] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, allow - 4),
	    [4] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	    [5] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arg0, 0, allow - 6),
	    [6] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	    [7] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, deny - 8),
	    [8] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
	    [9] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, only_setting ? 0 : 1, deny - 10),
	    [10] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    [11] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), 0, "seccomp: %s",
	             strerror(errno));
}

struct kernel_action {
	uint64_t handler, flags, restorer, mask;
};

static struct kernel_action action_of(int sig)
{
	struct kernel_action k;
	cr_assert_eq(syscall(SYS_rt_sigaction, sig, NULL, &k, 8), 0);
	return k;
}

/* Nothing of a failed init is left: no table in its range, the actions as they were, no state. */
static void assert_nothing_left(const struct kernel_action *sigill, const struct kernel_action *sigsys)
{
	cr_assert_eq(usertrap_table_address(), 0);
	void *p = mmap((void *)USERTRAP_TABLE_LOW, USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(p, (void *)USERTRAP_TABLE_LOW, "the table's range is free again");
	munmap(p, USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW);
	struct kernel_action now = action_of(SIGILL);
	cr_assert_eq(memcmp(&now, sigill, sizeof now), 0, "the SIGILL action is back as it was");
	now = action_of(SIGSYS);
	cr_assert_eq(memcmp(&now, sigsys, sizeof now), 0, "the SIGSYS action is as it was");
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), USERTRAP_ERR_STATE, "not initialised");
}

/* The fork handlers registered by the failed init do nothing harmful: the child runs, and answers. */
static void assert_fork_works(void)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0)
		_exit(usertrap_unpatch((void *)16, NULL) == USERTRAP_ERR_STATE ? 17 : 1);
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 17, "status %#x", st);
}

static void init_fails(unsigned flags, int status, int sys_errno)
{
	cr_assert_eq(safecopy_init(), 0); /* libsafecopy's own actions are not the point here */
	struct kernel_action sigill = action_of(SIGILL), sigsys = action_of(SIGSYS);
	struct usertrap_config cfg = {.hook = pass, .flags = flags};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), status, "%s", usertrap_status_name(err.status));
	cr_assert_eq(err.status, status);
	cr_assert_eq(err.sys_errno, sys_errno);
	assert_nothing_left(&sigill, &sigsys);
	assert_fork_works();
}

Test(init, sigill_handler_refused)
{
	refuse(SYS_rt_sigaction, SIGILL, true, EPERM);
	init_fails(0, USERTRAP_ERR_SYS, EPERM);
}

Test(init, sigsys_handler_refused_after_the_sigill_handler)
{
	refuse(SYS_rt_sigaction, SIGSYS, true, EPERM);
	init_fails(USERTRAP_LAZY, USERTRAP_ERR_SYS, EPERM);
}

Test(init, no_syscall_user_dispatch)
{
	refuse(SYS_prctl, 59 /* PR_SET_SYSCALL_USER_DISPATCH */, false, EINVAL);
	init_fails(USERTRAP_LAZY, USERTRAP_ERR_NO_SUD, EINVAL);
}

Test(init, table_range_occupied)
{
	void *p = mmap((void *)USERTRAP_TABLE_LOW, USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(p, (void *)USERTRAP_TABLE_LOW);
	struct kernel_action sigill = action_of(SIGILL), sigsys = action_of(SIGSYS);
	struct usertrap_config cfg = {.hook = pass, .flags = USERTRAP_LAZY};
	cr_assert_eq(usertrap_init(&cfg, NULL), USERTRAP_ERR_TABLE_BUSY);
	struct kernel_action now = action_of(SIGILL);
	cr_assert_eq(memcmp(&now, &sigill, sizeof now), 0);
	now = action_of(SIGSYS);
	cr_assert_eq(memcmp(&now, &sigsys, sizeof now), 0);
	assert_fork_works();
}

/* A second init (after shutdown) that fails keeps the first one's table, trampoline and SIGILL
 * handler (which shutdown leaves installed). */
Test(init, failed_init_after_shutdown_keeps_the_earlier_table)
{
	struct usertrap_config cfg = {.hook = pass, .flags = USERTRAP_HOOK_NO_VECTOR};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	uintptr_t table = usertrap_table_address();
	const struct ut_data_slot *slot1 =
	    (const struct ut_data_slot *)(table + UT_SLOT_SIZE + UT_DATA_DELTA);
	uint64_t body = slot1->common;
	struct kernel_action sigill = action_of(SIGILL);
	refuse(SYS_rt_sigaction, SIGSYS, true, EPERM);
	cfg = (struct usertrap_config){
	    .hook = pass, .flags = USERTRAP_LAZY, .vector_save = USERTRAP_VECTOR_REGS};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), USERTRAP_ERR_SYS);
	cr_assert_eq(err.sys_errno, EPERM);
	cr_assert_eq(usertrap_table_address(), table, "the table is kept");
	cr_assert_eq(slot1->common, body, "with the first init's trampoline body");
	struct kernel_action now = action_of(SIGILL);
	cr_assert_eq(memcmp(&now, &sigill, sizeof now), 0, "the SIGILL handler is still usertrap's");
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), USERTRAP_ERR_STATE);
	cr_assert_eq(fn_at(m, 0)(0, 0, 0, 0), -ENOSYS, "the site runs natively");
	assert_fork_works();
}
