/*
 * Every public header compiles on its own, included first (and twice: its include guard), with no
 * feature macro, in every language mode a user's project may build with: gcc and clang with
 * -std=c99, c11, c17 and gnu11; g++ and clang++ with -std=c++11 and c++17; always with
 * -Wall -Wextra -pedantic -Werror. Headers added to include/ later are covered without a change here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "toolchain.h"

static void compile_each_header(const char *driver_name, const char *std)
{
	const struct driver *d = driver_named(driver_name);
	struct header_list headers;
	public_headers(&headers);
	char failures[32768] = "";
	int nfailed = 0;
	for (int i = 0; i < headers.count; i++) {
		const char *h = headers.names[i];
		char cmd[1024], out[4096], why[160];
		snprintf(cmd, sizeof cmd,
		         "printf '#include <%s>\\n#include <%s>\\n' | %s -std=%s " STRICT_FLAGS
		         " -I'%s' -x %s -c -o /dev/null -",
		         h, h, d->name, std, HEADERS_INCLUDE_DIR, d->lang);
		int status = run_command(cmd, out, sizeof out);
		if (status == 0 && out[0] == '\0')
			continue;
		nfailed++;
		size_t used = strlen(failures);
		snprintf(failures + used, sizeof failures - used, "--- %s: %s\n%s\n", h,
		         status ? status_text(d, status, why, sizeof why) : "diagnostics", out);
	}
	cr_assert_eq(nfailed, 0, "%d of %d public headers do not compile alone with %s -std=%s:\n%s", nfailed,
	             headers.count, d->name, std, failures);
}

#define ALONE(id, driver, std)                    \
	Test(headers_alone, id)                   \
	{                                         \
		compile_each_header(driver, std); \
	}

ALONE(gcc_c99, "gcc", "c99")
ALONE(gcc_c11, "gcc", "c11")
ALONE(gcc_c17, "gcc", "c17")
ALONE(gcc_gnu11, "gcc", "gnu11")
ALONE(clang_c99, "clang", "c99")
ALONE(clang_c11, "clang", "c11")
ALONE(clang_c17, "clang", "c17")
ALONE(clang_gnu11, "clang", "gnu11")
ALONE(gxx_cxx11, "g++", "c++11")
ALONE(gxx_cxx17, "g++", "c++17")
ALONE(clangxx_cxx11, "clang++", "c++11")
ALONE(clangxx_cxx17, "clang++", "c++17")

/*
 * The inline atomics that write are asm statements that declare what a call clobbers, vector registers
 * included, and the register names depend on the target: compiled (not linked) with -O2, where they
 * are inlined, for plain x86-64 and with AVX-512 (zmm16-31 and the mask registers), by each driver.
 */
static void compile_inline_atomics(const char *driver_name, const char *target)
{
	const struct driver *d = driver_named(driver_name);
	char cmd[1024], out[4096], why[160];
	snprintf(
	    cmd, sizeof cmd,
	    "printf '#include <safecopy.h>\\n"
	    "int f(uint64_t *p, uint32_t *q) { uint64_t o = 0; uint32_t a = 0; "
	    "return safecopy_swap64(p, 1, &o, NULL) + safecopy_cas32(q, 1, 2, &a, NULL) + "
	    "safecopy_fetch_xor64(p, 3, &o, NULL) + safecopy_store32(q, 4, NULL) + (int)o + (int)a; }\\n' "
	    "| %s -std=%s " STRICT_FLAGS " -O2 %s -I'%s' -x %s -c -o /dev/null -",
	    d->name, d->strict_std, target, HEADERS_INCLUDE_DIR, d->lang);
	int status = run_command(cmd, out, sizeof out);
	cr_assert(status == 0 && out[0] == '\0', "the inline atomics do not compile with %s %s: %s\n%s\n%s",
	          d->name, target, status ? status_text(d, status, why, sizeof why) : "diagnostics", cmd,
	          out);
}

#define INLINE_ATOMICS(id, driver)                           \
	Test(headers_alone, inline_atomics_##id)             \
	{                                                    \
		compile_inline_atomics(driver, "");          \
		compile_inline_atomics(driver, "-mavx512f"); \
	}

INLINE_ATOMICS(gcc, "gcc")
INLINE_ATOMICS(clang, "clang")
INLINE_ATOMICS(gxx, "g++")
INLINE_ATOMICS(clangxx, "clang++")
