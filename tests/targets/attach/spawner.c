/* spawner.c - the main thread itself creates threads and spawns
 * processes, without pause, so that a tracer attaching or detaching finds
 * it inside clone or vfork more often than not. Every pthread_create,
 * join, posix_spawn and waitpid result is checked, and each thread checks
 * the block it allocates. Runs until STOPFILE exists, then prints the
 * number of rounds and exits 0; any failed check prints it on stderr and
 * exits 1.
 *
 * Usage: spawner STOPFILE */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *worker(void *arg)
{
	size_t n = 64 + (size_t)arg % 512;
	unsigned char *p = malloc(n);

	if (!p)
		return NULL;
	memset(p, (int)(size_t)arg & 0xff, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] != ((size_t)arg & 0xff)) {
			free(p);
			return NULL;
		}
	free(p);
	return arg;
}

int main(int argc, char **argv)
{
	static char name[] = "true";
	char *const child_argv[] = { name, NULL };
	unsigned long rounds = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: spawner STOPFILE\n");
		return 2;
	}
	printf("started\n");
	fflush(stdout);
	while (access(argv[1], F_OK) != 0) {
		pthread_t t;
		void *ret;
		pid_t pid;
		int rc, status;

		rounds++;
		rc = pthread_create(&t, NULL, worker, (void *)rounds);
		if (rc != 0) {
			fprintf(stderr, "round %lu: pthread_create: %s\n",
				rounds, strerror(rc));
			return 1;
		}
		rc = pthread_join(t, &ret);
		if (rc != 0 || ret != (void *)rounds) {
			fprintf(stderr, "round %lu: join: %s, thread said %p\n",
				rounds, strerror(rc), ret);
			return 1;
		}
		if (rounds % 8)
			continue;
		rc = posix_spawnp(&pid, "true", NULL, NULL, child_argv,
				  environ);
		if (rc != 0) {
			fprintf(stderr, "round %lu: posix_spawn: %s\n", rounds,
				strerror(rc));
			return 1;
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "round %lu: child %d: status %#x\n",
				rounds, (int)pid, status);
			return 1;
		}
	}
	printf("rounds %lu\n", rounds);
	return 0;
}
