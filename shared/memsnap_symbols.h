/* memsnap_symbols.h - the libdwfl symbolizer (symbolize_dwfl.c).
 *
 * One object, ms_dwfl, turns PCs into frames (function, file, line, module,
 * build-id, offset) for three kinds of address space, with the same code:
 *  - a live process: modules from /proc/PID/maps; no ptrace is needed, only
 *    read access to /proc/PID/maps and the mapped files;
 *  - a core file: the core's own module list (its link_map and notes);
 *  - a stored module map (path, build-id, load bias, range), as a snapshot
 *    file keeps it: each file is looked up under the sysroot and by build-id
 *    in the debug directories, and a file whose build-id differs from the
 *    recorded one is never used (see ms_dwfl_verify).
 *
 * Debug information is found next to the file (.gnu_debuglink), by build-id
 * under debug_dir and /usr/lib/debug (.build-id/xx/yyyy.debug), or comes from
 * .symtab, .dynsym or MiniDebugInfo (.gnu_debugdata) when there is no DWARF.
 * C++ names are demangled with the C++ runtime's __cxa_demangle, looked up
 * at run time (libmemsnap does not link libstdc++); without it they stay
 * mangled.
 *
 * Every PC is symbolized once per ms_dwfl: results are cached until the
 * module holding the PC is unloaded or replaced (ms_dwfl_refresh).
 * Not thread-safe: one thread uses an ms_dwfl at a time.
 */
#ifndef MEMSNAP_SYMBOLS_H
#define MEMSNAP_SYMBOLS_H

#include "memsnap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_dwfl ms_dwfl;

typedef struct ms_dwfl_options {
	/* Extra directory searched for separate debug files, before
	 * /usr/lib/debug: by build-id (DIR/.build-id/xx/yyyy.debug) and by
	 * .gnu_debuglink name. NULL for none. */
	const char *debug_dir;
	/* Root under which module paths are looked up first (a copy of the
	 * target's file system); SYSROOT/usr/lib/debug is searched too. NULL
	 * for /. */
	const char *sysroot;
} ms_dwfl_options;

/* Symbolizer for the live process pid, from /proc/PID/maps. o may be NULL.
 * Fails with MS_ENOTFOUND when the process does not exist and MS_EIO when
 * its maps cannot be read. */
ms_dwfl *ms_dwfl_new_pid(int pid, const ms_dwfl_options *o, ms_error *err);

/* Symbolizer for a core file. executable may be NULL when the core holds
 * enough of it to find its dynamic section (it usually does). */
ms_dwfl *ms_dwfl_new_core(const char *core, const char *executable,
			  const ms_dwfl_options *o, ms_error *err);

/* Symbolizer for a stored module map. Modules whose file is missing or
 * whose build-id differs from the recorded one are kept as unusable: a PC in
 * one of them makes resolve() fail with MS_ESYMBOL and a message that names
 * the module, and ms_dwfl_verify() reports them. */
ms_dwfl *ms_dwfl_new_modules(const ms_module *mods, size_t n,
			     const ms_dwfl_options *o, ms_error *err);

/* 0 when every module of the address space was found with the recorded
 * build-id; otherwise MS_ESYMBOL (negative) and err names the first bad
 * module and how many there are. Only stored maps and cores record
 * build-ids before the file is opened, so a live process always passes. */
int ms_dwfl_verify(ms_dwfl *d, ms_error *err);

/* Live process only: re-read /proc/PID/maps. Cached PCs of modules that are
 * gone or replaced (dlclose, exec, a file mapped anew at the same place)
 * are dropped, and so are cached PCs that were outside every module; the
 * others stay. Returns 0 or a negative ms_errcode (MS_EINVAL for a core or
 * a stored map). */
int ms_dwfl_refresh(ms_dwfl *d, ms_error *err);

/* Drop every cached PC (the debug information stays loaded). */
void ms_dwfl_forget(ms_dwfl *d);

typedef struct ms_dwfl_stats {
	uint64_t lookups;   /* resolve() calls */
	uint64_t misses;    /* of which needed the debug information */
	size_t cached;      /* PCs in the cache now */
	size_t modules;     /* modules of the address space */
} ms_dwfl_stats;
void ms_dwfl_get_stats(const ms_dwfl *d, ms_dwfl_stats *out);

/* The engine's view of d (resolve + modules); valid while d lives. */
ms_symbolizer ms_dwfl_symbolizer(ms_dwfl *d);

void ms_dwfl_free(ms_dwfl *d);

#ifdef __cplusplus
}
#endif
#endif /* MEMSNAP_SYMBOLS_H */
