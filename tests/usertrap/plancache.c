/*
 * The plan cache (src/usertrap/plancache.h): entries survive a save and a reload, rebased at the
 * function's new address; a corrupt, truncated, group-writable or foreign file is ignored; changed
 * bytes change the key; an unwritable directory or no directory saves nothing. And eager patching
 * from a warm cache patches exactly what a cold pass patched.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "usertrap/util.h"

/* The internal API under test (hidden symbols of the static library). */
#include "usertrap/fde.h"
#include "usertrap/plancache.h"

static char dir[] = "/var/tmp/usertrap-plancache-XXXXXX";
static char file[sizeof dir + 16];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/plans", dir);
}

static void teardown(void)
{
	ut_plancache_set_dir(NULL);
	unlink(file);
	rmdir(dir);
}

TestSuite(plancache, .init = setup, .fini = teardown);

/* A function of 64 bytes at lo = 0x10000, its window at offset 16: `mov 0x10(%rip),%rax; syscall`. */
static const uintptr_t fn_lo = 0x10000;
static const struct ut_fn_key key = {.len = 64, .hash = 0x0123456789abcdefull};

static struct ut_plan window_plan(uintptr_t lo)
{
	struct ut_plan p = {.start = lo + 16, .end = lo + 25, .insn = lo + 23, .n = 2, .pun = 0};
	p.in[0] = (struct ut_insn){
	    .off = 0, .len = 7, .kind = UT_INSN_RIPREL, .disp_off = 3, .target = lo + 23 + 0x10};
	p.in[1] = (struct ut_insn){.off = 7, .len = 2, .kind = UT_INSN_SYSCALL};
	const unsigned char b[9] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x05};
	memcpy(p.bytes, b, sizeof b);
	return p;
}

/* Records the function's sites (23 and 40, the second in the 7-byte form) and its window; saves. */
static void fill_and_save(void)
{
	cr_assert_eq(ut_plancache_set_dir(dir), 0);
	ut_plancache_load();
	struct ut_fn_sites s = {.n = 2, .off = {23, 40}, .seven = 2};
	ut_plancache_put_sites(&key, &s);
	struct ut_plan p = window_plan(fn_lo);
	ut_plancache_put_plan(&key, 23, fn_lo, UT_PLAN_OK, &p);
	ut_plancache_put_plan(&key, 40, fn_lo, UT_PLAN_NO_WINDOW, NULL);
	cr_assert_eq(ut_plancache_save(), 0);
}

/* Forgets what is in memory and reads the file again: true if the function's sites are known. */
static bool reload_knows_sites(void)
{
	cr_assert_eq(ut_plancache_set_dir(dir), 0);
	ut_plancache_load();
	struct ut_fn_sites s;
	return ut_plancache_sites(&key, &s);
}

Test(plancache, entries_survive_a_save_and_reload_rebased)
{
	fill_and_save();
	struct stat st;
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert(reload_knows_sites());
	struct ut_fn_sites s;
	cr_assert(ut_plancache_sites(&key, &s));
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.off[0], 23);
	cr_assert_eq(s.off[1], 40);
	cr_assert_eq(s.seven, 2);
	const uintptr_t moved = 0x7f0000001000;
	struct ut_plan got, want = window_plan(moved);
	cr_assert_eq(ut_plancache_plan(&key, 23, moved, &got), UT_PLAN_OK);
	cr_assert_eq(got.start, want.start);
	cr_assert_eq(got.end, want.end);
	cr_assert_eq(got.insn, want.insn);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.pun, 0);
	cr_assert_eq(got.in[0].target, moved + 23 + 0x10, "the RIP-relative target rebased");
	cr_assert_eq(got.in[0].disp_off, 3);
	cr_assert_eq(got.in[1].kind, UT_INSN_SYSCALL);
	cr_assert_arr_eq(got.bytes, want.bytes, 9);
	cr_assert_eq(ut_plancache_plan(&key, 40, moved, &got), UT_PLAN_NO_WINDOW);
	cr_assert_eq(ut_plancache_plan(&key, 41, moved, &got), -1, "a site never recorded");
	struct ut_fn_key other = {.len = 64, .hash = key.hash ^ 1};
	cr_assert(!ut_plancache_sites(&other, &s), "another function's bytes");
	cr_assert_eq(ut_plancache_plan(&other, 23, moved, &got), -1);
}

