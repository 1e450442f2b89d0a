/*
 * Eager patching (usertrap_patch_functions): the sites of named functions patched before their first
 * call, which then reaches the hook through the trampoline, with no SIGSYS and no patch at the call.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap/util.h"

extern unsigned long ut_window_opens(void);

static long last_nr = -1;
static unsigned last_flags, hook_runs;

static long recording_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr == SYS_getppid) {
		last_nr = call->nr;
		last_flags = call->flags;
		hook_runs++;
	}
	return usertrap_syscall(call);
}

static const char *const getppid_only[] = {"getppid"};

/* The first byte of libc's getppid (not a PLT stub's). */
static unsigned char getppid_byte0(void)
{
	const unsigned char *fn = dlsym(RTLD_DEFAULT, "getppid");
	cr_assert_not_null(fn);
	return fn[0];
}

Test(eager, first_call_of_an_eagerly_patched_function_takes_the_trampoline)
{
	long parent = syscall(SYS_getppid);
	lazy_init_or_skip(recording_hook, 0);
	struct usertrap_error err;
	/* glibc's getppid is `mov $0x6e,%eax; syscall; ret`: one site, the 7-byte form. */
	cr_assert_eq(usertrap_patch_functions(getppid_only, 1, &err), 1);
	cr_assert_eq(err.status, USERTRAP_OK);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, 1);
	cr_assert_eq(c.patch_failures, 0);
	cr_assert_eq(c.sites_patched, 1);
	cr_assert_eq(c.trampoline_calls, 0);
	cr_assert_neq(getppid_byte0(), 0xb8, "the site no longer starts with mov");
	cr_assert_eq(usertrap_capture_thread(true, NULL), 0);
	long r = getppid();
	usertrap_capture_thread(false, NULL);
	cr_assert_eq(r, parent);
	cr_assert_eq(hook_runs, 1);
	cr_assert_eq(last_nr, SYS_getppid);
	cr_assert_eq(last_flags, USERTRAP_CALL_PATCHED, "through the trampoline: flags %#x", last_flags);
	usertrap_get_counters(&c);
	cr_assert_eq(c.trampoline_calls, 1);
	cr_assert_eq(c.sigsys_calls, 0, "no SIGSYS: the first call already jumped");
	cr_assert_eq(c.patches, 1, "nothing patched at the call");
}

/* The counters after passes that patched `sites` sites once each and failed none. */
static void assert_patched_once(uint64_t sites)
{
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, sites);
	cr_assert_eq(c.patch_failures, 0);
	cr_assert_eq(c.sites_patched, sites);
}

Test(eager, again_patches_nothing_and_counts_nothing)
{
	lazy_init_or_skip(recording_hook, 0);
	cr_assert_eq(usertrap_patch_functions(getppid_only, 1, NULL), 1);
	cr_assert_eq(usertrap_patch_functions(getppid_only, 1, NULL), 0);
	assert_patched_once(1);
}

Test(eager, unknown_names_are_skipped)
{
	lazy_init_or_skip(recording_hook, 0);
	const char *const names[] = {"usertrap_no_such_function", NULL, "getppid"};
	cr_assert_eq(usertrap_patch_functions(names, 3, NULL), 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, 1);
	cr_assert_eq(c.patch_failures, 0);
}

/* A NULL name first: skipped like any other, never looked up (the pass names its first function's
 * module for the plan cache). */
Test(eager, a_null_first_name_is_skipped)
{
	lazy_init_or_skip(recording_hook, 0);
	const char *const names[] = {NULL, "getppid"};
	cr_assert_eq(usertrap_patch_functions(names, 2, NULL), 1);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, 1);
	cr_assert_eq(c.patch_failures, 0);
}

Test(eager, bad_calls_change_nothing)
{
	struct usertrap_error err;
	cr_assert_eq(usertrap_patch_functions(getppid_only, 1, &err), USERTRAP_ERR_STATE, "before init");
	cr_assert_eq(getppid_byte0(), 0xb8, "getppid untouched");
	lazy_init_or_skip(recording_hook, 0);
	cr_assert_eq(usertrap_patch_functions(NULL, 1, &err), USERTRAP_ERR_INVAL);
	cr_assert_eq(usertrap_patch_functions(NULL, 0, &err), 0);
	cr_assert_eq(getppid_byte0(), 0xb8, "getppid untouched");
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, 0);
}

/* The descriptors of this process that name some process's memory (/proc/N/mem). */
static int mem_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char link[300], target[256];
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
		size_t len = strlen(target);
		found += len > 4 && strcmp(target + len - 4, "/mem") == 0;
	}
	closedir(d);
	return found;
}

/* One pass, one descriptor: /proc/self/mem is opened once for the sites of three functions, and is
 * closed after the pass. */
Test(eager, one_pass_opens_proc_mem_once)
{
	lazy_init_or_skip(recording_hook, 0);
	const char *const names[] = {"getppid", "getuid", "getgid"};
	unsigned long before = ut_window_opens();
	cr_assert_eq(usertrap_patch_functions(names, 3, NULL), 3);
	cr_assert_eq(ut_window_opens() - before, 1);
	cr_assert_eq(mem_descriptors(), 0, "none left open");
}

/* The preload's internal names (GLIBC_PRIVATE: setlocale's file reading) and signal calls resolve and
 * each has one site (glibc 2.36), patched. A name a sanitizer runtime intercepts (ASan's
 * pthread_sigmask) resolves to its interceptor, which has none. */
Test(eager, private_and_signal_wrappers_have_one_site_each)
{
	lazy_init_or_skip(recording_hook, 0);
	const char *const names[] = {"pthread_sigmask", "__libc_sigaction", "__open_nocancel",
	                             "__read_nocancel", "__close_nocancel"};
	int in_libc = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		void *fn = dlsym(RTLD_DEFAULT, names[i]);
		Dl_info info;
		cr_assert(fn && dladdr(fn, &info) && info.dli_fname, "%s", names[i]);
		bool libc = strstr(info.dli_fname, "libc.so.6") != NULL;
		cr_assert(libc || i == 0, "%s is glibc's own: %s", names[i], info.dli_fname);
		in_libc += libc;
	}
	cr_assert_eq(usertrap_patch_functions(names, 5, NULL), in_libc);
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	cr_assert_eq(c.patches, (uint64_t)in_libc);
	cr_assert_eq(c.patch_failures, 0);
}

/* Two names of one function (here the same name twice): its site is patched and counted once (the
 * pass, sorted by address, skips the second). */
Test(eager, a_function_named_twice_is_patched_once)
{
	lazy_init_or_skip(recording_hook, 0);
	const char *const names[] = {"getppid", "getuid", "getppid"};
	cr_assert_eq(usertrap_patch_functions(names, 3, NULL), 2);
	assert_patched_once(2);
}
