/*
 * Mappings that change during a call. The header promises: the count still ends at a byte found
 * inaccessible, everything before it holds the source's data, and fewer than SC_COPY_SPAN (64) bytes
 * after it can hold data copied before their page went away. A second thread is simulated exactly:
 * the call is single-stepped (stepper.h) and pages lose their access at chosen steps: one side at
 * every step in turn, and (static suite) the other side too when the redo after the first fault runs.
 *
 * Layout (161 bytes, the vector path): a source page boundary 66 bytes into the copy and a
 * destination page boundary 130 bytes in. Before the fix the final overlapping access faulted on the
 * destination at 130, the redo [66, 130) then faulted on the source at 66, and the bytes [66, 160)
 * written by the first pass lay after the count: 95 bytes (79 on the SSE2 path).
 */
#include "stepper.h"

#define SPAN 64 /* SC_COPY_SPAN */

/*
 * The length of the copy and where the pages end: 161, 66 and 130 (see above), or the layout of the
 * AVX-512 loop (loop_layout()). Set before layout().
 */
static size_t len = 161, src_split = 66, dst_split = 130;

/*
 * 700 bytes: the AVX-512 copy's loop of four 64-byte blocks and its tail. Its blocks start on the
 * destination's lines, so a destination page always ends at a block's start; the source's ends 8 bytes
 * into a block (333 = 5 + 5 * 64 + 8, dst 5 bytes before a line).
 */
static void loop_layout(void)
{
	len = 700;
	src_split = 333;
	dst_split = 517;
}

/* 400 bytes: the AVX-512 copy's two halves of four blocks (0, 36, 100, 136; 200, 236, 300, 336); both
 * pages end inside a block. */
static void halves_layout(void)
{
	len = 400;
	src_split = 110;
	dst_split = 230;
}

static char *src_map, *dst_map, *src, *dst;

static void layout(void)
{
	size_t pg = pgsz();
	src_map = map_anon(2 * pg, PROT_READ | PROT_WRITE);
	dst_map = map_anon(2 * pg, PROT_READ | PROT_WRITE);
	src = src_map + pg - src_split;
	dst = dst_map + pg - dst_split;
}

static void reset(void)
{
	size_t pg = pgsz();
	cr_assert_eq(mprotect(src_map, 2 * pg, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(mprotect(dst_map, 2 * pg, PROT_READ | PROT_WRITE), 0);
	for (size_t i = 0; i < 2 * pg; i++) {
		src_map[i] = (char)pat(i);
		dst_map[i] = (char)canary(i);
	}
}

/* The actions: the second page of a side loses its access. */
static void drop_dst(void *uc, void *arg)
{
	(void)uc;
	(void)arg;
	mprotect(dst_map + pgsz(), pgsz(), PROT_NONE);
}

static void drop_src(void *uc, void *arg)
{
	(void)uc;
	(void)arg;
	mprotect(src_map + pgsz(), pgsz(), PROT_NONE);
}

/* The promise, checked after a call that returned `got` with record f. */
static void check(size_t got, const struct safecopy_fault *f, const char *what)
{
	size_t pg = pgsz();
	bool src_gone = false, dst_gone = false;
	unsigned char probe;
	src_gone = safecopy_memcpy(&probe, src_map + pg, 1, NULL) == 0;
	dst_gone = safecopy_memcpy(&probe, dst_map + pg, 1, NULL) == 0;
	cr_assert_eq(mprotect(src_map, 2 * pg, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(mprotect(dst_map, 2 * pg, PROT_READ | PROT_WRITE), 0);
	if (got == len) {
		CHECK(f->status == SAFECOPY_OK, "%s: full count with status %d", what, f->status);
	} else {
		CHECK(f->status == SAFECOPY_SEGV && f->code == SEGV_ACCERR, "%s: record %d/%d", what,
		      f->status, f->code);
		bool at_src = f->addr == src + got, at_dst = f->addr == dst + got;
		CHECK((at_src && src_gone && got >= src_split) || (at_dst && dst_gone && got >= dst_split),
		      "%s: count %zu ends at %p, not at a byte found inaccessible", what, got, f->addr);
	}
	for (size_t i = 0; i < got; i++)
		CHECK((unsigned char)dst[i] == pat((uintptr_t)(src + i - src_map)), "%s: dst[%zu] not copied",
		      what, i);
	size_t written_end = got;
	for (size_t i = got; i < len + SPAN; i++)
		if ((unsigned char)dst[i] != canary((uintptr_t)(dst + i - dst_map)))
			written_end = i + 1;
	CHECK(written_end <= len, "%s: byte %zu after dst written", what, written_end - 1);
	CHECK(written_end - got < SPAN, "%s: %zu bytes after the count %zu hold data", what,
	      written_end - got, got);
}

static size_t stepped_copy(struct safecopy_fault *f)
{
	return STEPPED(safecopy_memcpy(dst, src, len, f));
}

#ifdef SAFECOPY_TEST_INTERNALS
#include "levels.h"
#include "safecopy/routines.h"

SC_HIDDEN void sc_range_sc_copy(struct sc_routine_range *out);

static void drop_both_in_order(void *uc, void *arg)
{
	bool src_first = arg != NULL;
	if ((stepper_state.steps == stepper_state.target) == src_first)
		drop_src(uc, NULL);
	else
		drop_dst(uc, NULL);
}

/*
 * Two changes: one side at step i, for every i, and the other side when the resolver's redo enters
 * the copy routine (the entry of sc_copy after step i: single-stepping every later step would take
 * minutes in a virtual machine, where each step traps to the hypervisor).
 */
static void sweep_pairs(void)
{
	struct sc_routine_range copy;
	sc_range_sc_copy(&copy);
	layout();
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(0);
	reset();
	struct safecopy_fault f;
	stepper_arm(-1, NULL, NULL);
	cr_assert_eq(stepped_copy(&f), len);
	long steps = stepper_state.steps;
	char what[128];
	int redone = 0;
	for (int order = 0; order < 2; order++) {
		for (long i = 0; i < steps; i++) {
			reset();
			stepper_arm(i, drop_both_in_order, order ? (void *)1 : NULL);
			stepper_state.trigger_pc = copy.begin;
			size_t got = stepped_copy(&f);
			redone += stepper_state.trigger_pc == 0;
			snprintf(what, sizeof what, "%s page at step %ld, the other in the redo",
			         order ? "src" : "dst", i);
			check(got, &f, what);
		}
	}
	cr_assert_gt(redone, 10, "the redo was reached only %d times: the test proved little", redone);
}

Test(concurrent, second_page_dropped_in_the_redo)
{
	sweep_pairs();
}

Test(concurrent, second_page_dropped_in_the_redo_in_the_loop)
{
	loop_layout();
	sweep_pairs();
}

Test(concurrent, second_page_dropped_in_the_redo_in_the_halves)
{
	halves_layout();
	sweep_pairs();
}

Test(concurrent, second_page_dropped_in_the_redo_avx2_path)
{
	force_level(SC_CPU_AVX2);
	sweep_pairs();
}

Test(concurrent, second_page_dropped_in_the_redo_sse2_path)
{
	force_level(SC_CPU_SSE2);
	sweep_pairs();
}
#endif

/* One change only, at every step, for each side. */
static void one_page_at_every_step(void)
{
	layout();
	cr_assert_eq(safecopy_init(), 0);
	stepper_install(0);
	reset();
	struct safecopy_fault f;
	(void)safecopy_memcpy(dst, src, len, &f);
	stepper_arm(-1, NULL, NULL);
	cr_assert_eq(stepped_copy(&f), len);
	long steps = stepper_state.steps;
	char what[96];
	for (int side = 0; side < 2; side++) {
		for (long i = 0; i < steps; i++) {
			reset();
			stepper_arm(i, side ? drop_src : drop_dst, NULL);
			size_t got = stepped_copy(&f);
			snprintf(what, sizeof what, "%s page dropped at step %ld", side ? "src" : "dst", i);
			check(got, &f, what);
		}
	}
}

Test(concurrent, one_page_dropped_at_every_step)
{
	one_page_at_every_step();
}

Test(concurrent, one_page_dropped_at_every_step_in_the_loop)
{
	loop_layout();
	one_page_at_every_step();
}

Test(concurrent, one_page_dropped_at_every_step_in_the_halves)
{
	halves_layout();
	one_page_at_every_step();
}
