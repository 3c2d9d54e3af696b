/* server.c - a long-running program with many live blocks that keeps
 * allocating and freeing, for periodic dumps killed half-way. It writes
 * "ready" once its NBLOCKS blocks (argv[1], default 20000) are live, then
 * replaces one block in 64 every millisecond, forever. */
#pragma GCC optimize("O0") /* -O0 whatever CFLAGS say: one line per call site */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *alloc_small(size_t n)
{
	return malloc(n);
}

static void *alloc_large(size_t n)
{
	return calloc(1, n);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	void **slots = calloc(n ? n : 1, sizeof(*slots));
	unsigned r = 1;

	for (size_t i = 0; i < n; i++)
		slots[i] = i % 2 ? alloc_small(16 + i % 64) :
				   alloc_large(128 + i % 512);
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;) {
		struct timespec ts = { 0, 1000000 };

		for (int k = 0; n && k < 64; k++) {
			size_t i;

			r = r * 1103515245 + 12345;
			i = r % n;
			free(slots[i]);
			slots[i] = i % 2 ? alloc_small(16 + r % 64) :
					   alloc_large(128 + r % 512);
		}
		nanosleep(&ts, NULL);
	}
}
