/* util.c - overflow-checked allocation and hashing shared by the engine. */
#include "config.h"
#include "memsnapP.h"

#include <stdlib.h>
#include <string.h>

void *ms__malloc_array(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return malloc(bytes ? bytes : 1);
}

void *ms__calloc_array(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *ms__realloc_array(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}

int ms__grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		/* 1.5x keeps the slack of big arrays (millions of traces) low */
		size_t next = ncap + ncap / 2 + 8;

		if (next < ncap)
			return -MS_ENOMEM;
		ncap = next;
	}
	np = ms__realloc_array(*p, ncap, size);
	if (!np)
		return -MS_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

uint64_t ms__hash_bytes(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = ms__hash64(h ^ w);
		b += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, b, len);
		h = ms__hash64(h ^ w ^ ((uint64_t)len << 56));
	}
	return h;
}
