/*
 * The shared library exports exactly the public API of include/safecopy.h (with the jump-linked
 * entries its inline atomics use), and a second copy of the library loaded with dlopen() coexists
 * with the linked one (each converts its own faults; foreign ones are chained to the other).
 */
#include <dlfcn.h>

#include "harness.h"

/* Every function of include/safecopy.h; taking their addresses checks the header declares them. */
static const struct {
	const char *name;
	void (*fn)(void);
} api[] = {
#define API(f)                        \
	{                             \
#f, (void (*)(void))f \
	}
    API(safecopy_init),
    API(safecopy_memcpy),
    API(safecopy_memset),
    API(safecopy_load32),
    API(safecopy_load64),
    API(safecopy_store32),
    API(safecopy_store64),
    API(safecopy_swap32),
    API(safecopy_swap64),
    API(safecopy_cas32),
    API(safecopy_cas64),
    API(safecopy_fetch_add32),
    API(safecopy_fetch_and32),
    API(safecopy_fetch_or32),
    API(safecopy_fetch_xor32),
    API(safecopy_fetch_add64),
    API(safecopy_fetch_and64),
    API(safecopy_fetch_or64),
    API(safecopy_fetch_xor64),
    API(safecopy_handle_signal),
    API(safecopy_handler_active),
    API(safecopy_status_name),
    API(safecopy_strncpy),
    API(safecopy_strnlen),
    API(safecopy_peek32),
    API(safecopy_peek64),
    API(safecopy_peekptr),
    API(safecopy_probe),
    API(safecopy_copyv),
    API(safecopy_inline_attach),
    API(safecopy_inline_detach),
    API(safecopy_inline_landing32),
    API(safecopy_inline_landing64),
    API(safecopy_atomic_load32),
    API(safecopy_atomic_load64),
    API(safecopy_atomic_store32),
    API(safecopy_atomic_store64),
    API(safecopy_atomic_swap32),
    API(safecopy_atomic_swap64),
    API(safecopy_atomic_cas32),
    API(safecopy_atomic_cas64),
    API(safecopy_atomic_fetch_add32),
    API(safecopy_atomic_fetch_and32),
    API(safecopy_atomic_fetch_or32),
    API(safecopy_atomic_fetch_xor32),
    API(safecopy_atomic_fetch_add64),
    API(safecopy_atomic_fetch_and64),
    API(safecopy_atomic_fetch_or64),
    API(safecopy_atomic_fetch_xor64),
#undef API
};
#define NAPI (sizeof api / sizeof api[0])

/* The jump-linked twins the header's inline atomics jump to (include/safecopy.h): exported code, but
 * no C functions, so the header declares none of them. */
static const char *const jump_linked[] = {
    "safecopy_atomic_store32_jl",     "safecopy_atomic_swap32_jl",      "safecopy_atomic_cas32_jl",
    "safecopy_atomic_fetch_add32_jl", "safecopy_atomic_fetch_and32_jl", "safecopy_atomic_fetch_or32_jl",
    "safecopy_atomic_fetch_xor32_jl", "safecopy_atomic_store64_jl",     "safecopy_atomic_swap64_jl",
    "safecopy_atomic_cas64_jl",       "safecopy_atomic_fetch_add64_jl", "safecopy_atomic_fetch_and64_jl",
    "safecopy_atomic_fetch_or64_jl",  "safecopy_atomic_fetch_xor64_jl",
};
#define NJL (sizeof jump_linked / sizeof jump_linked[0])

Test(exports, shared_library_exports_exactly_the_api)
{
	cr_assert_eq(NAPI, 49);
	cr_assert_eq(NJL, 14);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s' 2>&1", SAFECOPY_SO_PATH);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen(%s)", cmd);
	bool seen[NAPI + NJL] = {false};
	char line[512], extra[4096] = "";
	int nlines = 0;
	while (fgets(line, sizeof line, p)) {
		char addr[64], type[8], name[400];
		nlines++;
		if (sscanf(line, "%63s %7s %399s", addr, type, name) != 3) {
			strncat(extra, line, sizeof extra - strlen(extra) - 1);
			continue;
		}
		if (strcmp(type, "A") == 0)
			continue; /* the version node (SAFECOPY_1) */
		char *at = strchr(name, '@');
		if (at)
			*at = '\0';
		size_t i = 0;
		while (i < NAPI + NJL && strcmp(i < NAPI ? api[i].name : jump_linked[i - NAPI], name) != 0)
			i++;
		if (i == NAPI + NJL || strcmp(type, "T") != 0) {
			strncat(extra, line, sizeof extra - strlen(extra) - 1);
			continue;
		}
		cr_assert_not(seen[i], "%s exported twice", name);
		seen[i] = true;
	}
	int rc = pclose(p);
	cr_assert_eq(rc, 0, "nm failed (status %d): %s", rc, extra);
	cr_assert_gt(nlines, 0);
	cr_assert_str_empty(extra, "exported beyond the public API (or not as functions):\n%s", extra);
	for (size_t i = 0; i < NAPI + NJL; i++)
		cr_assert(seen[i], "%s is not exported", i < NAPI ? api[i].name : jump_linked[i - NAPI]);
}

