/* waiter.c - GDB test target for `attach`: allocates 3 blocks nobody will
 * see, says "ready" on stdout, waits until a debugger sets go, then
 * allocates known blocks and stops at mark(1). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

static volatile int go;
static void *keep[8];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(1000);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; !go && i < 60000; i++)
		usleep(1000);
	free(keep[0]);
	keep[3] = malloc(300);
	keep[4] = calloc(2, 222);
	mark(1);
	return 0;
}
