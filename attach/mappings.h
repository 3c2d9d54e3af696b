/* mappings.h - the program's own anonymous mappings (domain 1), kept as the
 * kernel keeps them.
 *
 * A block of domain 1 is what one mmap call asked for: [start, start+size).
 * The kernel maps whole pages, so munmap, a MAP_FIXED mmap or an mremap
 * may take pages out of the middle of it, off its head or its tail, or out
 * of several blocks at once. What stays mapped of a block stays in the
 * trace set with the stack that mapped it: each piece that is left is a
 * block of its own, [piece start, min(piece end, start+size)), so the bytes
 * of a block are always the bytes the program asked for that are still
 * mapped. The table (ms_table) holds the blocks; this index holds their
 * extents sorted by address, so that an unmap finds the blocks it cuts in
 * O(log n) (free() of a large chunk calls munmap: it must stay cheap). */
#ifndef MEMSNAP_MAPPINGS_H
#define MEMSNAP_MAPPINGS_H

#include "memsnap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mapping {
	uint64_t start, size;
} mapping;

typedef struct mappings {
	mapping *v;             /* sorted by start, extents disjoint */
	size_t n, cap;
} mappings;

/* The calling stack of an mmap/mremap, as ms_table_alloc takes it. */
typedef struct mapping_stack {
	const uint64_t *pcs;
	uint32_t npcs, total;
} mapping_stack;

/* Forget every block (the table was cleared: exec) and free the index. */
void mappings_clear(mappings *s);

/* Each returns 0 or the first negative ms_errcode of the table (err
 * filled); the index and the table stay consistent either way. */

/* mmap returned addr for len bytes: whatever was mapped there is gone
 * (MAP_FIXED); anon: the new mapping is a block of domain 1. */
int mappings_mmap(mappings *s, ms_table *t, uint64_t addr, uint64_t len,
		  bool anon, const mapping_stack *st, ms_error *err);
/* munmap(addr, len) returned 0. */
int mappings_munmap(mappings *s, ms_table *t, uint64_t addr, uint64_t len,
		    ms_error *err);
/* mremap(old, old_size, new_size, flags, ...) returned addr. A block
 * moved or resized whole keeps being one block, with the stack of the
 * mremap (as realloc gives its block realloc's stack); a part of a block
 * (or several blocks) remapped becomes a new block with that stack, and
 * the pieces left keep theirs. A range mapped by no known block stays
 * unknown. */
int mappings_mremap(mappings *s, ms_table *t, uint64_t old,
		    uint64_t old_size, uint64_t new_size, uint64_t flags,
		    uint64_t addr, const mapping_stack *st, ms_error *err);

#endif /* MEMSNAP_MAPPINGS_H */
