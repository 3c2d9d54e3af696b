/* dl.c - GDB test target: dlopens the library of argv[1] (dlalloc.c, its
 * own allocator) after mark(0) and allocates through it and through libc. */
#include <dlfcn.h>
#include <stdlib.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

void *keep[4];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main(int argc, char **argv)
{
	void *h;
	void *(*make)(size_t);
	void (*drop)(void *);

	mark(0);
	h = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
	if (!h)
		return 1;
	make = (void *(*)(size_t))dlsym(h, "dl_make");
	drop = (void (*)(void *))dlsym(h, "dl_drop");
	keep[0] = make(40);
	keep[1] = make(24);
	drop(keep[1]);
	keep[2] = malloc(8);
	mark(1);
	return 0;
}
