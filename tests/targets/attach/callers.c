/* callers.c - one allocation site reached by two callers whose frames are
 * alike (the stack pointer at malloc's entry is the same), in turn: each
 * block keeps its own caller's traceback, though the stop looks the same
 * up to the return addresses. */
#include <stdlib.h>

#include "target.h"

void *volatile keep[150], *volatile last;
static int n;

__attribute__((noipa)) static void *site(size_t size)
{
	void *p = malloc(size);

	last = p; /* no tail call: site's frame is there */
	return p;
}

__attribute__((noipa)) static void from_a(void)
{
	keep[n++] = site(16); /* @from_a 16 x100 */
}

__attribute__((noipa)) static void from_b(void)
{
	keep[n++] = site(32); /* @from_b 32 x50 */
}

int main(int argc, char **argv)
{
	target_wait_hooked(argc, argv);
	for (int i = 0; i < 150; i++) {
		if (i % 3 == 2)
			from_b();
		else
			from_a();
	}
	target_ready();
	return 0;
}
