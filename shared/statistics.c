/* statistics.c - tracemalloc's Snapshot.statistics() and compare_to().
 *
 * The work is done on ids, never on traces one by one past the first pass:
 *  1. sizes and counts are summed per traceback id (one pass over traces);
 *  2. each frame is mapped once to a "unit", the identity of one frame of
 *     a key ((filename, lineno) for 'lineno', (filename, 0) for 'filename',
 *     ...), interned by content in the result's own string pool, so that
 *     units of two snapshots compare by id;
 *  3. each traceback is mapped to its key (a sequence of units) in a hash;
 *  4. units are ranked in Python's order once, so sorting keys compares
 *     integers, not strings. */
#include "config.h"
#include "memsnapP.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------ grouping */

/* One frame of a key. The identity is (filename, lineno, ident_function);
 * the other fields come from the first frame met with that identity. */
typedef struct unit {
	uint32_t filename, lineno, ident_function;
	uint32_t function, module, build_id;  /* string ids, 0 = none */
	uint64_t address, offset;
	uint32_t rank;
} unit;

typedef struct key {
	uint32_t first, n;      /* units in key_units, oldest first */
	uint64_t size[2], count[2];  /* [0] new (or only), [1] old */
	uint64_t stamp;         /* last traceback counted (cumulative) */
} key;

/* Open addressing of ids + 1 (0 = empty), with the hash kept beside. */
typedef struct id_index {
	uint64_t *hashes;
	uint32_t *ids;
	size_t cap, count;
} id_index;

