/* snapshot.c - immutable snapshots: building them (from frames, or from the
 * live table through a capture) and reading them. */
#include "config.h"
#include "memsnapP.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ id maps */

/* An open-addressing set of ids keyed by a 64-bit hash; equality of two
 * entries with the same hash is decided by the caller's callback. */
typedef struct idmap {
	uint64_t *hashes;
	uint32_t *ids;        /* id + 1, 0 = empty */
	size_t cap, count;    /* cap is a power of two */
} idmap;

typedef bool (*idmap_eq)(const void *ctx, uint32_t id, const void *key);

static void idmap_destroy(idmap *m)
{
	free(m->hashes);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

static int idmap_reserve(idmap *m)
{
	size_t ncap;
	uint64_t *nh;
	uint32_t *ni;

	if ((m->count + 1) * 4 <= m->cap * 3)
		return 0;
	ncap = m->cap ? m->cap * 2 : 256;
	nh = ms__malloc_array(ncap, sizeof(*nh));
	ni = ms__calloc_array(ncap, sizeof(*ni));
	if (!nh || !ni) {
		free(nh);
		free(ni);
		return -MS_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->ids[i])
			continue;
		j = m->hashes[i] & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		nh[j] = m->hashes[i];
		ni[j] = m->ids[i];
	}
	free(m->hashes);
	free(m->ids);
	m->hashes = nh;
	m->ids = ni;
	m->cap = ncap;
	return 0;
}

/* Returns the id found, or UINT32_MAX with *slot set for idmap_put. */
static uint32_t idmap_find(const idmap *m, uint64_t h, idmap_eq eq,
			   const void *ctx, const void *key, size_t *slot)
{
	size_t i = h & (m->cap - 1);

	while (m->ids[i]) {
		if (m->hashes[i] == h && eq(ctx, m->ids[i] - 1, key))
			return m->ids[i] - 1;
		i = (i + 1) & (m->cap - 1);
	}
	*slot = i;
	return UINT32_MAX;
}

static void idmap_put(idmap *m, size_t slot, uint64_t h, uint32_t id)
{
	m->hashes[slot] = h;
	m->ids[slot] = id + 1;
	m->count++;
}

/* ------------------------------------------------------------ snapshot */

ms_snapshot *ms__snapshot_new(uint32_t traceback_limit, ms_error *err)
{
	ms_snapshot *s = calloc(1, sizeof(*s));

	if (!s || ms__strpool_init(&s->strings, err) < 0) {
		free(s);
		ms__nomem(err, "creating a snapshot");
		return NULL;
	}
	s->traceback_limit = traceback_limit;
	return s;
}

void ms_snapshot_free(ms_snapshot *s)
{
	if (!s)
		return;
	ms__strpool_destroy(&s->strings);
	free(s->modules);
	free(s->frames);
	free(s->tb_frames);
	free(s->tracebacks);
	free(s->traces);
	free(s->meta);
	free(s);
}

uint32_t ms_snapshot_traceback_limit(const ms_snapshot *s)
{
	return s->traceback_limit;
}

size_t ms_snapshot_ntraces(const ms_snapshot *s)
{
	return s->ntraces;
}

void ms_snapshot_trace(const ms_snapshot *s, size_t i, ms_trace *out)
{
	const ms__trace *t = &s->traces[i];

	out->domain = t->domain;
	out->address = t->address;
	out->size = t->size;
	out->traceback = t->traceback;
}

size_t ms_snapshot_ntracebacks(const ms_snapshot *s)
{
	return s->ntracebacks;
}

uint32_t ms_snapshot_traceback(const ms_snapshot *s, uint32_t id,
			       const uint32_t **frame_ids,
			       uint32_t *total_nframe)
{
	const ms__traceback *tb = &s->tracebacks[id];

	if (frame_ids)
		*frame_ids = s->tb_frames + tb->first;
	if (total_nframe)
		*total_nframe = tb->total_nframe;
	return tb->nframe;
}

size_t ms_snapshot_nframes(const ms_snapshot *s)
{
	return s->nframes;
}

