/*
 * Attached inline sites (include/safecopy.h, "Inline loads and peeks"): which translation units'
 * gate words are attached with their module's list, how the words open and close, and the handler's
 * lookup of a PC outside every routine.
 *
 * A word may be open (0) only while its list is attached, the handler installed, and no thread runs
 * a previous handler with SIGSEGV/SIGBUS blocked (sc_gate == 0). Closing takes a tag that no word has
 * held before (odd, from 3; a unit's word starts at 1), and opening is a compare-and-swap from the
 * closed value read before sc_gate was found 0. So an opener that raced with a closer either saw
 * sc_gate count the closer's thread, or read the word before the closer's store and then fails its
 * swap, or swapped before that store, which then closes the word again before the closer's thread
 * runs its previous handler. The closer also meets every slot published before it counted itself in
 * sc_gate; a slot published later belongs to an opener that will find sc_gate not 0. Every access
 * here is seq_cst, which that argument needs (and which x86-64's locked instructions are anyway).
 *
 * A closer writes into the memory of other modules. A module's .fini_array entry detaches its units
 * before the module is unmapped, and detach waits until no closer runs: a closer counts itself in
 * `closers` before it reads a slot, so one that read the slot before it was cleared is still counted.
 * A module unmapped without its .fini_array (a loader of its own) leaves its slot attached, and its
 * addresses may then hold another module's data: every read of a slot's list and word goes through
 * libsafecopy, and a slot is trusted (a fault resumed at its landing, its word written) only while its
 * list still hashes to what it did at attach and its word holds a value a word can hold.
 */
#include <pthread.h>
#include <sched.h>

#include "safecopy.h"
#include "safecopy/inline_sites.h"

#define SLOTS 512

/* One entry of a list, as SAFECOPY_INLINE_SITE emits it. */
struct site {
	int32_t access;  /* the instruction, relative to this word */
	int32_t landing; /* relative to this word */
	int32_t width;
};

/* An attachment. seq: odd while written; a slot with an even seq and no gate is free. */
struct slot {
	uint64_t seq;
	int64_t *gate;
	const struct site *sites, *sites_end;
	uintptr_t lowest, highest; /* access addresses: the handler's first test */
	uint64_t fingerprint;      /* of the list's bytes at attach (list_fingerprint) */
};

static struct slot slots[SLOTS];
static unsigned slots_used; /* every slot ever claimed lies below */
static int64_t last_tag = 1;
static unsigned closers;

#define LOAD(x)     __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static uintptr_t site_access(const struct site *s)
{
	return (uintptr_t)&s->access + (uintptr_t)(intptr_t)s->access;
}

static int64_t new_tag(void)
{
	return __atomic_add_fetch(&last_tag, 2, __ATOMIC_SEQ_CST);
}

