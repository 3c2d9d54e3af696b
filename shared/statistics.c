/* statistics.c - tracemalloc's Snapshot.statistics() and compare_to().
 *
 * The work is done on ids, never on traces one by one past the first pass:
 *  1. sizes and counts are summed per traceback id (one pass over traces);
 *  2. the frames those tracebacks use are listed once each, in the order
 *     traces meet them, and each is mapped to a "unit", the identity of one
 *     frame of a key ((filename, lineno) for 'lineno', (filename, 0) for
 *     'filename', ...). Strings are interned by content in the result's own
 *     string pool once per snapshot string, so units are integer triples
 *     and units of two snapshots compare by id; the frame and hash reads
 *     are prefetched a few frames ahead, as they miss the cache;
 *  3. each traceback is mapped to its key: a sequence of units in a hash
 *     ('traceback'), or the unit itself, remembered in it (other types);
 *  4. the few distinct strings are ranked with strcmp once, so that units
 *     compare as integers; rows are radix-sorted on their first sort key
 *     and only ties compare the rest and then the keys' units.
 * Arrays of several MiB ask for transparent huge pages (big_array). */
#include "config.h"
#include "memsnapP.h"

#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ms_stats {
	bool is_diff;
	ms__strpool strings;   /* frozen once the frames point into it */
	ms_stat *stats;
	size_t count;
	ms_frame *frames;
};

/* ------------------------------------------------------------ key types */

static const char *const group_names[] = {
	[MS_GROUP_FILENAME] = "filename",
	[MS_GROUP_LINENO] = "lineno",
	[MS_GROUP_TRACEBACK] = "traceback",
	[MS_GROUP_FUNCTION] = "function",
	[MS_GROUP_MODULE] = "module",
};
#define NGROUPS (sizeof(group_names) / sizeof(group_names[0]))

