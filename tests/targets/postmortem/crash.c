/* crash.c - a program that dies of a heap bug, for --dump-on-crash.
 *
 * crash overrun: writes byte by byte past the end of a 3000-byte block,
 *   the last one of the heap, until it runs off the end of the heap into
 *   unmapped memory (SIGSEGV). M_TOP_PAD 0 keeps the heap's end within a
 *   page of that block, so the fault address lies just past it.
 * crash abort: abort() (SIGABRT, no fault address).
 * crash caught: SIGSEGV with a handler that exits 3: not a crash.
 * crash thread: the overrun in a second thread.
 * crash corrupt: an 8-byte overrun of the 200-byte block clobbers the size
 *   of the heap's top chunk; the next malloc sees it and aborts (SIGABRT
 *   raised inside malloc, while memsnap waits for that call to return).
 * crash attach: the overrun, once `memsnap attach` has hooked the
 *   allocator (tests/targets/attach/target.h: "waiting" on stdout, then
 *   wait for the int3 at free); every block is allocated after that.
 * Live blocks at the overrun: the markers below (tests/attach/init.sh). */
#pragma GCC optimize("O0") /* -O0 whatever CFLAGS say: one line per call site */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../attach/target.h"

static char *keep[4];

static void on_segv(int sig)
{
	(void)sig;
	_exit(3);
}

static char *make_table(void)
{
	return malloc(3000); /* @overrun 3000 */
}

static void *overrun(void *arg)
{
	volatile char *p;

	keep[2] = make_table();
	for (p = keep[2];; p++)
		*p = 'x';
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "overrun";
	pthread_t t;

	target_wait_hooked(argc, argv);
	if (target_attach_mode)
		mode = "overrun";
	mallopt(M_TOP_PAD, 0);
	keep[0] = malloc(100); /* @first 100 */
	keep[1] = malloc(200); /* @second 200 */
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "corrupt") == 0) {
		/* 200 usable bytes, then the top chunk's size field */
		*(volatile uint64_t *)(void *)(keep[1] + 200) = UINT64_MAX / 16;
		keep[3] = malloc(5000);
		return 0;
	}
	if (strcmp(mode, "caught") == 0)
		signal(SIGSEGV, on_segv);
	if (strcmp(mode, "thread") == 0) {
		if (pthread_create(&t, NULL, overrun, NULL) == 0)
			pthread_join(t, NULL);
		return 0;
	}
	overrun(NULL);
	return 0;
}
