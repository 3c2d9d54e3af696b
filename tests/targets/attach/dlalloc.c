/* dlalloc.c - an allocator of its own (malloc, calloc, realloc, free over
 * a static arena) in a library the program dlopens with RTLD_LOCAL and
 * reaches through dlsym (ctors.test). */
#include <stddef.h>
#include <string.h>

static _Alignas(16) unsigned char arena[1 << 16];
static size_t used;

void *malloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - used)
		return NULL;
	p = arena + used;
	used += n;
	return p;
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t size)
{
	void *p = n && size > sizeof(arena) / n ? NULL : malloc(n * size);

	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p = malloc(n);

	if (p && old)
		memcpy(p, old, n); /* the arena is contiguous: safe to over-read */
	return p;
}
