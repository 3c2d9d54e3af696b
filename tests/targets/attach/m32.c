/* m32.c - a 32-bit program (built with -m32), which memsnap refuses. As
 * `m32 wait` it writes "waiting" and sleeps until killed (attach); else it
 * writes "ran" and exits 7. */
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		if (write(1, "waiting\n", 8) != 8)
			return 99;
		for (;;)
			pause();
	}
	if (write(1, "ran\n", 4) != 4)
		return 99;
	return 7;
}
