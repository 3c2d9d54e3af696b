/* ctors.c - allocations before the entry point and after a dlopen: linked
 * with libmsctor.so (a constructor) and libmsctorcxx.so (a C++ static
 * constructor), it dlopens libmsdlopened.so (found through its run path)
 * and calls into it. Built by ctors.test. */
#include <dlfcn.h>
#include <stdlib.h>

#include "target.h"

void *volatile keep[2];

int main(int argc, char **argv)
{
	void *h;
	void (*fn)(void);

	target_wait_hooked(argc, argv);
	keep[0] = malloc(55); /* @main 55 */
	h = dlopen("libmsdlopened.so", RTLD_NOW);
	if (!h)
		return 3;
	fn = (void (*)(void))dlsym(h, "dlopened_alloc");
	if (!fn)
		return 4;
	fn();
	target_ready();
	return 0;
}
