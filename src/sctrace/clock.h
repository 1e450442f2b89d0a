/* The call clock's raw reading: the time-stamp counter (see board.h, ticks_per_ns). */
#ifndef SCTRACE_CLOCK_H
#define SCTRACE_CLOCK_H

#include <stdint.h>

static inline uint64_t sct_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif
