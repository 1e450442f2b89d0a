/*
 * i386 system calls made with `int $0x80` from 64-bit code under lazy capture: the hook sees them
 * marked USERTRAP_CALL_I386 with the i386 number and EBX..EBP, usertrap_syscall makes them with
 * `int $0x80` (as the hook left them), the i386 numbers that must run in place do, the x86-64 special
 * cases (rt_sigreturn 15, the lazy patch) never apply to them, and a 64-bit call after one is unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "i386_call.h"
#include "usertrap/table.h"
#include "usertrap/util.h"

/* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define I386_FORK           2
#define I386_WRITE          4
#define I386_CHMOD          15
#define I386_GETPID         20
#define I386_GETPPID        64
#define I386_SIGSUSPEND     72
#define I386_SIGPROCMASK    126
#define I386_RT_SIGPROCMASK 175
#define I386_RT_SIGSUSPEND  179

/* src/usertrap/refused.h: true if the site (the would-be pattern start) is on the refused list. */
extern bool ut_refused(uintptr_t site);

static long i386_call0(long nr)
{
	const long regs[7] = {nr};
	return i386_call(regs);
}

/* Skips the test where `int $0x80` does not make i386 calls (no ia32 emulation: ENOSYS, or SIGSEGV
 * when the kernel was built without it), probed in a child. */
static void i386_or_skip(void)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0)
		_exit(i386_call0(I386_GETPID) == getpid() ? 0 : 1);
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		cr_skip_test("not run: `int $0x80` makes no i386 calls here (status %#x)", st);
}

static struct usertrap_call seen[8];
static unsigned n_seen;
static long (*answer_i386)(struct usertrap_call *call);

/* Records every call; i386 calls go to answer_i386 when set. */
static long recording(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (n_seen < sizeof seen / sizeof seen[0])
		seen[n_seen++] = *call;
	if ((call->flags & USERTRAP_CALL_I386) && answer_i386)
		return answer_i386(call);
	return usertrap_syscall(call);
}

static void start(long (*answer)(struct usertrap_call *))
{
	i386_or_skip();
	answer_i386 = answer;
	lazy_init_or_skip(recording, 0);
}

static struct usertrap_counters counters(void)
{
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	return c;
}

