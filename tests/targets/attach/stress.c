/* stress.c - 8 threads allocate, reallocate and free as fast as they can
 * and check their own data; the final checksum depends only on the
 * iteration count, so a traced run (attached and detached many times) must
 * print the same as an untraced one. Exits 1 when a block's content is
 * wrong. Usage: stress ITERATIONS [STOPFILE]: with STOPFILE, the checksum
 * is printed once that file exists (the test attaches until then). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 8
#define SLOTS 64

static long iterations;
static uint64_t sums[NTHREADS];
static int broken;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	long t = (long)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1), sum = 0;
	unsigned char *slot[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };

	for (long i = 0; i < iterations; i++) {
		uint64_t r = next(&rng);
		int k = (int)(r % SLOTS);
		unsigned char tag = (unsigned char)(k + t * SLOTS);
		for (size_t j = 0; j < len[k]; j++)
			if (slot[k][j] != tag)
				broken = 1;
		sum += len[k];
		switch ((r >> 8) % 4) {
		case 0:
			free(slot[k]);
			slot[k] = NULL;
			len[k] = 0;
			break;
		case 1:
		case 2:
			len[k] = (size_t)((r >> 16) % 512) + 1;
			slot[k] = realloc(slot[k], len[k]);
			break;
		default:
			free(slot[k]);
			len[k] = (size_t)((r >> 16) % 256) + 1;
			slot[k] = calloc(1, len[k]);
			break;
		}
		if (!slot[k] && len[k])
			abort();
		memset(slot[k], tag, len[k]);
	}
	for (int k = 0; k < SLOTS; k++)
		free(slot[k]);
	sums[t] = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	uint64_t total = 0;

	iterations = argc > 1 ? atol(argv[1]) : 100000;
	for (long t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		total = total * 31 + sums[t];
	}
	while (argc > 2 && access(argv[2], F_OK) != 0) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	printf("checksum %llu\n", (unsigned long long)total);
	return broken;
}
