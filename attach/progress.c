/* progress.c - the progress line on stderr (see progress.h). */
#include "config.h"

#include "progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Redraws at most this often, in seconds. */
#define REDRAW 0.2

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool thread_started;
	int depth;             /* nested progress_begin calls */
	bool shown;            /* the line is on the terminal */
	double since, drawn;   /* start of the work, last redraw */
	double delay;          /* MEMSNAP_PROGRESS_DELAY, < 0: not read yet */
	char what[200];
	/* what is known of the work so far */
	uint64_t resolved;     /* PCs symbolized */
	const char *phase;     /* the engine's, a static string; NULL: none */
	uint64_t done, total;
	const char *drawn_phase; /* phase of the line on the terminal */
} prog = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
	   .delay = -1 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double read_delay(void)
{
	const char *v = getenv("MEMSNAP_PROGRESS_DELAY");
	char *end;
	double d;

	if (!v || !*v)
		return 1.0;
	d = strtod(v, &end);
	return *end || !(d >= 0) ? 1.0 : d;
}

/* Under prog.mu. */
static void draw(double t)
{
	if (prog.phase && prog.total)
		fprintf(stderr, "\rmemsnap: %s: %s %u%%...\033[K", prog.what,
			prog.phase,
			(unsigned)(prog.done >= prog.total
					   ? 100
					   : prog.done * 100.0 / prog.total));
	else if (prog.phase)
		fprintf(stderr, "\rmemsnap: %s: %s...\033[K", prog.what,
			prog.phase);
	else if (prog.resolved)
		fprintf(stderr, "\rmemsnap: %s: %llu PCs symbolized...\033[K",
			prog.what, (unsigned long long)prog.resolved);
	else
		fprintf(stderr, "\rmemsnap: %s...\033[K", prog.what);
	fflush(stderr);
	prog.shown = true;
	prog.drawn = t;
	prog.drawn_phase = prog.phase;
}

/* Under prog.mu: draws when the work has lasted long enough and the line
 * is stale or shows another phase. */
static void maybe_draw(void)
{
	double t = now();

	if (prog.depth && t >= prog.since + prog.delay &&
	    (!prog.shown || t >= prog.drawn + REDRAW ||
	     prog.phase != prog.drawn_phase))
		draw(t);
}

/* For work that does not report (opening the debug information of a
 * process before the first PC is resolved). */
static void *progress_main(void *arg)
{
	pthread_mutex_lock(&prog.mu);
	for (;;) {
		struct timespec ts;
		double t;

		while (!prog.depth)
			pthread_cond_wait(&prog.cv, &prog.mu);
		t = (prog.shown ? prog.drawn + REDRAW
				: prog.since + prog.delay) - now();
		/* the condition variable's clock is the real-time one */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (t > 0) {
			ts.tv_sec += (time_t)t;
			ts.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&prog.cv, &prog.mu, &ts);
		}
		maybe_draw();
	}
	return arg;
}

int progress_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void progress_begin(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	pthread_mutex_lock(&prog.mu);
	if (prog.depth++ == 0) {
		va_start(ap, fmt);
		vsnprintf(prog.what, sizeof(prog.what), fmt, ap);
		va_end(ap);
		if (prog.delay < 0)
			prog.delay = read_delay();
		prog.since = now();
		prog.resolved = 0;
		prog.phase = NULL;
		prog.shown = false;
		if (!prog.thread_started) {
			pthread_t t;

			prog.thread_started = progress_thread_create(
						      &t, progress_main,
						      NULL) == 0;
			if (prog.thread_started)
				pthread_detach(t);
		}
		pthread_cond_broadcast(&prog.cv);
	}
	pthread_mutex_unlock(&prog.mu);
}

void progress_end(void)
{
	if (!isatty(STDERR_FILENO))
		return;
	pthread_mutex_lock(&prog.mu);
	if (prog.depth > 0 && --prog.depth == 0) {
		if (prog.shown) {
			fputs("\r\033[K", stderr);
			fflush(stderr);
		}
		prog.shown = false;
		pthread_cond_broadcast(&prog.cv);
	}
	pthread_mutex_unlock(&prog.mu);
}

static void engine_report(void *arg, const char *phase, uint64_t done,
			  uint64_t total)
{
	pthread_mutex_lock(&prog.mu);
	if (prog.depth) {
		prog.phase = phase;
		prog.done = done;
		prog.total = total;
		maybe_draw();
	}
	pthread_mutex_unlock(&prog.mu);
}

const ms_progress *progress_engine(void)
{
	static const ms_progress p = { engine_report, NULL };

	return &p;
}

static int progress_resolve(void *ctx, uint64_t pc, bool is_return,
			    ms_frame *out, size_t max, ms_error *err)
{
	progress_symbolizer *p = ctx;

	/* the lock costs little beside a symbol lookup, but not nothing */
	if ((++p->resolved & 63) == 0 && prog.depth) {
		pthread_mutex_lock(&prog.mu);
		prog.resolved = p->resolved;
		prog.phase = NULL;
		maybe_draw();
		pthread_mutex_unlock(&prog.mu);
	}
	return p->inner.ops->resolve(p->inner.ctx, pc, is_return, out, max,
				     err);
}

static int progress_modules(void *ctx, ms_module_cb cb, void *arg,
			    ms_error *err)
{
	progress_symbolizer *p = ctx;

	return p->inner.ops->modules(p->inner.ctx, cb, arg, err);
}

ms_symbolizer progress_wrap(progress_symbolizer *p, const ms_symbolizer *inner)
{
	static const ms_symbolizer_ops with_modules = { progress_resolve,
							progress_modules };
	static const ms_symbolizer_ops without_modules = { progress_resolve,
							   NULL };

	p->inner = *inner;
	p->resolved = 0;
	return (ms_symbolizer){ inner->ops->modules ? &with_modules
						    : &without_modules,
				p };
}
