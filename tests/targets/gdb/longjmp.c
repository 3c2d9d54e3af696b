/* longjmp.c - GDB test target: an allocator call that never returns (the
 * program's own malloc longjmps out of it), then allocations from deeper
 * frames than the abandoned one, whose stack they overwrite. */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

extern void *__libc_malloc(size_t n);

static jmp_buf env;
static volatile int jump;
/* global, so that the stores after each call stay */
void *keep[4];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

/* the program's malloc: the tracked entry point */
void *malloc(size_t n)
{
	if (jump) {
		jump = 0;
		longjmp(env, 1);
	}
	return __libc_malloc(n);
}

__attribute__((noinline)) static void *deep(int d)
{
	char pad[256];

	/* the frame writes over the stack of the abandoned call */
	__asm__ volatile("" : : "r"(pad) : "memory");
	memset(pad, d, sizeof(pad));
	if (d)
		return deep(d - 1);
	return malloc(48);
}

int main(void)
{
	mark(0);
	if (!setjmp(env)) {
		jump = 1;
		keep[0] = malloc(100);
	}
	keep[1] = deep(4);
	keep[2] = malloc(64);
	mark(1);
	return 0;
}