Test(int80, getpid_reaches_the_hook_marked_i386_with_ebx_to_ebp)
{
	start(NULL);
	/* junk above bit 31 of every argument register: the kernel reads only the low halves */
	const long regs[7] = {I386_GETPID,         0x1111111100000011L, 0x2222222200000022L,
	                      0x3333333300000033L, 0x4444444400000044L, 0x5555555500000055L,
	                      0x6666666600000066L};
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call(regs);
	long ppid = syscall(SYS_getppid); /* a 64-bit call right after */
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(r, getpid(), "i386 getpid returned %ld", r);
	cr_assert_eq(ppid, getppid());
	cr_assert_geq(n_seen, 2);
	cr_assert_eq(seen[0].flags, USERTRAP_CALL_SIGSYS | USERTRAP_CALL_I386);
	cr_assert_eq(seen[0].nr, I386_GETPID);
	const long want[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
	for (int i = 0; i < 6; i++)
		cr_assert_eq(seen[0].args[i], want[i], "arg %d: %#lx", i, seen[0].args[i]);
	cr_assert_eq(seen[0].site, (void *)i386_site);
	cr_assert_eq(seen[1].flags, USERTRAP_CALL_SIGSYS, "the 64-bit call is not marked");
	cr_assert_eq(seen[1].nr, SYS_getppid);
}

static long to_getppid(struct usertrap_call *call)
{
	call->nr = I386_GETPPID;
	return usertrap_syscall(call);
}

Test(int80, a_changed_number_is_the_call_made)
{
	start(to_getppid);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call0(I386_GETPID);
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(r, getppid(), "made as i386 getppid: %ld", r);
	cr_assert_eq(seen[0].nr, I386_GETPID, "the hook saw the program's number");
}

static int redirect_fd;

/* write(fd, buf, 4) becomes write(redirect_fd, buf + 1, 2). */
static long redirect_write(struct usertrap_call *call)
{
	call->args[0] = redirect_fd;
	call->args[1] += 1;
	call->args[2] = 2;
	return usertrap_syscall(call);
}

Test(int80, changed_arguments_are_the_call_made)
{
	start(redirect_write);
	/* an i386 pointer is 32 bits: the buffer must lie below 4 GiB */
	char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	cr_assert(buf != MAP_FAILED);
	memcpy(buf, "abcd", 4);
	int asked[2], got[2];
	cr_assert_eq(pipe2(asked, O_NONBLOCK), 0);
	cr_assert_eq(pipe2(got, O_NONBLOCK), 0);
	redirect_fd = got[1];
	const long regs[7] = {I386_WRITE, asked[1], (long)(uintptr_t)buf, 4};
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call(regs);
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(r, 2);
	char out[8];
	cr_assert_eq(read(got[0], out, sizeof out), 2);
	cr_assert_eq(memcmp(out, "bc", 2), 0);
	cr_assert_eq(read(asked[0], out, sizeof out), -1, "nothing went where the program asked");
	cr_assert_eq(errno, EAGAIN);
}

static long answer_4242(struct usertrap_call *call)
{
	(void)call;
	return 4242;
}

Test(int80, the_hooks_answer_is_the_result)
{
	start(answer_4242);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call0(I386_GETPID);
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(r, 4242);
}

/* i386 chmod is 15, x86-64's rt_sigreturn: it reaches the hook and is made, never run in place. */
Test(int80, chmod_is_not_rt_sigreturn)
{
	start(NULL);
	char *path = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	cr_assert(path != MAP_FAILED);
	strcpy(path, "/tmp/usertrap-int80-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	struct usertrap_counters before = counters();
	const long regs[7] = {I386_CHMOD, (long)(uintptr_t)path, 0604};
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call(regs);
	usertrap_capture_thread(false, NULL);
	struct usertrap_counters after = counters();
	struct stat st;
	int stat_r = stat(path, &st);
	unlink(path); /* before any assertion: a failing run leaves no file behind */
	cr_assert_eq(stat_r, 0);
	cr_assert_eq(r, 0);
	cr_assert_eq(st.st_mode & 07777, 0604);
	cr_assert_eq(n_seen, 1);
	cr_assert_eq(seen[0].flags, USERTRAP_CALL_SIGSYS | USERTRAP_CALL_I386);
	cr_assert_eq(seen[0].nr, I386_CHMOD);
	cr_assert_eq(after.sigsys_calls - before.sigsys_calls, 1);
	cr_assert_eq(after.sigsys_native, before.sigsys_native);
	cr_assert_eq(after.in_place_calls, before.in_place_calls);
}

/* What an i386 fork under capture did: the counters around it, the calls the hook saw up to the fork. */
struct forked {
	struct usertrap_counters before, after;
	unsigned seen_by_fork;
};

/* i386 fork (2) with capture on; the child exits with 7 at once, the parent makes one 64-bit call
 * after it (getppid, checked) and reaps the child. */
static struct forked i386_fork(void)
{
	struct forked f = {.before = counters()};
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = i386_call0(I386_FORK);
	if (r == 0)
		syscall(SYS_exit_group, 7);
	f.seen_by_fork = n_seen;
	long ppid = syscall(SYS_getppid);
	usertrap_capture_thread(false, NULL);
	f.after = counters();
	cr_assert_gt(r, 0, "fork returned %ld", r);
	int st;
	cr_assert_eq(waitpid((pid_t)r, &st, 0), r);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
	cr_assert_eq(ppid, getppid(), "a 64-bit call after it is unaffected");
	cr_assert_eq(seen[0].flags, USERTRAP_CALL_SIGSYS | USERTRAP_CALL_I386 | USERTRAP_CALL_IN_PLACE);
	cr_assert_eq(seen[0].nr, I386_FORK);
	cr_assert_eq(f.after.in_place_calls - f.before.in_place_calls, 1);
	return f;
}

/* i386 fork (2) runs in place, at the slot's i386 gate: the child returns 0 from the same `int $0x80`. */
Test(int80, fork_runs_in_place)
{
	start(NULL);
	struct forked f = i386_fork();
	cr_assert_eq(seen[1].nr, SYS_getppid, "still captured");
	cr_assert_eq(f.after.capture_lost, f.before.capture_lost);
}

/* Three calls from one `int $0x80` site with lazy patching on: all on the signal path, no patch tried
 * (no patch, no failure, no refusal). */
Test(int80, the_site_is_never_patched)
{
	start(NULL);
	struct usertrap_counters before = counters();
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r[3];
	for (int i = 0; i < 3; i++)
		r[i] = i386_call0(I386_GETPID);
	usertrap_capture_thread(false, NULL);
	struct usertrap_counters after = counters();
	for (int i = 0; i < 3; i++)
		cr_assert_eq(r[i], getpid());
	cr_assert_eq(after.sigsys_calls - before.sigsys_calls, 3);
	cr_assert_eq(after.patches, before.patches);
	cr_assert_eq(after.patch_failures, before.patch_failures);
	cr_assert_eq(after.sites_patched, before.sites_patched);
	cr_assert_not(ut_refused((uintptr_t)i386_site - 5), "not on the refused list");
	cr_assert_eq(memcmp(i386_site, "\xcd\x80", 2), 0);
}

/* With every slot taken, i386 fork gets no gate: its `int $0x80` is run again natively (RIP - 2) with
 * this thread's capture switched off (counted), and still forks. */
Test(int80, fork_without_a_free_slot_runs_at_its_own_site, .timeout = 60)
{
	i386_or_skip();
	lazy_init_or_skip(recording, USERTRAP_LAZY_NO_PATCH);
	take_every_slot();
	struct forked f = i386_fork();
	cr_assert_eq(n_seen, f.seen_by_fork, "capture is off after it");
	cr_assert_eq(f.after.capture_lost - f.before.capture_lost, 1);
}

/* Memory an i386 call can point to (the kernel reads its pointers as 32-bit). */
static uint64_t *low_page(void)
{
	uint64_t *p =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	cr_assert(p != MAP_FAILED);
	return p;
}

static uint64_t thread_mask(void)
{
	uint64_t m;
	cr_assert_eq(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8), 0);
	return m;
}

static void set_thread_mask(uint64_t m)
{
	cr_assert_eq(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, NULL, 8), 0);
}

