/* The system call classes of `-e trace=%CLASS` (strace's grouping of calls by what they act on). */
#ifndef SCTRACE_CLASSES_H
#define SCTRACE_CLASSES_H

#include <stdbool.h>
#include <stdint.h>

#include "sctrace/names.h"

/* Adds the calls of class name ("file", "network", ... without the '%') to set; false if unknown. */
bool sct_class_add(const char *name, uint64_t set[SCT_NR_COUNT / 64]);

#endif
