/*
 * The landing of an inline load (include/safecopy.h, "Inline loads and peeks"): the handler leaves
 * what the fault was in a per-thread note (initial-exec TLS: no allocation, usable in handlers), and
 * the landing's call turns it into the result, so a faulting inline load takes one signal.
 *
 * The note names the access's address. A landing that finds no note, or one naming another address,
 * runs the routine instead, which faults again and reports exactly: that happens when a signal
 * handler ran between the fault and the landing and made an inline access fault of its own, whose
 * landing took the note (or left one for its own address). A note for the same address is a fault
 * at that address either way.
 */
#include "safecopy.h"
#include "safecopy/fault_record.h"
#include "safecopy/inline_sites.h"

struct fault_note {
	uintptr_t p;
	uint64_t word; /* 0: no note */
};

static __thread struct fault_note note __attribute__((tls_model("initial-exec")));

void sc_inline_note_fault(uintptr_t p, uint64_t word)
{
	__atomic_store_n(&note.p, p, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&note.word, word, __ATOMIC_RELAXED);
}

/* The note's word for p, taken (cleared), or 0. */
static uint64_t take_note(const void *p)
{
	uint64_t word = __atomic_load_n(&note.word, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (word == 0 || __atomic_load_n(&note.p, __ATOMIC_RELAXED) != (uintptr_t)p)
		return 0;
	__atomic_store_n(&note.word, 0, __ATOMIC_RELAXED);
	return word;
}

struct safecopy_atomic_result safecopy_inline_landing32(const uint32_t *p, struct safecopy_fault *fault)
{
	uint64_t word = take_note(p);
	if (word == 0)
		return safecopy_atomic_load32(p, fault);
	return (struct safecopy_atomic_result){0, sc_record_word(fault, word, (uintptr_t)p)};
}

struct safecopy_atomic_result safecopy_inline_landing64(const uint64_t *p, struct safecopy_fault *fault)
{
	uint64_t word = take_note(p);
	if (word == 0)
		return safecopy_atomic_load64(p, fault);
	return (struct safecopy_atomic_result){0, sc_record_word(fault, word, (uintptr_t)p)};
}