#define BIT(sig) (UINT64_C(1) << ((sig)-1))

/* i386 rt_sigprocmask, caught on the signal path: its change is the thread's (made from the SIGSYS
 * handler as given, rt_sigreturn undid it), the old mask is reported, and SIGSYS stays unblocked. */
Test(int80, rt_sigprocmask_changes_the_threads_mask)
{
	start(NULL);
	uint64_t *p = low_page(); /* p[0]: the set, p[1]: the old mask */
	set_thread_mask(BIT(SIGHUP));
	p[0] = BIT(SIGUSR1);
	p[1] = 0x5a5a;
	const long block[7] = {I386_RT_SIGPROCMASK, SIG_BLOCK, (long)(uintptr_t)&p[0], (long)(uintptr_t)&p[1],
	                       8};
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r1 = i386_call(block);
	uint64_t after1 = thread_mask();
	p[0] = BIT(SIGUSR2) | BIT(SIGSYS);
	long r2 = i386_call(block);
	uint64_t after2 = thread_mask();
	const long bad_size[7] = {I386_RT_SIGPROCMASK, SIG_BLOCK, (long)(uintptr_t)&p[0], 0, 4};
	long r3 = i386_call(bad_size);
	uint64_t after3 = thread_mask();
	usertrap_capture_thread(false, NULL);
	set_thread_mask(0);
	cr_assert_eq(r1, 0);
	cr_assert_eq(after1, BIT(SIGHUP) | BIT(SIGUSR1), "mask %#llx", (unsigned long long)after1);
	cr_assert_eq(r2, 0);
	cr_assert_eq(p[1], BIT(SIGHUP) | BIT(SIGUSR1), "the old mask");
	cr_assert_eq(after2, BIT(SIGHUP) | BIT(SIGUSR1) | BIT(SIGUSR2), "SIGSYS is left out: %#llx",
	             (unsigned long long)after2);
	cr_assert_eq(r3, -EINVAL);
	cr_assert_eq(after3, after2);
	cr_assert_eq(seen[0].flags, USERTRAP_CALL_SIGSYS | USERTRAP_CALL_I386);
	cr_assert_eq(seen[0].nr, I386_RT_SIGPROCMASK);
}

