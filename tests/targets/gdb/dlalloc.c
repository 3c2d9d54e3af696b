/* dlalloc.c - a library that brings its own allocator (a bump allocator,
 * linked -Bsymbolic so that its own calls bind to it) and is dlopen'd by
 * dl.c after tracking started. */
#include <stddef.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

static _Alignas(16) char arena[4096];
static size_t used;

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n);
EXPORT void free(void *p);
EXPORT void *dl_make(size_t n);
EXPORT void dl_drop(void *p);

void *malloc(size_t n)
{
	void *p = arena + used;

	used += (n + 15) & ~(size_t)15;
	return p;
}

void free(void *p)
{
	(void)p;
}

void *dl_make(size_t n)
{
	return malloc(n);
}

void dl_drop(void *p)
{
	free(p);
}
