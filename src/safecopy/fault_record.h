/* Filling the caller's struct safecopy_fault. Internal to libsafecopy. */
#ifndef SAFECOPY_FAULT_RECORD_H
#define SAFECOPY_FAULT_RECORD_H

#include <signal.h>
#include <stddef.h>

#include "safecopy.h"
#include "safecopy/routines.h"

/* asm/done.asm clears a record with three 8-byte stores: keep the layout it assumes. */
_Static_assert(sizeof(struct safecopy_fault) == 24 && offsetof(struct safecopy_fault, addr) == 8 &&
                   offsetof(struct safecopy_fault, code) == 20 && SAFECOPY_OK == 0,
               "asm/done.asm clears struct safecopy_fault as three zero quadwords");

static inline enum safecopy_status sc_record(struct safecopy_fault *fault, enum safecopy_status status,
                                             uintptr_t addr, int signo, int code)
{
	if (fault) {
		fault->status = status;
		fault->addr = (void *)addr;
		fault->signo = signo;
		fault->code = code;
	}
	return status;
}

static inline enum safecopy_status sc_record_ok(struct safecopy_fault *fault)
{
	return sc_record(fault, SAFECOPY_OK, 0, 0, 0);
}

/* A fault reported by a routine, at addr. */
static inline enum safecopy_status sc_record_word(struct safecopy_fault *fault, uint64_t word, uintptr_t addr)
{
	int signo = SC_WORD_SIGNO(word);
	return sc_record(fault, signo == SIGBUS ? SAFECOPY_BUS : SAFECOPY_SEGV, addr, signo,
	                 SC_WORD_CODE(word));
}

#endif
