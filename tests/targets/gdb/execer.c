/* execer.c - GDB test target: allocates, then execs itself; the new image
 * allocates again. mark(N) is where the tests stop. */
#include <stdlib.h>
#include <unistd.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

void *keep[4];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main(int argc, char **argv)
{
	mark(argc);
	keep[0] = malloc(10);
	if (argc == 1)
		execl("/proc/self/exe", argv[0], "again", (char *)0);
	keep[1] = malloc(77);
	mark(9);
	return 0;
}
