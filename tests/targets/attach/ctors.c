/* ctors.c - allocations before the entry point and after a dlopen: linked
 * with libmsctor.so (a constructor) and libmsctorcxx.so (a C++ static
 * constructor), it dlopens libmsdlopened.so (found through its run path)
 * and calls into it, and allocates from the allocator of libmsdlalloc.so,
 * dlopen'd, closed and dlopen'd again. Built by ctors.test. */
#include <dlfcn.h>
#include <stdlib.h>

#include "target.h"

void *volatile keep[4];

int main(int argc, char **argv)
{
	void *h, *p;
	void (*fn)(void);
	void *(*my_malloc)(size_t);
	void (*my_free)(void *);

	target_wait_hooked(argc, argv);
	keep[0] = malloc(55); /* @main 55 */
	h = dlopen("libmsdlopened.so", RTLD_NOW);
	if (!h)
		return 3;
	fn = (void (*)(void))dlsym(h, "dlopened_alloc");
	if (!fn)
		return 4;
	fn();
	h = dlopen("libmsdlalloc.so", RTLD_NOW | RTLD_LOCAL);
	if (!h || dlclose(h) != 0)
		return 5;
	h = dlopen("libmsdlalloc.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 6;
	my_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	my_free = (void (*)(void *))dlsym(h, "free");
	if (!my_malloc || !my_free || my_malloc == malloc)
		return 7;
	for (int i = 0; i < 2; i++)
		keep[1 + i] = my_malloc(77); /* @dl_allocator 77 x2 */
	p = my_malloc(99);
	my_free(p);
	target_ready();
	return 0;
}
