/* sigstep.c - signals that arrive while an allocator call is being
 * entered: the main thread allocates and frees in a loop while a second
 * thread sends it SIGUSR1 as fast as it can; the handler only counts.
 * Under `memsnap run --displaced step` some signals arrive while the
 * thread single-steps the allocator's first instruction. Exits 0 when
 * every signal was handled and every kept block holds its data (in attach
 * mode, after the test has looked: target.h). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"

#define ROUNDS 20000
#define NSIGNALS 2000
#define NKEEP 100

static volatile sig_atomic_t handled;
static volatile int done;
static pthread_t main_thread;
void *volatile keep[NKEEP];

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *sender(void *arg)
{
	(void)arg;
	for (int i = 0; i < NSIGNALS; i++) {
		int before = handled;
		pthread_kill(main_thread, SIGUSR1);
		/* one at a time: a pending signal is not queued twice */
		while (handled == before && !done)
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t;
	int kept = 0;

	target_wait_hooked(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	if (pthread_create(&t, NULL, sender, NULL) != 0)
		return 2;
	for (int i = 0; handled < NSIGNALS || i < ROUNDS; i++) {
		char *p = malloc(24); /* @kept 24 x100 */
		if (!p)
			return 3;
		memset(p, i & 0xff, 24);
		if (kept < NKEEP && i % 97 == 0) {
			keep[kept++] = p;
			continue;
		}
		free(p);
	}
	done = 1;
	pthread_join(t, NULL);
	for (int k = 0; k < kept; k++)
		for (int b = 0; b < 24; b++)
			if (((unsigned char *)keep[k])[b] != (unsigned char)((k * 97) & 0xff))
				return 4;
	if (handled != NSIGNALS || kept != NKEEP)
		return 5;
	target_ready();
	return 0;
}
