/* load.c - the load target: 16 threads allocate, free and reallocate as
 * fast as they can, while one thread creates and joins short-lived threads
 * in storms and another forks and execs (fork+exec and posix_spawn) in a
 * loop. Every block is filled with its owner's tag and checked before it is
 * freed or reallocated. After SECONDS (and, in attach mode, once memsnap's
 * breakpoints are seen in place) every thread replaces each of its blocks
 * by one of a fixed size from a settle call site, so that the blocks live
 * at exit are a fixed set, all allocated while traced. The program keeps
 * its own count of them and prints it in `memsnap stats --bytes` form,
 * after a first line "started":
 *
 *   load.c:LINE: size=N B, count=M      (one line per call site, live at exit)
 *   checksum X                          (of the settled blocks' contents)
 *   # calls N                           (allocator calls made, all threads)
 *
 * A lost event shows as a churn line left live, a settle line with the
 * wrong count. (Unknown frees prove nothing here: glibc frees its threads'
 * tcache chunks at thread exit, blocks the program had freed already.)
 * Exits 1 when a check failed (a block's content, a child's status: the
 * line is on stderr), 2 on bad usage, 3 when attach mode never saw memsnap.
 *
 * Usage: load run|attach SECONDS [STOPFILE]   (load child: what the exec
 * storm runs). With STOPFILE, the program also waits for that file to
 * exist before it settles (a test attaches and detaches until then).
 * Output is written with write(2) from static buffers: nothing here
 * allocates but the call sites it counts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 16
#define SLOTS 48
#define NSTORM 8
#define STORM_CHURN 50

extern char **environ;

typedef struct slot {
	unsigned char *p;
	size_t len;
	int line;            /* call site that made the block, 0: none */
} slot;

static slot work[NWORKERS][SLOTS];
static slot storm[NSTORM];
static int attach_mode;
static double deadline;
static volatile int broken, done;
static unsigned long calls[NWORKERS + 2];
static const char *self, *stopfile;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* memsnap's breakpoint on free() is in: the first byte is int3 */
static int hooked(void)
{
	void (*volatile fn)(void *) = free;

	return *(const volatile unsigned char *)(void *)fn == 0xcc;
}

