/*
 * glibc lists every variant of a string function with its address in __libc_ifunc_impl_list (exported,
 * GLIBC_PRIVATE: its own tests use it); the variant in use is the one whose address is the one this
 * program calls. The names are local symbols, so dladdr cannot give them. glibc 2.36 on this AMD
 * EPYC: __memcpy_avx512_unaligned_erms natively, __memcpy_avx_unaligned_erms with AVX-512 capped (the
 * same address as __memmove_avx_unaligned_erms, the name perf shows).
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "glibc_variant.h"

/* glibc's struct libc_ifunc_impl (include/ifunc-impl-list.h, unchanged since glibc 2.13). */
struct libc_ifunc_impl {
	const char *name;
	void (*fn)(void);
	bool usable;
};

typedef size_t ifunc_impl_list_fn(const char *name, struct libc_ifunc_impl *array, size_t max);

/* Through volatile pointers: the addresses the bench's own calls go to (the resolved IFUNCs). */
static void *(*volatile memcpy_in_use)(void *, const void *, size_t) = memcpy;
static void *(*volatile memset_in_use)(void *, int, size_t) = memset;

static void name_variant(ifunc_impl_list_fn *list, const char *fn, void (*addr)(void), char *buf, size_t n)
{
	struct libc_ifunc_impl impl[64];
	size_t count = list ? list(fn, impl, sizeof impl / sizeof impl[0]) : 0;
	for (size_t i = 0; i < count && i < sizeof impl / sizeof impl[0]; i++)
		if (impl[i].fn == addr) {
			snprintf(buf, n, "%s", impl[i].name);
			return;
		}
	/* Not glibc's: an interposed function (AddressSanitizer's memcpy, say): named with its object. */
	Dl_info info;
	if (dladdr((void *)addr, &info) && info.dli_sname && info.dli_fname) {
		const char *base = strrchr(info.dli_fname, '/');
		snprintf(buf, n, "%s of %s", info.dli_sname, base ? base + 1 : info.dli_fname);
	} else {
		snprintf(buf, n, "unknown");
	}
}

void bench_glibc_variants(char *memcpy_name, char *memset_name, size_t n)
{
	ifunc_impl_list_fn *list = (ifunc_impl_list_fn *)dlsym(RTLD_DEFAULT, "__libc_ifunc_impl_list");
	name_variant(list, "memcpy", (void (*)(void))memcpy_in_use, memcpy_name, n);
	name_variant(list, "memset", (void (*)(void))memset_in_use, memset_name, n);
}
