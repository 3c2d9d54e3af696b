/* secret.c - blocks full of a secret: a marker made at run time (so that
 * it is in neither the binary nor the command line) fills every block the
 * program allocates; memsnap's files must hold addresses, sizes, stacks
 * and symbols, never the marker. It prints "marker M" first.
 *
 * In attach mode, after "ready" and the line on stdin, it allocates once
 * more and prints "alive": with memsnap killed by SIGKILL, the breakpoint
 * left in malloc kills it with SIGTRAP before that. */
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

#include "target.h"

static char marker[64];
void *volatile keep[4];

static void *fill(void *p, size_t len)
{
	size_t m = strlen(marker);

	for (size_t i = 0; p && i + m <= len; i += m)
		memcpy((char *)p + i, marker, m);
	return p;
}

int main(int argc, char **argv)
{
	uint64_t r = 0;
	char line[96];
	int n;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
	snprintf(marker, sizeof(marker), "%s%016llx", "MSNAP-SECRET-",
		 (unsigned long long)r);
	n = snprintf(line, sizeof(line), "marker %s\n", marker);
	if (write(1, line, (size_t)n) != n)
		return 2;
	target_wait_hooked(argc, argv);
	keep[0] = fill(malloc(64), 64); /* @small 64 */
	keep[1] = fill(calloc(8, 32), 256); /* @zeroed 256 */
	keep[2] = fill(realloc(NULL, 1000), 1000); /* @grown 1000 */
	keep[3] = fill(malloc(200000), 200000); /* @large 200000 */
	target_ready();
	if (target_attach_mode) {
		void *volatile p = malloc(10);
		free(p);
		if (write(1, "alive\n", 6) != 6)
			return 2;
	}
	return 0;
}
