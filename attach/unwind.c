/* unwind.c - the attacher's unwinder: shared/remote_unwind.c (DWARF CFI
 * with libunwind, frame-pointer fallback) reading the target through the
 * tracer's target_mem, with the tracer's allocation wrappers skipped. */
#include "config.h"

#include "tracer.h"
#include "remote_unwind.h"

#include <stdlib.h>

struct unwinder {
	ms_unwinder *u;
	const target_mem *mem;
};

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

	if (!w)
		return NULL;
	w->mem = m;
	w->u = ms_unwinder_new(pid, read_target, w);
	if (!w->u) {
		free(w);
		return NULL;
	}
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
	return ms_unwinder_unwind(w->u, tid, regs, is_wrapper, (void *)sym,
				  pcs, max, MS_MAX_FRAMES, total);
}
