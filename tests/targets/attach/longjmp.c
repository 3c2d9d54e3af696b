/* longjmp.c - a call that leaves an allocator by longjmp leaves no stale
 * entry behind: the next malloc is recorded (not taken for a nested call).
 * The program is its own allocator (a bump allocator that longjmps out for
 * one size, like an out-of-memory handler would); memsnap hooks it because
 * the executable comes first in the lookup order. No stdio, no realloc. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "target.h"

#define ABORT_SIZE 12345

static jmp_buf out;
static _Alignas(16) unsigned char arena[1 << 20];
static size_t used;
void *volatile keep[4];

__attribute__((visibility("default"), noinline)) void *malloc(size_t n)
{
	void *p;

	if (n == ABORT_SIZE)
		longjmp(out, 1);
	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - used)
		return NULL;
	p = arena + used;
	used += n;
	return p;
}

__attribute__((visibility("default"), noinline)) void free(void *p)
{
	(void)p; /* a bump allocator never gives back */
}

__attribute__((visibility("default"), noinline)) void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	return malloc(total); /* the arena is zeroed: static storage */
}

int main(int argc, char **argv)
{
	target_wait_hooked(argc, argv);
	if (!setjmp(out))
		keep[0] = malloc(ABORT_SIZE);
	keep[1] = malloc(100); /* @after_longjmp 100 */
	if (!setjmp(out))
		keep[2] = calloc(1, ABORT_SIZE);
	keep[3] = malloc(200); /* @after_nested_longjmp 200 */
	target_ready();
	return 0;
}