typedef struct grouper {
	ms_group_by g;
	bool cumulative;
	ms__strpool strings;
	unit *units;
	size_t nunits, units_cap;
	id_index unit_index;
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

/* Per-snapshot memo of the mapping into the grouper. */
typedef struct side {
	const ms_snapshot *s;
	int which;              /* 0 new, 1 old */
	uint32_t *string_map;   /* snapshot string id -> pool id + 1 */
	uint32_t *frame_unit;   /* frame id -> unit + 1 */
	uint64_t *tb_size, *tb_count;
	uint32_t *order;        /* traceback ids in the order traces meet them */
	size_t norder;
} side;

static void index_destroy(id_index *x)
{
	free(x->hashes);
	free(x->ids);
}

static int index_reserve(id_index *x)
{
	size_t ncap;
	uint64_t *nh;
	uint32_t *ni;

	if ((x->count + 1) * 2 <= x->cap)
		return 0;
	ncap = x->cap ? x->cap * 2 : 1024;
	nh = ms__malloc_array(ncap, sizeof(*nh));
	ni = ms__calloc_array(ncap, sizeof(*ni));
	if (!nh || !ni) {
		free(nh);
		free(ni);
		return -MS_ENOMEM;
	}
	for (size_t i = 0; i < x->cap; i++) {
		size_t j;

		if (!x->ids[i])
			continue;
		j = x->hashes[i] & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		nh[j] = x->hashes[i];
		ni[j] = x->ids[i];
	}
	free(x->hashes);
	free(x->ids);
	x->hashes = nh;
	x->ids = ni;
	x->cap = ncap;
	return 0;
}

static void index_put(id_index *x, size_t slot, uint64_t h, uint32_t id)
{
	x->hashes[slot] = h;
	x->ids[slot] = id + 1;
	x->count++;
}

static int64_t intern(grouper *gr, const char *s, ms_error *err)
{
	return ms__strpool_intern(&gr->strings, s, strlen(s), err);
}

/* A snapshot string id as a pool id. */
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

static uint64_t unit_hash(const unit *u)
{
	return ms__hash64(((uint64_t)u->filename << 32 | u->lineno) ^
			  ms__hash64(u->ident_function + UINT64_C(0x9e37)));
}

/* The unit of u's identity, adding u when it is new. */
static int64_t unit_get(grouper *gr, const unit *u, ms_error *err)
{
	uint64_t h = unit_hash(u);
	size_t i;

	if (index_reserve(&gr->unit_index) < 0)
		return ms__nomem(err, "grouping statistics");
	i = h & (gr->unit_index.cap - 1);
	while (gr->unit_index.ids[i]) {
		uint32_t id = gr->unit_index.ids[i] - 1;
		const unit *o = &gr->units[id];

		if (gr->unit_index.hashes[i] == h &&
		    o->filename == u->filename && o->lineno == u->lineno &&
		    o->ident_function == u->ident_function)
			return id;
		i = (i + 1) & (gr->unit_index.cap - 1);
	}
	if (gr->nunits >= UINT32_MAX - 1 ||
	    ms__grow((void **)&gr->units, &gr->units_cap, gr->nunits + 1,
		     sizeof(*gr->units)) < 0)
		return ms__nomem(err, "grouping statistics");
	gr->units[gr->nunits] = *u;
	index_put(&gr->unit_index, i, h, (uint32_t)gr->nunits);
	return (int64_t)gr->nunits++;
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

/* The unit of a snapshot frame under the grouper's key type. */
static int64_t frame_unit(grouper *gr, side *sd, uint32_t frame_id,
			  ms_error *err)
{
	const ms_snapshot *s = sd->s;
	const ms__frame *fr = &s->frames[frame_id];
	const ms__module *m =
		fr->module < s->nmodules ? &s->modules[fr->module] : NULL;
	int64_t fn, mod = 0, bid = 0, func = 0, id;
	unit u;

	if (sd->frame_unit[frame_id])
		return sd->frame_unit[frame_id] - 1;
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
		break;
	case MS_GROUP_FILENAME:
		break;
	case MS_GROUP_FUNCTION:
		if (!fr->function) {
			func = intern(gr, "??", err);
			if (func < 0)
				return func;
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
	id = unit_get(gr, &u, err);
	if (id >= 0)
		sd->frame_unit[frame_id] = (uint32_t)id + 1;
	return id;
}

/* The key of a unit sequence (oldest first), adding it when new. */
static int64_t key_get(grouper *gr, const uint32_t *units, uint32_t n,
		       ms_error *err)
{
	uint64_t h = ms__hash_bytes(units, n * sizeof(*units), n);
	size_t i;
	key *k;

	if (index_reserve(&gr->key_index) < 0)
		return ms__nomem(err, "grouping statistics");
	i = h & (gr->key_index.cap - 1);
	while (gr->key_index.ids[i]) {
		uint32_t id = gr->key_index.ids[i] - 1;
		const key *o = &gr->keys[id];

		if (gr->key_index.hashes[i] == h && o->n == n &&
		    memcmp(gr->key_units + o->first, units,
			   n * sizeof(*units)) == 0)
			return id;
		i = (i + 1) & (gr->key_index.cap - 1);
	}
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
	index_put(&gr->key_index, i, h, (uint32_t)gr->nkeys);
	return (int64_t)gr->nkeys++;
}

/* Pass 1: totals per traceback id, and the order traces meet tracebacks
 * in, so that the first trace met gives a key its frames. */
static int sum_tracebacks(side *sd, ms_error *err)
{
	const ms_snapshot *s = sd->s;

	for (size_t i = 0; i < s->ntraces; i++) {
		const ms__trace *t = &s->traces[i];

		if (t->traceback >= s->ntracebacks)
			return ms__fail(err, MS_ECORRUPT,
					"trace %zu refers to traceback %u of %zu",
					i, t->traceback, s->ntracebacks);
		if (!sd->tb_count[t->traceback])
			sd->order[sd->norder++] = t->traceback;
		sd->tb_size[t->traceback] += t->size;
		sd->tb_count[t->traceback]++;
	}
	return 0;
}

static void key_add(grouper *gr, uint32_t k, int which, uint64_t size,
		    uint64_t count)
{
	gr->keys[k].size[which] += size;
	gr->keys[k].count[which] += count;
}

static int group_traceback(grouper *gr, side *sd, uint32_t tb_id,
			   ms_error *err)
{
	const ms_snapshot *s = sd->s;
	const ms__traceback *tb = &s->tracebacks[tb_id];
	uint64_t size = sd->tb_size[tb_id], count = sd->tb_count[tb_id];
	uint32_t n = tb->nframe ? tb->nframe : 1;
	int64_t u, k;

	if (ms__grow((void **)&gr->scratch, &gr->scratch_cap, n,
		     sizeof(*gr->scratch)) < 0)
		return ms__nomem(err, "grouping statistics");
	if (tb->nframe == 0) {
		/* tracemalloc never has an empty traceback: its C side
		 * stores (("<unknown>", 0),) instead, so do we */
		u = unknown_unit(gr, err);
		if (u < 0)
			return (int)u;
		gr->scratch[0] = (uint32_t)u;
		k = key_get(gr, gr->scratch, 1, err);
		if (k < 0)
			return (int)k;
		key_add(gr, (uint32_t)k, sd->which, size, count);
		return 0;
	}
	if (gr->cumulative) {
		gr->stamp++;
		for (uint32_t i = 0; i < tb->nframe; i++) {
			u = frame_unit(gr, sd, s->tb_frames[tb->first + i], err);
			if (u < 0)
				return (int)u;
			gr->scratch[0] = (uint32_t)u;
			k = key_get(gr, gr->scratch, 1, err);
			if (k < 0)
				return (int)k;
			/* Deviation from tracemalloc, on purpose: a key met
			 * twice in one traceback (recursion) counts once for
			 * the trace, where tracemalloc counts it at every
			 * frame and so can report more than 100%. */
			if (gr->keys[k].stamp == gr->stamp)
				continue;
			gr->keys[k].stamp = gr->stamp;
			key_add(gr, (uint32_t)k, sd->which, size, count);
		}
		return 0;
	}
	if (gr->g != MS_GROUP_TRACEBACK)
		n = 1;  /* the most recent frame alone */
	for (uint32_t i = 0; i < n; i++) {
		u = frame_unit(gr, sd, s->tb_frames[tb->first + i], err);
		if (u < 0)
			return (int)u;
		gr->scratch[n - 1 - i] = (uint32_t)u;  /* oldest first */
	}
	k = key_get(gr, gr->scratch, n, err);
	if (k < 0)
		return (int)k;
	key_add(gr, (uint32_t)k, sd->which, size, count);
	return 0;
}

static void side_destroy(side *sd)
{
	free(sd->string_map);
	free(sd->frame_unit);
	free(sd->tb_size);
	free(sd->tb_count);
	free(sd->order);
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
	sd.tb_size = ms__calloc_array(s->ntracebacks, sizeof(*sd.tb_size));
	sd.tb_count = ms__calloc_array(s->ntracebacks, sizeof(*sd.tb_count));
	sd.order = ms__malloc_array(s->ntracebacks, sizeof(*sd.order));
	if (!sd.string_map || !sd.frame_unit || !sd.tb_size || !sd.tb_count ||
	    !sd.order)
		rc = ms__nomem(err, "grouping statistics");
	if (rc == 0)
		rc = sum_tracebacks(&sd, err);
	for (size_t i = 0; i < sd.norder && rc == 0; i++)
		rc = group_traceback(gr, &sd, sd.order[i], err);
	side_destroy(&sd);
	return rc;
}

/* ------------------------------------------------------------ ordering */

static int unit_cmp(const void *pa, const void *pb, void *arg)
{
	const grouper *gr = arg;
	const unit *a = &gr->units[*(const uint32_t *)pa];
	const unit *b = &gr->units[*(const uint32_t *)pb];
	int c;

	if (a->filename != b->filename) {
		c = strcmp(ms__strpool_get(&gr->strings, a->filename),
			   ms__strpool_get(&gr->strings, b->filename));
		if (c)
			return c;
	}
	if (a->lineno != b->lineno)
		return a->lineno < b->lineno ? -1 : 1;
	/* tracemalloc has no function keys; the function name breaks the tie
	 * of two functions of one file so that the order stays total */
	if (a->ident_function != b->ident_function)
		return strcmp(ms__strpool_get(&gr->strings, a->ident_function),
			      ms__strpool_get(&gr->strings, b->ident_function));
	return 0;
}

static int rank_units(grouper *gr, ms_error *err)
{
	uint32_t *ids = ms__malloc_array(gr->nunits, sizeof(*ids));

	if (!ids)
		return ms__nomem(err, "sorting statistics");
	for (size_t i = 0; i < gr->nunits; i++)
		ids[i] = (uint32_t)i;
	qsort_r(ids, gr->nunits, sizeof(*ids), unit_cmp, gr);
	for (size_t i = 0; i < gr->nunits; i++)
		gr->units[ids[i]].rank = (uint32_t)i;
	free(ids);
	return 0;
}

typedef struct entry {
	uint64_t size, count;
	int64_t size_diff, count_diff;
	uint32_t key;
} entry;

typedef struct sort_ctx {
	const grouper *gr;
	bool diff;
} sort_ctx;

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static uint64_t abs64(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* Traceback.__lt__: tuples of frames, oldest first; a prefix is smaller. */
static int key_cmp(const grouper *gr, uint32_t ka, uint32_t kb)
{
	const key *a = &gr->keys[ka], *b = &gr->keys[kb];
	uint32_t n = a->n < b->n ? a->n : b->n;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t ra = gr->units[gr->key_units[a->first + i]].rank;
		uint32_t rb = gr->units[gr->key_units[b->first + i]].rank;

		if (ra != rb)
			return ra < rb ? -1 : 1;
	}
	return cmp_u64(a->n, b->n);
}

/* Ascending in tracemalloc's _sort_key; the caller sorts descending. */
static int entry_key_cmp(const entry *a, const entry *b, const sort_ctx *sc)
{
	int c;

	if (sc->diff) {
		if ((c = cmp_u64(abs64(a->size_diff), abs64(b->size_diff))))
			return c;
		if ((c = cmp_u64(a->size, b->size)))
			return c;
		if ((c = cmp_u64(abs64(a->count_diff), abs64(b->count_diff))))
			return c;
		if ((c = cmp_u64(a->count, b->count)))
			return c;
	} else {
		if ((c = cmp_u64(a->size, b->size)))
			return c;
		if ((c = cmp_u64(a->count, b->count)))
			return c;
	}
	return key_cmp(sc->gr, a->key, b->key);
}

static int entry_desc(const void *pa, const void *pb, void *arg)
{
	return entry_key_cmp(pb, pa, arg);
}

/* ------------------------------------------------------------ result */

static void grouper_destroy(grouper *gr)
{
	ms__strpool_destroy(&gr->strings);
	free(gr->units);
	index_destroy(&gr->unit_index);
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

/* Sorts the keys and moves the grouper's strings into the result. */
static ms_stats *make_stats(grouper *gr, bool diff, ms_error *err)
{
	ms_stats *st = calloc(1, sizeof(*st));
	entry *entries = NULL;
	sort_ctx sc = { gr, diff };
	size_t nframes = 0;

	if (!st)
		goto nomem;
	if (rank_units(gr, err) < 0)
		goto fail;
	entries = ms__malloc_array(gr->nkeys, sizeof(*entries));
	st->stats = ms__calloc_array(gr->nkeys, sizeof(*st->stats));
	st->frames = ms__calloc_array(gr->nkey_units, sizeof(*st->frames));
	if (!entries || !st->stats || !st->frames)
		goto nomem;
	for (size_t i = 0; i < gr->nkeys; i++) {
		const key *k = &gr->keys[i];

		entries[i].size = k->size[0];
		entries[i].count = k->count[0];
		entries[i].size_diff = (int64_t)(k->size[0] - k->size[1]);
		entries[i].count_diff = (int64_t)(k->count[0] - k->count[1]);
		entries[i].key = (uint32_t)i;
	}
	qsort_r(entries, gr->nkeys, sizeof(*entries), entry_desc, &sc);

	st->is_diff = diff;
	st->strings = gr->strings;
	memset(&gr->strings, 0, sizeof(gr->strings));
	ms__strpool_freeze(&st->strings);
	for (size_t i = 0; i < gr->nkeys; i++) {
		const key *k = &gr->keys[entries[i].key];
		ms_stat *o = &st->stats[i];

		o->size = entries[i].size;
		o->count = entries[i].count;
		o->size_diff = diff ? entries[i].size_diff : 0;
		o->count_diff = diff ? entries[i].count_diff : 0;
		o->nframe = k->n;
		o->frames = st->frames + nframes;
		for (uint32_t j = 0; j < k->n; j++)
			export_unit(&st->strings,
				    &gr->units[gr->key_units[k->first + j]],
				    &st->frames[nframes + j]);
		nframes += k->n;
	}
	st->count = gr->nkeys;
	free(entries);
	return st;
nomem:
	ms__nomem(err, "sorting statistics");
fail:
	free(entries);
	ms_stats_free(st);
	return NULL;
}

static int grouper_init(grouper *gr, ms_group_by g, bool cumulative,
			ms_error *err)
{
	memset(gr, 0, sizeof(*gr));
	gr->g = g;
	gr->cumulative = cumulative;
	gr->unknown_unit = UINT32_MAX;
	return ms__strpool_init(&gr->strings, err);
}

static ms_stats *group(const ms_snapshot *new_snap, const ms_snapshot *old_snap,
		       ms_group_by g, bool cumulative, ms_error *err)
{
	grouper gr;
	ms_stats *st = NULL;

	if (check_key_type(g, cumulative, err) < 0)
		return NULL;
	if (grouper_init(&gr, g, cumulative, err) < 0) {
		ms__nomem(err, "grouping statistics");
		return NULL;
	}
	if (group_snapshot(&gr, new_snap, 0, err) == 0 &&
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
