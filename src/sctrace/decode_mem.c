/* Decoders of the memory family: protections, mapping flags, advice. */
#include <linux/mman.h>
#include <sys/mman.h>

#include "sctrace/decoders.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

SCT_XLAT_PUBLIC(sct_xlat_prot, SCT_X(PROT_NONE), SCT_X(PROT_READ), SCT_X(PROT_WRITE), SCT_X(PROT_EXEC),
                SCT_X(PROT_SEM), SCT_X(PROT_GROWSDOWN), SCT_X(PROT_GROWSUP));
SCT_XLAT(map_types, SCT_X(MAP_SHARED), SCT_X(MAP_PRIVATE), {0x03, "MAP_SHARED_VALIDATE"});
SCT_XLAT(map_flags, SCT_X(MAP_FIXED), SCT_X(MAP_ANONYMOUS), SCT_X(MAP_32BIT), SCT_X(MAP_NORESERVE),
         SCT_X(MAP_POPULATE), SCT_X(MAP_NONBLOCK), SCT_X(MAP_GROWSDOWN), SCT_X(MAP_DENYWRITE),
         SCT_X(MAP_EXECUTABLE), SCT_X(MAP_LOCKED), SCT_X(MAP_STACK), SCT_X(MAP_HUGETLB),
         {0x80000, "MAP_SYNC"}, {0x4000000, "MAP_UNINITIALIZED"}, {0x100000, "MAP_FIXED_NOREPLACE"});
SCT_XLAT_PUBLIC(sct_xlat_madvise, SCT_X(MADV_NORMAL), SCT_X(MADV_RANDOM), SCT_X(MADV_SEQUENTIAL),
                SCT_X(MADV_WILLNEED), SCT_X(MADV_DONTNEED), SCT_X(MADV_FREE), SCT_X(MADV_REMOVE),
                SCT_X(MADV_DONTFORK), SCT_X(MADV_DOFORK), SCT_X(MADV_MERGEABLE), SCT_X(MADV_UNMERGEABLE),
                SCT_X(MADV_HUGEPAGE), SCT_X(MADV_NOHUGEPAGE), SCT_X(MADV_DONTDUMP), SCT_X(MADV_DODUMP),
                SCT_X(MADV_WIPEONFORK), SCT_X(MADV_KEEPONFORK), SCT_X(MADV_COLD), SCT_X(MADV_PAGEOUT),
                {22, "MADV_POPULATE_READ"}, {23, "MADV_POPULATE_WRITE"}, {24, "MADV_DONTNEED_LOCKED"},
                {25, "MADV_COLLAPSE"}, SCT_X(MADV_HWPOISON), {101, "MADV_SOFT_OFFLINE"});
SCT_XLAT_PUBLIC(sct_xlat_msync, SCT_X(MS_ASYNC), SCT_X(MS_INVALIDATE), SCT_X(MS_SYNC));
SCT_XLAT_PUBLIC(sct_xlat_mlockall, SCT_X(MCL_CURRENT), SCT_X(MCL_FUTURE), {4, "MCL_ONFAULT"});
SCT_XLAT(mremap_flags, SCT_X(MREMAP_MAYMOVE), SCT_X(MREMAP_FIXED), {4, "MREMAP_DONTUNMAP"});

/* The mapping type first, then the other flags, then a huge page size as N<<MAP_HUGE_SHIFT. */
static void print_map_flags(struct sct_line *l, unsigned long flags)
{
	sct_print_xval(l, &map_types, flags & MAP_TYPE, "MAP_???");
	flags &= ~(unsigned long)MAP_TYPE;
	unsigned long huge = flags & ((unsigned long)MAP_HUGE_MASK << MAP_HUGE_SHIFT);
	flags &= ~huge;
	if (flags) {
		sct_putc(l, '|');
		sct_print_flags(l, &map_flags, flags, NULL);
	}
	if (huge) {
		sct_putc(l, '|');
		sct_udec(l, huge >> MAP_HUGE_SHIFT);
		sct_puts(l, "<<MAP_HUGE_SHIFT");
	}
}

void sct_dec_mmap(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_ptr(c->l, sct_addr(c, 0));
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[1]);
	sct_puts(c->l, ", ");
	sct_print_flags(c->l, &sct_xlat_prot, (unsigned long)c->a[2], "PROT_???");
	sct_puts(c->l, ", ");
	print_map_flags(c->l, (unsigned long)c->a[3]);
	sct_puts(c->l, ", ");
	sct_print_fd(c, (int)c->a[4]);
	sct_puts(c->l, ", ");
	sct_hex(c->l, (unsigned long)c->a[5]);
}

void sct_dec_mremap(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_ptr(c->l, sct_addr(c, 0));
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[1]);
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[2]);
	sct_puts(c->l, ", ");
	sct_print_flags(c->l, &mremap_flags, (unsigned long)c->a[3], "MREMAP_???");
	if ((c->a[3] & (MREMAP_MAYMOVE | MREMAP_FIXED)) == (MREMAP_MAYMOVE | MREMAP_FIXED)) {
		sct_puts(c->l, ", ");
		sct_ptr(c->l, sct_addr(c, 4));
	}
}
