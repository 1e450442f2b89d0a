/*
 * Test 1: a site patched and restored hundreds of times, with pauses between the ordered writes (four
 * each way), while 8 threads call it as fast as they can. Every call must return the right value and
 * reach the hook exactly once (before the patch the calls come through Syscall User Dispatch, after it
 * through the trampoline; a thread caught on a guard byte is restarted by SIGILL).
 */
#include <pthread.h>
#include <time.h>

#include "usertrap/util.h"

#define THREADS 8
#define ROUNDS  300

static __thread uint64_t hook_calls;
static void *target_insn;
static volatile int stop;
static volatile int armed_threads;

static long hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->site == target_insn && call->nr == NR_FAKE) {
		hook_calls++;
		return call->args[0] * 3 + 1;
	}
	return usertrap_syscall(call);
}

struct result {
	uint64_t calls, hooked, wrong;
};

static void *hammer(void *p)
{
	struct result *r = p;
	site_fn f = (site_fn)((unsigned char *)target_insn - 5 - SITE_OFFSET);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	__atomic_fetch_add(&armed_threads, 1, __ATOMIC_SEQ_CST);
	for (long k = 1; !__atomic_load_n(&stop, __ATOMIC_RELAXED); k++) {
		long v = f(k, 0, 0, 0);
		r->calls++;
		if (v != k * 3 + 1)
			r->wrong++;
	}
	r->hooked = hook_calls;
	return NULL;
}

static void pause_step(uintptr_t site, int step, void *arg)
{
	(void)site;
	(void)step;
	(void)arg;
	struct timespec ts = {0, 200 * 1000};
	nanosleep(&ts, NULL);
}

Test(hammer, patch_while_eight_threads_call, .timeout = 120)
{
	struct usertrap_config cfg = {.hook = hook, .flags = USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), 0, "init: %s", usertrap_status_name(err.status));
	unsigned char *m = make_sites(1, NR_FAKE, false);
	void *site = site_at(m, 0);
	target_insn = (unsigned char *)site + 5;
	ut_test_step_hook = pause_step;

	pthread_t t[THREADS];
	struct result res[THREADS];
	memset(res, 0, sizeof res);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, &res[i]), 0);
	while (__atomic_load_n(&armed_threads, __ATOMIC_SEQ_CST) < THREADS)
		sched_yield();
	for (int round = 0; round < ROUNDS; round++) {
		cr_assert_eq(usertrap_patch(site, NR_FAKE, &err), 0, "round %d patch: %s", round,
		             usertrap_status_name(err.status));
		cr_assert_eq(((unsigned char *)site)[0], 0xff);
		cr_assert_eq(((unsigned char *)site)[5], 0x06, "third byte of the jump is the guard");
		cr_assert_eq(usertrap_unpatch(site, &err), 0, "round %d unpatch: %s", round,
		             usertrap_status_name(err.status));
		cr_assert_eq(((unsigned char *)site)[0], 0xb8);
		cr_assert_eq(((unsigned char *)site)[5], 0x0f);
	}
	cr_assert_eq(usertrap_patch(site, NR_FAKE, &err), 0);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	uint64_t total = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(res[i].wrong, 0, "thread %d: %llu wrong results", i,
		             (unsigned long long)res[i].wrong);
		cr_expect_eq(res[i].calls, res[i].hooked, "thread %d: %llu calls, %llu hook runs", i,
		             (unsigned long long)res[i].calls, (unsigned long long)res[i].hooked);
		cr_expect_gt(res[i].calls, 0);
		total += res[i].calls;
	}
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_log_info("hammer: %llu calls, %llu trampoline, %llu sigsys, %llu SIGILL restarts",
	            (unsigned long long)total, (unsigned long long)c.trampoline_calls,
	            (unsigned long long)c.sigsys_calls, (unsigned long long)c.sigill_restarts);
	cr_expect_gt(c.trampoline_calls, 0);
	cr_expect_gt(c.sigsys_calls, 0);
	cr_expect_gt(c.sigill_restarts, 0, "no thread was ever caught on the guard byte");
	cr_expect_eq(c.patches, ROUNDS + 1);
	cr_expect_eq(c.sites_patched, 1);
	cr_expect_eq(c.slots_used, 1, "one slot, reused by every round");
}

/* The trampoline counter (one lock-free cell per thread) is exact across threads. */
static void *call_many(void *p)
{
	site_fn f = (site_fn)p;
	for (int i = 0; i < 20000; i++)
		if (f(i, 0, 0, 0) != i * 3 + 1)
			return (void *)1;
	return NULL;
}

