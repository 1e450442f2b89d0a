/*
 * Relocated windows (src/usertrap/windows.h): the shapes of window_shapes.asm patched and restored
 * explicitly; a relocated jcc still taken; refusals; a thread at an interior boundary sent to the stub;
 * a thread blocked in the kernel in the site's syscall while it is patched; in-place numbers through a
 * window; the count of libc's patchable sites; capacity.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "usertrap/decode.h"
#include "usertrap/fde.h"
#include "usertrap/libc_sites.h"
#include "usertrap/shapes.h"
#include "usertrap/util.h"

static uint64_t hook_calls, clone_hooked;
static void *last_site;

static long answering_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	long r;
	if (call->nr == SYS_clone)
		__atomic_fetch_add(&clone_hooked, 1, __ATOMIC_RELAXED);
	if (!shape_answer(call, &r))
		return usertrap_syscall(call);
	__atomic_fetch_add(&hook_calls, 1, __ATOMIC_RELAXED);
	last_site = call->site;
	return r;
}

static void init_explicit(void)
{
	struct usertrap_config cfg = {.hook = answering_hook};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), 0, "init: %s", usertrap_status_name(err.status));
}

static int patch(const struct placed *p, struct usertrap_error *err)
{
	return usertrap_patch_syscall(p->insn, p->fn, p->end, err);
}

static uint64_t trampoline_calls(void)
{
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	return c.trampoline_calls;
}

/* Every patchable shape patched, called, restored and patched again, each byte checked. */
static void patch_every_shape(void)
{
	init_explicit();
	const struct shape shapes[] = PATCHABLE_SHAPES;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		const struct shape *s = &shapes[i];
		struct placed p = place_shape(s);
		shape_fn f = shape_entry(&p);
		size_t len = (size_t)(p.end - p.fn);
		unsigned char orig[64];
		memcpy(orig, p.fn, len);
		long native = s->invoke(f, 5);
		cr_assert(native == -EBADF || native == -ENOSYS, "%s: native call gave %ld", s->name, native);

		struct usertrap_error err;
		int r = patch(&p, &err);
		cr_assert_eq(r, 0, "%s: %s", s->name, usertrap_status_name(r));
		unsigned char *start = p.insn - s->window_before;
		cr_assert_eq(start[0], 0xe9, "%s: the jump at the window's start", s->name);
		unsigned char *end = p.insn + 2 + s->window_after;
		for (unsigned char *b = start + 5; b < end; b++)
			cr_assert_eq(*b, 0x06, "%s: guard at window offset %td", s->name, b - start);
		if (p.insn > start)
			cr_assert_eq(p.insn[0], 0x06, "%s: the syscall's boundary holds a guard", s->name);
		else
			cr_assert_eq(p.insn[2], 0x06, "%s: the boundary after it is punned", s->name);
		cr_assert_eq(memcmp(p.fn, orig, (size_t)(start - p.fn)), 0, "%s: before the window", s->name);
		cr_assert_eq(memcmp(end, orig + (end - p.fn), (size_t)(p.end - end)), 0,
		             "%s: after the window", s->name);
		cr_assert_eq(patch(&p, NULL), 0, "%s: patching twice", s->name);

		uint64_t hooked = hook_calls, tramp = trampoline_calls();
		for (long k = 1; k <= 3; k++)
			cr_assert_eq(s->invoke(f, k), k * 3 + 1, "%s: call %ld", s->name, k);
		cr_assert_eq(hook_calls - hooked, 3, "%s", s->name);
		cr_assert_eq(trampoline_calls() - tramp, 3, "%s: through the trampoline", s->name);
		cr_assert_eq(last_site, p.insn, "%s: the hook sees the syscall's own address", s->name);

		cr_assert_eq(usertrap_unpatch_syscall(p.insn, &err), 0, "%s: %s", s->name,
		             usertrap_status_name(err.status));
		cr_assert_eq(memcmp(p.fn, orig, len), 0, "%s: every byte restored", s->name);
		cr_assert_eq(s->invoke(f, 5), native, "%s: native again", s->name);
		cr_assert_eq(patch(&p, NULL), 0, "%s: patched again (stub reused)", s->name);
		cr_assert_eq(s->invoke(f, 9), 28, "%s", s->name);
	}
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sites_patched, N_PATCHABLE_SHAPES);
	cr_assert_eq(c.sigill_restarts, 0);
	cr_assert_eq(usertrap_shutdown(NULL), 0, "shutdown restores the windows");
}

