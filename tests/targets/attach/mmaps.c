/* mmaps.c - anonymous mappings cut and moved the way the kernel does:
 * munmap of a head, a tail, a middle, of a size that is not a whole number
 * of pages, across several mappings; MAP_FIXED over part of a mapping (an
 * anonymous one and a file one); mremap growing, shrinking, moving, and
 * remapping part of a mapping. Markers as in allocs.c: what is still mapped
 * of each call site's pages. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#include "target.h"

#define P 4096
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

static char *map(size_t len)
{
	return mmap(NULL, len, RW, ANON, -1, 0);
}

int main(int argc, char **argv)
{
	char *a, *b, *c, *d, *x, *y, *z, *m, *r;
	int fd;

	target_wait_hooked(argc, argv);
	/* munmap */
	a = mmap(NULL, 4 * P, RW, ANON, -1, 0); /* @head 12288 */
	munmap(a, P);
	b = mmap(NULL, 4 * P, RW, ANON, -1, 0); /* @tail 12288 */
	munmap(b + 3 * P, P);
	c = mmap(NULL, 5 * P, RW, ANON, -1, 0); /* @middle 8192 x2 */
	munmap(c + 2 * P, P);
	d = mmap(NULL, 10000, RW, ANON, -1, 0); /* @odd 4096 */
	munmap(d, P); /* 5904 of the 10000 bytes left */
	munmap(d + 2 * P, 100); /* the whole last page */
	/* MAP_FIXED over the middle, then one munmap across three blocks */
	x = mmap(NULL, 4 * P, RW, ANON, -1, 0); /* @fixed_outer 4096 x2 */
	mmap(x + P, 2 * P, RW, FIXED, -1, 0); /* @fixed_inner 8192 */
	y = mmap(NULL, 6 * P, RW, ANON, -1, 0); /* @span_outer 4096 x2 */
	mmap(y + 2 * P, P, RW, FIXED, -1, 0);
	munmap(y + P, 4 * P);
	/* a file mapped over the middle page of an anonymous mapping */
	z = mmap(NULL, 3 * P, RW, ANON, -1, 0); /* @file_fixed 4096 x2 */
	fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0 || mmap(z + P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
			   0) != z + P)
		return 3;
	close(fd);
	/* mremap: grow (whole block: the mremap's stack), shrink */
	m = map(2 * P);
	m[0] = 1;
	m = mremap(m, 2 * P, 5 * P, MREMAP_MAYMOVE); /* @grow 20480 */
	if (m == MAP_FAILED || m[0] != 1)
		return 4;
	m = map(4 * P);
	if (mremap(m, 4 * P, P, 0) != m) /* @shrink 4096 */
		return 5;
	/* moved onto part of another mapping (MREMAP_FIXED unmaps it) */
	r = mmap(NULL, 4 * P, RW, ANON, -1, 0); /* @dest_outer 4096 x2 */
	m = map(2 * P);
	if (mremap(m, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, r + P) != r + P) /* @moved 8192 */
		return 6;
	/* grown where it cannot grow in place: it moves */
	m = mmap(NULL, 3 * P, RW, ANON, -1, 0);
	mmap(m + 2 * P, P, PROT_READ, FIXED, -1, 0); /* @guard 4096 */
	if (mremap(m, 2 * P, 4 * P, MREMAP_MAYMOVE) == MAP_FAILED) /* @grow_moved 16384 */
		return 7;
	/* part of a mapping remapped: its own block, the rest keeps its own */
	m = mmap(NULL, 4 * P, RW, ANON, -1, 0); /* @part_rest 8192 */
	if (mremap(m + 2 * P, 2 * P, P, 0) != m + 2 * P) /* @part_remapped 4096 */
		return 8;
	/* failures change nothing */
	if (munmap(a + 1, P) == 0 || mremap(a + P, P, P, MREMAP_FIXED) != MAP_FAILED)
		return 9;
	target_ready();
	return 0;
}
