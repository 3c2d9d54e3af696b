/* dlopened.c - a library the program dlopens: its constructor and its
 * functions allocate (ctors.test). */
#include <stdlib.h>
#include <string.h>

void *volatile dlopened_keep[4];

__attribute__((constructor)) static void dlopened_init(void)
{
	dlopened_keep[0] = malloc(333); /* @dlopen_ctor 333 */
}

void dlopened_alloc(void)
{
	dlopened_keep[1] = malloc(444); /* @dlopen_fn 444 */
	dlopened_keep[2] = strdup("a dlopen'd string"); /* @dlopen_strdup 18 */
}
