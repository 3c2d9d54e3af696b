/* remote_unwind.h - stacks of a stopped thread of another process, with
 * DWARF CFI (libunwind), for both front-ends: the attacher (its ptrace
 * stops) and the GDB plugin (GDB's breakpoint stops).
 *
 * Registers come from the caller (the stop it handles), the stack from one
 * process_vm_readv per unwind, other memory through the caller's read
 * function (a page cache keeps what libunwind reads from file mappings:
 * unwind tables never change). Unwind tables are found from
 * /proc/PID/maps and the module files. A frame-pointer walk is the
 * fallback when libunwind cannot start or gives nothing. An unwind whose
 * inputs (registers, stack words, module pages) match an earlier one's is
 * answered from memory with the same frames.
 *
 * Not thread-safe: one thread unwinds at a time (both front-ends handle
 * their stops on one thread). Built into libmsunwind, not libmemsnap, so
 * that the engine does not depend on libunwind. */
#ifndef MEMSNAP_REMOTE_UNWIND_H
#define MEMSNAP_REMOTE_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

typedef struct ms_unwinder ms_unwinder;

/* Reads len bytes of the target at addr into buf; 0 or -1. */
typedef int (*ms_unwind_read_fn)(void *arg, uint64_t addr, void *buf,
				 size_t len);
/* Whether pc (a return address minus one) is inside an allocation
 * wrapper whose frames are not the caller's (operator new, strdup...). */
typedef bool (*ms_unwind_wrapper_fn)(void *arg, uint64_t pc);

/* A new unwinder for process pid; read reads its memory. NULL when out of
 * memory or libunwind cannot make an address space. */
ms_unwinder *ms_unwinder_new(pid_t pid, ms_unwind_read_fn read,
			     void *read_arg);
void ms_unwinder_free(ms_unwinder *u);

/* Drops every cache (exec, modules loaded or unloaded). */
void ms_unwinder_flush(ms_unwinder *u);

/* What a front-end does around the parts of an unwind; any may be NULL.
 * The library itself stays free of process-wide tricks: it is also loaded
 * into GDB. */
typedef struct ms_unwind_hooks {
	/* after the stack copy of each unwind */
	void (*copied)(void *arg);
	/* around the calls into libunwind (a remembered unwind makes none) */
	void (*enter)(void *arg);
	void (*leave)(void *arg);
	void *arg;
} ms_unwind_hooks;
void ms_unwinder_set_hooks(ms_unwinder *u, const ms_unwind_hooks *hooks);

/* How many unwinds were answered from memory since ms_unwinder_new. */
uint64_t ms_unwinder_remembered(const ms_unwinder *u);

/* Unwinds the stopped thread tid from regs, taken at the entry of a
 * function (rsp points at the return address): fills pcs with the return
 * addresses of the callers, most recent first, leading frames inside
 * wrappers skipped (wrapper may be NULL), at most max; returns how many
 * and sets *total to the depth before truncation (at most max_depth). */
uint32_t ms_unwinder_unwind(ms_unwinder *u, pid_t tid,
			    const struct user_regs_struct *regs,
			    ms_unwind_wrapper_fn wrapper, void *wrapper_arg,
			    uint64_t *pcs, uint32_t max, uint32_t max_depth,
			    uint32_t *total);

/* The functions that only wrap an allocation (operator new and new[] and
 * their variants, strdup, strndup, wcsdup), by symbol name: their frames
 * are skipped so that frame 0 of a traceback is the caller's code
 * (design.md, "The data model"). NULL-terminated. */
extern const char *const ms_unwind_wrapper_names[];
/* Whether name is one of them. */
bool ms_unwind_is_wrapper_name(const char *name);

/* The word at [rsp] of the last unwind's stack copy (0 when unread). */
uint64_t ms_unwinder_return_address(const ms_unwinder *u);

#endif /* MEMSNAP_REMOTE_UNWIND_H */
