/* signals.c - signals reach the program untouched while it is traced: a
 * handler that allocates runs once per signal sent. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "target.h"

#define NSIG_SENT 50

void *volatile got[NSIG_SENT];
static volatile sig_atomic_t n;

static void on_usr1(int sig)
{
	(void)sig;
	if (n < NSIG_SENT)
		got[n++] = malloc(16); /* @handler 16 x50 */
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	target_wait_hooked(argc, argv);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < NSIG_SENT; i++)
		kill(getpid(), SIGUSR1);
	target_ready();
	return n == NSIG_SENT ? 0 : 1;
}