static void bump_slots_used(unsigned used)
{
	unsigned n = LOAD(slots_used);
	while (n < used &&
	       !__atomic_compare_exchange_n(&slots_used, &n, used, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

#define CHUNK 16 /* entries per read of a list: 192 bytes of the handler's stack */

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Reads the list [sites, end) as it is now, through libsafecopy, CHUNK entries at a time: its hash into
 * *hash, and, if out is not NULL, the entry whose access is at pc into *out (*found set). False if
 * part of the list is not mapped. */
static bool read_list(const struct site *sites, const struct site *end, uintptr_t pc, uint64_t *hash,
                      struct sc_inline_site *out, bool *found)
{
	struct site chunk[CHUNK]; /* 192 bytes of the handler's stack: well inside SAFECOPY_SIGSTACK_EXTRA */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const struct site *s = sites; s < end; s += CHUNK) {
		size_t n = (size_t)(end - s) < CHUNK ? (size_t)(end - s) : CHUNK;
		if (safecopy_memcpy(chunk, s, n * sizeof *s, NULL) != n * sizeof *s)
			return false;
		h = fnv1a(h, chunk, n * sizeof *s);
		for (size_t i = 0; i < n && out; i++) { /* offsets are relative to the entry's own place */
			const struct site *at = s + i, *c = &chunk[i];
			if ((uintptr_t)&at->access + (uintptr_t)(intptr_t)c->access != pc ||
			    (c->width != 4 && c->width != 8))
				continue;
			out->landing = (uintptr_t)&at->landing + (uintptr_t)(intptr_t)c->landing;
			out->width = (unsigned)c->width;
			*found = true;
		}
	}
	*hash = h;
	return true;
}

/* The hash of [sites, end) as it reads now; false if part of it is not mapped. */
static bool list_fingerprint(const struct site *sites, const struct site *end, uint64_t *out)
{
	return read_list(sites, end, 0, out, NULL, NULL);
}

/* Whether slot's list still reads as it did at attach: false once its module is gone, whatever now
 * occupies the addresses (a different list, or zeros, differs from it except by a hash collision). */
static bool list_intact(struct slot *slot)
{
	uint64_t h;
	return list_fingerprint(LOAD(slot->sites), LOAD(slot->sites_end), &h) && h == LOAD(slot->fingerprint);
}

/* A value a gate word holds: 0 (open), 1 (a unit's initial value) or a tag handed out so far. */
static bool gate_value(int64_t v)
{
	return v == 0 || ((v & 1) && v > 0 && v <= LOAD(last_tag));
}

/* Whether slot, attached with a word, holds the list [sites, end) hashed to fingerprint. A slot's
 * fields are written before its word and not again until the word is cleared, so they are the word's
 * while it reads the same before and after. */
static bool holds_list(struct slot *slot, const int64_t *gate, const struct site *sites,
                       const struct site *end, uint64_t fingerprint)
{
	return LOAD(slot->sites) == sites && LOAD(slot->sites_end) == end &&
	       LOAD(slot->fingerprint) == fingerprint && LOAD(slot->gate) == gate;
}

/* Whether the list [sites, end) whose hash is fingerprint is attached with gate. */
static bool is_attached(const int64_t *gate, const struct site *sites, const struct site *end,
                        uint64_t fingerprint)
{
	unsigned n = LOAD(slots_used);
	for (unsigned i = 0; i < n; i++)
		if (!(LOAD(slots[i].seq) & 1) && holds_list(&slots[i], gate, sites, end, fingerprint))
			return true;
	return false;
}

static bool attach(int64_t *gate, const struct site *sites, const struct site *sites_end,
                   uint64_t fingerprint)
{
	uintptr_t lowest = UINTPTR_MAX, highest = 0;
	for (const struct site *s = sites; s < sites_end; s++) {
		uintptr_t a = site_access(s);
		lowest = a < lowest ? a : lowest;
		highest = a > highest ? a : highest;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		struct slot *slot = &slots[i];
		uint64_t seq = LOAD(slot->seq);
		if ((seq & 1) || LOAD(slot->gate) != NULL ||
		    !__atomic_compare_exchange_n(&slot->seq, &seq, seq + 1, false, __ATOMIC_SEQ_CST,
		                                 __ATOMIC_SEQ_CST))
			continue;
		if (LOAD(slot->gate) != NULL) { /* taken and released between the two reads */
			STORE(slot->seq, seq + 2);
			continue;
		}
		bump_slots_used(i + 1);
		STORE(slot->sites, sites);
		STORE(slot->sites_end, sites_end);
		STORE(slot->lowest, lowest);
		STORE(slot->highest, highest);
		STORE(slot->fingerprint, fingerprint);
		STORE(slot->gate, gate);
		STORE(slot->seq, seq + 2);
		return true;
	}
	return false; /* full: the unit's calls keep going to the exported functions */
}

/* A short spin, then sched_yield: the thread waited for (a closer, or another attach or detach of the
 * slot) runs a few instructions, but may have been preempted, and on a machine with fewer CPUs than
 * runnable threads it gets the CPU back sooner if we give ours up. */
static void wait_a_little(unsigned *spins)
{
	if (++*spins < 64)
		__builtin_ia32_pause();
	else
		sched_yield();
}

/* Frees every slot attached with gate, except those that hold the list [keep, keep_end) hashed to
 * keep_fingerprint (keep NULL: none), waiting for a thread that writes one of them. */
static void release_slots(const int64_t *gate, const struct site *keep, const struct site *keep_end,
                          uint64_t keep_fingerprint, unsigned *spins)
{
	unsigned n = LOAD(slots_used);
	for (unsigned i = 0; i < n; i++) {
		struct slot *slot = &slots[i];
		uint64_t seq = LOAD(slot->seq);
		while (LOAD(slot->gate) == gate) {
			if (keep && holds_list(slot, gate, keep, keep_end, keep_fingerprint))
				break;
			if ((seq & 1) || !__atomic_compare_exchange_n(&slot->seq, &seq, seq + 1, false,
			                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				wait_a_little(spins);
				seq = LOAD(slot->seq);
				continue;
			}
			if (LOAD(slot->gate) == gate)
				STORE(slot->gate, NULL);
			STORE(slot->seq, seq + 2);
		}
	}
}

void safecopy_inline_detach(int64_t *gate)
{
	unsigned spins = 0;
	if (gate == NULL)
		return;
	STORE(*gate, new_tag());
	release_slots(gate, NULL, NULL, 0, &spins);
	while (LOAD(closers) != 0) /* a closer runs a short loop, without blocking */
		wait_a_little(&spins);
}

void safecopy_inline_attach(int64_t *gate, const void *sites, const void *sites_end)
{
	if (gate == NULL || LOAD(*gate) == 0)
		return;
	const struct site *first = sites, *end = sites_end;
	if (first == NULL || end <= first || ((uintptr_t)end - (uintptr_t)first) % sizeof *first != 0)
		return; /* no list (the linker dropped it?): the unit stays on the exported functions */
	if (sc_gate_is_new() && safecopy_init() != 0)
		return;
	uint64_t fingerprint;
	if (!list_fingerprint(first, end, &fingerprint))
		return;
	if (!is_attached(gate, first, end, fingerprint)) {
		/* A slot of this word with another list is stale: a module unmapped without its .fini_array
		 * held the word's address before this one. */
		unsigned spins = 0;
		release_slots(gate, first, end, fingerprint, &spins);
		if (!attach(gate, first, end, fingerprint))
			return;
	}
	int64_t closed = LOAD(*gate);
	if (closed != 0 && LOAD(sc_gate) == 0)
		__atomic_compare_exchange_n(gate, &closed, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Writes tag into an attached word through libsafecopy (locked, hence seq_cst as STORE would be), by a
 * compare-and-swap from a value the word can hold: the word of a module unmapped without its
 * .fini_array may be gone or belong to another module now (the header comment). An opener's swap in
 * between makes ours fail once; we then close the word it opened. */
static void close_word(struct slot *slot, int64_t tag)
{
	uint64_t *word = (uint64_t *)(void *)LOAD(slot->gate);
	if (word == NULL || !list_intact(slot))
		return;
	for (;;) {
		struct safecopy_atomic_result r = safecopy_atomic_load64(word, NULL);
		if (r.status != SAFECOPY_OK || !gate_value((int64_t)r.value))
			return;
		struct safecopy_atomic_result c = safecopy_atomic_cas64(word, r.value, (uint64_t)tag, NULL);
		if (c.status != SAFECOPY_OK || c.value == r.value)
			return;
	}
}

/* Called from sc_blocked_push before the thread's own record says it is blocked, so the libsafecopy
 * calls run as any call in a handler does. */
void sc_inline_close_all(void)
{
	__atomic_add_fetch(&closers, 1, __ATOMIC_SEQ_CST);
	int64_t tag = new_tag();
	unsigned n = LOAD(slots_used);
	for (unsigned i = 0; i < n; i++)
		close_word(&slots[i], tag);
	__atomic_sub_fetch(&closers, 1, __ATOMIC_SEQ_CST);
}

/* The site of slot at pc, if the slot is attached, its list intact, and it stays so while it is read.
 * The list is read through libsafecopy, once, whole (its hash is checked): a module unmapped without
 * running its .fini_array (a loader of its own) left its slot attached, and a fault at a PC in its old
 * range must not fault again in here, nor be resumed at a landing read from whatever was mapped there
 * since. */
static bool slot_site_at(struct slot *slot, uintptr_t pc, struct sc_inline_site *out)
{
	uint64_t seq = LOAD(slot->seq), h;
	if ((seq & 1) || LOAD(slot->gate) == NULL || pc < LOAD(slot->lowest) || pc > LOAD(slot->highest))
		return false;
	bool found = false;
	return read_list(LOAD(slot->sites), LOAD(slot->sites_end), pc, &h, out, &found) && found &&
	       h == LOAD(slot->fingerprint) && LOAD(slot->seq) == seq;
}

bool sc_inline_site_at(uintptr_t pc, struct sc_inline_site *out)
{
	unsigned n = LOAD(slots_used);
	for (unsigned i = 0; i < n; i++)
		if (slot_site_at(&slots[i], pc, out))
			return true;
	return false;
}

/*
 * A child forked while another thread was closing the words, or writing a slot, has no such thread:
 * without this its detach (at exit, from .fini_array) would wait for it forever. A slot left half
 * written belonged to an attach (whose word was not opened yet) or to a detach (which had closed it
 * already): either way the slot is freed.
 */
static void after_fork_in_child(void)
{
	STORE(closers, 0);
	unsigned n = LOAD(slots_used);
	for (unsigned i = 0; i < n; i++) {
		uint64_t seq = LOAD(slots[i].seq);
		if (seq & 1) {
			STORE(slots[i].gate, NULL);
			STORE(slots[i].seq, seq + 1);
		}
	}
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, after_fork_in_child);
}
