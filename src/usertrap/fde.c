/*
 * Function bounds from .eh_frame_hdr. Its table lists, sorted, every FDE's initial location with the
 * FDE's address, both relative to the header (DW_EH_PE_datarel | DW_EH_PE_sdata4, what GNU ld and lld
 * write). The FDE gives the range; its pc_begin/pc_range encoding is the 'R' letter of its CIE.
 */
#include <dlfcn.h>

#include "usertrap/fde.h"

#define EH_HDR_VERSION    1
#define EH_PE_udata4      0x03
#define EH_PE_sdata4      0x0b
#define EH_PE_udata8      0x04
#define EH_PE_sdata8      0x0c
#define EH_PE_datarel     0x30
#define EH_PE_omit        0xff
#define EH_TABLE_ENCODING (EH_PE_datarel | EH_PE_sdata4)
#define CIE_AUG_MAX       8

static bool rd(uintptr_t a, void *out, size_t n)
{
	return safecopy_memcpy(out, (const void *)a, n, NULL) == n;
}

/* The size of a value in encoding enc (its low nibble), or 0 if not one we read. */
static unsigned enc_size(unsigned char enc)
{
	switch (enc & 0x0f) {
	case EH_PE_udata4:
	case EH_PE_sdata4:
		return 4;
	case EH_PE_udata8:
	case EH_PE_sdata8:
		return 8;
	default:
		return 0;
	}
}

static bool uleb(uintptr_t *a, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		unsigned char b;
		if (!rd((*a)++, &b, 1))
			return false;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The 'R' encoding of the CIE at cie (DW_EH_PE_absptr when it has none). */
static bool cie_fde_encoding(uintptr_t cie, unsigned char *enc)
{
	char aug[CIE_AUG_MAX];
	uintptr_t a = cie + 9; /* length, id, version */
	unsigned n = 0;
	for (;; n++) {
		if (n == CIE_AUG_MAX || !rd(a++, &aug[n], 1))
			return false;
		if (!aug[n])
			break;
	}
	uint64_t skip;
	if (!uleb(&a, &skip) || !uleb(&a, &skip)) /* code and data alignment (LEB128: skipped alike) */
		return false;
	a++; /* the return address register (one byte in version 1) */
	*enc = 0;
	if (aug[0] != 'z')
		return n == 0;
	uint64_t len;
	if (!uleb(&a, &len))
		return false;
	for (unsigned i = 1; i < n; i++) {
		unsigned char e;
		if (aug[i] == 'R')
			return rd(a, enc, 1);
		if (aug[i] == 'L' && !rd(a++, &e, 1))
			return false;
		if (aug[i] == 'P') {
			if (!rd(a++, &e, 1) || !enc_size(e))
				return false;
			a += enc_size(e);
		}
		if (aug[i] != 'L' && aug[i] != 'P' && aug[i] != 'S' && aug[i] != 'B')
			return false;
	}
	return true;
}

/* The range of the FDE at fde. */
static bool fde_range(uintptr_t fde, uintptr_t *lo, uintptr_t *hi)
{
	uint32_t len, cie_off;
	if (!rd(fde, &len, 4) || len == 0xffffffffu || !rd(fde + 4, &cie_off, 4))
		return false;
	unsigned char enc;
	if (!cie_fde_encoding(fde + 4 - cie_off, &enc) || !enc_size(enc) || (enc & 0x70) > 0x10)
		return false;
	uintptr_t at = fde + 8;
	int64_t begin = 0, range = 0;
	if (enc_size(enc) == 4) {
		int32_t b;
		uint32_t r;
		if (!rd(at, &b, 4) || !rd(at + 4, &r, 4))
			return false;
		begin = (enc & 0x0f) == EH_PE_sdata4 ? b : (int64_t)(uint32_t)b;
		range = r;
	} else if (!rd(at, &begin, 8) || !rd(at + 8, &range, 8)) {
		return false;
	}
	*lo = (enc & 0x70) == 0x10 ? at + (uintptr_t)begin : (uintptr_t)begin; /* pcrel or absolute */
	*hi = *lo + (uintptr_t)range;
	return true;
}

bool ut_function_of(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	struct dl_find_object obj;
	if (_dl_find_object((void *)pc, &obj) != 0 || !obj.dlfo_eh_frame)
		return false;
	uintptr_t hdr = (uintptr_t)obj.dlfo_eh_frame;
	unsigned char h[4];
	if (!rd(hdr, h, 4) || h[0] != EH_HDR_VERSION || enc_size(h[1]) != 4 || h[2] != EH_PE_udata4 ||
	    h[3] != EH_TABLE_ENCODING)
		return false;
	uint32_t count;
	if (!rd(hdr + 8, &count, 4))
		return false;
	uintptr_t table = hdr + 12;
	/* The last entry whose initial location is <= pc. */
	int64_t first = 0, last = (int64_t)count - 1, found = -1;
	while (first <= last) {
		int64_t mid = first + (last - first) / 2;
		int32_t loc;
		if (!rd(table + (uintptr_t)mid * 8, &loc, 4))
			return false;
		if (hdr + (uintptr_t)(intptr_t)loc <= pc) {
			found = mid;
			first = mid + 1;
		} else {
			last = mid - 1;
		}
	}
	int32_t fde_off;
	if (found < 0 || !rd(table + (uintptr_t)found * 8 + 4, &fde_off, 4))
		return false;
	uintptr_t l, e;
	if (!fde_range(hdr + (uintptr_t)(intptr_t)fde_off, &l, &e) || pc < l || pc >= e)
		return false;
	*lo = l;
	*hi = e;
	return true;
}
