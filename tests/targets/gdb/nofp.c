/* nofp.c - GDB test target built -O2 -fomit-frame-pointer (see
 * Makefile.am): allocations three calls deep whose callers keep no frame
 * pointer, so only DWARF CFI gives their stacks. */
#include <stdlib.h>

void *keep[4];

static __attribute__((noipa)) void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

/* rbx is clobbered, so that each function saves registers and moves rsp
 * differently from a frame-pointer layout; the uses after each call keep
 * the calls from being tail calls */
static __attribute__((noipa)) void *leaf(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" : : "r"(p) : "rbx", "memory");
	return p;
}

static __attribute__((noipa)) void *middle(size_t n)
{
	void *p = leaf(n * 2);
	__asm__ volatile("" : : "r"(p) : "rbx", "r12", "memory");
	return p;
}

static __attribute__((noipa)) void *outer(size_t n)
{
	void *p = middle(n + 1);
	__asm__ volatile("" : : "r"(p) : "rbx", "r12", "r13", "memory");
	return p;
}

int main(void)
{
	mark(0);
	keep[0] = outer(10);
	keep[1] = middle(50);
	mark(1);
	return 0;
}
