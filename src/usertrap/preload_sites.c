/* The SIGSYS-path site table of the preload tool (see preload_sites.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "safecopy.h"
#include "usertrap/preload_sites.h"

#define TABLE_SIZE 4096 /* a power of two */
#define PROBES     32
#define BEFORE     8 /* bytes shown before the syscall instruction */
#define AFTER      4 /* and after it */

static struct site {
	uintptr_t insn; /* 0: free */
	long nr_plus1;  /* the first call's number + 1; 0 until its claimer stored it */
	bool mixed;     /* calls with another number came from it too */
	bool i386;      /* an `int $0x80` site: its numbers are i386 ones */
	uint64_t calls;
} table[TABLE_SIZE];
static uint64_t untracked;

static unsigned slot_of(uintptr_t insn)
{
	return (unsigned)((insn * 0x9E3779B97F4A7C15ULL) >> 52) & (TABLE_SIZE - 1);
}

static void count_at(struct site *s, long nr)
{
	long seen = __atomic_load_n(&s->nr_plus1, __ATOMIC_RELAXED);
	if (seen && seen != nr + 1)
		__atomic_store_n(&s->mixed, true, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
}

void preload_sites_count(uintptr_t insn, long nr, bool i386)
{
	for (unsigned i = 0, h = slot_of(insn); i < PROBES; i++, h = (h + 1) & (TABLE_SIZE - 1)) {
		struct site *s = &table[h];
		uintptr_t cur = __atomic_load_n(&s->insn, __ATOMIC_ACQUIRE);
		if (cur == 0) {
			/* Claim it. A claim lost to a thread with the same site still counts here; one
			 * lost to another site probes on. */
			uintptr_t expected = 0;
			if (__atomic_compare_exchange_n(&s->insn, &expected, insn, false, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				__atomic_store_n(&s->i386, i386, __ATOMIC_RELAXED);
				__atomic_store_n(&s->nr_plus1, nr + 1, __ATOMIC_RELAXED);
				cur = insn;
			} else {
				cur = expected;
			}
		}
		if (cur == insn) {
			count_at(s, nr);
			return;
		}
	}
	__atomic_fetch_add(&untracked, 1, __ATOMIC_RELAXED);
}

void preload_sites_reset(void)
{
	memset(table, 0, sizeof table);
	untracked = 0;
}

/* The bytes around the syscall instruction as hex, the instruction in brackets. Bytes before it that
 * cannot be read (the mapping starts there) are left out. */
static void bytes_around(uintptr_t insn, char *out, size_t n)
{
	unsigned char b[BEFORE + 2 + AFTER];
	size_t before = BEFORE;
	while (before > 0 && safecopy_memcpy(b, (const void *)(insn - before), before, NULL) != before)
		before--;
	size_t after = 2 + AFTER;
	after = safecopy_memcpy(b + before, (const void *)insn, after, NULL);
	size_t k = 0;
	for (size_t i = 0; i < before + after && k + 4 < n; i++) {
		if (i == before)
			out[k++] = '[';
		k += (size_t)snprintf(out + k, n - k, "%02x", b[i]);
		if (i == before + 1)
			out[k++] = ']';
	}
	out[k] = 0;
}

/* The mapping that holds addr, as "file+0xoffset" (from /proc/self/maps). */
static void mapping_of(uintptr_t addr, char *out, size_t n)
{
	snprintf(out, n, "?");
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		int name = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &off, &name) < 3 || addr < lo ||
		    addr >= hi)
			continue;
		const char *path = "";
		if (name > 0) { /* %n reached: a name field, maybe empty; never write into "" */
			line[name + strcspn(line + name, "\n")] = 0;
			path = line + name;
		}
		snprintf(out, n, "%s+%#lx", *path ? path : "[anon]", addr - lo + off);
		break;
	}
	fclose(f);
}

/* Still on the SIGSYS path: the syscall (or int $0x80) instruction is still there (a patched site
 * jumps away). */
static bool still_trapping(uintptr_t insn)
{
	unsigned char b[2];
	if (safecopy_memcpy(b, (const void *)insn, 2, NULL) != 2)
		return false;
	return (b[0] == 0x0f && b[1] == 0x05) || (b[0] == 0xcd && b[1] == 0x80);
}

/* The index of the hottest site still trapping that is not yet in taken[0..k), or -1. */
static int hottest(const int *taken, unsigned k)
{
	int best = -1;
	for (int i = 0; i < TABLE_SIZE; i++) {
		if (!table[i].insn || (best >= 0 && table[i].calls <= table[best].calls))
			continue;
		bool dup = false;
		for (unsigned j = 0; j < k && !dup; j++)
			dup = taken[j] == i;
		if (!dup && still_trapping(table[i].insn))
			best = i;
	}
	return best;
}

size_t preload_sites_report(long pid, unsigned top, char *out, size_t n)
{
	size_t len = 0;
	int *taken = calloc(top ? top : 1, sizeof *taken);
	if (!taken)
		return 0;
	for (unsigned k = 0; k < top && len < n; k++) {
		int i = hottest(taken, k);
		if (i < 0)
			break;
		taken[k] = i;
		const struct site *s = &table[i];
		char bytes[64], map[320];
		bytes_around(s->insn, bytes, sizeof bytes);
		mapping_of(s->insn, map, sizeof map);
		len += (size_t)snprintf(
		    out + len, n - len,
		    "usertrap-site pid=%ld calls=%llu nr=%s%ld%s addr=%#lx bytes=%s map=%s\n", pid,
		    (unsigned long long)s->calls, s->i386 ? "i386:" : "", s->nr_plus1 - 1,
		    s->mixed ? "+" : "", (unsigned long)s->insn, bytes, map);
	}
	free(taken);
	unsigned tracked = 0;
	for (int i = 0; i < TABLE_SIZE; i++)
		tracked += table[i].insn != 0;
	if (len < n)
		len +=
		    (size_t)snprintf(out + len, n - len, "usertrap-sites pid=%ld tracked=%u untracked=%llu\n",
		                     pid, tracked, (unsigned long long)untracked);
	return len < n ? len : n - 1;
}
