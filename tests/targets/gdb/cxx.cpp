// cxx.cpp - GDB test target: allocations through operator new, new[] and
// strdup, wrappers whose frames are skipped: frame 0 is main's line.
#include <cstdlib>
#include <cstring>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

void *keep[4];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main()
{
	mark(0);
	keep[0] = new int[10];
	keep[1] = new char(7);
	keep[2] = strdup("eleven char");
	mark(1);
	return 0;
}
