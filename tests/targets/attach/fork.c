/* fork.c - fork and vfork children run without breakpoints (they would
 * die of SIGTRAP otherwise) and their allocations are not the parent's. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"

void *volatile keep[4];

static int child_work(void)
{
	for (int i = 0; i < 100; i++) {
		void *volatile p = malloc(64);
		keep[3] = p; /* in the child's copy only */
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pid;
	int status;

	target_wait_hooked(argc, argv);
	keep[0] = malloc(111); /* @before_fork 111 */
	pid = fork();
	if (pid == 0)
		_exit(child_work());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 3;
	pid = vfork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 4;
	keep[1] = malloc(222); /* @after_fork 222 */
	keep[2] = NULL;
	target_ready();
	return 0;
}