/* Rewrites the file's byte at `at` (XOR x). */
static void flip_byte(off_t at, unsigned char x)
{
	int fd = open(file, O_RDWR);
	cr_assert_geq(fd, 0);
	unsigned char b;
	cr_assert_eq(pread(fd, &b, 1, at), 1);
	b ^= x;
	cr_assert_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

Test(plancache, a_save_without_a_load_keeps_what_the_file_held)
{
	fill_and_save();
	cr_assert_eq(ut_plancache_set_dir(dir), 0); /* forgotten, not read again */
	struct ut_fn_key other = {.len = 32, .hash = 42};
	struct ut_fn_sites s = {.n = 1, .off = {3}};
	ut_plancache_put_sites(&other, &s);
	cr_assert_eq(ut_plancache_save(), 0);
	cr_assert(reload_knows_sites(), "the file's function");
	cr_assert(ut_plancache_sites(&other, &s), "the new one");
}

Test(plancache, a_corrupt_byte_in_any_part_empties_the_cache)
{
	/* header (a count), a function record, a plan record */
	const off_t at[] = {9, 24 + 12, 24 + 56 + 40};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		fill_and_save();
		cr_assert(reload_knows_sites(), "control");
		flip_byte(at[i], 0x20);
		cr_assert(!reload_knows_sites(), "byte %ld", (long)at[i]);
	}
}

Test(plancache, a_truncated_file_is_ignored)
{
	fill_and_save();
	struct stat st;
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(truncate(file, st.st_size - 1), 0);
	cr_assert(!reload_knows_sites());
	cr_assert_eq(truncate(file, 10), 0);
	cr_assert(!reload_knows_sites());
}

Test(plancache, a_file_others_may_write_is_ignored)
{
	fill_and_save();
	cr_assert_eq(chmod(file, 0620), 0);
	cr_assert(!reload_knows_sites(), "group-writable");
	cr_assert_eq(chmod(file, 0602), 0);
	cr_assert(!reload_knows_sites(), "world-writable");
	cr_assert_eq(chmod(file, 0644), 0);
	cr_assert(reload_knows_sites(), "readable by others is fine");
}

Test(plancache, a_file_of_another_user_is_ignored)
{
	fill_and_save();
	uid_t other = geteuid() == 0 ? 65534 : 0;
	if (chown(file, other, (gid_t)-1) != 0)
		cr_skip_test("not run: cannot give the file to another user (not root)");
	cr_assert(!reload_knows_sites());
}

Test(plancache, a_symbolic_link_is_not_followed)
{
	fill_and_save();
	char real[sizeof file + 8];
	snprintf(real, sizeof real, "%s.real", file);
	cr_assert_eq(rename(file, real), 0);
	cr_assert_eq(symlink(real, file), 0);
	bool known = reload_knows_sites();
	unlink(real);
	cr_assert(!known);
}

Test(plancache, a_changed_byte_changes_the_key)
{
	unsigned char code[300];
	for (size_t i = 0; i < sizeof code; i++)
		code[i] = (unsigned char)(i * 7);
	struct ut_fn_key a, b, c;
	cr_assert(ut_code_key((uintptr_t)code, (uintptr_t)code + sizeof code, NULL, &a));
	cr_assert(ut_code_key((uintptr_t)code, (uintptr_t)code + sizeof code, NULL, &b));
	cr_assert_eq(a.hash, b.hash);
	cr_assert_eq(a.len, sizeof code);
	code[299] ^= 1;
	cr_assert(ut_code_key((uintptr_t)code, (uintptr_t)code + sizeof code, NULL, &c));
	cr_assert_neq(c.hash, a.hash, "the last byte");
	code[299] ^= 1;
	code[0] ^= 0x80;
	cr_assert(ut_code_key((uintptr_t)code, (uintptr_t)code + sizeof code, NULL, &c));
	cr_assert_neq(c.hash, a.hash, "the first byte");
	cr_assert(!ut_code_key(0, 64, NULL, &c), "unreadable code has no key");
}

Test(plancache, malformed_plans_are_not_kept)
{
	cr_assert_eq(ut_plancache_set_dir(dir), 0);
	struct ut_plan p = window_plan(fn_lo), got;
	p.in[0].len = 6; /* the instructions no longer tile the window */
	ut_plancache_put_plan(&key, 23, fn_lo, UT_PLAN_OK, &p);
	cr_assert_eq(ut_plancache_plan(&key, 23, fn_lo, &got), -1);
	p = window_plan(fn_lo);
	p.bytes[8] = 0x04; /* no syscall where the plan says */
	ut_plancache_put_plan(&key, 23, fn_lo, UT_PLAN_OK, &p);
	cr_assert_eq(ut_plancache_plan(&key, 23, fn_lo, &got), -1);
	p = window_plan(fn_lo);
	ut_plancache_put_plan(&key, 23, fn_lo, UT_PLAN_OK, &p);
	cr_assert_eq(ut_plancache_plan(&key, 23, fn_lo, &got), UT_PLAN_OK, "control");
}