static long triple(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == NR_FAKE ? call->args[0] * 3 + 1 : usertrap_syscall(call);
}

Test(hammer, trampoline_counter_is_exact_across_threads)
{
	struct usertrap_config cfg = {.hook = triple};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	unsigned char *m = make_sites(1, NR_FAKE, false);
	cr_assert_eq(usertrap_patch(site_at(m, 0), NR_FAKE, NULL), 0);
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, call_many, (void *)fn_at(m, 0)), 0);
	for (int i = 0; i < 6; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r);
	}
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 6 * 20000);
}

/*
 * Test 1 for relocated windows: each shape of window_shapes.asm patched and restored, with pauses
 * between the two writes each way, while 8 captured threads call it. Before the patch the calls come
 * through Syscall User Dispatch, after it through the stub; a thread that ran the window's first
 * instructions natively meets a guard and is moved into the stub by SIGILL. Every call must be answered
 * right and reach the hook exactly once.
 */
#include "usertrap/shapes.h"

#define WINDOW_ROUNDS 60

static __thread uint64_t window_hook_calls;
static const struct shape *window_shape;
static struct placed window_site;

static long window_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	long r;
	if (!shape_answer(call, &r))
		return usertrap_syscall(call);
	window_hook_calls++;
	return r;
}

static void *window_hammer(void *p)
{
	struct result *r = p;
	shape_fn f = shape_entry(&window_site);
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	__atomic_fetch_add(&armed_threads, 1, __ATOMIC_SEQ_CST);
	for (long k = 1; !__atomic_load_n(&stop, __ATOMIC_RELAXED); k++) {
		long v = window_shape->invoke(f, k);
		r->calls++;
		if (v != k * 3 + 1)
			r->wrong++;
	}
	r->hooked = window_hook_calls;
	return NULL;
}

static void hammer_one_window(const struct shape *s)
{
	window_shape = s;
	window_site = place_shape(s);
	stop = 0;
	armed_threads = 0;
	pthread_t t[THREADS];
	struct result res[THREADS];
	memset(res, 0, sizeof res);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, window_hammer, &res[i]), 0);
	while (__atomic_load_n(&armed_threads, __ATOMIC_SEQ_CST) < THREADS)
		sched_yield();
	struct placed *p = &window_site;
	unsigned char *start = p->insn - s->window_before;
	for (int round = 0; round < WINDOW_ROUNDS; round++) {
		struct usertrap_error err;
		cr_assert_eq(usertrap_patch_syscall(p->insn, p->fn, p->end, &err), 0, "%s round %d: %s",
		             s->name, round, usertrap_status_name(err.status));
		cr_assert_eq(start[0], 0xe9);
		cr_assert_eq(usertrap_unpatch_syscall(p->insn, &err), 0, "%s round %d: %s", s->name, round,
		             usertrap_status_name(err.status));
		cr_assert_eq(memcmp(p->fn, s->start, (size_t)(p->end - p->fn)), 0, "%s: restored", s->name);
	}
	cr_assert_eq(usertrap_patch_syscall(p->insn, p->fn, p->end, NULL), 0);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(res[i].wrong, 0, "%s thread %d: %llu wrong results", s->name, i,
		             (unsigned long long)res[i].wrong);
		cr_expect_eq(res[i].calls, res[i].hooked, "%s thread %d: %llu calls, %llu hook runs", s->name,
		             i, (unsigned long long)res[i].calls, (unsigned long long)res[i].hooked);
		cr_expect_gt(res[i].calls, 0);
	}
}

Test(hammer, windows_patched_while_eight_threads_call, .timeout = 240)
{
	struct usertrap_config cfg = {.hook = window_hook, .flags = USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH};
	struct usertrap_error err;
	cr_assert_eq(usertrap_init(&cfg, &err), 0, "init: %s", usertrap_status_name(err.status));
	ut_test_step_hook = pause_step;
	const struct shape shapes[] = PATCHABLE_SHAPES;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		hammer_one_window(&shapes[i]);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_log_info("windows hammer: %llu trampoline, %llu sigsys, %llu SIGILL restarts",
	            (unsigned long long)c.trampoline_calls, (unsigned long long)c.sigsys_calls,
	            (unsigned long long)c.sigill_restarts);
	cr_expect_gt(c.trampoline_calls, 0);
	cr_expect_gt(c.sigsys_calls, 0);
	cr_expect_eq(c.patches, N_PATCHABLE_SHAPES * (WINDOW_ROUNDS + 1));
	cr_expect_eq(c.sites_patched, N_PATCHABLE_SHAPES);
}
