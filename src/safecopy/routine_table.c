/*
 * Where the assembly routines are. The handler consults this on every SIGSEGV/SIGBUS, so the lookup
 * is one range check against the hull of all routines (rejecting foreign faults at once), then a
 * short scan; the declared accesses of the routine found are then scanned for the exact PC. Filled
 * once from the asm address stubs at load time, before the handler can run.
 */
#include "safecopy/cpu.h"
#include "safecopy/routines.h"

/* clang-format off */
#define SC_ROUTINES(X) \
	X(sc_copy) X(sc_copy_rep) X(sc_copy_avx2) X(sc_copy_nt) X(sc_copy_nt_avx2) \
	X(sc_memset) X(sc_memset_rep) X(sc_memset_avx2) \
	X(sc_load32) X(sc_store32) X(sc_swap32) X(sc_cas32) \
	X(sc_fetch_add32) X(sc_fetch_and32) X(sc_fetch_or32) X(sc_fetch_xor32) \
	X(sc_load64) X(sc_store64) X(sc_swap64) X(sc_cas64) \
	X(sc_fetch_add64) X(sc_fetch_and64) X(sc_fetch_or64) X(sc_fetch_xor64) \
	X(sc_store32_jl) X(sc_swap32_jl) X(sc_cas32_jl) \
	X(sc_fetch_add32_jl) X(sc_fetch_and32_jl) X(sc_fetch_or32_jl) X(sc_fetch_xor32_jl) \
	X(sc_store64_jl) X(sc_swap64_jl) X(sc_cas64_jl) \
	X(sc_fetch_add64_jl) X(sc_fetch_and64_jl) X(sc_fetch_or64_jl) X(sc_fetch_xor64_jl) \
	X(sc_strncpy) X(sc_strncpy_sse2) X(sc_strnlen) X(sc_strnlen_sse2) \
	X(sc_peek32) X(sc_peek64) X(sc_probe_read) X(sc_probe_write)
/* clang-format on */

#define SC_DECLARE_STUB(name) SC_HIDDEN void sc_range_##name(struct sc_routine_range *out);
SC_ROUTINES(SC_DECLARE_STUB)

#define SC_STUB_ENTRY(name) sc_range_##name,
static void (*const range_stubs[])(struct sc_routine_range *) = {SC_ROUTINES(SC_STUB_ENTRY)};

#define SC_ROUTINE_COUNT (sizeof(range_stubs) / sizeof(range_stubs[0]))

static struct sc_routine_range routine_table[SC_ROUTINE_COUNT];
static uintptr_t hull_begin = UINTPTR_MAX, hull_end; /* hull_end != 0: table filled */

/*
 * Runs at load time, so safecopy_handle_signal() works even for programs that never call an init, and
 * again from safecopy_init(): a static program's own constructors may run before this one. Only the
 * first call fills the table; it always runs before the handler is installed.
 */
__attribute__((constructor)) void sc_routine_table_init(void)
{
	if (hull_end != 0)
		return;
	sc_cpu_init();
	uintptr_t begin = UINTPTR_MAX, end = 0;
	for (size_t i = 0; i < SC_ROUTINE_COUNT; i++) {
		range_stubs[i](&routine_table[i]);
		if (routine_table[i].begin < begin)
			begin = routine_table[i].begin;
		if (routine_table[i].end > end)
			end = routine_table[i].end;
	}
	hull_begin = begin;
	hull_end = end;
}

const struct sc_routine_range *sc_routine_at(uintptr_t pc)
{
	if (pc < hull_begin || pc >= hull_end)
		return NULL;
	for (size_t i = 0; i < SC_ROUTINE_COUNT; i++)
		if (pc >= routine_table[i].begin && pc < routine_table[i].end)
			return &routine_table[i];
	return NULL;
}

/*
 * A binary search: the declarations sit in the order of the instructions they precede (asm/safecopy.inc
 * emits each next to its instruction, and a routine is one run of code), so their offsets increase
 * strictly; sc_copy alone has about 300, which a linear walk would add to every fault.
 */
const struct sc_access *sc_access_at(const struct sc_routine_range *r, uintptr_t pc)
{
	if (pc < r->begin)
		return NULL;
	uintptr_t offset = pc - r->begin;
	const struct sc_access *lo = r->access, *hi = r->access_end;
	while (lo < hi) {
		const struct sc_access *mid = lo + (hi - lo) / 2;
		if (mid->offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->access_end && lo->offset == offset ? lo : NULL;
}
