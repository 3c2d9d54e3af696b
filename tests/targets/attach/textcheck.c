/* textcheck.c - is process PID's code exactly its files' code?
 * Compares every executable file mapping of /proc/PID/mem with the file
 * at the mapping's offset, and prints the bytes that differ (an int3 left
 * behind by memsnap would be one) and the number of anonymous executable
 * mappings (memsnap's scratch page would be one):
 *   differing-bytes N
 *   anon-exec-mappings M */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[64], line[4352], file[4096];
	unsigned long long start, end, off, differ = 0, anon = 0;
	FILE *maps;
	int mem;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY);
	if (!maps || mem < 0)
		return 2;
	while (fgets(line, sizeof(line), maps)) {
		char perms[8];
		int n = 0;
		file[0] = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end,
			   perms, &off, &n) < 4 || perms[2] != 'x')
			continue;
		sscanf(line + n, "%4095s", file);
		if (file[0] != '/') {
			if (!file[0])
				anon++;
			continue;
		}
		size_t len = end - start;
		unsigned char *a = malloc(len), *b = malloc(len);
		int fd = open(file, O_RDONLY);
		ssize_t got = fd < 0 ? -1 : pread(fd, b, len, (off_t)off);
		if (got > 0 && pread(mem, a, (size_t)got, (off_t)start) == got)
			for (ssize_t i = 0; i < got; i++)
				if (a[i] != b[i]) {
					if (differ < 10)
						fprintf(stderr, "%s+%#llx: %02x "
							"(file %02x)\n", file,
							off + (unsigned long long)i,
							a[i], b[i]);
					differ++;
				}
		if (fd >= 0)
			close(fd);
		free(a);
		free(b);
	}
	printf("differing-bytes %llu\nanon-exec-mappings %llu\n", differ,
	       anon);
	return 0;
}
