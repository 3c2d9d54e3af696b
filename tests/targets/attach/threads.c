/* threads.c - 8 threads allocate and free as fast as they can at once,
 * then each keeps 1000 blocks of 24 bytes and one realloc chain. A lost
 * event shows as a block of the churn lines left live, or a missing one. */
#include <pthread.h>
#include <stdlib.h>

#include "target.h"

#define NTHREADS 8
#define KEEP 1000

void *volatile keep[NTHREADS][KEEP];
void *volatile chain[NTHREADS];

static void *worker(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < 3000; i++) {
		void *volatile p = malloc((size_t)(i % 200) + 1);
		void *volatile q = calloc(2, (size_t)(i % 50) + 1);
		free(p);
		free(q);
	}
	for (int i = 0; i < KEEP; i++)
		keep[t][i] = malloc(24); /* @keep 24 x8000 */
	chain[t] = malloc(10);
	for (int i = 1; i <= 100; i++)
		chain[t] = realloc(chain[t], (size_t)i * 100); /* @chain 10000 x8 */
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];

	target_wait_hooked(argc, argv);
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	target_ready();
	return 0;
}