static int may_settle(void)
{
	return now() >= deadline && (!attach_mode || hooked()) &&
	       (!stopfile || access(stopfile, F_OK) == 0);
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check(const slot *s, unsigned char tag, size_t len)
{
	for (size_t j = 0; j < len && j < s->len; j++)
		if (s->p[j] != tag)
			broken = __LINE__;
}

static void fill(slot *s, unsigned char tag, size_t len, int line)
{
	if (!s->p && len)
		abort();
	s->len = len;
	s->line = line;
	memset(s->p, tag, len);
}

static void churn(slot *s, unsigned char tag, uint64_t r, unsigned long *n)
{
	size_t len = (size_t)((r >> 16) % 700) + 1;
	unsigned char *q;

	check(s, tag, s->len);
	(*n)++;
	switch ((r >> 8) % 6) {
	case 0:
		free(s->p);
		s->p = NULL, s->len = 0, s->line = 0;
		return;
	case 1:
		free(s->p), (*n)++;
		s->p = malloc(len), fill(s, tag, len, __LINE__);
		return;
	case 2:
		free(s->p), (*n)++;
		s->p = calloc(1, len), s->line = __LINE__;
		for (size_t j = 0; s->p && j < len; j++)
			if (s->p[j])
				broken = __LINE__;
		fill(s, tag, len, s->line);
		return;
	case 3:
	case 4:
		q = realloc(s->p, len);
		s->p = q;
		check(s, tag, len);
		fill(s, tag, len, __LINE__);
		return;
	default:
		free(s->p), (*n)++;
		s->p = aligned_alloc(64, (len + 63) & ~(size_t)63);
		fill(s, tag, (len + 63) & ~(size_t)63, __LINE__);
		return;
	}
}

/* The fixed end state of slot k of owner t: one of three settle sites. */
static void settle(slot *s, unsigned char tag, int t, int k, unsigned long *n)
{
	size_t len = (size_t)((t * 131 + k * 17) % 700) + 1;

	check(s, tag, s->len);
	(*n)++;
	switch (k % 3) {
	case 0:
		free(s->p), (*n)++;
		s->p = malloc(len), fill(s, tag, len, __LINE__);
		break;
	case 1:
		free(s->p), (*n)++;
		s->p = calloc(len, 1), fill(s, tag, len, __LINE__);
		break;
	default:
		/* from a fresh block, so that the site is realloc's */
		free(s->p), (*n)++;
		s->p = malloc(8), (*n)++;
		s->p = realloc(s->p, len), fill(s, tag, len, __LINE__);
		break;
	}
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
	unsigned long n = 0;

	while (!may_settle())
		for (int i = 0; i < 256; i++) {
			uint64_t r = next(&rng);
			int k = (int)(r % SLOTS);
			churn(&work[t][k], (unsigned char)(t * SLOTS + k), r, &n);
		}
	for (int k = 0; k < SLOTS; k++)
		settle(&work[t][k], (unsigned char)(t * SLOTS + k), t, k, &n);
	calls[t] = n;
	return NULL;
}

/* A storm thread: a little churn of its own, all freed, then it replaces
 * its storm slot. */
typedef struct storm_arg {
	int k;
	int final;
	unsigned long n;
} storm_arg;

static void *storm_thread(void *arg)
{
	storm_arg *a = arg;
	unsigned char tag = (unsigned char)(0xa0 + a->k);
	size_t len = (size_t)a->k * 40 + 24;
	void *volatile tmp[STORM_CHURN];

	for (int i = 0; i < STORM_CHURN; i++)
		tmp[i] = malloc((size_t)i + 1);
	for (int i = 0; i < STORM_CHURN; i++)
		free(tmp[i]);
	a->n += 2 * STORM_CHURN + 2;
	check(&storm[a->k], tag, storm[a->k].len);
	free(storm[a->k].p);
	if (a->final) {
		storm[a->k].p = malloc(len), fill(&storm[a->k], tag, len, __LINE__);
	} else {
		len = (size_t)(a->n % 300) + 1;
		storm[a->k].p = malloc(len), fill(&storm[a->k], tag, len, __LINE__);
	}
	return NULL;
}

static void *storm_driver(void *arg)
{
	static storm_arg args[NSTORM];
	pthread_t th[NSTORM];
	int final = 0;

	(void)arg;
	while (!final) {
		final = may_settle();
		for (int k = 0; k < NSTORM; k++) {
			args[k].k = k;
			args[k].final = final;
			if (pthread_create(&th[k], NULL, storm_thread,
					   &args[k]) != 0)
				abort();
		}
		for (int k = 0; k < NSTORM; k++)
			pthread_join(th[k], NULL);
	}
	for (int k = 0; k < NSTORM; k++)
		calls[NWORKERS] += args[k].n;
	return NULL;
}

/* fork+exec and posix_spawn (a vfork) of `load child`, until the others
 * are done. */
static void *forker(void *arg)
{
	char *child_argv[] = { (char *)self, (char *)"child", NULL };

	(void)arg;
	while (!done) {
		int status;
		pid_t pid = fork();
		if (pid == 0) {
			execve(self, child_argv, environ);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    status != 0)
			broken = __LINE__;
		if (posix_spawn(&pid, self, NULL, NULL, child_argv,
				environ) != 0 ||
		    waitpid(pid, &status, 0) != pid || status != 0)
			broken = __LINE__;
		calls[NWORKERS + 1] += 2;
	}
	return NULL;
}

/* ---------------------------------------------------------------- report */

static char out[16384];
static size_t outlen;

static void put(const char *s)
{
	size_t n = strlen(s);

	if (outlen + n < sizeof(out)) {
		memcpy(out + outlen, s, n);
		outlen += n;
	}
}

static void putnum(unsigned long long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do
		buf[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put(buf + i);
}

static void report(void)
{
	static int lines[64];
	static unsigned long long count[64], bytes[64];
	int nlines = 0;
	unsigned long long sum = 0, ncalls = 0;

	for (int t = 0; t <= NWORKERS; t++)
		for (int k = 0; k < (t < NWORKERS ? SLOTS : NSTORM); k++) {
			const slot *s = t < NWORKERS ? &work[t][k] : &storm[k];
			int i = 0;
			if (!s->line)
				continue;
			while (i < nlines && lines[i] != s->line)
				i++;
			if (i == nlines)
				lines[nlines++] = s->line;
			count[i]++;
			bytes[i] += s->len;
			for (size_t j = 0; j < s->len; j++)
				sum = sum * 31 + s->p[j];
		}
	for (int i = 0; i < nlines; i++) {
		put("load.c:");
		putnum((unsigned long long)lines[i]);
		put(": size=");
		putnum(bytes[i]);
		put(" B, count=");
		putnum(count[i]);
		put("\n");
	}
	put("checksum ");
	putnum(sum);
	put("\n# calls ");
	for (int t = 0; t < NWORKERS + 2; t++)
		ncalls += calls[t];
	putnum(ncalls);
	put("\n");
	if (write(1, out, outlen) != (ssize_t)outlen)
		broken = __LINE__;
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS], st, fk;
	double seconds, waited;

	self = argv[0];
	if (argc == 2 && strcmp(argv[1], "child") == 0) {
		void *volatile p = malloc(100);
		free(p);
		return 0;
	}
	if (argc < 3 || argc > 4 || (strcmp(argv[1], "run") != 0 &&
			  strcmp(argv[1], "attach") != 0))
		return 2;
	attach_mode = strcmp(argv[1], "attach") == 0;
	seconds = atof(argv[2]);
	stopfile = argc > 3 ? argv[3] : NULL;
	deadline = now() + seconds;
	if (write(1, "started\n", 8) != 8)
		return 2;
	for (long t = 0; t < NWORKERS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 2;
	if (pthread_create(&st, NULL, storm_driver, NULL) != 0 ||
	    pthread_create(&fk, NULL, forker, NULL) != 0)
		return 2;
	/* attach mode waits for memsnap, but not for ever */
	for (waited = 0; attach_mode && !hooked() && waited < 60; waited += 0.01) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	if (attach_mode && !hooked())
		return 3;
	for (int t = 0; t < NWORKERS; t++)
		pthread_join(th[t], NULL);
	pthread_join(st, NULL);
	done = 1;
	pthread_join(fk, NULL);
	report();
	if (broken) {
		/* which check failed: the line of this file that found it */
		outlen = 0;
		put("load: a check failed at load.c:");
		putnum((unsigned long long)broken);
		put("\n");
		if (write(2, out, outlen) < 0)
			return 1;
	}
	return broken ? 1 : 0;
}
