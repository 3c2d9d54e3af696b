/* progress.h - progress lines on stderr for work over a second (taking,
 * symbolizing, loading, writing and exporting big snapshots), drawn only
 * when stderr is a terminal.
 *
 * The engine never prints: it reports its phases through an ms_progress
 * callback (progress_engine()), and the symbolizer is wrapped to count
 * the PCs it resolves (progress_wrap()). The line
 *   "memsnap: WHAT: PHASE 42%"  (or "... 1200 PCs symbolized", "...")
 * shows once the work has lasted MEMSNAP_PROGRESS_DELAY seconds (default
 * 1), is redrawn at most five times a second, from the working thread
 * when the engine reports and from a thread of its own when it does not,
 * and is erased at the end, before the work's own output is printed. */
#ifndef MEMSNAP_PROGRESS_H
#define MEMSNAP_PROGRESS_H

#include "memsnap.h"

#include <pthread.h>
#include <stdint.h>

/* Starts the work named WHAT ("loading big.msnap"). Nested calls count,
 * and only the outermost names the line. Nothing when stderr is no
 * terminal. */
void progress_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends it: the line, if shown, is erased. */
void progress_end(void);

/* The callback to give the engine (ms_snapshot_load_progress, ...): it
 * feeds the line of the current work. */
const ms_progress *progress_engine(void);

/* A symbolizer that counts the PCs it resolves for the line and forwards
 * to inner. */
typedef struct progress_symbolizer {
	ms_symbolizer inner;
	uint64_t resolved;
} progress_symbolizer;
ms_symbolizer progress_wrap(progress_symbolizer *p, const ms_symbolizer *inner);

/* pthread_create with every signal blocked in the new thread, so that
 * the signals meant for the tracer thread (SIGCHLD, SIGUSR1/2, SIGINT...)
 * never land in a helper thread (the progress line's, the prompt's). */
int progress_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

#endif /* MEMSNAP_PROGRESS_H */
