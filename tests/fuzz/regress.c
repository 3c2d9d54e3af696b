/* regress.c - replays fuzz inputs through the fuzz harness in the normal
 * build: every seed under tests/fuzz/corpus must load (they are valid
 * files), every past finding under tests/fuzz/regressions must be handled
 * (loaded or refused) without a crash, leak or sanitizer report.
 *
 * Usage: regress [--valid DIR]... [DIR]...   (no arguments: the two
 * directories of the source tree) */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsnap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (*len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of failures; *count gets the files replayed. */
static int replay(const char *dir, bool valid, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int failures = 0;

	if (!d) {
		fprintf(stderr, "regress: cannot open %s\n", dir);
		return 1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".md"))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		uint8_t *buf;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		buf = read_all(path, &len);
		if (!buf) {
			fprintf(stderr, "regress: cannot read %s\n", path);
			failures++;
		} else {
			LLVMFuzzerTestOneInput(buf, len);
			if (valid) {
				ms_error err;
				ms_snapshot *s = ms_snapshot_decode(buf, len, &err);

				if (!s) {
					fprintf(stderr, "regress: seed %s does "
						"not load: %s\n", path,
						err.message);
					failures++;
				}
				ms_snapshot_free(s);
			}
			(*count)++;
		}
		free(buf);
		free(names[i]);
	}
	free(names);
	return failures;
}

int main(int argc, char **argv)
{
	int failures = 0, count = 0;

	if (argc == 1) {
		failures += replay(MS_FUZZ_DIR "/corpus", true, &count);
		failures += replay(MS_FUZZ_DIR "/regressions", false, &count);
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--valid") == 0 && i + 1 < argc)
			failures += replay(argv[++i], true, &count);
		else
			failures += replay(argv[i], false, &count);
	}
	printf("regress: %d files replayed, %d failures\n", count, failures);
	return failures ? 1 : 0;
}