Test(windows, every_shape_patched_and_restored)
{
	patch_every_shape();
}

Test(windows, every_shape_patched_and_restored_by_page_swaps)
{
	ut_test_no_proc_mem = true; /* as on a kernel that refuses forced writes to /proc/self/mem */
	patch_every_shape();
}

Test(windows, relocated_jcc_is_still_taken)
{
	init_explicit();
	const struct shape s = SHAPE(read_taken, 11, 0, invoke_read);
	struct placed p = place_shape(&s);
	cr_assert_eq(patch(&p, NULL), 0);
	cr_assert_eq(p.fn[0], 0xe9, "the window holds the jne and the RIP-relative cmp");
	cr_assert_eq(s.invoke(shape_entry(&p), 5), -7, "the moved jne jumps to the original .slow");
	cr_assert_eq(hook_calls, 0);
	cr_assert_eq(trampoline_calls(), 0);
}

Test(windows, refused_shapes_stay_as_they_are)
{
	init_explicit();
	const struct shape refused[] = {SHAPE(call, 0, 0, NULL), SHAPE(target, 0, 0, NULL),
	                                SHAPE(indirect, 0, 0, NULL)};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct placed p = place_shape(&refused[i]);
		unsigned char orig[64];
		memcpy(orig, p.fn, (size_t)(p.end - p.fn));
		struct usertrap_error err;
		cr_assert_eq(patch(&p, &err), USERTRAP_ERR_PATTERN, "%s: %s", refused[i].name,
		             usertrap_status_name(err.status));
		cr_assert_eq(memcmp(p.fn, orig, (size_t)(p.end - p.fn)), 0, "%s: unchanged", refused[i].name);
	}
	/* The only window of movreg starts 9 bytes before the syscall: a function starting inside it
	 * refuses it, and anonymous memory has no .eh_frame_hdr to find bounds in. */
	const struct shape s = SHAPE(movreg, 9, 0, invoke_nr_third);
	struct placed p = place_shape(&s);
	cr_assert_eq(usertrap_patch_syscall(p.insn, p.insn - 2, p.end, NULL), USERTRAP_ERR_PATTERN);
	cr_assert_eq(usertrap_patch_syscall(p.insn, NULL, NULL, NULL), USERTRAP_ERR_PATTERN);
	cr_assert_eq(usertrap_patch_syscall(p.insn, p.fn, NULL, NULL), USERTRAP_ERR_INVAL);
	cr_assert_eq(usertrap_patch_syscall(p.insn + 1, p.fn, p.end, NULL), USERTRAP_ERR_PATTERN,
	             "not an instruction boundary");
	cr_assert_eq(usertrap_unpatch_syscall(p.insn, NULL), USERTRAP_ERR_INVAL, "never patched");
	cr_assert_eq(p.fn[0], 0x49, "unchanged");
}

Test(windows, interior_boundary_continues_in_the_stub)
{
	init_explicit();
	const struct shape s = SHAPE(movreg, 9, 0, invoke_nr_third);
	struct placed p = place_shape(&s);
	cr_assert_eq(patch(&p, NULL), 0);
	/* Entering at `mov %edx,%eax` (window offset 7, now a guard) is a thread that was preempted
	 * there, or arrived by a branch: SIGILL moves it to that instruction's copy in the stub. */
	shape_fn inner = (shape_fn)(void *)(p.insn - 2);
	cr_assert_eq(p.insn[-2], 0x06);
	cr_assert_eq(inner(0, 4, 500, 0), 13);
	/* The same inside the jump itself: cond's `mov %edx,%eax` is at window offset 3, the rel32's
	 * byte 2, which the stub's placement made 0x06. */
	const struct shape c3 = SHAPE(cond, 5, 0, invoke_nr_third);
	struct placed q = place_shape(&c3);
	cr_assert_eq(patch(&q, NULL), 0);
	cr_assert_eq(q.fn[0], 0xe9);
	cr_assert_eq(q.fn[3], 0x06, "punned");
	shape_fn in_jump = (shape_fn)(void *)(q.fn + 3);
	cr_assert_eq(in_jump(0, 5, 500, 0), 16);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sigill_restarts, 2);
	cr_assert_eq(c.trampoline_calls, 2);
	cr_assert_eq(hook_calls, 2);
}

/* A thread blocked in the kernel in the site's own syscall while the window is patched. */
struct reader {
	struct placed p;
	int fd;
	long r;
	char buf[2];
	pid_t tid;
};

