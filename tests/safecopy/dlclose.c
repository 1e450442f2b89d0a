/*
 * dlopen, dlclose, dlopen again: once libsafecopy.so has installed its handler it stays loaded (it is
 * linked with -z nodelete), so the handler never points into unmapped code: a later ordinary fault
 * still reaches the program's previous handler (or its default action) exactly once, and a second
 * dlopen finds the same, still installed copy. Only the static suite can run this: in the shared
 * suites the library is linked in and dlclose() never unloads it.
 */
#include <dlfcn.h>

#include "harness.h"

#ifdef SAFECOPY_TEST_INTERNALS

typedef int (*init_fn)(void);
typedef size_t (*memcpy_fn)(void *, const void *, size_t, struct safecopy_fault *);

static char *fix;
static volatile sig_atomic_t prev_calls, prev_code;
static void *volatile prev_addr;
/* Through a volatile pointer: a constant address lets -O2 reject the store at compile time. */
static volatile char *volatile unmapped_byte = (volatile char *)8;

static void prev_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	prev_calls++;
	prev_code = info->si_code;
	prev_addr = info->si_addr;
	mprotect(fix, pgsz(), PROT_READ | PROT_WRITE);
}

/* dlopen + init + a converted fault through the dlopened copy; 0 if exact. */
static int open_and_use(void **handle)
{
	*handle = dlopen(SAFECOPY_SO_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!*handle)
		return 20;
	init_fn init = (init_fn)dlsym(*handle, "safecopy_init");
	memcpy_fn cp = (memcpy_fn)dlsym(*handle, "safecopy_memcpy");
	if (!init || !cp || init() != 0)
		return 21;
	char *bad = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[32];
	struct safecopy_fault f;
	if (bad == MAP_FAILED || cp(buf, bad, sizeof buf, &f) != 0 || f.addr != bad || f.code != SEGV_ACCERR)
		return 22;
	munmap(bad, pgsz());
	return 0;
}

static int child_with_previous(void *arg)
{
	(void)arg;
	if (dlopen(SAFECOPY_SO_PATH, RTLD_NOW | RTLD_NOLOAD))
		return 1; /* the test needs the library not loaded yet */
	fix = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix == MAP_FAILED || set_action(SIGSEGV, prev_handler, NULL, SA_SIGINFO) != 0)
		return 2;
	void *h;
	int r = open_and_use(&h);
	if (r)
		return r;
	if (dlclose(h) != 0)
		return 3;
	*(volatile char *)fix = 1; /* an ordinary fault after dlclose */
	if (prev_calls != 1 || prev_code != SEGV_ACCERR || prev_addr != fix)
		return 4;
	r = open_and_use(&h);
	if (r)
		return 10 + r;
	mprotect(fix, pgsz(), PROT_NONE);
	*(volatile char *)fix = 2; /* and after the second dlopen: the program's handler is not forgotten */
	if (prev_calls != 2 || prev_addr != fix)
		return 5;
	return 0;
}

Test(dlclose, previous_handler_still_reached_after_dlclose_and_a_second_dlopen)
{
	expect_exit(run_in_child(child_with_previous, NULL, 10), 0);
}

static int child_default(void *arg)
{
	(void)arg;
	if (dlopen(SAFECOPY_SO_PATH, RTLD_NOW | RTLD_NOLOAD))
		return 1;
	void *h;
	int r = open_and_use(&h);
	if (r)
		return r;
	if (dlclose(h) != 0)
		return 3;
	r = open_and_use(&h);
	if (r)
		return 10 + r;
	if (dlclose(h) != 0)
		return 4;
	child_step(1);
	*unmapped_byte = 1; /* the default action: death by SIGSEGV, once */
	child_step(2);
	return 0;
}

Test(dlclose, default_action_after_dlclose_kills_by_the_fault)
{
	expect_signal(run_in_child(child_default, NULL, 10), SIGSEGV, 1);
}

#endif
