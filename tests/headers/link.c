/*
 * A one-line program per library, compiled strictly by each driver (C and C++) and linked against the
 * built libraries, static and shared, then run: the declarations match what the libraries export
 * (extern "C" included) and a call reaches the library. The safecopy programs take a real fault.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolchain.h"

enum library { SAFECOPY, USERTRAP, SAFECOPY_ATOMICS };
enum linkage { STATIC, SHARED };

/*
 * The programs, one line of code each. Address 8 is on page 0, which is never mapped (vm.mmap_min_addr):
 * the copy takes a real SIGSEGV and must report 0 bytes, c untouched, the fault at 8.
 */
static const char *const programs[] = {
    [SAFECOPY] = "#include <safecopy.h>\n"
                 "int main(void) { char c = 1; struct safecopy_fault f; "
                 "return safecopy_memcpy(&c, (const void *)8, 1, &f) == 0 && c == 1 && "
                 "f.status == SAFECOPY_SEGV && f.addr == (void *)8 ? 0 : 1; }\n",
    /* Optimised (the inline atomics, whose writes jump to their routine from the program's own asm):
     * the first use and a fault on page 0 through the jump's cold paths, a misaligned pointer. */
    [SAFECOPY_ATOMICS] = "#include <safecopy.h>\n"
                         "int main(void) { uint64_t c = 5, old = 0; uint32_t w = 7, o = 0; "
                         "struct safecopy_fault f; return "
                         "safecopy_swap64((uint64_t *)8, 1, &old, &f) == SAFECOPY_SEGV && "
                         "f.addr == (void *)8 && old == 0 && "
                         "safecopy_fetch_add64(&c, 2, &old, &f) == SAFECOPY_OK && old == 5 && c == 7 && "
                         "f.status == SAFECOPY_OK && safecopy_cas32(&w, 7, 9, &o, NULL) == SAFECOPY_OK && "
                         "o == 7 && w == 9 && safecopy_store32((uint32_t *)((char *)&c + 1), 3, &f) == "
                         "SAFECOPY_ALIGN && f.addr == (char *)&c + 1 && c == 7 ? 0 : 1; }\n",
    [USERTRAP] = "#include <usertrap.h>\n"
                 "int main(void) { return usertrap_table_address() == 0 && "
                 "usertrap_status_name(USERTRAP_ERR_PATTERN)[0] == 'p' && "
                 "safecopy_status_name(SAFECOPY_OK)[0] == 'o' ? 0 : 1; }\n",
};

/* The link arguments for lib, and the LD_LIBRARY_PATH a shared link runs with (the build tree's
 * libusertrap.so finds libsafecopy.so.1 no other way). */
static void link_args(enum library lib, enum linkage how, char *args, size_t n, char *path, size_t pn)
{
	const char *sc_dir = HEADERS_SAFECOPY_LIBDIR, *ut_dir = HEADERS_USERTRAP_LIBDIR;
	path[0] = '\0';
	if (how == STATIC && lib != USERTRAP) {
		snprintf(args, n, "'%s' -lpthread", HEADERS_SAFECOPY_STATIC);
	} else if (how == STATIC) {
		snprintf(args, n, "'%s' '%s' -lZydis -ldl -lpthread", HEADERS_USERTRAP_STATIC,
		         HEADERS_SAFECOPY_STATIC);
	} else if (lib != USERTRAP) {
		snprintf(args, n, "-L'%s' -lsafecopy", sc_dir);
		snprintf(path, pn, "%s", sc_dir);
	} else {
		snprintf(args, n, "-L'%s' -L'%s' -lusertrap -lsafecopy", ut_dir, sc_dir);
		snprintf(path, pn, "%s:%s", ut_dir, sc_dir);
	}
}

/*
 * In a sanitizer build the libraries need their compiler's sanitizer runtime. A driver of the same
 * family links it with the build's -fsanitize flags; one of the other family cannot (two ASan runtimes
 * cannot share a process), so its program is left uninstrumented and linked with the libraries'
 * runtime first, as a user of that compiler would.
 */
static void sanitizer_args(const struct driver *d, char *compile, size_t cn, char *link, size_t ln)
{
	bool same = strcmp(d->family, HEADERS_LIB_FAMILY) == 0;
	snprintf(compile, cn, "%s", same ? HEADERS_SAN_FLAGS : "");
	snprintf(link, ln, "%s", same ? "" : HEADERS_SAN_RUNTIME_ARGS);
}

