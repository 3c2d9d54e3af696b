/* threads.c - GDB test target: four threads allocate at once, each
 * keeping 50 blocks of 64 bytes and freeing 50 of 16 bytes. */
#include <pthread.h>
#include <stdlib.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

#define NTHREADS 4
#define PER_THREAD 50

static void *keep[NTHREADS][PER_THREAD];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

static void *worker(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < PER_THREAD; i++) {
		void *tmp = malloc(16);

		keep[t][i] = malloc(64);
		free(tmp);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];

	mark(0);
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 1;
	for (long t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	mark(1);
	return 0;
}