Test(exports, soname_is_versioned)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "readelf -d '%s'", SAFECOPY_SO_PATH);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[512];
	bool soname = false, textrel = false, execstack = false;
	while (fgets(line, sizeof line, p)) {
		if (strstr(line, "(SONAME)") && strstr(line, "[libsafecopy.so.1]"))
			soname = true;
		if (strstr(line, "TEXTREL"))
			textrel = true;
	}
	cr_assert_eq(pclose(p), 0);
	snprintf(cmd, sizeof cmd, "readelf -lW '%s'", SAFECOPY_SO_PATH);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof line, p))
		if (strstr(line, "GNU_STACK") && strstr(line, "RWE"))
			execstack = true;
	cr_assert_eq(pclose(p), 0);
	cr_assert(soname, "no SONAME libsafecopy.so.1");
	cr_assert_not(textrel, "text relocations in the shared library");
	cr_assert_not(execstack, "the shared library asks for an executable stack");
}

/*
 * A second copy of the library (dlopen of the .so in the static binary; in the shared binaries the
 * same copy comes back). Each copy's faults are converted whichever handler the kernel calls first.
 */
Test(exports, dlopened_copy_coexists_with_the_linked_one)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(safecopy_init(), 0);
	void *h = dlopen(SAFECOPY_SO_PATH, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen: %s", dlerror());
	size_t (*dl_memcpy)(void *, const void *, size_t, struct safecopy_fault *) =
	    (size_t(*)(void *, const void *, size_t, struct safecopy_fault *))dlsym(h, "safecopy_memcpy");
	int (*dl_init)(void) = (int (*)(void))dlsym(h, "safecopy_init");
	cr_assert_not_null(dl_memcpy);
	cr_assert_not_null(dl_init);
	for (size_t i = 0; i < NAPI; i++)
		cr_assert_not_null(dlsym(h, api[i].name), "dlsym(%s)", api[i].name);
	cr_assert_eq(dl_init(), 0);
	char buf[256];
	for (int round = 0; round < 2; round++) {
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(dl_memcpy(buf, z.bad - 50, sizeof buf, &f), 50, "dlopened copy");
		check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_ACCERR, "dlopened copy");
		f = fault_garbage();
		cr_assert_eq(safecopy_memcpy(buf, z.bad - 60, sizeof buf, &f), 60, "linked copy");
		check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_ACCERR, "linked copy");
		cr_assert(memcmp(buf, z.bad - 60, 60) == 0);
	}
	/* Not dlclose()d: the kernel may still deliver to its handler. */
	zone_free(&z);
}

/* The same with the dlopen()ed copy installed first and the linked copy on top of it. */
Test(exports, dlopened_copy_installed_first)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_SIGBUS, true);
	void *h = dlopen(SAFECOPY_SO_PATH, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen: %s", dlerror());
	int (*dl_init)(void) = (int (*)(void))dlsym(h, "safecopy_init");
	enum safecopy_status (*dl_load64)(const uint64_t *, uint64_t *, struct safecopy_fault *) =
	    (enum safecopy_status(*)(const uint64_t *, uint64_t *, struct safecopy_fault *))dlsym(
	        h, "safecopy_load64");
	cr_assert_not_null(dl_init);
	cr_assert_not_null(dl_load64);
	cr_assert_eq(dl_init(), 0);
	cr_assert_eq(safecopy_init(), 0);
	cr_assert(safecopy_handler_active());
	for (int round = 0; round < 2; round++) {
		uint64_t v = 5;
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(dl_load64((const uint64_t *)(z.bad + 8), &v, &f), SAFECOPY_BUS, "dlopened copy");
		check_fault(&f, SAFECOPY_BUS, z.bad + 8, SIGBUS, BUS_ADRERR, "dlopened copy");
		cr_assert_eq(v, 5);
		f = fault_garbage();
		char buf[100];
		cr_assert_eq(safecopy_memcpy(buf, z.bad - 9, sizeof buf, &f), 9, "linked copy");
		check_fault(&f, SAFECOPY_BUS, z.bad, SIGBUS, BUS_ADRERR, "linked copy");
	}
	zone_free(&z);
}
