/* unwind.c - the attacher's unwinder: shared/remote_unwind.c (DWARF CFI
 * with libunwind, remembered unwinds, frame-pointer fallback) reading the
 * target through the tracer's target_mem, with the tracer's allocation
 * wrappers skipped, its profile marks, and sigprocmask short-circuited
 * while libunwind runs.
 *
 * libunwind as built here (no per-thread cache) masks every signal around
 * each lookup in its global caches and memory pools: two sigprocmask calls
 * per lock, about 40 system calls per 15-frame unwind, half its time. The
 * mask protects the caches from a signal handler that unwinds too; the
 * tracer's handlers only set flags. So while the tracer thread is inside
 * libunwind, its sigprocmask does nothing (libunwind restores what it
 * saved before returning, inside the same window); otherwise, and in any
 * other thread (the progress line's), it is libc's. The interposition is
 * here, in the memsnap executable (exported by Makefile.am's memsnap
 * block), never in libmsunwind: the GDB plugin links that library into
 * GDB's process, whose sigprocmask must stay GDB's. */
#include "config.h"

#include "tracer.h"
#include "remote_unwind.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct unwinder {
	ms_unwinder *u;
	const target_mem *mem;
	uint64_t t0;       /* profile: start of the current part */
};

static __thread bool unwinding;

__attribute__((visibility("default"))) int sigprocmask(int how,
						   const sigset_t *set,
						   sigset_t *old)
{
	int rc;

	if (unwinding) {
		if (old)
			sigemptyset(old);
		return 0;
	}
	rc = pthread_sigmask(how, set, old);
	if (rc == 0)
		return 0;
	errno = rc;
	return -1;
}

static void enter(void *arg)
{
	unwinding = true;
}

static void leave(void *arg)
{
	unwinding = false;
}

static void copied(void *arg)
{
	unwinder *w = arg;

	w->t0 = prof_mark(PROF_STACK, w->t0);
}

static int read_target(void *arg, uint64_t addr, void *buf, size_t len)
{
	const unwinder *w = arg;

	return target_read(w->mem, addr, buf, len);
}

static bool is_wrapper(void *arg, uint64_t pc)
{
	return symbols_is_wrapper(arg, pc);
}

unwinder *unwinder_new(pid_t pid, const target_mem *m)
{
	unwinder *w = calloc(1, sizeof(*w));
	ms_unwind_hooks hooks = { NULL, enter, leave, NULL };

	if (!w)
		return NULL;
	w->mem = m;
	w->u = ms_unwinder_new(pid, read_target, w);
	if (!w->u) {
		free(w);
		return NULL;
	}
	/* off, a profile mark is one branch: no call at all */
	if (prof_enabled)
		hooks.copied = copied;
	hooks.arg = w;
	ms_unwinder_set_hooks(w->u, &hooks);
	return w;
}

void unwinder_free(unwinder *w)
{
	if (!w)
		return;
	ms_unwinder_free(w->u);
	free(w);
}

void unwinder_flush(unwinder *w)
{
	ms_unwinder_flush(w->u);
}

uint64_t unwinder_return_address(const unwinder *w)
{
	return ms_unwinder_return_address(w->u);
}

uint32_t unwinder_unwind(unwinder *w, pid_t tid,
			 const struct user_regs_struct *regs,
			 const symbols *sym, uint64_t *pcs, uint32_t max,
			 uint32_t *total)
{
	uint64_t remembered = ms_unwinder_remembered(w->u);
	uint32_t n;

	w->t0 = prof_start();
	n = ms_unwinder_unwind(w->u, tid, regs, is_wrapper, (void *)sym, pcs,
			       max, MS_MAX_FRAMES, total);
	prof_unwind_memo += ms_unwinder_remembered(w->u) - remembered;
	prof_mark(PROF_UNWIND, w->t0);
	return n;
}
