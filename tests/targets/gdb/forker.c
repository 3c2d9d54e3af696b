/* forker.c - GDB test target: a block allocated before fork, then the
 * child frees it and allocates two more, the parent one more. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC optimize("O0", "no-omit-frame-pointer")

void *keep[4];

__attribute__((noinline)) static void mark(int n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

int main(void)
{
	pid_t pid;

	mark(0);
	keep[0] = malloc(11);
	pid = fork();
	if (pid == 0) {
		keep[1] = malloc(33);
		free(keep[0]);
		keep[2] = malloc(44);
		mark(1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	keep[3] = malloc(55);
	mark(2);
	return 0;
}
