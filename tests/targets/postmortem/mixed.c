/* mixed.c - every allocator entry point, from several threads at once,
 * and libc's own allocations (stdio, locale, getpwuid...), ending with
 * known blocks live: for comparing memsnap's live set at exit with
 * valgrind's "in use at exit" and heaptrack's leaked figures. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define ROUNDS 2000

static void *keep[NTHREADS][8];
static void *volatile zero, *volatile big;

static void *work(void *arg)
{
	long id = (long)arg;
	void **k = keep[id];

	for (int i = 0; i < ROUNDS; i++) {
		char *a = malloc(16 + i % 300);
		char *b = calloc(3, 10 + i % 50);
		void *c = NULL;

		a = realloc(a, 400 + i % 700);
		b = reallocarray(b, 7, 20);
		if (posix_memalign(&c, 64, 100 + i % 10))
			abort();
		free(a);
		free(b);
		free(c);
		free(memalign(32, 70));
		free(aligned_alloc(128, 256));
		free(strdup("temporary"));
		free(realloc(NULL, 33));
	}
	/* what this thread leaves live: 8 blocks */
	k[0] = malloc(1000 + id);
	k[1] = calloc(10, 10);
	k[2] = realloc(malloc(10), 2000);
	k[3] = strdup("kept");
	k[4] = memalign(64, 512);
	k[5] = aligned_alloc(256, 1024);
	k[6] = valloc(100);
	if (posix_memalign(&k[7], 32, 300))
		abort();
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	FILE *f;

	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	/* realloc to 0 frees; malloc(0) is a live block; a mmapped chunk
	 * grows by mremap inside realloc */
	if (realloc(malloc(100), 0))
		return 1;
	zero = malloc(0);
	big = realloc(malloc(1 << 20), 2 << 20);
	f = fopen("/proc/self/status", "r"); /* left open: libc's blocks */
	if (!f || fgetc(f) == EOF)
		return 1;
	printf("done\n");
	return 0;
}