static void link_and_run(const char *driver_name, enum library lib, enum linkage how)
{
	const struct driver *d = driver_named(driver_name);
	char dir[] = "/tmp/safecopy-headers-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char src[64], exe[64];
	snprintf(src, sizeof src, "%s/one_line.%s", dir, strcmp(d->lang, "c") == 0 ? "c" : "cc");
	snprintf(exe, sizeof exe, "%s/one_line", dir);
	FILE *f = fopen(src, "w");
	cr_assert_not_null(f);
	fputs(programs[lib], f);
	cr_assert_eq(fclose(f), 0);

	char libs[1024], path[512], san_compile[256], san_link[512], cmd[4096], out[4096], why[160];
	link_args(lib, how, libs, sizeof libs, path, sizeof path);
	sanitizer_args(d, san_compile, sizeof san_compile, san_link, sizeof san_link);
	snprintf(cmd, sizeof cmd, "%s -std=%s " STRICT_FLAGS " %s %s -I'%s' '%s' %s %s -o '%s'", d->name,
	         d->strict_std, lib == SAFECOPY_ATOMICS ? "-O2" : "", san_compile, HEADERS_INCLUDE_DIR, src,
	         san_link, libs, exe);
	int built = run_command(cmd, out, sizeof out);
	char build_out[4096];
	snprintf(build_out, sizeof build_out, "%s", out);
	int ran = -1;
	if (built == 0) {
		snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH='%s' '%s'", path, exe);
		ran = run_command(cmd, out, sizeof out);
	}
	unlink(exe);
	unlink(src);
	rmdir(dir);

	cr_assert(built == 0 && build_out[0] == '\0', "building the one-line program failed: %s\n%s\n%s",
	          built ? status_text(d, built, why, sizeof why) : "diagnostics", cmd, build_out);
	cr_assert_eq(ran, 0, "the one-line program exited with %d (1: wrong result):\n%s\n%s", ran, cmd, out);
	cr_assert_str_empty(out, "the one-line program printed:\n%s", out);
}

#define LINK(id, driver, lib, how)              \
	Test(headers_link, id)                  \
	{                                       \
		link_and_run(driver, lib, how); \
	}

LINK(gcc_safecopy_static, "gcc", SAFECOPY, STATIC)
LINK(gcc_safecopy_shared, "gcc", SAFECOPY, SHARED)
LINK(gcc_usertrap_static, "gcc", USERTRAP, STATIC)
LINK(gcc_usertrap_shared, "gcc", USERTRAP, SHARED)
LINK(clang_safecopy_static, "clang", SAFECOPY, STATIC)
LINK(clang_safecopy_shared, "clang", SAFECOPY, SHARED)
LINK(clang_usertrap_static, "clang", USERTRAP, STATIC)
LINK(clang_usertrap_shared, "clang", USERTRAP, SHARED)
LINK(gxx_safecopy_static, "g++", SAFECOPY, STATIC)
LINK(gxx_safecopy_shared, "g++", SAFECOPY, SHARED)
LINK(gxx_usertrap_static, "g++", USERTRAP, STATIC)
LINK(gxx_usertrap_shared, "g++", USERTRAP, SHARED)
LINK(clangxx_safecopy_static, "clang++", SAFECOPY, STATIC)
LINK(clangxx_safecopy_shared, "clang++", SAFECOPY, SHARED)
LINK(clangxx_usertrap_static, "clang++", USERTRAP, STATIC)
LINK(clangxx_usertrap_shared, "clang++", USERTRAP, SHARED)
LINK(gcc_safecopy_atomics_static, "gcc", SAFECOPY_ATOMICS, STATIC)
LINK(gcc_safecopy_atomics_shared, "gcc", SAFECOPY_ATOMICS, SHARED)
LINK(clang_safecopy_atomics_static, "clang", SAFECOPY_ATOMICS, STATIC)
LINK(clang_safecopy_atomics_shared, "clang", SAFECOPY_ATOMICS, SHARED)
LINK(gxx_safecopy_atomics_static, "g++", SAFECOPY_ATOMICS, STATIC)
LINK(gxx_safecopy_atomics_shared, "g++", SAFECOPY_ATOMICS, SHARED)
LINK(clangxx_safecopy_atomics_static, "clang++", SAFECOPY_ATOMICS, STATIC)
LINK(clangxx_safecopy_atomics_shared, "clang++", SAFECOPY_ATOMICS, SHARED)
