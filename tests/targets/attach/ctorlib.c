/* ctorlib.c - a shared library whose constructor allocates: under
 * `memsnap run` it runs before the program's entry point (ctors.test). */
#include <stdlib.h>

void *volatile ctorlib_keep[4];

__attribute__((constructor)) static void ctorlib_init(void)
{
	for (int i = 0; i < 3; i++)
		ctorlib_keep[i] = malloc(111); /* @ctor_lib 111 x3 */
	ctorlib_keep[3] = calloc(4, 50); /* @ctor_lib_calloc 200 */
}
