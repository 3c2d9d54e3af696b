/* leaky.c - a program that exits without freeing some of its blocks, for
 * --dump-on-exit and `memsnap leaks`. What it leaks is known exactly:
 * 3 x 72 B from one traceback (the loop), 72 B more from the same line
 * through another caller, 500 B of calloc, 4000 B of realloc; everything
 * else is freed. write(2) only: stdio would allocate buffers of its own. */
#pragma GCC optimize("O0") /* -O0 whatever CFLAGS say: one line per call site */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct entry {
	struct entry *next;
	char text[64];
};

static struct entry *head;

static void log_entry(const char *text)
{
	struct entry *e = malloc(sizeof(*e)); /* leak: 72 B each */

	strncpy(e->text, text, sizeof(e->text) - 1);
	e->next = head;
	head = e;
}

static void scratch(void)
{
	char *tmp = malloc(1000); /* freed */

	memset(tmp, 0, 1000);
	free(tmp);
}

int main(void)
{
	char *grown, *table;

	for (int i = 0; i < 3; i++)
		log_entry("request");
	log_entry("shutdown");
	scratch();
	table = calloc(10, 50);
	grown = realloc(NULL, 40);
	grown = realloc(grown, 4000);
	table[0] = grown[0] = 1;
	if (write(1, "done\n", 5) != 5)
		return 1;
	return 0;
}
