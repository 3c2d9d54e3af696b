/* mappings.c - the program's anonymous mappings as the kernel keeps them
 * (see mappings.h). */
#include "config.h"

#include "mappings.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PAGE UINT64_C(4096) /* x86-64 */

static uint64_t page_up(uint64_t n)
{
	return n > UINT64_MAX - (PAGE - 1) ? UINT64_MAX & ~(PAGE - 1) :
					      (n + PAGE - 1) & ~(PAGE - 1);
}

static uint64_t extent_end(const mapping *m)
{
	return m->start + page_up(m->size);
}

/* The first block whose extent ends after addr. */
static size_t first_ending_after(const mappings *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (extent_end(&s->v[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int index_insert(mappings *s, size_t i, uint64_t start, uint64_t size,
			ms_error *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		mapping *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			err->code = MS_ENOMEM;
			strcpy(err->message, "out of memory for the mapping "
			       "index");
			return -MS_ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i].start = start;
	s->v[i].size = size;
	s->n++;
	return 0;
}

static void index_remove(mappings *s, size_t i)
{
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

static uint64_t cap_size(uint64_t size)
{
	return size > MS_SIZE_MAX ? MS_SIZE_MAX : size;
}

/* A new block at index i of the index (the caller keeps the order). */
static int add_block(mappings *s, ms_table *t, size_t i, uint64_t start,
		     uint64_t size, const mapping_stack *st, ms_error *err)
{
	int rc = ms_table_alloc(t, MS_DOMAIN_MMAP, start, cap_size(size),
				st->pcs, st->npcs, st->total, err);

	if (rc < 0)
		return rc;
	rc = index_insert(s, i, start, size, err);
	if (rc < 0)
		ms_table_free_block(t, MS_DOMAIN_MMAP, start, NULL);
	return rc;
}

/* The pages [lo, hi) are no longer mapped: every block loses them, and
 * what is left of a block on either side stays a block with its stack. */
static int cut(mappings *s, ms_table *t, uint64_t lo, uint64_t hi,
	       ms_error *err)
{
	static uint64_t pcs[MS_MAX_FRAMES];
	size_t i = first_ending_after(s, lo);
	int rc = 0;

	while (i < s->n && s->v[i].start < hi) {
		mapping m = s->v[i];
		uint64_t end = extent_end(&m);
		mapping_stack st = { pcs, 0, 0 };
		ms_block b;
		bool known = ms_table_lookup(t, MS_DOMAIN_MMAP, m.start, &b) ==
			     MS_OK;
		int r;

		if (known) {
			/* b.pcs dies with the block */
			st.npcs = b.npcs;
			st.total = b.total_nframe;
			memcpy(pcs, b.pcs, b.npcs * sizeof(*pcs));
			ms_table_free_block(t, MS_DOMAIN_MMAP, m.start, NULL);
		}
		index_remove(s, i);
		if (!known)
			continue; /* its insertion failed: nothing to split */
		if (m.start < lo) {
			r = add_block(s, t, i, m.start, lo - m.start, &st, err);
			if (r < 0 && rc == 0)
				rc = r;
			i += r == 0;
		}
		if (hi < end) {
			r = add_block(s, t, i, hi, m.start + m.size - hi, &st,
				      err);
			if (r < 0 && rc == 0)
				rc = r;
			i += r == 0;
		}
	}
	return rc;
}

/* Where a block starting at start goes (after a cut, no extent overlaps
 * it). */
static size_t insert_pos(const mappings *s, uint64_t start)
{
	return first_ending_after(s, start);
}

void mappings_clear(mappings *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int first_error(int rc, int r)
{
	return rc < 0 ? rc : r;
}

int mappings_mmap(mappings *s, ms_table *t, uint64_t addr, uint64_t len,
		  bool anon, const mapping_stack *st, ms_error *err)
{
	/* the kernel gave us pages that were free or, with MAP_FIXED,
	 * freed them: any block there is gone */
	int rc = cut(s, t, addr, addr + page_up(len), err);

	if (anon)
		rc = first_error(rc, add_block(s, t, insert_pos(s, addr),
					       addr, len, st, err));
	return rc;
}

int mappings_munmap(mappings *s, ms_table *t, uint64_t addr, uint64_t len,
		    ms_error *err)
{
	return cut(s, t, addr, addr + page_up(len), err);
}

int mappings_mremap(mappings *s, ms_table *t, uint64_t old,
		    uint64_t old_size, uint64_t new_size, uint64_t flags,
		    uint64_t addr, const mapping_stack *st, ms_error *err)
{
	uint64_t lo = old, hi = old + page_up(old_size);
	uint64_t nlo = addr, nhi = addr + page_up(new_size);
	/* old_size 0 duplicates a shared mapping: the old one stays */
	bool keep_old = (flags & MREMAP_DONTUNMAP) || old_size == 0;
	size_t i = first_ending_after(s, lo);
	bool known = i < s->n && s->v[i].start < (hi > lo ? hi : lo + 1);
	int rc;

	if (known && !keep_old && s->v[i].start == lo &&
	    extent_end(&s->v[i]) == hi) {
		/* one whole block moved or resized: realloc's semantics */
		int r;

		index_remove(s, i);
		rc = cut(s, t, nlo, nhi, err);
		r = ms_table_realloc(t, MS_DOMAIN_MMAP, lo, addr,
				     cap_size(new_size), st->pcs, st->npcs,
				     st->total, err);
		if (r == 0)
			r = index_insert(s, insert_pos(s, addr), addr,
					 new_size, err);
		return first_error(rc, r);
	}
	rc = keep_old ? 0 : cut(s, t, lo, hi, err);
	rc = first_error(rc, cut(s, t, nlo, nhi, err));
	if (known)
		rc = first_error(rc, add_block(s, t, insert_pos(s, addr), addr,
					       new_size, st, err));
	return rc;
}
