/*
 * Reading the fuzzer's bytes as numbers: little-endian, and zeros once the input is used up, so that
 * every input, however short, is a complete test case.
 */
#ifndef SAFECOPY_FUZZ_INPUT_H
#define SAFECOPY_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		if (in->left > 0) {
			v |= (uint64_t)*in->p++ << (8 * i);
			in->left--;
		}
	return v;
}

static inline uint8_t take8(struct input *in)
{
	return (uint8_t)take(in, 1);
}

static inline uint16_t take16(struct input *in)
{
	return (uint16_t)take(in, 2);
}

static inline uint64_t take64(struct input *in)
{
	return take(in, 8);
}

#endif