Test(plancache, an_unwritable_directory_saves_nothing)
{
	cr_assert_eq(ut_plancache_set_dir("/dev/null/usertrap"), 0);
	ut_plancache_load();
	struct ut_fn_sites s = {.n = 1, .off = {3}};
	ut_plancache_put_sites(&key, &s);
	cr_assert_eq(ut_plancache_save(), -1);
	cr_assert(ut_plancache_sites(&key, &s), "still known in memory");
}

Test(plancache, nothing_is_saved_into_a_directory_of_another_user)
{
	char sub[sizeof dir + 8];
	snprintf(sub, sizeof sub, "%s/other", dir);
	cr_assert_eq(mkdir(sub, 0777), 0);
	uid_t other = geteuid() == 0 ? 65534 : 0;
	if (chown(sub, other, (gid_t)-1) != 0) {
		rmdir(sub);
		cr_skip_test("not run: cannot give the directory to another user (not root)");
	}
	cr_assert_eq(ut_plancache_set_dir(sub), 0);
	struct ut_fn_sites s = {.n = 1, .off = {3}};
	ut_plancache_put_sites(&key, &s);
	int saved = ut_plancache_save();
	char path[sizeof sub + 8];
	snprintf(path, sizeof path, "%s/plans", sub);
	bool written = access(path, F_OK) == 0;
	unlink(path); /* before the asserts: a failed one leaves no directory of another user behind */
	rmdir(sub);
	cr_assert_eq(saved, -1);
	cr_assert(!written);
	cr_assert_eq(ut_plancache_set_dir(dir), 0);
	ut_plancache_put_sites(&key, &s);
	cr_assert_eq(ut_plancache_save(), 0, "control: our own directory");
}

Test(plancache, no_directory_no_cache)
{
	cr_assert_eq(ut_plancache_set_dir(NULL), 0);
	struct ut_fn_sites s = {.n = 1, .off = {3}};
	ut_plancache_put_sites(&key, &s);
	cr_assert(!ut_plancache_sites(&key, &s));
	cr_assert_eq(ut_plancache_save(), 0);
	cr_assert_eq(access(file, F_OK), -1);
}

/* libc functions with 7-byte sites and windows (glibc 2.36: read's `xor %eax,%eax` sites). */
static const char *const eager_names[] = {"read", "write", "close", "getpid", "open64", "__open_nocancel"};
#define N_EAGER (sizeof eager_names / sizeof eager_names[0])

struct snapshot {
	int patched;
	uint64_t patches, failures, sites;
	unsigned char *code[N_EAGER];
	size_t len[N_EAGER];
};

static long pass_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

/* An eager pass over eager_names with the cache in dir, and the code it left. */
static struct snapshot eager_pass(void)
{
	struct usertrap_counters before, after;
	lazy_init_or_skip(pass_hook, 0);
	cr_assert_eq(usertrap_set_plan_cache(dir), 0);
	usertrap_get_counters(&before);
	struct snapshot s = {.patched = usertrap_patch_functions(eager_names, N_EAGER, NULL)};
	usertrap_get_counters(&after);
	s.patches = after.patches - before.patches;
	s.failures = after.patch_failures - before.patch_failures;
	s.sites = after.sites_patched;
	for (size_t i = 0; i < N_EAGER; i++) {
		uintptr_t fn = (uintptr_t)dlsym(RTLD_DEFAULT, eager_names[i]), lo, hi;
		cr_assert(fn && ut_function_of(fn, &lo, &hi), "%s", eager_names[i]);
		s.len[i] = hi - lo;
		s.code[i] = malloc(s.len[i]);
		memcpy(s.code[i], (const void *)lo, s.len[i]);
	}
	cr_assert_eq(usertrap_shutdown(NULL), 0);
	return s;
}

Test(plancache, a_warm_eager_pass_patches_what_a_cold_one_did)
{
	struct snapshot cold = eager_pass();
	struct stat st1, st2;
	cr_assert_eq(stat(file, &st1), 0, "the cold pass saved what it learnt");
	struct snapshot warm = eager_pass();
	cr_assert_eq(stat(file, &st2), 0);
	cr_assert_eq(st1.st_ino, st2.st_ino, "the warm pass learnt nothing new: the file was not rewritten");
	cr_assert_gt(cold.patched, 5);
	cr_assert_eq(warm.patched, cold.patched);
	cr_assert_eq(warm.patches, cold.patches);
	cr_assert_eq(warm.failures, cold.failures);
	cr_assert_eq(warm.sites, cold.sites);
	for (size_t i = 0; i < N_EAGER; i++) {
		cr_assert_eq(warm.len[i], cold.len[i]);
		cr_assert_arr_eq(warm.code[i], cold.code[i], cold.len[i], "%s's patched bytes",
		                 eager_names[i]);
		free(warm.code[i]);
		free(cold.code[i]);
	}
}
