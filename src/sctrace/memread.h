/*
 * Every read of the traced program's memory goes through here, and through libsafecopy: an address
 * that cannot be read is an error return, never a fault in the traced program.
 */
#ifndef SCTRACE_MEMREAD_H
#define SCTRACE_MEMREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies n bytes from the program's address addr to dst; true only if all n could be read. */
bool sct_peek(void *dst, uintptr_t addr, size_t n);

enum sct_str_result {
	SCT_STR_FAULT = -1, /* a byte before the NUL (or before max) could not be read */
	SCT_STR_NO_NUL = 0, /* max bytes read, none of them NUL */
	SCT_STR_NUL = 1,    /* a NUL was found: *len is the string's length without it */
};

/*
 * Reads the NUL-terminated string at addr into dst, at most max bytes (dst holds max bytes; the NUL,
 * when found within them, is copied too). Never reads a byte past the string's NUL, so never touches
 * the page after it. *len is the number of bytes before the NUL (or max, or how many were read
 * before the fault).
 */
enum sct_str_result sct_read_string(char *dst, uintptr_t addr, size_t max, size_t *len);

#endif
