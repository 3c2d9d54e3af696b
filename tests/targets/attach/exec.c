/* exec.c - exec starts a new trace set: only the blocks of the new image
 * (second stage) are in the snapshot. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"

void *volatile keep[4];

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[2], "stage2") == 0) {
		keep[0] = malloc(333); /* @stage2 333 */
		target_attach_mode = strcmp(argv[1], "attach") == 0;
		target_ready();
		return 0;
	}
	target_wait_hooked(argc, argv);
	keep[1] = malloc(999); /* gone with the old image */
	execl("/proc/self/exe", argv[0], argc > 1 ? argv[1] : "run",
	      "stage2", (char *)NULL);
	return 127;
}
