/* allocs.c - a GDB test target whose allocations are known exactly.
 * mark(N) is where the tests stop; each allocation has its own line. */
#include <stdlib.h>

/* -O0 whatever CFLAGS say, so that each call keeps its line and frame */
#pragma GCC optimize("O0", "no-omit-frame-pointer")

static void *keep[16];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

__attribute__((noinline)) static void *make(size_t n)
{
	return malloc(n);
}

int main(void)
{
	void *tmp;

	mark(0);
	keep[0] = malloc(100);
	keep[1] = calloc(10, 20);
	for (int i = 0; i < 3; i++)
		keep[2 + i] = make(32);
	tmp = malloc(1000);
	free(tmp);
	keep[5] = realloc(NULL, 50);
	keep[5] = realloc(keep[5], 500);
	if (posix_memalign(&keep[6], 64, 256) != 0)
		return 1;
	keep[7] = aligned_alloc(64, 128);
	mark(1);
	keep[8] = malloc(4096);
	keep[9] = malloc(24);
	mark(2);
	free(keep[0]);
	free(keep[8]);
	mark(3);
	return 0;
}

#ifdef OTHER_BUILD
/* another build of the same program: a different build-id */
__attribute__((used)) static const char build_tag[] = "other build";
#endif
