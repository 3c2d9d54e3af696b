/* grow.c - allocations on demand, for the live command line's tests. Run
 * as `grow attach`, it writes "waiting", waits for memsnap's breakpoints,
 * writes "ready", then for each line read from stdin allocates three
 * blocks and writes "grew"; it exits 0 at the end of its input. Nothing
 * is allocated between two lines, so a snapshot taken before a line and
 * one taken after it differ by exactly those blocks. */
#include <stdlib.h>
#include <unistd.h>

#include "target.h"

void *volatile keep[3 * 64];

/* Waits for the next line; 0 at the end of the input. */
static int next_line(void)
{
	char c;

	while (read(0, &c, 1) > 0)
		if (c == '\n')
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 0;

	target_wait_hooked(argc, argv);
	/* its first line is the first request */
	target_ready();
	do {
		for (int i = 0; i < 3 && n < sizeof(keep) / sizeof(keep[0]); i++)
			keep[n++] = malloc(4000); /* @grow 4000 x3 */
		if (write(1, "grew\n", 5) != 5)
			return 99;
	} while (next_line());
	return 0;
}