void ms__snapshot_frame_export(const ms_snapshot *s, const ms__frame *f,
			       ms_frame *out)
{
	const ms__module *m = f->module == MS__NO_MODULE ? NULL
							 : &s->modules[f->module];

	out->filename = ms__strpool_get(&s->strings, f->filename);
	out->lineno = f->lineno;
	out->function = f->function ? ms__strpool_get(&s->strings, f->function)
				    : NULL;
	out->module = m ? ms__strpool_get(&s->strings, m->path) : NULL;
	out->build_id = m && m->build_id
				? ms__strpool_get(&s->strings, m->build_id)
				: NULL;
	out->address = f->address;
	out->offset = m && f->address ? f->address - m->bias : 0;
}

void ms_snapshot_frame(const ms_snapshot *s, uint32_t frame_id,
		       ms_frame *out)
{
	ms__snapshot_frame_export(s, &s->frames[frame_id], out);
}

size_t ms_snapshot_nmodules(const ms_snapshot *s)
{
	return s->nmodules;
}

void ms_snapshot_module(const ms_snapshot *s, size_t i, ms_module *out)
{
	const ms__module *m = &s->modules[i];

	out->path = ms__strpool_get(&s->strings, m->path);
	out->build_id = m->build_id ? ms__strpool_get(&s->strings, m->build_id)
				    : NULL;
	out->bias = m->bias;
	out->start = m->start;
	out->end = m->end;
}

size_t ms_snapshot_nmeta(const ms_snapshot *s)
{
	return s->nmeta;
}

void ms_snapshot_meta_at(const ms_snapshot *s, size_t i, const char **key,
			 const char **value)
{
	*key = ms__strpool_get(&s->strings, s->meta[i].key);
	*value = ms__strpool_get(&s->strings, s->meta[i].value);
}

const char *ms_snapshot_meta(const ms_snapshot *s, const char *key)
{
	for (size_t i = 0; i < s->nmeta; i++)
		if (strcmp(ms__strpool_get(&s->strings, s->meta[i].key), key) == 0)
			return ms__strpool_get(&s->strings, s->meta[i].value);
	return NULL;
}

void ms_snapshot_totals(const ms_snapshot *s, uint64_t *size, uint64_t *count)
{
	uint64_t total = 0;

	for (size_t i = 0; i < s->ntraces; i++)
		total += s->traces[i].size;
	if (size)
		*size = total;
	if (count)
		*count = s->ntraces;
}

int64_t ms_snapshot_find_containing(const ms_snapshot *s, uint64_t addr)
{
	int64_t best = -1;

	for (size_t i = 0; i < s->ntraces; i++) {
		const ms__trace *t = &s->traces[i];

		if (t->address > addr)
			continue;
		if (!(addr - t->address < t->size ||
		      (t->size == 0 && addr == t->address)))
			continue;
		if (best < 0 || t->size < s->traces[best].size ||
		    (t->size == s->traces[best].size &&
		     t->domain < s->traces[best].domain))
			best = (int64_t)i;
	}
	return best;
}

/* ------------------------------------------------------------ builder */

struct ms_builder {
	ms_snapshot *s;
	idmap modules, frames, tracebacks;
	ms_error failure;      /* the first failure; code MS_OK while none */
};

static int builder_failed(ms_builder *b, ms_error *err)
{
	if (err)
		*err = b->failure;
	return -b->failure.code;
}

static int builder_fail(ms_builder *b, ms_error *err, int rc)
{
	if (b->failure.code == MS_OK && err && err->code != MS_OK)
		b->failure = *err;
	else if (b->failure.code == MS_OK)
		ms__fail(&b->failure, -rc, "%s", ms_strerror(rc));
	return rc;
}

ms_builder *ms_builder_new(uint32_t traceback_limit, ms_error *err)
{
	ms_builder *b = calloc(1, sizeof(*b));

	if (!b) {
		ms__nomem(err, "creating a snapshot builder");
		return NULL;
	}
	b->s = ms__snapshot_new(traceback_limit, err);
	if (!b->s) {
		free(b);
		return NULL;
	}
	return b;
}

void ms_builder_free(ms_builder *b)
{
	if (!b)
		return;
	ms_snapshot_free(b->s);
	idmap_destroy(&b->modules);
	idmap_destroy(&b->frames);
	idmap_destroy(&b->tracebacks);
	free(b);
}

