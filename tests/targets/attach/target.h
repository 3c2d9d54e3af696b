/* target.h - helpers for the programs memsnap traces in tests.
 *
 * A target allocates a known set of blocks. Run as `TARGET attach`, it
 * writes "waiting" to stdout (from main: start-up is over), waits until
 * memsnap's breakpoints are in (the first byte of free() becomes int3), and
 * after allocating writes "ready" to stdout and blocks
 * reading stdin, so that the test takes a snapshot while the blocks are
 * live. Targets use write(2), never stdio: stdio's buffers would be
 * allocations of their own. */
#ifndef MEMSNAP_TEST_TARGET_H
#define MEMSNAP_TEST_TARGET_H

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int target_attach_mode;

static inline void target_wait_hooked(int argc, char **argv)
{
	void (*volatile fn)(void *) = free;
	const volatile unsigned char *code;

	target_attach_mode = argc > 1 && strcmp(argv[1], "attach") == 0;
	if (!target_attach_mode)
		return;
	code = (const volatile unsigned char *)(void *)fn;
	/* the test attaches once the program is this far */
	if (write(1, "waiting\n", 8) != 8)
		_exit(99);
	while (*code != 0xcc) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* In attach mode: say so and wait until the test is done looking. */
static inline void target_ready(void)
{
	char c;

	if (!target_attach_mode)
		return;
	if (write(1, "ready\n", 6) != 6)
		_exit(99);
	while (read(0, &c, 1) > 0 && c != '\n')
		;
}

#endif
