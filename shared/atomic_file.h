/* atomic_file.h - writing a whole file the way snapshots are written
 * (shared/snapshot_file.c), for the exports too.
 *
 * Proposed for memsnap.h (the lead merges it): it is used outside shared/
 * (attach/offline.c), hence the public ms_ prefix. */
#ifndef MEMSNAP_ATOMIC_FILE_H
#define MEMSNAP_ATOMIC_FILE_H

#include "memsnap.h"

/* Writes buf to path atomically: a fresh temporary file in the same
 * directory (O_EXCL|O_NOFOLLOW, mode 0600 whatever the umask), fsync,
 * rename over path (a symlink at path is replaced, never followed), fsync
 * of the directory. what names the content in messages ("a snapshot").
 * Returns 0 or a negative ms_errcode; no temporary file is left behind. */
int ms_file_write_atomic(const char *path, const void *buf, size_t len,
			 const char *what, ms_error *err);
/* The same, reporting the "writing" (bytes) and "syncing" phases to p. */
int ms_file_write_atomic_progress(const char *path, const void *buf,
				  size_t len, const char *what,
				  const ms_progress *p, ms_error *err);

#endif /* MEMSNAP_ATOMIC_FILE_H */