static int64_t intern_opt(ms_builder *b, const char *str, ms_error *err)
{
	if (!str)
		return 0;
	return ms__strpool_intern(&b->s->strings, str, strlen(str), err);
}

static bool module_eq(const void *ctx, uint32_t id, const void *key)
{
	const ms__module *a = &((const ms_snapshot *)ctx)->modules[id];
	const ms__module *k = key;

	return a->path == k->path && a->build_id == k->build_id &&
	       a->bias == k->bias && a->start == k->start && a->end == k->end;
}

int64_t ms_builder_module(ms_builder *b, const char *path,
			  const char *build_id, uint64_t bias, uint64_t start,
			  uint64_t end, ms_error *err)
{
	ms_snapshot *s = b->s;
	ms__module key;
	int64_t p, bid;
	uint64_t h;
	uint32_t id;
	size_t slot;

	if (b->failure.code)
		return builder_failed(b, err);
	if (!path)
		return builder_fail(b, err, ms__fail(err, MS_EINVAL,
						     "module without a path"));
	p = intern_opt(b, path, err);
	bid = p < 0 ? p : intern_opt(b, build_id, err);
	if (p < 0 || bid < 0)
		return builder_fail(b, err, (int)(p < 0 ? p : bid));
	key = (ms__module){ (uint32_t)p, (uint32_t)bid, bias, start, end };
	h = ms__hash_bytes(&key, sizeof(key), 1);
	if (idmap_reserve(&b->modules) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding a module"));
	id = idmap_find(&b->modules, h, module_eq, s, &key, &slot);
	if (id != UINT32_MAX)
		return id;
	if (s->nmodules >= MS__NO_MODULE ||
	    ms__grow((void **)&s->modules, &s->modules_cap, s->nmodules + 1,
		     sizeof(*s->modules)) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding a module"));
	s->modules[s->nmodules] = key;
	idmap_put(&b->modules, slot, h, (uint32_t)s->nmodules);
	return (int64_t)s->nmodules++;
}

static bool frame_eq(const void *ctx, uint32_t id, const void *key)
{
	const ms__frame *a = &((const ms_snapshot *)ctx)->frames[id];
	const ms__frame *k = key;

	return a->address == k->address && a->filename == k->filename &&
	       a->lineno == k->lineno && a->function == k->function &&
	       a->module == k->module;
}

int64_t ms_builder_frame(ms_builder *b, const ms_frame *f, int64_t module,
			 ms_error *err)
{
	ms_snapshot *s = b->s;
	ms__frame key;
	int64_t fn, func;
	uint64_t h;
	uint32_t id;
	size_t slot;

	if (b->failure.code)
		return builder_failed(b, err);
	if (!f->filename)
		return builder_fail(b, err, ms__fail(err, MS_EINVAL,
						     "frame without a filename"));
	if (module < -1 || module >= (int64_t)s->nmodules)
		return builder_fail(b, err, ms__fail(err, MS_EINVAL,
				    "frame refers to module %lld of %zu",
				    (long long)module, s->nmodules));
	fn = intern_opt(b, f->filename, err);
	func = fn < 0 ? fn : intern_opt(b, f->function, err);
	if (fn < 0 || func < 0)
		return builder_fail(b, err, (int)(fn < 0 ? fn : func));
	memset(&key, 0, sizeof(key));
	key.address = f->address;
	key.filename = (uint32_t)fn;
	key.lineno = f->lineno;
	key.function = (uint32_t)func;
	key.module = module < 0 ? MS__NO_MODULE : (uint32_t)module;
	h = ms__hash_bytes(&key, sizeof(key), 2);
	if (idmap_reserve(&b->frames) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding a frame"));
	id = idmap_find(&b->frames, h, frame_eq, s, &key, &slot);
	if (id != UINT32_MAX)
		return id;
	if (s->nframes >= UINT32_MAX - 1 ||
	    ms__grow((void **)&s->frames, &s->frames_cap, s->nframes + 1,
		     sizeof(*s->frames)) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding a frame"));
	s->frames[s->nframes] = key;
	idmap_put(&b->frames, slot, h, (uint32_t)s->nframes);
	return (int64_t)s->nframes++;
}

typedef struct tb_key {
	const uint32_t *ids;
	uint32_t n, total;
} tb_key;

static bool traceback_eq(const void *ctx, uint32_t id, const void *key)
{
	const ms_snapshot *s = ctx;
	const ms__traceback *a = &s->tracebacks[id];
	const tb_key *k = key;

	return a->nframe == k->n && a->total_nframe == k->total &&
	       memcmp(s->tb_frames + a->first, k->ids,
		      k->n * sizeof(*k->ids)) == 0;
}

int64_t ms_builder_traceback(ms_builder *b, const uint32_t *frame_ids,
			     uint32_t nframe, uint32_t total_nframe,
			     ms_error *err)
{
	ms_snapshot *s = b->s;
	tb_key key = { frame_ids, nframe, total_nframe };
	uint64_t h;
	uint32_t id;
	size_t slot;

	if (b->failure.code)
		return builder_failed(b, err);
	for (uint32_t i = 0; i < nframe; i++)
		if (frame_ids[i] >= s->nframes)
			return builder_fail(b, err, ms__fail(err, MS_EINVAL,
					    "traceback refers to frame %u of %zu",
					    frame_ids[i], s->nframes));
	h = ms__hash_bytes(frame_ids, nframe * sizeof(*frame_ids),
			   total_nframe);
	if (idmap_reserve(&b->tracebacks) < 0)
		return builder_fail(b, err,
				    ms__nomem(err, "adding a traceback"));
	id = idmap_find(&b->tracebacks, h, traceback_eq, s, &key, &slot);
	if (id != UINT32_MAX)
		return id;
	if (s->ntracebacks >= UINT32_MAX - 1 ||
	    s->ntb_frames + nframe > UINT32_MAX ||
	    ms__grow((void **)&s->tb_frames, &s->tb_frames_cap,
		     s->ntb_frames + nframe, sizeof(*s->tb_frames)) < 0 ||
	    ms__grow((void **)&s->tracebacks, &s->tracebacks_cap,
		     s->ntracebacks + 1, sizeof(*s->tracebacks)) < 0)
		return builder_fail(b, err,
				    ms__nomem(err, "adding a traceback"));
	if (nframe)
		memcpy(s->tb_frames + s->ntb_frames, frame_ids,
		       nframe * sizeof(*frame_ids));
	s->tracebacks[s->ntracebacks] = (ms__traceback){
		(uint32_t)s->ntb_frames, nframe, total_nframe };
	s->ntb_frames += nframe;
	idmap_put(&b->tracebacks, slot, h, (uint32_t)s->ntracebacks);
	return (int64_t)s->ntracebacks++;
}

int ms_builder_trace(ms_builder *b, uint32_t domain, uint64_t address,
		     uint64_t size, uint32_t traceback_id, ms_error *err)
{
	ms_snapshot *s = b->s;

	if (b->failure.code)
		return builder_failed(b, err);
	if (traceback_id >= s->ntracebacks)
		return builder_fail(b, err, ms__fail(err, MS_EINVAL,
				    "trace refers to traceback %u of %zu",
				    traceback_id, s->ntracebacks));
	if (ms__grow((void **)&s->traces, &s->traces_cap, s->ntraces + 1,
		     sizeof(*s->traces)) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding a trace"));
	s->traces[s->ntraces++] = (ms__trace){ address, size, domain,
					       traceback_id };
	return 0;
}

int ms_builder_meta(ms_builder *b, const char *key, const char *value,
		    ms_error *err)
{
	ms_snapshot *s = b->s;
	int64_t k, v;

	if (b->failure.code)
		return builder_failed(b, err);
	if (!key || !value || !*key)
		return builder_fail(b, err, ms__fail(err, MS_EINVAL,
						     "metadata needs a key and a value"));
	k = intern_opt(b, key, err);
	v = k < 0 ? k : intern_opt(b, value, err);
	if (k < 0 || v < 0)
		return builder_fail(b, err, (int)(k < 0 ? k : v));
	for (size_t i = 0; i < s->nmeta; i++) {
		if (s->meta[i].key == (uint32_t)k) {
			s->meta[i].value = (uint32_t)v;
			return 0;
		}
	}
	if (ms__grow((void **)&s->meta, &s->meta_cap, s->nmeta + 1,
		     sizeof(*s->meta)) < 0)
		return builder_fail(b, err, ms__nomem(err, "adding metadata"));
	s->meta[s->nmeta++] = (ms__meta){ (uint32_t)k, (uint32_t)v };
	return 0;
}

ms_snapshot *ms_builder_finish(ms_builder *b, ms_error *err)
{
	ms_snapshot *s;

	if (b->failure.code) {
		builder_failed(b, err);
		ms_builder_free(b);
		return NULL;
	}
	s = b->s;
	b->s = NULL;
	ms_builder_free(b);
	ms__strpool_freeze(&s->strings);
	return s;
}

/* ------------------------------------------------------------ capture */

struct ms_capture {
	uint32_t limit;
	ms__trace *traces;
	size_t ntraces;
	uint64_t *pcs;
	size_t npcs;
	ms__traceback *tbs;
	size_t ntbs;
	ms_builder *builder;   /* holds the metadata until finish */
};

ms_capture *ms_capture_take(const ms_table *t, uint32_t traceback_limit,
			    ms_error *err)
{
	ms_capture *c = calloc(1, sizeof(*c));

	if (!c) {
		ms__nomem(err, "taking a snapshot");
		return NULL;
	}
	c->limit = traceback_limit;
	if (ms__table_copy(t, &c->traces, &c->ntraces, &c->pcs, &c->npcs,
			   &c->tbs, &c->ntbs, err) < 0) {
		free(c);
		return NULL;
	}
	c->builder = ms_builder_new(traceback_limit, err);
	if (!c->builder) {
		ms_capture_free(c);
		return NULL;
	}
	return c;
}

void ms_capture_free(ms_capture *c)
{
	if (!c)
		return;
	free(c->traces);
	free(c->pcs);
	free(c->tbs);
	ms_builder_free(c->builder);
	free(c);
}

int ms_capture_meta(ms_capture *c, const char *key, const char *value,
		    ms_error *err)
{
	return ms_builder_meta(c->builder, key, value, err);
}

static int trace_cmp(const void *pa, const void *pb)
{
	const ms__trace *a = pa, *b = pb;

	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->address != b->address)
		return a->address < b->address ? -1 : 1;
	return 0;
}

/* Traces in (domain, address) order. Table order is hash order, and a
 * million traces are common, so an LSD radix sort on a 64-bit key (domain
 * above a 48-bit address: x86-64 user space is 47 bits) replaces qsort when
 * every key fits; passes whose digit never varies are skipped. */
static void sort_traces(ms__trace *t, size_t n)
{
	enum { BITS = 16, BUCKETS = 1 << BITS };
	ms__trace *tmp, *src = t, *dst;
	size_t *count;
	bool fits = true;

	for (size_t i = 0; i < n && fits; i++)
		fits = t[i].address >> 48 == 0 && t[i].domain <= 0xffff;
	tmp = fits && n > 256 ? ms__malloc_array(n, sizeof(*tmp)) : NULL;
	count = tmp ? calloc(BUCKETS, sizeof(*count)) : NULL;
	if (!count) {
		free(tmp);
		qsort(t, n, sizeof(*t), trace_cmp);
		return;
	}
	dst = tmp;
	for (unsigned shift = 0; shift < 64; shift += BITS) {
		size_t sum = 0;
		bool uniform = false;

#define KEY(x) ((((uint64_t)(x).domain << 48) | (x).address) >> shift & (BUCKETS - 1))
		memset(count, 0, BUCKETS * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[KEY(src[i])]++;
		for (size_t d = 0; d < BUCKETS; d++) {
			size_t c = count[d];

			if (c == n)
				uniform = true;
			count[d] = sum;
			sum += c;
		}
		if (uniform)
			continue;
		for (size_t i = 0; i < n; i++)
			dst[count[KEY(src[i])]++] = src[i];
#undef KEY
		src = dst;
		dst = src == t ? tmp : t;
	}
	if (src != t)
		memcpy(t, src, n * sizeof(*t));
	free(tmp);
	free(count);
}

/* The frames of one distinct PC, resolved once per capture. */
typedef struct pc_entry {
	uint64_t pc;
	uint32_t first, n;     /* into pc_frames */
} pc_entry;

typedef struct finish_ctx {
	ms_capture *c;
	const ms_symbolizer *sym;
	ms_builder *b;
	pc_entry *pcs;
	size_t npcs, pcs_cap;
	idmap pc_index;
	uint32_t *pc_frames;
	size_t npc_frames, pc_frames_cap;
	uint32_t *module_of_path;  /* string id -> module index + 1 */
	size_t module_of_path_cap;
} finish_ctx;

static bool pc_eq(const void *ctx, uint32_t id, const void *key)
{
	return ((const finish_ctx *)ctx)->pcs[id].pc == *(const uint64_t *)key;
}

static int remember_module(finish_ctx *fc, uint32_t path, uint32_t index)
{
	if (path >= fc->module_of_path_cap) {
		size_t ncap = (size_t)path + 64;
		uint32_t *m = ms__realloc_array(fc->module_of_path, ncap,
						sizeof(*m));

		if (!m)
			return -MS_ENOMEM;
		memset(m + fc->module_of_path_cap, 0,
		       (ncap - fc->module_of_path_cap) * sizeof(*m));
		fc->module_of_path = m;
		fc->module_of_path_cap = ncap;
	}
	if (!fc->module_of_path[path])
		fc->module_of_path[path] = index + 1;
	return 0;
}

static int add_module_cb(void *arg, const ms_module *m)
{
	finish_ctx *fc = arg;
	int64_t id = ms_builder_module(fc->b, m->path, m->build_id, m->bias,
				       m->start, m->end, NULL);

	if (id < 0)
		return (int)id;
	return remember_module(fc, fc->b->s->modules[id].path, (uint32_t)id);
}

/* The module index of a frame the symbolizer named; a module missing from
 * the map is added with what the frame tells of it. */
static int64_t frame_module(finish_ctx *fc, const ms_frame *f, ms_error *err)
{
	int64_t path, id;

	if (!f->module)
		return -1;
	path = intern_opt(fc->b, f->module, err);
	if (path < 0)
		return path;
	if ((size_t)path < fc->module_of_path_cap &&
	    fc->module_of_path[path])
		return fc->module_of_path[path] - 1;
	id = ms_builder_module(fc->b, f->module, f->build_id,
			       f->address - f->offset, 0, 0, err);
	if (id < 0)
		return id;
	if (remember_module(fc, (uint32_t)path, (uint32_t)id) < 0)
		return ms__nomem(err, "adding a module");
	return id;
}

static int resolve_pc(finish_ctx *fc, uint64_t pc, ms_error *err)
{
	ms_frame out[MS_MAX_INLINE];
	int n = -MS_ESYMBOL;

	if (fc->sym && fc->sym->ops && fc->sym->ops->resolve) {
		memset(out, 0, sizeof(out));
		n = fc->sym->ops->resolve(fc->sym->ctx, pc, true, out,
					  MS_MAX_INLINE, err);
		if (n < 0 && n != -MS_ESYMBOL && n != -MS_ENOTFOUND)
			return n;
		if (n > MS_MAX_INLINE)
			n = MS_MAX_INLINE;
	}
	if (n <= 0) {
		/* one bad PC must not cost the whole snapshot */
		memset(out, 0, sizeof(out[0]));
		out[0].filename = "??";
		n = 1;
	}
	if (ms__grow((void **)&fc->pc_frames, &fc->pc_frames_cap,
		     fc->npc_frames + (size_t)n, sizeof(*fc->pc_frames)) < 0)
		return ms__nomem(err, "symbolizing");
	for (int i = 0; i < n; i++) {
		int64_t mod, id;

		out[i].address = pc;
		if (!out[i].filename)
			out[i].filename = "??";
		mod = frame_module(fc, &out[i], err);
		if (mod < -1)
			return (int)mod;
		id = ms_builder_frame(fc->b, &out[i], mod, err);
		if (id < 0)
			return (int)id;
		fc->pc_frames[fc->npc_frames + (size_t)i] = (uint32_t)id;
	}
	fc->pcs[fc->npcs].pc = pc;
	fc->pcs[fc->npcs].first = (uint32_t)fc->npc_frames;
	fc->pcs[fc->npcs].n = (uint32_t)n;
	fc->npc_frames += (size_t)n;
	return 0;
}

/* Index into fc->pcs of a PC's frames, symbolizing it on first sight;
 * negative on failure. */
static int64_t pc_frames(finish_ctx *fc, uint64_t pc, ms_error *err)
{
	uint64_t h = ms__hash64(pc);
	size_t slot;
	uint32_t id;
	int rc;

	if (idmap_reserve(&fc->pc_index) < 0)
		return ms__nomem(err, "symbolizing");
	id = idmap_find(&fc->pc_index, h, pc_eq, fc, &pc, &slot);
	if (id == UINT32_MAX) {
		if (ms__grow((void **)&fc->pcs, &fc->pcs_cap, fc->npcs + 1,
			     sizeof(*fc->pcs)) < 0)
			return ms__nomem(err, "symbolizing");
		rc = resolve_pc(fc, pc, err);
		if (rc < 0)
			return rc;
		id = (uint32_t)fc->npcs++;
		idmap_put(&fc->pc_index, slot, h, id);
	}
	return id;
}

static int finish(finish_ctx *fc, ms_error *err)
{
	ms_capture *c = fc->c;
	uint32_t *remap = NULL, *ids = NULL;
	size_t ids_cap = 0;
	int rc = 0;

	if (fc->sym && fc->sym->ops && fc->sym->ops->modules) {
		rc = fc->sym->ops->modules(fc->sym->ctx, add_module_cb, fc, err);
		if (rc > 0)
			rc = builder_failed(fc->b, err);
		if (rc < 0)
			return rc;
	}
	sort_traces(c->traces, c->ntraces);
	remap = ms__malloc_array(c->ntbs, sizeof(*remap));
	if (!remap)
		return ms__nomem(err, "taking a snapshot");
	memset(remap, 0xff, c->ntbs * sizeof(*remap));
	for (size_t i = 0; i < c->ntraces && rc == 0; i++) {
		ms__trace *t = &c->traces[i];

		if (remap[t->traceback] == UINT32_MAX) {
			const ms__traceback *tb = &c->tbs[t->traceback];
			uint32_t keep = tb->nframe < c->limit ? tb->nframe
							      : c->limit;
			uint32_t n = 0, extra = tb->total_nframe - keep;
			int64_t id;

			for (uint32_t k = 0; k < keep; k++) {
				int64_t pi = pc_frames(fc, c->pcs[tb->first + k],
						       err);
				const pc_entry *pe;

				if (pi < 0) {
					rc = (int)pi;
					break;
				}
				pe = &fc->pcs[pi];
				if (ms__grow((void **)&ids, &ids_cap,
					     (size_t)n + pe->n,
					     sizeof(*ids)) < 0) {
					rc = ms__nomem(err, "taking a snapshot");
					break;
				}
				memcpy(ids + n, fc->pc_frames + pe->first,
				       pe->n * sizeof(*ids));
				n += pe->n;
			}
			if (rc < 0)
				break;
			/* total_nframe counts symbolized frames for the PCs
			 * kept, plus one per PC cut by the limit */
			id = ms_builder_traceback(fc->b, ids, n, n + extra, err);
			if (id < 0) {
				rc = (int)id;
				break;
			}
			remap[t->traceback] = (uint32_t)id;
		}
		rc = ms_builder_trace(fc->b, t->domain, t->address, t->size,
				      remap[t->traceback], err);
	}
	free(remap);
	free(ids);
	return rc;
}

ms_snapshot *ms_capture_finish(ms_capture *c, const ms_symbolizer *sym,
			       ms_error *err)
{
	finish_ctx fc;
	ms_snapshot *s = NULL;

	memset(&fc, 0, sizeof(fc));
	fc.c = c;
	fc.sym = sym;
	fc.b = c->builder;
	if (finish(&fc, err) == 0) {
		c->builder = NULL;
		s = ms_builder_finish(fc.b, err);
	}
	free(fc.pcs);
	free(fc.pc_frames);
	free(fc.module_of_path);
	idmap_destroy(&fc.pc_index);
	ms_capture_free(c);
	return s;
}