static void *blocked_reader(void *arg)
{
	struct reader *rd = arg;
	__atomic_store_n(&rd->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	rd->r = shape_entry(&rd->p)(rd->fd, (long)rd->buf, 1, 0);
	return NULL;
}

/* True once thread tid sits in read(2) (the first field of /proc/self/task/TID/syscall). */
static bool in_read(pid_t tid)
{
	char path[64], line[64] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool r = fgets(line, sizeof line, f) && strncmp(line, "0 ", 2) == 0;
	fclose(f);
	return r;
}

Test(windows, thread_blocked_in_the_syscall_while_patched, .timeout = 20)
{
	init_explicit();
	const struct shape s = SHAPE(read, 11, 0, invoke_read);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	struct reader rd = {.p = place_shape(&s), .fd = fds[0]};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, blocked_reader, &rd), 0);
	while (!__atomic_load_n(&rd.tid, __ATOMIC_ACQUIRE) || !in_read(rd.tid))
		usleep(1000);
	cr_assert_eq(patch(&rd.p, NULL), 0);
	cr_assert_eq(rd.p.fn[0], 0xe9);
	cr_assert_eq(write(fds[1], "x", 1), 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(rd.r, 1, "no EINTR, no lost byte: %ld", rd.r);
	cr_assert_eq(rd.buf[0], 'x');
	cr_assert_eq(trampoline_calls(), 0, "that call was the kernel's");
	cr_assert_eq(write(fds[1], "y", 1), 1);
	cr_assert_eq(s.invoke == invoke_read, true);
	cr_assert_eq(shape_entry(&rd.p)(fds[0], (long)rd.buf, 1, 0), 1);
	cr_assert_eq(rd.buf[0], 'y');
	cr_assert_eq(trampoline_calls(), 1, "the next call goes through the stub");
}

Test(windows, in_place_number_through_a_window_is_a_real_syscall)
{
	init_explicit();
	const struct shape s = SHAPE(movreg, 9, 0, invoke_nr_third);
	struct placed p = place_shape(&s);
	cr_assert_eq(patch(&p, NULL), 0);
	/* clone(SIGCHLD, no stack): a fork made from the stub; the child returns through it too. */
	long pid = shape_entry(&p)(SIGCHLD, 0, SYS_clone, 0);
	if (pid == 0)
		_exit(7);
	cr_assert_gt(pid, 0);
	int st;
	cr_assert_eq(waitpid((pid_t)pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x", st);
	cr_assert_eq(clone_hooked, 0, "clone never reaches the hook from a stub");
	cr_assert_eq(trampoline_calls(), 0);
	cr_assert_eq(s.invoke(shape_entry(&p), 2), 7, "other numbers still reach the hook");
}

/* RAX's upper half is not part of the number (the kernel runs EAX sign-extended): the hook sees that
 * number, as the SIGSYS path does, so a number with junk above is answered or run as the kernel would. */
Test(windows, hook_sees_the_number_the_kernel_runs)
{
	init_explicit();
	const struct shape s = SHAPE(cancel, 5, 0, invoke_nr_fourth);
	struct placed p = place_shape(&s);
	cr_assert_eq(patch(&p, NULL), 0);
	const long junk = 0x5a5a5a5aL << 32;
	cr_assert_eq(shape_entry(&p)(0, 4, 0, junk | NR_FAKE_), 13, "the hook answers NR_FAKE");
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(shape_entry(&p)(0, 0, 0, junk | SYS_getppid), getppid());
	cr_assert_eq(hook_calls, 1, "getppid is passed, not answered");
	cr_assert_eq(shape_entry(&p)(0, 0, 0, (long)0xffffffffL), -ENOSYS, "EAX -1: no call, -ENOSYS");
	cr_assert_eq(trampoline_calls(), 3);
}

/* libc's syscall sites: how many the 7-byte form covers, and how many a window does. */
Test(windows, libc_sites_patchable_before_and_after)
{
	struct libc_sites s;
	libc_sites_count(&s);
	cr_assert_neq(s.libc_lo, 0, "libc.so.6 is loaded");
	unsigned sites = s.sites, seven = s.seven, windowed = s.windowed;
	cr_log_info("libc.so.6: %u syscall sites; 7-byte form %u; windows %u", sites, seven, windowed);
	void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY); /* not a sanitizer's interceptor */
	cr_assert_not_null(libc);
	uintptr_t read_fn = (uintptr_t)dlsym(libc, "read");
	uintptr_t insn = read_fn;
	while (((unsigned char *)insn)[0] != 0x0f || ((unsigned char *)insn)[1] != 0x05)
		insn++;
	uintptr_t lo, hi;
	struct ut_plan plan;
	cr_assert(ut_function_of(insn, &lo, &hi));
	cr_assert_eq(lo, read_fn, "read's FDE starts at read");
	cr_assert_eq(ut_plan_window(insn, lo, hi, NULL, &plan), UT_PLAN_OK,
	             "read's `xor %%eax,%%eax; syscall`");
	cr_assert_gt(sites, 300);
	cr_assert_gt(windowed, seven, "windows cover more than the 7-byte form");
	cr_assert_geq(windowed * 100, sites * 98,
	              "at least 98%% of libc's sites have a window (all of them in "
	              "glibc 2.36 and 2.41)");
}

Test(windows, capacity_is_usertrap_max_windows, .timeout = 120)
{
	init_explicit();
	const struct shape s = SHAPE(cancel, 5, 0, invoke_nr_fourth);
	size_t len = (size_t)(s.end - s.start), stride = 16;
	size_t n = USERTRAP_MAX_WINDOWS + 1, bytes = (n * stride + 4095) & ~(size_t)4095;
	unsigned char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	for (size_t i = 0; i < n; i++)
		memcpy(m + i * stride, s.start, len);
	cr_assert_eq(mprotect(m, bytes, PROT_READ | PROT_EXEC), 0);
	size_t sys = (size_t)(s.sys - s.start);
	for (size_t i = 0; i < n - 1; i++) {
		unsigned char *fn = m + i * stride;
		struct usertrap_error err;
		int r = usertrap_patch_syscall(fn + sys, fn, fn + len, &err);
		cr_assert_eq(r, 0, "window %zu: %s", i, usertrap_status_name(r));
	}
	unsigned char *last = m + (n - 1) * stride;
	cr_assert_eq(usertrap_patch_syscall(last + sys, last, last + len, NULL), USERTRAP_ERR_TABLE_FULL);
	cr_assert_eq(last[0], 0x51, "the one over the limit is unchanged");
	for (size_t i = 0; i < n - 1; i += 97) {
		shape_fn f = (shape_fn)(void *)(m + i * stride);
		cr_assert_eq(s.invoke(f, (long)i), (long)i * 3 + 1, "window %zu", i);
	}
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.sites_patched, USERTRAP_MAX_WINDOWS);
}

