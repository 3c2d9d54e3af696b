/* churn.c - a single-threaded loop that frees each block right after
 * allocating it (the same addresses again and again), keeps one block in
 * ten until the next one, and grows one block by realloc: far more calls
 * than the tracer keeps unsettled at once. Only the last kept block and
 * the grown one are live at the end. */
#include <stdlib.h>

#include "target.h"

void *volatile keep[2], *volatile sink;

int main(int argc, char **argv)
{
	void *held = NULL, *grown = NULL;

	target_wait_hooked(argc, argv);
	for (int i = 0; i < 1000; i++) {
		sink = malloc(24 + (size_t)(i % 5)); /* not elided: it escapes */
		free(sink);
		if (i % 10 == 9) {
			free(held);
			held = malloc(40); /* @held 40 */
		}
		if (i % 100 == 99)
			grown = realloc(grown, (size_t)(i + 1) * 10); /* @grown 10000 */
	}
	keep[0] = held;
	keep[1] = grown;
	target_ready();
	return 0;
}