/* Python's repr() of a str, so that messages read as tracemalloc's. */
static void py_repr(char *out, size_t len, const char *s)
{
	char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	size_t o = 0;

	/* room for the longest escape, the closing quote and the NUL */
	if (len < 8)
		goto done;
	out[o++] = quote;
	for (const unsigned char *p = (const unsigned char *)s;
	     *p && o + 6 < len; p++) {
		if (*p == '\\' || *p == (unsigned char)quote)
			o += (size_t)snprintf(out + o, len - o, "\\%c", *p);
		else if (*p == '\n')
			o += (size_t)snprintf(out + o, len - o, "\\n");
		else if (*p == '\r')
			o += (size_t)snprintf(out + o, len - o, "\\r");
		else if (*p == '\t')
			o += (size_t)snprintf(out + o, len - o, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o++] = quote;
done:
	out[len ? (o < len ? o : len - 1) : 0] = '\0';
}

int ms_group_by_parse(const char *name, ms_group_by *out, ms_error *err)
{
	char repr[128];

	for (size_t i = 0; name && i < NGROUPS; i++) {
		if (strcmp(name, group_names[i]) == 0) {
			if (out)
				*out = (ms_group_by)i;
			return 0;
		}
	}
	if (!name)
		return ms__fail(err, MS_EKEYTYPE, "unknown key_type: None");
	py_repr(repr, sizeof(repr), name);
	return ms__fail(err, MS_EKEYTYPE, "unknown key_type: %s", repr);
}

const char *ms_group_by_name(ms_group_by g)
{
	if ((unsigned)g >= NGROUPS)
		return "unknown";
	return group_names[g];
}

/* Snapshot._group_by's checks, with its messages ("by" is tracemalloc's). */
static int check_key_type(ms_group_by g, bool cumulative, ms_error *err)
{
	if ((unsigned)g >= NGROUPS)
		return ms__fail(err, MS_EKEYTYPE, "unknown key_type: %d", (int)g);
	if (cumulative && g == MS_GROUP_TRACEBACK)
		return ms__fail(err, MS_ECUMULATIVE,
				"cumulative mode cannot by used with key type "
				"'traceback'");
	return 0;
}

/* ------------------------------------------------------------ memory */

enum { HUGE_PAGE = 2u << 20, PAGE = 4096 };

/* An array of n elements, most of which will be touched. From a few MiB
 * up (the frames of compare_to('traceback') on 2 x 20,000 tracebacks take
 * 22 MiB) faulting it in 4 KiB pages costs more than the writes, so its
 * pages are offered to transparent huge pages; where the kernel does not
 * use them nothing changes. It stays a plain malloc() block, so that the
 * allocator can hand the same memory to the next call without the kernel
 * clearing it again. */
static void *big_array(size_t n, size_t size, bool zero)
{
	size_t bytes;
	void *p;
	uintptr_t start, end;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	p = zero ? ms__calloc_array(n, size) : ms__malloc_array(n, size);
	if (!p || bytes < HUGE_PAGE)
		return p;
	start = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	end = ((uintptr_t)p + bytes) & ~(uintptr_t)(PAGE - 1);
	(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
	return p;
}

/* ms__grow for the first, presized allocation of a big array. */
static int big_reserve(void **p, size_t *cap, size_t need, size_t size)
{
	void *np;

	if (*cap >= need)
		return 0;
	if (*cap)
		return ms__grow(p, cap, need, size);
	np = big_array(need, size, false);
	if (!np)
		return -MS_ENOMEM;
	*p = np;
	*cap = need;
	return 0;
}

/* ------------------------------------------------------------ grouping */

/* One frame of a key. The identity is (filename, lineno, ident_function);
 * the other fields come from the first frame met with that identity. */
typedef struct unit {
	uint32_t filename, lineno, ident_function;
	uint32_t function, module, build_id;  /* string ids, 0 = none */
	uint64_t address, offset;
	uint32_t key;            /* its one-unit key + 1, 0 = none yet */
	uint32_t function_rank;  /* rank of ident_function (rank_units) */
	uint64_t rank;           /* filename rank << 32 | lineno (rank_units) */
} unit;

typedef struct key {
	uint32_t first, n;      /* units in key_units, oldest first */
	uint64_t size[2], count[2];  /* [0] new (or only), [1] old */
	uint64_t stamp;         /* last traceback counted (cumulative) */
} key;

/* Units by identity: open addressing of slots that hold the identity, so
 * that a probe reads one slot and not the unit it names. */
typedef struct unit_slot {
	uint32_t filename, lineno, ident_function;
	uint32_t id;            /* unit + 1, 0 = empty */
} unit_slot;

typedef struct unit_index {
	unit_slot *slots;
	size_t cap, count;
} unit_index;

/* Keys by content: open addressing of ids + 1 (0 = empty), the hash in
 * the same slot so that a probe reads one slot. */
typedef struct id_slot {
	uint64_t hash;
	uint32_t id;
} id_slot;

typedef struct id_index {
	id_slot *slots;
	size_t cap, count;
} id_index;

typedef struct grouper {
	ms_group_by g;
	bool cumulative;
	bool single;            /* every key is one unit: no key hash needed */
	ms__strpool strings;
	unit *units;
	size_t nunits, units_cap;
	unit_index unit_index;
	key *keys;
	size_t nkeys, keys_cap;
	uint32_t *key_units;
	size_t nkey_units, key_units_cap;
	id_index key_index;
	uint32_t unknown_unit;  /* UINT32_MAX until a traceback has no frame */
	uint32_t *scratch;
	size_t scratch_cap;
	uint64_t stamp;
} grouper;

typedef struct tb_total {
	uint64_t size, count;
} tb_total;

/* Per-snapshot memo of the mapping into the grouper. */
typedef struct side {
	const ms_snapshot *s;
	int which;              /* 0 new, 1 old */
	uint32_t *string_map;   /* snapshot string id -> pool id + 1 */
	uint32_t *frame_unit;   /* frame id -> unit + 1 */
	tb_total *tb;           /* per traceback id */
	uint32_t *order;        /* traceback ids in the order traces meet them */
	size_t norder;
	uint32_t *new_frames;   /* frame ids in the order tracebacks meet them */
	size_t nnew_frames;
} side;

/* Room for need more slots at a load of at most 1/2 in an open-addressing
 * table of *cap slots of size bytes (a power of two, linear probing), count
 * of them used: a used slot has a non-zero uint32_t at id_offset, and
 * hash_of gives the hash that placed it. Inline so that each table gets
 * its own copy with hash_of inlined. */
static inline int slots_reserve(void **slots, size_t *cap, size_t count,
				size_t need, size_t size, size_t id_offset,
				uint64_t (*hash_of)(const void *slot))
{
	size_t ncap = *cap ? *cap : 1024;
	char *ns;

	if (need > SIZE_MAX / 8 - count)
		return -MS_ENOMEM;
	if ((count + need) * 2 <= *cap)
		return 0;
	while (ncap < (count + need) * 2)
		ncap *= 2;
	ns = big_array(ncap, size, true);
	if (!ns)
		return -MS_ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		const char *o = (const char *)*slots + i * size;
		uint32_t id;
		size_t j;

		memcpy(&id, o + id_offset, sizeof(id));
		if (!id)
			continue;
		j = hash_of(o) & (ncap - 1);
		for (;;) {
			memcpy(&id, ns + j * size + id_offset, sizeof(id));
			if (!id)
				break;
			j = (j + 1) & (ncap - 1);
		}
		memcpy(ns + j * size, o, size);
	}
	free(*slots);
	*slots = ns;
	*cap = ncap;
	return 0;
}

static void index_destroy(id_index *x)
{
	free(x->slots);
}

static uint64_t id_slot_hash(const void *slot)
{
	return ((const id_slot *)slot)->hash;
}

/* Room for need more ids at a load of at most 1/2. */
static int index_reserve(id_index *x, size_t need)
{
	return slots_reserve((void **)&x->slots, &x->cap, x->count, need,
			     sizeof(id_slot), offsetof(id_slot, id),
			     id_slot_hash);
}

static void index_put(id_index *x, size_t slot, uint64_t h, uint32_t id)
{
	x->slots[slot].hash = h;
	x->slots[slot].id = id + 1;
	x->count++;
}

static int64_t intern(grouper *gr, const char *s, ms_error *err)
{
	return ms__strpool_intern(&gr->strings, s, strlen(s), err);
}

/* A snapshot string id as a pool id: strings are interned by content once
 * per snapshot and string, so that units of two snapshots compare by id. */
static int64_t map_string(grouper *gr, side *sd, uint32_t sid, ms_error *err)
{
	int64_t id;

	if (sd->string_map[sid])
		return sd->string_map[sid] - 1;
	id = intern(gr, ms__strpool_get(&sd->s->strings, sid), err);
	if (id >= 0)
		sd->string_map[sid] = (uint32_t)id + 1;
	return id;
}

static uint64_t unit_hash(uint32_t filename, uint32_t lineno,
			  uint32_t ident_function)
{
	return ms__hash64(((uint64_t)filename << 32 | lineno) ^
			  ms__hash64(ident_function + UINT64_C(0x9e37)));
}

static void unit_index_destroy(unit_index *x)
{
	free(x->slots);
}

static uint64_t unit_slot_hash(const void *slot)
{
	const unit_slot *o = slot;

	return unit_hash(o->filename, o->lineno, o->ident_function);
}

/* Room for need more units at a load of at most 1/2. */
static int unit_index_reserve(unit_index *x, size_t need)
{
	return slots_reserve((void **)&x->slots, &x->cap, x->count, need,
			     sizeof(unit_slot), offsetof(unit_slot, id),
			     unit_slot_hash);
}

static uint64_t unit_hash_of(const unit *u)
{
	return unit_hash(u->filename, u->lineno, u->ident_function);
}

/* The unit of u's identity (h its unit_hash), adding u when it is new. */
static int64_t unit_get_hashed(grouper *gr, const unit *u, uint64_t h,
			       ms_error *err)
{
	unit_index *x = &gr->unit_index;
	size_t i;

	if (unit_index_reserve(x, 1) < 0)
		return ms__nomem(err, "grouping statistics");
	i = h & (x->cap - 1);
	for (; x->slots[i].id; i = (i + 1) & (x->cap - 1)) {
		const unit_slot *o = &x->slots[i];

		if (o->filename == u->filename && o->lineno == u->lineno &&
		    o->ident_function == u->ident_function)
			return o->id - 1;
	}
	if (gr->nunits >= UINT32_MAX - 1 ||
	    ms__grow((void **)&gr->units, &gr->units_cap, gr->nunits + 1,
		     sizeof(*gr->units)) < 0)
		return ms__nomem(err, "grouping statistics");
	gr->units[gr->nunits] = *u;
	x->slots[i] = (unit_slot){ u->filename, u->lineno, u->ident_function,
				   (uint32_t)gr->nunits + 1 };
	x->count++;
	return (int64_t)gr->nunits++;
}

static int64_t unit_get(grouper *gr, const unit *u, ms_error *err)
{
	return unit_get_hashed(gr, u, unit_hash_of(u), err);
}

static int64_t unknown_unit(grouper *gr, ms_error *err)
{
	unit u;
	int64_t fn, id;

	if (gr->unknown_unit != UINT32_MAX)
		return gr->unknown_unit;
	memset(&u, 0, sizeof(u));
	fn = intern(gr, "<unknown>", err);
	if (fn < 0)
		return fn;
	u.filename = (uint32_t)fn;
	if (gr->g == MS_GROUP_FUNCTION) {
		int64_t q = intern(gr, "??", err);

		if (q < 0)
			return q;
		u.function = u.ident_function = (uint32_t)q;
	}
	id = unit_get(gr, &u, err);
	if (id >= 0)
		gr->unknown_unit = (uint32_t)id;
	return id;
}

/* The unit a snapshot frame stands for under the grouper's key type:
 * its identity and the attributes it gives the unit if it is the first. */
static int frame_identity(grouper *gr, side *sd, uint32_t frame_id, unit *out,
			  ms_error *err)
{
	const ms_snapshot *s = sd->s;
	const ms__frame *fr = &s->frames[frame_id];
	const ms__module *m =
		fr->module < s->nmodules ? &s->modules[fr->module] : NULL;
	int64_t fn, mod = 0, bid = 0, func = 0;
	unit u;

	memset(&u, 0, sizeof(u));
	fn = map_string(gr, sd, fr->filename, err);
	if (fn >= 0 && m)
		mod = map_string(gr, sd, m->path, err);
	if (fn >= 0 && mod >= 0 && m && m->build_id)
		bid = map_string(gr, sd, m->build_id, err);
	if (fn >= 0 && mod >= 0 && bid >= 0 && fr->function)
		func = map_string(gr, sd, fr->function, err);
	if (fn < 0 || mod < 0 || bid < 0 || func < 0)
		return ms__nomem(err, "grouping statistics");
	u.filename = (uint32_t)fn;
	u.module = (uint32_t)mod;
	u.build_id = (uint32_t)bid;
	switch (gr->g) {
	case MS_GROUP_LINENO:
	case MS_GROUP_TRACEBACK:
		u.lineno = fr->lineno;
		u.function = (uint32_t)func;
		u.address = fr->address;
		u.offset = m && fr->address ? fr->address - m->bias : 0;
		/* Without line information every frame of a module is
		 * (module path, 0): its offset in the module stands for the
		 * line, or a stripped program's call sites would be one
		 * location and its tracebacks one frame repeated. */
		if (!fr->lineno && m && fr->address) {
			char off[32];
			int64_t id;

			snprintf(off, sizeof(off), "+0x%016" PRIx64,
				 u.offset);
			if ((id = intern(gr, off, err)) < 0)
				return (int)id;
			u.ident_function = (uint32_t)id;
		}
		break;
	case MS_GROUP_FILENAME:
		break;
	case MS_GROUP_FUNCTION:
		if (!fr->function) {
			func = intern(gr, "??", err);
			if (func < 0)
				return (int)func;
		}
		u.function = u.ident_function = (uint32_t)func;
		break;
	case MS_GROUP_MODULE:
		/* no module: the frame's file stands for it (it is the module
		 * path when there is no debug information) */
		if (m)
			u.filename = (uint32_t)mod;
		break;
	}
	*out = u;
	return 0;
}

/* How far ahead resolve_frames() and export_frames() read: enough misses
 * in flight to hide memory latency, few enough to stay in L1. */
enum { AHEAD = 8, RING = 2 * AHEAD, AHEAD_KEYS = 2 };

/* In frame_unit: listed, not resolved yet. In a frame list: the unit of
 * the empty traceback, there. */
#define PENDING UINT32_MAX

/* Units for the frames listed, in list order (the order traces meet them,
 * so that a unit takes the attributes of the first frame met). Each new
 * frame costs a random read of the frame and one of the unit hash; they
 * are prefetched AHEAD frames early so that the misses overlap. */
static int resolve_frames(grouper *gr, side *sd, const uint32_t *list,
			  size_t n, ms_error *err)
{
	const ms_snapshot *s = sd->s;
	unit ring[RING];
	uint64_t hash[RING];

	for (size_t i = 0; i < n + AHEAD; i++) {
		if (i + 2 * AHEAD < n && list[i + 2 * AHEAD] != PENDING)
			__builtin_prefetch(&s->frames[list[i + 2 * AHEAD]]);
		if (i < n && list[i] != PENDING) {
			unit *u = &ring[i % RING];

			if (frame_identity(gr, sd, list[i], u, err) < 0)
				return -MS_ENOMEM;
			hash[i % RING] = unit_hash_of(u);
			__builtin_prefetch(&gr->unit_index.slots[
				hash[i % RING] & (gr->unit_index.cap - 1)]);
		}
		if (i >= AHEAD) {
			size_t j = i - AHEAD;
			int64_t id = list[j] == PENDING
					     ? unknown_unit(gr, err)
					     : unit_get_hashed(gr, &ring[j % RING],
							       hash[j % RING], err);

			if (id < 0)
				return (int)id;
			if (list[j] != PENDING)
				sd->frame_unit[list[j]] = (uint32_t)id + 1;
		}
	}
	return 0;
}

/* A new key of n units (oldest first), not indexed. */
static int64_t key_append(grouper *gr, const uint32_t *units, uint32_t n,
			  ms_error *err)
{
	key *k;

	if (gr->nkeys >= UINT32_MAX - 1 ||
	    gr->nkey_units + n > UINT32_MAX ||
	    ms__grow((void **)&gr->keys, &gr->keys_cap, gr->nkeys + 1,
		     sizeof(*gr->keys)) < 0 ||
	    ms__grow((void **)&gr->key_units, &gr->key_units_cap,
		     gr->nkey_units + n, sizeof(*gr->key_units)) < 0)
		return ms__nomem(err, "grouping statistics");
	memcpy(gr->key_units + gr->nkey_units, units, n * sizeof(*units));
	k = &gr->keys[gr->nkeys];
	memset(k, 0, sizeof(*k));
	k->first = (uint32_t)gr->nkey_units;
	k->n = n;
	gr->nkey_units += n;
	return (int64_t)gr->nkeys++;
}

/* The key of a unit sequence (oldest first), adding it when new. */
static int64_t key_get(grouper *gr, const uint32_t *units, uint32_t n,
		       ms_error *err)
{
	uint64_t h = ms__hash_bytes(units, n * sizeof(*units), n);
	size_t i;
	int64_t id;

	if (index_reserve(&gr->key_index, 1) < 0)
		return ms__nomem(err, "grouping statistics");
	i = h & (gr->key_index.cap - 1);
	while (gr->key_index.slots[i].id) {
		uint32_t o_id = gr->key_index.slots[i].id - 1;
		const key *o = &gr->keys[o_id];

		if (gr->key_index.slots[i].hash == h && o->n == n &&
		    memcmp(gr->key_units + o->first, units,
			   n * sizeof(*units)) == 0)
			return o_id;
		i = (i + 1) & (gr->key_index.cap - 1);
	}
	id = key_append(gr, units, n, err);
	if (id >= 0)
		index_put(&gr->key_index, i, h, (uint32_t)id);
	return id;
}

/* The one-unit key of unit u: remembered in the unit, no hashing. */
static int64_t unit_key(grouper *gr, uint32_t u, ms_error *err)
{
	int64_t k;

	if (gr->units[u].key)
		return gr->units[u].key - 1;
	k = key_append(gr, &u, 1, err);
	if (k >= 0)
		gr->units[u].key = (uint32_t)k + 1;
	return k;
}

/* Pass 1: totals per traceback id, and the order traces meet tracebacks
 * in, so that the first trace met gives a key its frames. */
static int sum_tracebacks(side *sd, ms_error *err)
{
	const ms_snapshot *s = sd->s;
	const ms__trace *t = s->traces;
	tb_total *tb = sd->tb;

	for (size_t i = 0; i < s->ntraces; i++) {
		tb_total *x;

		if (t[i].traceback >= s->ntracebacks)
			return ms__fail(err, MS_ECORRUPT,
					"trace %zu refers to traceback %u of %zu",
					i, t[i].traceback, s->ntracebacks);
		x = &tb[t[i].traceback];
		if (!x->count)
			sd->order[sd->norder++] = t[i].traceback;
		x->size += t[i].size;
		x->count++;
	}
	return 0;
}

static void key_add(grouper *gr, uint32_t k, int which, const tb_total *t)
{
	gr->keys[k].size[which] += t->size;
	gr->keys[k].count[which] += t->count;
}

static int group_traceback(grouper *gr, side *sd, uint32_t tb_id,
			   ms_error *err)
{
	const ms_snapshot *s = sd->s;
	const ms__traceback *tb = &s->tracebacks[tb_id];
	const uint32_t *frames = s->tb_frames + tb->first;
	const tb_total *total = &sd->tb[tb_id];
	uint32_t n = tb->nframe;
	int64_t u, k;

	if (n == 0) {
		/* tracemalloc never has an empty traceback: its C side
		 * stores (("<unknown>", 0),) instead, so do we */
		u = unknown_unit(gr, err);
		if (u < 0)
			return (int)u;
		k = gr->single ? unit_key(gr, (uint32_t)u, err)
			       : key_get(gr, (const uint32_t[]){ (uint32_t)u },
					 1, err);
		if (k < 0)
			return (int)k;
		key_add(gr, (uint32_t)k, sd->which, total);
		return 0;
	}
	if (gr->cumulative) {
		gr->stamp++;
		for (uint32_t i = 0; i < n; i++) {
			k = unit_key(gr, sd->frame_unit[frames[i]] - 1, err);
			if (k < 0)
				return (int)k;
			/* Deviation from tracemalloc, on purpose: a key met
			 * twice in one traceback (recursion) counts once for
			 * the trace, where tracemalloc counts it at every
			 * frame and so can report more than 100%. */
			if (gr->keys[k].stamp == gr->stamp)
				continue;
			gr->keys[k].stamp = gr->stamp;
			key_add(gr, (uint32_t)k, sd->which, total);
		}
		return 0;
	}
	if (gr->single) {
		/* the most recent frame alone */
		k = unit_key(gr, sd->frame_unit[frames[0]] - 1, err);
		if (k < 0)
			return (int)k;
		key_add(gr, (uint32_t)k, sd->which, total);
		return 0;
	}
	if (ms__grow((void **)&gr->scratch, &gr->scratch_cap, n,
		     sizeof(*gr->scratch)) < 0)
		return ms__nomem(err, "grouping statistics");
	for (uint32_t i = 0; i < n; i++)  /* oldest first */
		gr->scratch[n - 1 - i] = sd->frame_unit[frames[i]] - 1;
	k = key_get(gr, gr->scratch, n, err);
	if (k < 0)
		return (int)k;
	key_add(gr, (uint32_t)k, sd->which, total);
	return 0;
}

static void side_destroy(side *sd)
{
	free(sd->string_map);
	free(sd->frame_unit);
	free(sd->tb);
	free(sd->order);
	free(sd->new_frames);
}

/* Pass 2: the frames the keys need, each once, in the order the tracebacks
 * of pass 1 meet them (most recent frame first, as before). */
static void list_frames(grouper *gr, side *sd)
{
	const ms_snapshot *s = sd->s;
	bool unknown_listed = gr->unknown_unit != UINT32_MAX;

	for (size_t t = 0; t < sd->norder; t++) {
		const ms__traceback *tb = &s->tracebacks[sd->order[t]];
		const uint32_t *frames = s->tb_frames + tb->first;
		uint32_t n = gr->single && !gr->cumulative && tb->nframe
				     ? 1 : tb->nframe;

		if (!tb->nframe && !unknown_listed) {
			sd->new_frames[sd->nnew_frames++] = PENDING;
			unknown_listed = true;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (sd->frame_unit[frames[i]])
				continue;
			sd->frame_unit[frames[i]] = PENDING;
			sd->new_frames[sd->nnew_frames++] = frames[i];
		}
	}
}

/* Sizes the hashes and arrays once for what the snapshots can add at most,
 * instead of growing them step by step while grouping. The unit hash is
 * sized for the larger snapshot: two snapshots share most of their units. */
static int grouper_reserve(grouper *gr, const ms_snapshot *const *snaps,
			   size_t nsnaps, ms_error *err)
{
	size_t units = 1, max_units = 1, tracebacks = 1, tb_frames = 1;

	for (size_t i = 0; i < nsnaps; i++) {
		const ms_snapshot *s = snaps[i];
		size_t n = s->nframes < s->ntb_frames ? s->nframes
						      : s->ntb_frames;

		if (gr->single && !gr->cumulative && s->ntracebacks < n)
			n = s->ntracebacks;
		units += n;
		max_units = n + 1 > max_units ? n + 1 : max_units;
		tracebacks += s->ntracebacks;
		tb_frames += s->ntb_frames;
	}
	if (unit_index_reserve(&gr->unit_index, max_units) < 0 ||
	    big_reserve((void **)&gr->units, &gr->units_cap, units,
			sizeof(*gr->units)) < 0 ||
	    big_reserve((void **)&gr->keys, &gr->keys_cap,
			gr->single ? units : tracebacks, sizeof(*gr->keys)) < 0)
		return ms__nomem(err, "grouping statistics");
	if (gr->single)
		return 0;
	if (index_reserve(&gr->key_index, tracebacks) < 0 ||
	    big_reserve((void **)&gr->key_units, &gr->key_units_cap, tb_frames,
			sizeof(*gr->key_units)) < 0)
		return ms__nomem(err, "grouping statistics");
	return 0;
}

static int group_snapshot(grouper *gr, const ms_snapshot *s, int which,
			  ms_error *err)
{
	side sd;
	int rc = 0;

	memset(&sd, 0, sizeof(sd));
	sd.s = s;
	sd.which = which;
	sd.string_map = ms__calloc_array(s->strings.count,
					 sizeof(*sd.string_map));
	sd.frame_unit = ms__calloc_array(s->nframes, sizeof(*sd.frame_unit));
	sd.tb = ms__calloc_array(s->ntracebacks, sizeof(*sd.tb));
	sd.order = ms__malloc_array(s->ntracebacks, sizeof(*sd.order));
	sd.new_frames = ms__malloc_array(s->nframes + 1,
					 sizeof(*sd.new_frames));
	if ((s->strings.count && !sd.string_map) ||
	    (s->nframes && !sd.frame_unit) || (s->ntracebacks && !sd.tb) ||
	    (s->ntracebacks && !sd.order) || !sd.new_frames)
		rc = ms__nomem(err, "grouping statistics");
	if (rc == 0)
		rc = sum_tracebacks(&sd, err);
	if (rc == 0) {
		list_frames(gr, &sd);
		rc = resolve_frames(gr, &sd, sd.new_frames, sd.nnew_frames,
				    err);
	}
	for (size_t i = 0; i < sd.norder && rc == 0; i++)
		rc = group_traceback(gr, &sd, sd.order[i], err);
	side_destroy(&sd);
	return rc;
}

/* ------------------------------------------------------------ ordering */

static int string_cmp(const void *pa, const void *pb, void *arg)
{
	const ms__strpool *pool = arg;

	return strcmp(ms__strpool_get(pool, *(const uint32_t *)pa),
		      ms__strpool_get(pool, *(const uint32_t *)pb));
}

/* Python orders frames as (filename, lineno) tuples. Ranking the few
 * distinct strings once with strcmp lets every later comparison of units
 * be one of integers. tracemalloc has no function keys; the function name
 * breaks the tie of two functions of one file so that the order stays
 * total. */
static int rank_units(grouper *gr, ms_error *err)
{
	size_t nstrings = gr->strings.count, nused = 0;
	uint32_t *rank = ms__calloc_array(nstrings, sizeof(*rank));
	uint32_t *ids = ms__malloc_array(nstrings, sizeof(*ids));

	if (!rank || !ids) {
		free(rank);
		free(ids);
		return ms__nomem(err, "sorting statistics");
	}
	for (size_t i = 0; i < gr->nunits; i++) {
		const unit *u = &gr->units[i];

		if (!rank[u->filename]) {
			rank[u->filename] = 1;
			ids[nused++] = u->filename;
		}
		if (!rank[u->ident_function]) {
			rank[u->ident_function] = 1;
			ids[nused++] = u->ident_function;
		}
	}
	qsort_r(ids, nused, sizeof(*ids), string_cmp, &gr->strings);
	for (size_t i = 0; i < nused; i++)
		rank[ids[i]] = (uint32_t)i;
	for (size_t i = 0; i < gr->nunits; i++) {
		unit *u = &gr->units[i];

		u->rank = (uint64_t)rank[u->filename] << 32 | u->lineno;
		u->function_rank = rank[u->ident_function];
	}
	free(rank);
	free(ids);
	return 0;
}

/* The sort key of a result row, descending: (size, count) for statistics,
 * (|size_diff|, size, |count_diff|, count) for compare, then the key. */
typedef struct entry {
	uint64_t k[4];
	uint32_t key;
} entry;

static uint64_t abs64(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

static int unit_cmp(const unit *a, const unit *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->function_rank != b->function_rank)
		return a->function_rank < b->function_rank ? -1 : 1;
	return 0;
}

/* Traceback.__lt__: tuples of frames, oldest first; a prefix is smaller. */
static int key_cmp(const grouper *gr, uint32_t ka, uint32_t kb)
{
	const key *a = &gr->keys[ka], *b = &gr->keys[kb];
	uint32_t n = a->n < b->n ? a->n : b->n;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t ua = gr->key_units[a->first + i];
		uint32_t ub = gr->key_units[b->first + i];
		int c;

		if (ua != ub &&
		    (c = unit_cmp(&gr->units[ua], &gr->units[ub])) != 0)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

/* Whether a sorts before b (the greater tracemalloc sort key first). */
static inline bool entry_before(const entry *a, const entry *b,
				const grouper *gr)
{
	for (int i = 0; i < 4; i++)
		if (a->k[i] != b->k[i])
			return a->k[i] > b->k[i];
	return key_cmp(gr, a->key, b->key) > 0;
}

/* Merge sort with the comparison inlined: the row keys are integers, and
 * tracebacks are compared only when they tie. */
static void sort_entries(entry *a, entry *tmp, size_t n, const grouper *gr)
{
	size_t h = n / 2, i = 0, j = h, o = 0;

	if (n <= 16) {
		for (size_t x = 1; x < n; x++) {
			entry e = a[x];
			size_t y = x;

			for (; y > 0 && entry_before(&e, &a[y - 1], gr); y--)
				a[y] = a[y - 1];
			a[y] = e;
		}
		return;
	}
	sort_entries(a, tmp, h, gr);
	sort_entries(a + h, tmp, n - h, gr);
	if (!entry_before(&a[h], &a[h - 1], gr))
		return;
	memcpy(tmp, a, h * sizeof(*a));
	while (i < h && j < n)
		a[o++] = entry_before(&a[j], &tmp[i], gr) ? a[j++] : tmp[i++];
	while (i < h)
		a[o++] = tmp[i++];
}

/* The rows by their first sort key (size, or |size_diff|), descending: a
 * radix sort, one pass per byte in which the keys differ; then each run of
 * equal first keys by the whole comparison. tmp holds n entries. */
static void sort_rows(entry *a, entry *tmp, size_t n, const grouper *gr)
{
	size_t count[8][256];
	entry *src = a, *dst = tmp;
	size_t run;

	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 8; d++)
			count[d][255 - ((a[i].k[0] >> (8 * d)) & 255)]++;
	for (int d = 0; d < 8; d++) {
		size_t pos = 0;
		bool trivial = false;

		for (int b = 0; b < 256 && !trivial; b++)
			trivial = count[d][b] == n;
		if (trivial)
			continue;
		for (int b = 0; b < 256; b++) {
			size_t c = count[d][b];

			count[d][b] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[d][255 - ((src[i].k[0] >> (8 * d)) & 255)]++] =
				src[i];
		src = dst;
		dst = src == a ? tmp : a;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	for (size_t i = 0; i < n; i += run) {
		for (run = 1; i + run < n && a[i + run].k[0] == a[i].k[0]; run++)
			;
		if (run > 1)
			sort_entries(a + i, tmp, run, gr);
	}
}

/* ------------------------------------------------------------ result */

static void grouper_destroy(grouper *gr)
{
	ms__strpool_destroy(&gr->strings);
	free(gr->units);
	unit_index_destroy(&gr->unit_index);
	free(gr->keys);
	free(gr->key_units);
	index_destroy(&gr->key_index);
	free(gr->scratch);
}

static void export_unit(const ms__strpool *pool, const unit *u,
			ms_frame *out)
{
	out->filename = ms__strpool_get(pool, u->filename);
	out->lineno = u->lineno;
	out->function = u->function ? ms__strpool_get(pool, u->function) : NULL;
	out->module = u->module ? ms__strpool_get(pool, u->module) : NULL;
	out->build_id = u->build_id ? ms__strpool_get(pool, u->build_id) : NULL;
	out->address = u->address;
	out->offset = u->offset;
}

/* The frames of the result. One-unit keys point at their unit's frame, so
 * each unit is exported once. Longer keys get their frames in a row, in
 * the sorted order of the rows but written key by key in the order keys
 * were made, which is about the order of their units: the unit reads stay
 * near each other instead of jumping across all units. */
static int export_frames(grouper *gr, ms_stats *st, const entry *entries,
			 ms_error *err)
{
	uint32_t *offset;
	size_t next = 0;

	if (gr->single) {
		st->frames = big_array(gr->nunits, sizeof(*st->frames), false);
		if (!st->frames)
			return ms__nomem(err, "sorting statistics");
		for (size_t i = 0; i < gr->nunits; i++)
			export_unit(&st->strings, &gr->units[i], &st->frames[i]);
		for (size_t i = 0; i < gr->nkeys; i++) {
			const key *k = &gr->keys[entries[i].key];

			st->stats[i].frames =
				&st->frames[gr->key_units[k->first]];
		}
		return 0;
	}
	offset = ms__malloc_array(gr->nkeys, sizeof(*offset));
	st->frames = big_array(gr->nkey_units, sizeof(*st->frames), false);
	if (!offset || !st->frames) {
		free(offset);
		return ms__nomem(err, "sorting statistics");
	}
	for (size_t i = 0; i < gr->nkeys; i++) {
		offset[entries[i].key] = (uint32_t)next;
		st->stats[i].frames = st->frames + next;
		next += gr->keys[entries[i].key].n;
	}
	for (size_t i = 0; i < gr->nkeys; i++) {
		const key *k = &gr->keys[i];
		ms_frame *out = st->frames + offset[i];

		if (i + AHEAD_KEYS < gr->nkeys) {
			const key *ahead = &gr->keys[i + AHEAD_KEYS];

			for (uint32_t j = 0; j < ahead->n; j++)
				__builtin_prefetch(&gr->units[
					gr->key_units[ahead->first + j]]);
		}
		for (uint32_t j = 0; j < k->n; j++)
			export_unit(&st->strings,
				    &gr->units[gr->key_units[k->first + j]],
				    &out[j]);
	}
	free(offset);
	return 0;
}

/* Sorts the keys and moves the grouper's strings into the result. */
static ms_stats *make_stats(grouper *gr, bool diff, ms_error *err)
{
	ms_stats *st = calloc(1, sizeof(*st));
	entry *entries = NULL, *tmp = NULL;

	if (!st)
		goto nomem;
	if (rank_units(gr, err) < 0)
		goto fail;
	entries = big_array(gr->nkeys, sizeof(*entries), false);
	tmp = big_array(gr->nkeys + 1, sizeof(*tmp), false);
	st->stats = big_array(gr->nkeys, sizeof(*st->stats), false);
	if (!entries || !tmp || !st->stats)
		goto nomem;
	for (size_t i = 0; i < gr->nkeys; i++) {
		const key *k = &gr->keys[i];
		entry *e = &entries[i];

		if (diff) {
			e->k[0] = abs64((int64_t)(k->size[0] - k->size[1]));
			e->k[1] = k->size[0];
			e->k[2] = abs64((int64_t)(k->count[0] - k->count[1]));
			e->k[3] = k->count[0];
		} else {
			e->k[0] = k->size[0];
			e->k[1] = k->count[0];
			e->k[2] = e->k[3] = 0;
		}
		e->key = (uint32_t)i;
	}
	sort_rows(entries, tmp, gr->nkeys, gr);
	/* the hashes are done with: their memory, already faulted in, can go
	 * to the frames about to be written */
	free(tmp);
	tmp = NULL;
	unit_index_destroy(&gr->unit_index);
	memset(&gr->unit_index, 0, sizeof(gr->unit_index));
	index_destroy(&gr->key_index);
	memset(&gr->key_index, 0, sizeof(gr->key_index));

	st->is_diff = diff;
	st->strings = gr->strings;
	memset(&gr->strings, 0, sizeof(gr->strings));
	ms__strpool_freeze(&st->strings);
	for (size_t i = 0; i < gr->nkeys; i++) {
		const key *k = &gr->keys[entries[i].key];
		ms_stat *o = &st->stats[i];

		o->size = k->size[0];
		o->count = k->count[0];
		o->size_diff = diff ? (int64_t)(k->size[0] - k->size[1]) : 0;
		o->count_diff = diff ? (int64_t)(k->count[0] - k->count[1]) : 0;
		o->nframe = k->n;
	}
	if (export_frames(gr, st, entries, err) < 0)
		goto fail;
	st->count = gr->nkeys;
	free(entries);
	free(tmp);
	return st;
nomem:
	ms__nomem(err, "sorting statistics");
fail:
	free(entries);
	free(tmp);
	ms_stats_free(st);
	return NULL;
}

static int grouper_init(grouper *gr, ms_group_by g, bool cumulative,
			ms_error *err)
{
	memset(gr, 0, sizeof(*gr));
	gr->g = g;
	gr->cumulative = cumulative;
	gr->single = g != MS_GROUP_TRACEBACK;
	gr->unknown_unit = UINT32_MAX;
	return ms__strpool_init(&gr->strings, err);
}

static ms_stats *group(const ms_snapshot *new_snap, const ms_snapshot *old_snap,
		       ms_group_by g, bool cumulative, ms_error *err)
{
	const ms_snapshot *snaps[2] = { new_snap, old_snap };
	grouper gr;
	ms_stats *st = NULL;

	if (check_key_type(g, cumulative, err) < 0)
		return NULL;
	if (grouper_init(&gr, g, cumulative, err) < 0) {
		ms__nomem(err, "grouping statistics");
		return NULL;
	}
	if (grouper_reserve(&gr, snaps, old_snap ? 2 : 1, err) == 0 &&
	    group_snapshot(&gr, new_snap, 0, err) == 0 &&
	    (!old_snap || group_snapshot(&gr, old_snap, 1, err) == 0))
		st = make_stats(&gr, old_snap != NULL, err);
	grouper_destroy(&gr);
	return st;
}

ms_stats *ms_snapshot_statistics(const ms_snapshot *s, ms_group_by g,
				 bool cumulative, ms_error *err)
{
	if (!s) {
		ms__fail(err, MS_EINVAL, "statistics: no snapshot given");
		return NULL;
	}
	return group(s, NULL, g, cumulative, err);
}

/* Keys only in new_snap have diff = value; keys only in old_snap have size
 * and count 0 and negative diffs (_compare_grouped_stats). */
ms_stats *ms_snapshot_compare(const ms_snapshot *new_snap,
			      const ms_snapshot *old_snap, ms_group_by g,
			      bool cumulative, ms_error *err)
{
	if (!new_snap || !old_snap) {
		ms__fail(err, MS_EINVAL, "compare: %s snapshot not given",
			 new_snap ? "old" : "new");
		return NULL;
	}
	return group(new_snap, old_snap, g, cumulative, err);
}

size_t ms_stats_count(const ms_stats *st)
{
	return st ? st->count : 0;
}

void ms_stats_get(const ms_stats *st, size_t i, ms_stat *out)
{
	if (!st || i >= st->count) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = st->stats[i];
}

bool ms_stats_is_diff(const ms_stats *st)
{
	return st && st->is_diff;
}

void ms_stats_free(ms_stats *st)
{
	if (!st)
		return;
	ms__strpool_destroy(&st->strings);
	free(st->stats);
	free(st->frames);
	free(st);
}
