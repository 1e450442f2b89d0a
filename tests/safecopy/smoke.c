#include <criterion/criterion.h>
#include <sys/mman.h>
#include <unistd.h>
#include "safecopy.h"

Test(smoke, copy_into_guard)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	mprotect(m + pg, pg, PROT_NONE);
	char src[100];
	memset(src, 'x', sizeof src);
	struct safecopy_fault f;
	size_t n = safecopy_memcpy(m + pg - 37, src, 100, &f);
	cr_assert_eq(n, 37);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
	cr_assert_eq(f.addr, m + pg);
	cr_assert_eq(f.code, SEGV_ACCERR);
}
