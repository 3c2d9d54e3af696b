/* session.h - the live command line of `memsnap run` and `memsnap attach`.
 *
 * The shared command language (shared/command.h) over the traced process:
 * commands from -c and --script run in order once the target is traced, or
 * lines typed at an interactive prompt. The tracer thread runs every
 * command, because every ptrace call must come from it; the prompt lives on
 * a reader thread (libedit) that hands one line at a time over and wakes
 * the tracer out of waitpid with SIGUSR2, then waits until the command is
 * done before it shows the prompt again, so output and prompt never mix.
 *
 * Also here: the names of the snapshot files written on SIGUSR1 and
 * --every (-o with %n, --keep). Progress lines: progress.h. */
#ifndef MEMSNAP_SESSION_H
#define MEMSNAP_SESSION_H

#include "command.h"
#include "progress.h"
#include "tracer.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct live_session live_session;

/* A session for the options o (commands, interactive, output, keep).
 * take snapshots the live target; it is called on the tracer thread only,
 * from live_service() or live_finish(). NULL with err filled on failure. */
live_session *live_new(const tracer_options *o, ms_take_fn take, void *take_arg,
	       ms_error *err);
/* Stops the reader thread's prompt (the terminal is restored) and frees. */
void live_free(live_session *l);

/* The target is attached (pid): show the prompt when interactive. Returns 0
 * or -1 (a message was printed). */
int live_start(live_session *l, pid_t pid);

/* Called by the tracer loop between events, whenever the target can be
 * snapshotted: runs the commands that are due. Returns true when the
 * session is over and the tracer should detach. *wake is set to the
 * monotonic time (see live_now) at which it wants to be called again
 * (a `wait` in progress), 0 when it needs no timer. */
bool live_service(live_session *l, double now, double *wake);

/* The tracing is over (the target ended, or the loop stopped for a signal
 * or --duration). When the target ended (target_gone) the scripted
 * commands left still run, with `take` failing; a prompt ends. */
void live_finish(live_session *l, bool target_gone);

bool live_interactive(const live_session *l);

/* The session's part of the exit status: 0, 1 when a scripted command
 * failed at run time, 2 when one had a usage error. */
int live_status(const live_session *l);

/* The monotonic clock the tracer loop uses, in seconds. */
double live_now(void);

/* Checks a -c or --script line before anything is attached: its command
 * must exist and `wait` needs a number. -1 with a message in err. */
int live_check_command(const char *line, ms_error *err);

/* Snapshot files of SIGUSR1 and --every: the next file name (-o PATTERN
 * where %n is the sequence number and %% a '%', else PREFIX.N.msnap, by
 * default memsnap.PID.N.msnap), and, once it is completely written,
 * live_output_written() removes the oldest ones past --keep. */
void live_output_path(live_session *l, pid_t pid, char *buf, size_t len);
void live_output_written(live_session *l, const char *path);

#endif /* MEMSNAP_SESSION_H */