/* The old sigprocmask's sets are 32-bit: SIG_SETMASK leaves the signals above 32 as they are, and the
 * old set is the low 32 bits, 4 bytes written. What the kernel does with the same call is measured
 * first, without capture, as the reference. */
Test(int80, sigprocmask_of_32_bits_keeps_the_signals_above_32)
{
	start(NULL);
	uint32_t *p = (uint32_t *)low_page(); /* p[0]: the set, p[1..2]: the old set and the word after */
	const long setmask[7] = {I386_SIGPROCMASK, SIG_SETMASK, (long)(uintptr_t)&p[0],
	                         (long)(uintptr_t)&p[1]};
	uint64_t start_mask = BIT(SIGUSR1) | BIT(SIGRTMIN + 1);
	long r[2];
	uint64_t after[2];
	uint32_t old[2], next[2];
	for (int captured = 0; captured < 2; captured++) {
		set_thread_mask(start_mask);
		p[0] = (uint32_t)(BIT(SIGUSR2) | BIT(SIGSYS));
		p[1] = p[2] = 0xa5a5a5a5;
		if (captured)
			cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
		r[captured] = i386_call(setmask);
		after[captured] = thread_mask();
		usertrap_capture_thread(false, NULL);
		old[captured] = p[1];
		next[captured] = p[2];
	}
	set_thread_mask(0);
	cr_assert_eq(r[0], 0);
	cr_assert_eq(after[0], BIT(SIGUSR2) | BIT(SIGSYS) | BIT(SIGRTMIN + 1), "the kernel's: %#llx",
	             (unsigned long long)after[0]);
	cr_assert_eq(r[1], 0);
	cr_assert_eq(after[1], BIT(SIGUSR2) | BIT(SIGRTMIN + 1), "captured (SIGSYS left out): %#llx",
	             (unsigned long long)after[1]);
	cr_assert_eq(old[0], (uint32_t)BIT(SIGUSR1));
	cr_assert_eq(old[1], old[0]);
	cr_assert_eq(next[0], 0xa5a5a5a5);
	cr_assert_eq(next[1], 0xa5a5a5a5, "4 bytes written, not 8");
}

static volatile sig_atomic_t alarms;

/* A handler that makes an intercepted call: SIGSYS must be deliverable while it runs. */
static void alarm_handler(int sig)
{
	(void)sig;
	if (syscall(SYS_getppid) == getppid())
		alarms++;
}

/* In a child: an i386 sigsuspend (nr 72, the mask in EDX) or rt_sigsuspend (179, through a pointer)
 * with SIGSYS in its mask, woken by SIGALRM whose handler makes an intercepted call. Made as given,
 * SIGSYS would be blocked then and Syscall User Dispatch's forced SIGSYS would kill the child. Exit 0:
 * the call returned -EINTR after the handler ran, with the thread's own mask back. */
static void suspend_child(long nr)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		uint64_t *p = low_page();
		p[0] = BIT(SIGSYS) | BIT(SIGUSR1);
		long regs[7] = {nr, (long)(uintptr_t)&p[0], 8};
		if (nr == I386_SIGSUSPEND)
			regs[1] = 0, regs[2] = 0, regs[3] = (long)p[0];
		signal(SIGALRM, alarm_handler);
		set_thread_mask(BIT(SIGHUP));
		struct itimerval t = {.it_value = {.tv_usec = 20000}};
		setitimer(ITIMER_REAL, &t, NULL);
		usertrap_capture_thread(true, NULL);
		long r = i386_call(regs);
		uint64_t m;
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
		usertrap_capture_thread(false, NULL);
		_exit(r == -EINTR && alarms == 1 && m == BIT(SIGHUP) ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "i386 call %ld: status %#x%s", nr, st,
	          WIFSIGNALED(st) ? " (killed)" : "");
}

Test(int80, sigsuspend_with_sigsys_in_its_mask_lets_handlers_make_calls)
{
	start(NULL);
	suspend_child(I386_SIGSUSPEND);
}

