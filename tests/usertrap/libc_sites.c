/* Counting libc's syscall sites and their windows: see libc_sites.h. */
#include <link.h>
#include <string.h>

#include "usertrap/decode.h"
#include "usertrap/fde.h"
#include "usertrap/libc_sites.h"

struct libc_text {
	uintptr_t lo, hi;
};

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct libc_text *t = data;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libc.so.6"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			t->lo = info->dlpi_addr + ph->p_vaddr;
			t->hi = t->lo + ph->p_memsz;
		}
	}
	return 1;
}

/* 2.41's cancellable-call site: `mov 0x10(%rsp),%rax` right before the syscall, `pop %rbx; ret` after. */
static bool is_cancel_site(const unsigned char *b)
{
	static const unsigned char before[] = {0x48, 0x8b, 0x44, 0x24, 0x10};
	return memcmp(b - sizeof before, before, sizeof before) == 0 && b[2] == 0x5b && b[3] == 0xc3;
}

void libc_sites_count(struct libc_sites *s)
{
	memset(s, 0, sizeof *s);
	struct libc_text t = {0};
	dl_iterate_phdr(find_libc, &t);
	s->libc_lo = t.lo;
	for (uintptr_t a = t.lo + 5; t.lo && a + 4 <= t.hi; a++) {
		const unsigned char *b = (const unsigned char *)a;
		if (b[0] != 0x0f || b[1] != 0x05)
			continue;
		uintptr_t lo, hi;
		struct ut_plan plan;
		int r =
		    ut_function_of(a, &lo, &hi) ? ut_plan_window(a, lo, hi, NULL, &plan) : UT_PLAN_MISALIGNED;
		if (r == UT_PLAN_MISALIGNED)
			continue; /* not a syscall instruction (bytes inside another), or no FDE */
		s->sites++;
		s->seven += b[-5] == 0xb8;
		s->windowed += r == UT_PLAN_OK;
		if (r != UT_PLAN_OK && s->n_refused < LIBC_SITES_MAX_REFUSED)
			s->refused[s->n_refused++] = a;
		if (is_cancel_site(b)) {
			s->cancel_site = a;
			s->cancel_windowed = r == UT_PLAN_OK;
		}
	}
}
