/* allocs.c - one call to each allocator entry point, sizes known exactly.
 * Each live allocation's line carries a marker comment (@NAME SIZE) that
 * the test turns into the line it expects from `memsnap stats`. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "target.h"

void *volatile keep[32];

int main(int argc, char **argv)
{
	void *p;
	volatile size_t huge = SIZE_MAX / 2, many = SIZE_MAX / 8;

	target_wait_hooked(argc, argv);
	keep[0] = malloc(100); /* @malloc 100 */
	keep[1] = calloc(10, 20); /* @calloc 200 */
	p = malloc(50);
	keep[2] = realloc(p, 5000); /* @realloc 5000 */
	p = malloc(30);
	free(p);
	free(NULL);
	keep[3] = realloc(NULL, 70); /* @realloc_null 70 */
	p = malloc(40);
	keep[4] = realloc(p, 0); /* freed: glibc returns NULL */
	keep[5] = malloc(huge); /* fails: NULL */
	keep[6] = calloc(many, 16); /* overflow: NULL */
	if (posix_memalign((void **)&keep[7], 64, 256) != 0) /* @posix_memalign 256 */
		return 1;
	keep[8] = aligned_alloc(64, 128); /* @aligned_alloc 128 */
	keep[9] = memalign(32, 96); /* @memalign 96 */
	keep[10] = valloc(1000); /* @valloc 1000 */
	keep[11] = pvalloc(5000); /* @pvalloc 8192 */
	keep[12] = reallocarray(NULL, 10, 30); /* @reallocarray 300 */
	keep[13] = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* @mmap 12288 */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	target_ready();
	return keep[4] == NULL && keep[5] == NULL && keep[6] == NULL ? 0 : 2;
}