Test(int80, rt_sigsuspend_with_sigsys_in_its_mask_lets_handlers_make_calls)
{
	start(NULL);
	suspend_child(I386_RT_SIGSUSPEND);
}

/* ---- usertrap's own memory and seccomp filters, by i386 calls (as own_memory.c and seccomp.c) ---- */

#define I386_OLD_MMAP 90
#define I386_MUNMAP   91
#define I386_MPROTECT 125
#define I386_MREMAP   163
#define I386_PRCTL    172
#define I386_MMAP2    192
#define I386_MADVISE  219
#define I386_SECCOMP  354

static long i386_call3(long nr, long a, long b, long c)
{
	const long regs[7] = {nr, a, b, c};
	return i386_call(regs);
}

Test(int80, calls_cannot_change_usertraps_own_memory)
{
	start(NULL);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	uintptr_t t = ut_table();
	cr_assert(t && t < 0x100000000, "the table is low: i386 calls reach it");
	unsigned char before[4096];
	memcpy(before, (const void *)t, sizeof before);
	/* old_mmap's arguments, in memory an i386 call can point to */
	uint32_t *args =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	cr_assert(args != MAP_FAILED);
	uint32_t am[6] = {(uint32_t)t, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
	                  ~0u,         0};
	memcpy(args, am, sizeof am);
	const long mmap2[7] = {I386_MMAP2, (long)t, 4096, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
	                       -1,         0};
	cr_assert_eq(i386_call(mmap2), -ENOMEM);
	cr_assert_eq(i386_call3(I386_OLD_MMAP, (long)args, 0, 0), -ENOMEM);
	cr_assert_eq(i386_call3(I386_MUNMAP, (long)t, 4096, 0), -EINVAL);
	cr_assert_eq(i386_call3(I386_MPROTECT, (long)t, 4096, PROT_READ | PROT_WRITE), -EACCES);
	cr_assert_eq(i386_call3(I386_MADVISE, (long)t, 4096, MADV_DONTNEED), -EINVAL);
	cr_assert_eq(i386_call3(I386_MREMAP, (long)t, 4096, 8192), -EINVAL);
	cr_assert_eq(memcmp((const void *)t, before, sizeof before), 0);
	/* the program's own memory is its own */
	cr_assert_eq(i386_call3(I386_MPROTECT, (long)args, 4096, PROT_READ), 0);
	cr_assert_eq(i386_call3(I386_MUNMAP, (long)args, 4096, 0), 0);
	cr_assert_eq(usertrap_capture_thread(false, NULL), 0);
}

/* A filter installed by an i386 seccomp call (its compat struct in low memory) seals usertrap as a
 * 64-bit one does; the call runs in place. In a child whose filter kills on anything but getppid,
 * exit_group and sigaltstack (64-bit numbers). */
Test(int80, a_seccomp_filter_installed_by_an_i386_call_seals_usertrap)
{
	start(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsigned char *site = make_sites(1, SYS_getppid, false);
		long ppid = (long)getppid();
		if (usertrap_capture_thread(true, NULL) != 0 || fn_at(site, 0)(0, 0, 0, 0) != ppid)
			_exit(10);
		struct sock_filter filter[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sigaltstack, 0,
		             1), /* ASan's runtime (sanitizer build) */
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		};
		unsigned char *low =
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (low == MAP_FAILED || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(11);
		memcpy(low + 64, filter, sizeof filter);
		uint16_t len =
		    sizeof filter / sizeof filter[0]; /* struct compat_sock_fprog: u16 len, u32 filter */
		uint32_t ptr = (uint32_t)(uintptr_t)(low + 64);
		memcpy(low, &len, 2);
		memcpy(low + 4, &ptr, 4);
		struct usertrap_counters before, after;
		usertrap_get_counters(&before);
		if (i386_call3(I386_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, (long)(uintptr_t)low) != 0)
			_exit(12);
		usertrap_get_counters(&after);
		if (!usertrap_seccomp_sealed() || after.in_place_calls != before.in_place_calls + 1)
			_exit(13);
		if (fn_at(site, 0)(0, 0, 0, 0) != ppid) /* the patched site, through the hook */
			_exit(14);
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x (killed by the filter: signal %d)", st,
	          SIGSYS);
}
