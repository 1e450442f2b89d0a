/*
 * The fuzz target's memory: a region of REGION_PAGES pages whose kinds the input chooses (read-write,
 * read-only, PROT_NONE, unmapped, a shared file page past the end of its file), between guard pages
 * that stay PROT_NONE, and the reference model of it: per-page permissions and a shadow of every byte
 * that can be read. The model answers what an access to any address does — including the guards and
 * non-canonical addresses — so the operations' expected results are computed byte by byte from it.
 */
#ifndef SAFECOPY_FUZZ_LAYOUT_H
#define SAFECOPY_FUZZ_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safecopy.h"

#define PAGE         4096u
#define REGION_PAGES 12u /* the source half, then the destination half */
#define HALF         (REGION_PAGES / 2 * PAGE)
#define GUARD_PAGES  9u /* more than the longest access the target makes past the region */

enum page_kind { PAGE_RW, PAGE_RO, PAGE_NONE, PAGE_UNMAPPED, PAGE_PAST_EOF, PAGE_KINDS };

struct layout {
	uint8_t *base; /* first byte of the region (guards on both sides) */
	enum page_kind kind[REGION_PAGES];
	uint8_t shadow[REGION_PAGES * PAGE]; /* what readable pages hold (what they must hold, after) */
};

/* Reserves the region and its guards once, PROT_NONE; creates the file for PAGE_PAST_EOF pages. */
void layout_init(struct layout *l);

/*
 * Maps every page as its kind says, fills the readable ones with bytes of fill_seed (zero bytes with
 * a density of 1/zero_every, none when zero_every is 0) and copies them to the shadow.
 */
void layout_apply(struct layout *l, uint32_t fill_seed, unsigned zero_every);

/* Puts the reservation back (nothing of the last layout stays mapped, no hole other code could fill). */
void layout_reset(struct layout *l);

/* The model: can this byte be read / written, and what does a fault on it report. */
bool model_readable(const struct layout *l, uintptr_t addr);
bool model_writable(const struct layout *l, uintptr_t addr);
struct safecopy_fault model_fault(const struct layout *l, uintptr_t addr, bool write);

/* The shadow byte of a region address (the caller knows it is readable). */
uint8_t *model_byte(struct layout *l, uintptr_t addr);

/* Aborts, naming the first region byte whose memory differs from the shadow (readable pages only). */
void layout_check_memory(const struct layout *l, const char *what);

/* Prints what went wrong, the layout and the operation, then aborts (libFuzzer saves the input). */
__attribute__((noreturn, format(printf, 2, 3))) void fuzz_fail(const struct layout *l, const char *fmt, ...);

#endif