/* A window across a page boundary: both pages swapped at once by each write, and still restorable
 * after the patch of a window in the second page alone has split the mapping under it. */
Test(windows, window_across_a_page_boundary)
{
	init_explicit();
	const struct shape open = SHAPE(open, 5, 0, invoke_first),
	                   cancel = SHAPE(cancel, 5, 0, invoke_nr_fourth);
	unsigned char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	size_t open_len = (size_t)(open.end - open.start), cancel_len = (size_t)(cancel.end - cancel.start);
	unsigned char *a = m + 4096 - 10, *b = m + 4096 + 64; /* a's window: 4094..4100 */
	memcpy(a, open.start, open_len);
	memcpy(b, cancel.start, cancel_len);
	cr_assert_eq(mprotect(m, 8192, PROT_READ | PROT_EXEC), 0);
	struct placed pa = {a, a + (open.sys - open.start), a + open_len};
	struct placed pb = {b, b + (cancel.sys - cancel.start), b + cancel_len};
	struct usertrap_error err;
	cr_assert_eq(patch(&pa, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(pa.insn[-5], 0xe9);
	cr_assert_eq(pa.insn[0], 0x06, "the guard in the second page");
	cr_assert_eq(patch(&pb, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(open.invoke(shape_entry(&pa), 2), 7);
	cr_assert_eq(cancel.invoke(shape_entry(&pb), 3), 10);
	cr_assert_eq(usertrap_unpatch_syscall(pa.insn, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(memcmp(a, open.start, open_len), 0, "restored across the boundary");
	cr_assert_eq(open.invoke(shape_entry(&pa), 2), -ENOSYS);
	cr_assert_eq(cancel.invoke(shape_entry(&pb), 4), 13);
	cr_assert_eq(trampoline_calls(), 3);
}

/* Two sites in one function: each patched while the other is (the decode of the function runs over
 * the other's jump and guards, and must see the original code), in both orders and both forms. */
extern const unsigned char shape_two_sys2[] __asm__("shape_two.sys2");

Test(windows, second_site_of_a_function_while_the_first_is_patched)
{
	init_explicit();
	const struct shape s = SHAPE(two, 0, 0, NULL);
	struct placed p = place_shape(&s);
	unsigned char *sys2 = p.fn + (shape_two_sys2 - s.start);
	shape_fn f = shape_entry(&p);
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch(p.insn - 5, 500, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(usertrap_patch_syscall(sys2, p.fn, p.end, &err), 0, "after the 7-byte form: %s",
	             usertrap_status_name(err.status));
	cr_assert_eq(f(1, 2, 0, 0), 7);
	cr_assert_eq(f(0, 3, 500, 0), 10);
	cr_assert_eq(usertrap_unpatch(p.insn - 5, NULL), 0);
	cr_assert_eq(usertrap_unpatch_syscall(sys2, NULL), 0);
	cr_assert_eq(memcmp(p.fn, s.start, (size_t)(p.end - p.fn)), 0, "restored");
	cr_assert_eq(usertrap_patch_syscall(sys2, p.fn, p.end, &err), 0, "%s",
	             usertrap_status_name(err.status));
	cr_assert_eq(usertrap_patch_syscall(p.insn, p.fn, p.end, &err), 0, "after a window: %s",
	             usertrap_status_name(err.status));
	cr_assert_eq(p.insn[-5], 0xe9, "the b8 form moved too");
	cr_assert_eq(f(1, 4, 0, 0), 13);
	cr_assert_eq(f(0, 5, 500, 0), 16);
	cr_assert_eq(trampoline_calls(), 4);
	cr_assert_eq(hook_calls, 4);
}

extern unsigned long ut_window_writes(void);
extern char __libc_single_threaded;

/* With one thread, a window is written whole: one write for its stub, one for the window (the three
 * ordered writes, in pieces of 7 bytes, are for code other threads may be running). Criterion's test
 * process has had threads, and glibc never sets __libc_single_threaded back: a forked child, which
 * has one thread, says so itself before it patches. */
static int patch_in_one_thread(void)
{
	__libc_single_threaded = 1;
	init_explicit();
	const struct shape open = SHAPE(open, 5, 0, invoke_first);
	struct placed p = place_shape(&open);
	unsigned long before = ut_window_writes();
	if (patch(&p, NULL) != 0)
		return 11;
	unsigned long writes = ut_window_writes() - before;
	if (p.insn[-5] != 0xe9 || p.insn[0] != 0x06 || open.invoke(shape_entry(&p), 2) != 7)
		return 12;
	return writes == 2 ? 0 : 20 + (int)writes;
}

Test(windows, single_threaded_patch_is_one_write)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(patch_in_one_thread());
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0,
	             "exit %d (11: patch failed, 12: wrong bytes or result, 20+n: "
	             "n writes)",
	             WEXITSTATUS(status));
}

extern unsigned long ut_window_opens(void);
extern unsigned long ut_window_swaps(void);

/* The lowest descriptor number free now: one left open by usertrap would take it. */
static int lowest_free_fd(void)
{
	int fd = dup(0);
	cr_assert_geq(fd, 0);
	close(fd);
	return fd;
}

/* A window's patch opens /proc/self/mem once, for the check of its pages, its stub and its writes, and
 * swaps no page (its stub is written through the same descriptor); its restore opens it once too. The
 * descriptor is closed after each. */
Test(windows, one_descriptor_and_no_page_swap_per_window)
{
	init_explicit();
	const struct shape s = SHAPE(open, 5, 0, invoke_first);
	struct placed p = place_shape(&s);
	int low = lowest_free_fd();
	unsigned long opens = ut_window_opens(), swaps = ut_window_swaps();
	struct usertrap_error err;
	cr_assert_eq(patch(&p, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(ut_window_opens() - opens, 1);
	cr_assert_eq(ut_window_swaps() - swaps, 0);
	cr_assert_eq(p.insn[-5], 0xe9);
	cr_assert_eq(s.invoke(shape_entry(&p), 2), 7);
	cr_assert_eq(usertrap_unpatch_syscall(p.insn, &err), 0, "%s", usertrap_status_name(err.status));
	cr_assert_eq(ut_window_opens() - opens, 2);
	cr_assert_eq(ut_window_swaps() - swaps, 0);
	cr_assert_eq(s.invoke(shape_entry(&p), 2), -ENOSYS);
	cr_assert_eq(lowest_free_fd(), low, "no descriptor left open");
}
