/* The patcher's own code, found among the loaded objects. */
#include <link.h>
#include <string.h>

#include "usertrap/exclude.h"
#include "usertrap/tramp.h"

#define UT_MAX_EXCLUDED 16
static struct {
	uintptr_t lo, hi;
} excluded[UT_MAX_EXCLUDED];
static int n_excluded;

/* Objects whose code runs while a site is half-written (the static library is linked into the program
 * itself: that one is recognised by holding usertrap's code). */
static bool runs_during_a_patch(const struct dl_phdr_info *info, uintptr_t own_code)
{
	static const char *const names[] = {"libsafecopy", "libusertrap", "libasan", "libubsan",
	                                    "libclang_rt"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (info->dlpi_name && strstr(info->dlpi_name, names[i]))
			return true;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && own_code >= lo && own_code < lo + ph->p_memsz)
			return true;
	}
	return false;
}

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (!runs_during_a_patch(info, *(uintptr_t *)data))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && n_excluded < UT_MAX_EXCLUDED; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(UT_PAGE - 1);
		uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + UT_PAGE - 1) & ~(UT_PAGE - 1);
		excluded[n_excluded].lo = lo;
		excluded[n_excluded].hi = hi;
		n_excluded++;
	}
	return 0;
}

void ut_exclusions_setup(void)
{
	n_excluded = 0;
	uintptr_t own = ut_tramp_any_body();
	dl_iterate_phdr(collect, &own);
}

bool ut_excluded(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < n_excluded; i++)
		if (lo < excluded[i].hi && hi > excluded[i].lo)
			return true;
	return false;
}
