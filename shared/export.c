/* export.c - snapshots as JSON, pprof (gzipped profile.proto), collapsed
 * stacks and an SVG flame graph. Output goes to the caller's ms_output. */
#include "config.h"
#include "memsnapP.h"
#include "command.h"
#include "atomic_file.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------------ JSON */

/* A JSON string; bytes that are not UTF-8 become U+FFFD so that the
 * document stays valid whatever the file names hold. */
static void json_str(ms_output *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	if (!s) {
		ms_output_write(out, "null", 4);
		return;
	}
	ms_output_write(out, "\"", 1);
	while (*p) {
		size_t run = 0, n = 0;

		/* plain ASCII runs go out in one write */
		while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run) {
			ms_output_write(out, p, run);
			p += run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p++;
			ms_output_write(out, esc, 2);
			continue;
		}
		if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p++);
			ms_output_write(out, esc, 6);
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3;
		for (size_t k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				n = 0;
		/* overlong 3-byte forms and surrogates are not UTF-8 */
		if (n == 2 && ((p[0] == 0xe0 && p[1] < 0xa0) ||
			       (p[0] == 0xed && p[1] >= 0xa0)))
			n = 0;
		if (n == 3 && ((p[0] == 0xf0 && p[1] < 0x90) ||
			       (p[0] == 0xf4 && p[1] >= 0x90)))
			n = 0;
		if (n) {
			ms_output_write(out, p, n + 1);
			p += n + 1;
		} else {
			ms_output_write(out, "\\ufffd", 6);
			p++;
		}
	}
	ms_output_write(out, "\"", 1);
}

static void json_frame(ms_output *out, const ms_frame *f, int64_t module)
{
	ms_output_printf(out, "{\"filename\": ");
	json_str(out, f->filename);
	ms_output_printf(out, ", \"lineno\": %" PRIu32 ", \"function\": ",
			 f->lineno);
	json_str(out, f->function);
	if (module >= 0)
		ms_output_printf(out, ", \"module\": %" PRId64, module);
	else if (module == -1)
		ms_output_printf(out, ", \"module\": null");
	if (module >= -1)
		ms_output_printf(out, ", \"address\": \"0x%" PRIx64 "\"",
				 f->address);
	ms_output_write(out, "}", 1);
}

static int json_statistics(ms_output *out, const ms_snapshot *s,
			   const ms_report_options *o, ms_error *err)
{
	ms_stats *st = ms_snapshot_statistics(s, o->group_by, o->cumulative,
					      err);
	size_t n;

	if (!st)
		return err && err->code ? -err->code : -MS_EINVAL;
	n = ms_stats_count(st);
	if (o->limit && o->limit < n)
		n = o->limit;
	ms_output_printf(out,
			 ",\n  \"statistics\": {\"group_by\": \"%s\", "
			 "\"cumulative\": %s, \"count\": %zu, \"stats\": [",
			 ms_group_by_name(o->group_by),
			 o->cumulative ? "true" : "false", ms_stats_count(st));
	for (size_t i = 0; i < n; i++) {
		ms_stat stat;

		ms_stats_get(st, i, &stat);
		ms_output_printf(out,
				 "%s\n    {\"size\": %" PRIu64
				 ", \"count\": %" PRIu64 ", \"frames\": [",
				 i ? "," : "", stat.size, stat.count);
		for (uint32_t j = 0; j < stat.nframe; j++) {
			if (j)
				ms_output_write(out, ", ", 2);
			json_frame(out, &stat.frames[j], -2);
		}
		ms_output_write(out, "]}", 2);
	}
	ms_output_printf(out, "%s]}", n ? "\n  " : "");
	ms_stats_free(st);
	return 0;
}

/* Traces formatted between two progress reports. */
#define PROGRESS_STEP 65536

static int export_json(ms_output *out, const ms_snapshot *s,
		       const ms_report_options *o, const ms_progress *p,
		       ms_error *err)
{
	uint64_t size, count;
	int rc;

	ms_snapshot_totals(s, &size, &count);
	ms_output_printf(out,
			 "{\n  \"format\": \"memsnap-snapshot\",\n"
			 "  \"version\": 1,\n  \"traceback_limit\": %" PRIu32
			 ",\n  \"totals\": {\"count\": %" PRIu64
			 ", \"size\": %" PRIu64 "},\n  \"metadata\": {",
			 s->traceback_limit, count, size);
	for (size_t i = 0; i < s->nmeta; i++) {
		ms_output_printf(out, "%s\n    ", i ? "," : "");
		json_str(out, ms__strpool_get(&s->strings, s->meta[i].key));
		ms_output_write(out, ": ", 2);
		json_str(out, ms__strpool_get(&s->strings, s->meta[i].value));
	}
	ms_output_printf(out, "%s},\n  \"modules\": [", s->nmeta ? "\n  " : "");
	for (size_t i = 0; i < s->nmodules; i++) {
		ms_module m;

		ms_snapshot_module(s, i, &m);
		ms_output_printf(out, "%s\n    {\"path\": ", i ? "," : "");
		json_str(out, m.path);
		ms_output_printf(out, ", \"build_id\": ");
		json_str(out, m.build_id);
		ms_output_printf(out,
				 ", \"bias\": \"0x%" PRIx64
				 "\", \"start\": \"0x%" PRIx64
				 "\", \"end\": \"0x%" PRIx64 "\"}",
				 m.bias, m.start, m.end);
	}
	ms_output_printf(out, "%s],\n  \"frames\": [",
			 s->nmodules ? "\n  " : "");
	for (size_t i = 0; i < s->nframes; i++) {
		ms_frame f;
		uint32_t m = s->frames[i].module;

		ms_snapshot_frame(s, (uint32_t)i, &f);
		ms_output_printf(out, "%s\n    ", i ? "," : "");
		json_frame(out, &f, m == MS__NO_MODULE ? -1 : (int64_t)m);
	}
	ms_output_printf(out, "%s],\n  \"tracebacks\": [",
			 s->nframes ? "\n  " : "");
	for (size_t i = 0; i < s->ntracebacks; i++) {
		const ms__traceback *tb = &s->tracebacks[i];

		ms_output_printf(out, "%s\n    {\"total_nframe\": %" PRIu32
				      ", \"frames\": [",
				 i ? "," : "", tb->total_nframe);
		for (uint32_t j = 0; j < tb->nframe; j++)
			ms_output_printf(out, "%s%" PRIu32, j ? ", " : "",
					 s->tb_frames[tb->first + j]);
		ms_output_write(out, "]}", 2);
	}
	ms_output_printf(out, "%s],\n  \"traces\": [",
			 s->ntracebacks ? "\n  " : "");
	for (size_t i = 0; i < s->ntraces; i++) {
		const ms__trace *t = &s->traces[i];

		if (i % PROGRESS_STEP == 0)
			ms__progress(p, "formatting", i, s->ntraces);
		ms_output_printf(out,
				 "%s\n    {\"domain\": %" PRIu32
				 ", \"address\": \"0x%" PRIx64
				 "\", \"size\": %" PRIu64
				 ", \"traceback\": %" PRIu32 "}",
				 i ? "," : "", t->domain, t->address, t->size,
				 t->traceback);
	}
	ms_output_printf(out, "%s]", s->ntraces ? "\n  " : "");
	if (o) {
		rc = json_statistics(out, s, o, err);
		if (rc < 0)
			return rc;
	}
	ms_output_printf(out, "\n}\n");
	if (out->error)
		return ms__fail(err, -out->error, "writing JSON failed: %s",
				ms_strerror(-out->error));
	return 0;
}

int ms_export_json(ms_output *out, const ms_snapshot *s,
		   const ms_report_options *o, ms_error *err)
{
	return export_json(out, s, o, NULL, err);
}

/* ------------------------------------------------------------- protobuf */

typedef struct pb {
	uint8_t *p;
	size_t len, cap;
	bool nomem;
} pb;

static void pb_bytes(pb *b, const void *data, size_t len)
{
	if (b->nomem || ms__grow((void **)&b->p, &b->cap, b->len + len, 1) < 0) {
		b->nomem = true;
		return;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void pb_varint(pb *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_bytes(b, tmp, n);
}

/* A varint field; proto3 leaves zero values out. */
static void pb_uint(pb *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void pb_len(pb *b, unsigned field, const void *data, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, len);
	pb_bytes(b, data, len);
}

static void pb_msg(pb *b, unsigned field, pb *sub)
{
	if (sub->nomem)
		b->nomem = true;
	pb_len(b, field, sub->p, sub->len);
	sub->len = 0;
}

/* Sequences of ids interned by content (locations, functions). */
typedef struct seqset {
	uint32_t *data;         /* all sequences back to back */
	size_t len, cap;
	size_t *first;          /* id -> offset in data; id count = n */
	uint32_t *nelem;
	size_t n, first_cap, nelem_cap;
	uint32_t *slots;        /* id + 1, 0 empty */
	size_t nslots;          /* power of two */
} seqset;

static void seqset_destroy(seqset *ss)
{
	free(ss->data);
	free(ss->first);
	free(ss->nelem);
	free(ss->slots);
}

static uint64_t seq_hash(const uint32_t *v, size_t n)
{
	return ms__hash_bytes(v, n * sizeof(*v), 0x5eed);
}

static int seqset_grow(seqset *ss)
{
	size_t nn = ss->nslots ? ss->nslots * 2 : 256;
	uint32_t *ns = ms__calloc_array(nn, sizeof(*ns));

	if (!ns)
		return -MS_ENOMEM;
	for (size_t id = 0; id < ss->n; id++) {
		size_t j = seq_hash(ss->data + ss->first[id], ss->nelem[id]) &
			   (nn - 1);

		while (ns[j])
			j = (j + 1) & (nn - 1);
		ns[j] = (uint32_t)id + 1;
	}
	free(ss->slots);
	ss->slots = ns;
	ss->nslots = nn;
	return 0;
}

/* Returns the id of v[0..n) (added when new, *added set), or -1. */
static int64_t seqset_intern(seqset *ss, const uint32_t *v, size_t n,
			     bool *added)
{
	size_t j;

	*added = false;
	if ((ss->n + 1) * 2 > ss->nslots && seqset_grow(ss) < 0)
		return -1;
	j = seq_hash(v, n) & (ss->nslots - 1);
	while (ss->slots[j]) {
		uint32_t id = ss->slots[j] - 1;

		if (ss->nelem[id] == n &&
		    memcmp(ss->data + ss->first[id], v, n * sizeof(*v)) == 0)
			return id;
		j = (j + 1) & (ss->nslots - 1);
	}
	if (ms__grow((void **)&ss->data, &ss->cap, ss->len + n,
		     sizeof(*ss->data)) < 0 ||
	    ms__grow((void **)&ss->first, &ss->first_cap, ss->n + 1,
		     sizeof(*ss->first)) < 0 ||
	    ms__grow((void **)&ss->nelem, &ss->nelem_cap, ss->n + 1,
		     sizeof(*ss->nelem)) < 0)
		return -1;
	memcpy(ss->data + ss->len, v, n * sizeof(*v));
	ss->first[ss->n] = ss->len;
	ss->nelem[ss->n] = (uint32_t)n;
	ss->len += n;
	ss->slots[j] = (uint32_t)ss->n + 1;
	*added = true;
	return (int64_t)ss->n++;
}

typedef struct pprof_ctx {
	const ms_snapshot *s;
	ms__strpool strings;
	seqset functions;   /* (name, filename) string ids */
	seqset locations;   /* frame ids, innermost first */
	pb body, sub, line;
	uint64_t *loc_ids;  /* scratch: a sample's location ids */
	size_t loc_cap;
} pprof_ctx;

static int64_t pprof_string(pprof_ctx *c, const char *s)
{
	return ms__strpool_intern(&c->strings, s, strlen(s), NULL);
}

/* Function id (1-based) of a frame; the Function message is written the
 * first time. */
static int64_t pprof_function(pprof_ctx *c, const ms_frame *f)
{
	int64_t name = pprof_string(c, f->function ? f->function : "??");
	int64_t file = pprof_string(c, f->filename);
	uint32_t key[2];
	bool added;
	int64_t id;

	if (name < 0 || file < 0)
		return -1;
	key[0] = (uint32_t)name;
	key[1] = (uint32_t)file;
	id = seqset_intern(&c->functions, key, 2, &added);
	if (id < 0)
		return -1;
	if (added) {
		pb_uint(&c->sub, 1, (uint64_t)id + 1);
		pb_uint(&c->sub, 2, (uint64_t)name);
		pb_uint(&c->sub, 3, (uint64_t)name);
		pb_uint(&c->sub, 4, (uint64_t)file);
		pb_msg(&c->body, 5, &c->sub);
	}
	return id + 1;
}

/* Location id (1-based) of frames fids[0..n) (one PC, innermost first). */
static int64_t pprof_location(pprof_ctx *c, const uint32_t *fids, size_t n)
{
	const ms_snapshot *s = c->s;
	const ms__frame *f0 = &s->frames[fids[0]];
	pb loc = { 0 };
	bool added;
	int64_t id = seqset_intern(&c->locations, fids, n, &added);

	if (id < 0)
		return -1;
	if (!added)
		return id + 1;
	pb_uint(&loc, 1, (uint64_t)id + 1);
	if (f0->module != MS__NO_MODULE)
		pb_uint(&loc, 2, (uint64_t)f0->module + 1);
	pb_uint(&loc, 3, f0->address);
	/* No symbol at all: no Line, so that pprof names the location by
	 * its address instead of merging every such PC into one "??" */
	if (n == 1 && !f0->function && !f0->lineno &&
	    f0->module != MS__NO_MODULE && f0->address)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		ms_frame f;
		int64_t fn;

		ms_snapshot_frame(s, fids[i], &f);
		fn = pprof_function(c, &f);
		if (fn < 0) {
			free(loc.p);
			return -1;
		}
		pb_uint(&c->line, 1, (uint64_t)fn);
		pb_uint(&c->line, 2, f.lineno);
		pb_msg(&loc, 4, &c->line);
	}
	pb_msg(&c->body, 4, &loc);
	free(loc.p);
	return loc.nomem ? -1 : id + 1;
}

/* The frames of one PC: consecutive frames with the same address, until
 * a frame repeats (recursion through the same call site). */
static size_t pc_group(const ms_snapshot *s, const uint32_t *fids, size_t n)
{
	uint64_t addr = s->frames[fids[0]].address;
	size_t k = 1;

	if (!addr)
		return 1;
	for (; k < n && s->frames[fids[k]].address == addr; k++)
		for (size_t j = 0; j < k; j++)
			if (fids[j] == fids[k])
				return k;
	return k;
}

static int pprof_encode(pprof_ctx *c, ms_error *err)
{
	const ms_snapshot *s = c->s;
	uint64_t *sizes = ms__calloc_array(s->ntracebacks + 1, sizeof(*sizes));
	uint64_t *counts = ms__calloc_array(s->ntracebacks + 1,
					    sizeof(*counts));
	pb vals = { 0 }, locs = { 0 };
	int64_t unknown_loc = 0;
	int rc = -MS_ENOMEM;
	/* string 0 is "" in both the pool and profile.proto */
	static const char *const fixed[] = { "inuse_objects", "count",
					     "inuse_space", "bytes", "space" };
	int64_t sid[5];

	if (!sizes || !counts)
		goto out;
	for (size_t i = 0; i < s->ntraces; i++) {
		sizes[s->traces[i].traceback] += s->traces[i].size;
		counts[s->traces[i].traceback]++;
	}
	for (int i = 0; i < 5; i++)
		if ((sid[i] = pprof_string(c, fixed[i])) < 0)
			goto out;
	pb_uint(&c->sub, 1, (uint64_t)sid[0]);
	pb_uint(&c->sub, 2, (uint64_t)sid[1]);
	pb_msg(&c->body, 1, &c->sub);
	pb_uint(&c->sub, 1, (uint64_t)sid[2]);
	pb_uint(&c->sub, 2, (uint64_t)sid[3]);
	pb_msg(&c->body, 1, &c->sub);
	for (size_t i = 0; i < s->nmodules; i++) {
		const ms__module *m = &s->modules[i];
		int64_t path = pprof_string(c, ms__strpool_get(&s->strings,
							       m->path));
		int64_t bid = pprof_string(c, ms__strpool_get(&s->strings,
							      m->build_id));

		if (path < 0 || bid < 0)
			goto out;
		pb_uint(&c->sub, 1, i + 1);
		pb_uint(&c->sub, 2, m->start);
		pb_uint(&c->sub, 3, m->end);
		pb_uint(&c->sub, 5, (uint64_t)path);
		pb_uint(&c->sub, 6, (uint64_t)bid);
		for (unsigned fld = 7; fld <= 10; fld++)
			pb_uint(&c->sub, fld, 1);
		pb_msg(&c->body, 3, &c->sub);
	}
	for (size_t t = 0; t < s->ntracebacks; t++) {
		const ms__traceback *tb = &s->tracebacks[t];
		const uint32_t *fids = s->tb_frames + tb->first;
		size_t nloc = 0;

		if (!counts[t])
			continue;
		if (ms__grow((void **)&c->loc_ids, &c->loc_cap,
			     tb->nframe + 1, sizeof(*c->loc_ids)) < 0)
			goto out;
		for (size_t k = 0; k < tb->nframe;) {
			size_t g = pc_group(s, fids + k, tb->nframe - k);
			int64_t id = pprof_location(c, fids + k, g);

			if (id < 0)
				goto out;
			c->loc_ids[nloc++] = (uint64_t)id;
			k += g;
		}
		if (!nloc) {
			/* pprof drops a sample without a location from
			 * some views: give it one that says why */
			if (!unknown_loc) {
				ms_frame f = { .filename = "",
					       .function = "[no traceback]" };
				int64_t fn = pprof_function(c, &f);

				if (fn < 0)
					goto out;
				/* past every id the location set hands out */
				unknown_loc = INT64_C(1) << 40;
				pb_uint(&locs, 1, (uint64_t)unknown_loc);
				pb_uint(&c->line, 1, (uint64_t)fn);
				pb_msg(&locs, 4, &c->line);
				pb_msg(&c->body, 4, &locs);
			}
			c->loc_ids[nloc++] = (uint64_t)unknown_loc;
		}
		/* leaf first: the engine's order */
		for (size_t k = 0; k < nloc; k++)
			pb_varint(&locs, c->loc_ids[k]);
		pb_len(&c->sub, 1, locs.p, locs.len);
		locs.len = 0;
		pb_varint(&vals, counts[t]);
		pb_varint(&vals, sizes[t]);
		pb_len(&c->sub, 2, vals.p, vals.len);
		vals.len = 0;
		pb_msg(&c->body, 2, &c->sub);
	}
	for (size_t i = 0; i < c->strings.count; i++) {
		const char *str = ms__strpool_get(&c->strings, (uint32_t)i);

		pb_len(&c->body, 6, str, strlen(str));
	}
	{
		const char *t = ms_snapshot_meta(s, MS_META_TIME);

		if (t)
			pb_uint(&c->body, 9,
				strtoull(t, NULL, 10) * UINT64_C(1000000000));
	}
	pb_uint(&c->sub, 1, (uint64_t)sid[4]);
	pb_uint(&c->sub, 2, (uint64_t)sid[3]);
	pb_msg(&c->body, 11, &c->sub);
	pb_uint(&c->body, 12, 1);
	pb_uint(&c->body, 14, (uint64_t)sid[2]);
	rc = c->body.nomem || c->sub.nomem || c->line.nomem || locs.nomem ||
			     vals.nomem
		     ? -MS_ENOMEM
		     : 0;
out:
	free(sizes);
	free(counts);
	free(vals.p);
	free(locs.p);
	if (rc < 0)
		return ms__nomem(err, "encoding the pprof profile");
	return 0;
}

static int gzip_out(ms_output *out, const uint8_t *data, size_t len,
		    ms_error *err)
{
	z_stream z;
	uint8_t chunk[65536];
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return ms__nomem(err, "starting gzip");
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			deflateEnd(&z);
			return ms__fail(err, MS_EIO, "gzip failed");
		}
		if (ms_output_write(out, chunk, sizeof(chunk) - z.avail_out) <
		    0)
			break;
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	if (out->error)
		return ms__fail(err, -out->error, "writing the profile failed: %s",
				ms_strerror(-out->error));
	return 0;
}

int ms_export_pprof(ms_output *out, const ms_snapshot *s, ms_error *err)
{
	pprof_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.s = s;
	if (s->nframes + s->ntraces > UINT32_MAX / 2)
		return ms__fail(err, MS_ELIMIT, "snapshot too large for pprof");
	rc = ms__strpool_init(&c.strings, err);
	if (rc < 0)
		return rc;
	rc = pprof_encode(&c, err);
	if (rc == 0)
		rc = gzip_out(out, c.body.p, c.body.len, err);
	ms__strpool_destroy(&c.strings);
	seqset_destroy(&c.functions);
	seqset_destroy(&c.locations);
	free(c.body.p);
	free(c.sub.p);
	free(c.line.p);
	free(c.loc_ids);
	return rc;
}

/* ------------------------------------------------------ collapsed stacks */

typedef struct stack_line {
	char *text;       /* "main;foo;bar" */
	uint64_t bytes;
} stack_line;

static int cmp_stack(const void *a, const void *b)
{
	return strcmp(((const stack_line *)a)->text,
		      ((const stack_line *)b)->text);
}

/* A frame's name in a stack: the function, else file:line; ';' separates
 * frames and a newline ends the line, so neither may appear in a name. */
static void frame_name(const ms_frame *f, char *buf, size_t len)
{
	if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (f->lineno)
		snprintf(buf, len, "%s:%" PRIu32, f->filename, f->lineno);
	else
		snprintf(buf, len, "%s", *f->filename ? f->filename : "??");
	for (char *p = buf; *p; p++)
		if (*p == ';' || *p == '\n' || *p == '\r')
			*p = *p == ';' ? ':' : ' ';
}

/* Every traceback with live bytes as one stack, merged and sorted. */
static int build_stacks(const ms_snapshot *s, stack_line **out, size_t *nout,
			ms_error *err)
{
	uint64_t *bytes = ms__calloc_array(s->ntracebacks + 1, sizeof(*bytes));
	stack_line *v = ms__calloc_array(s->ntracebacks + 1, sizeof(*v));
	size_t n = 0, m = 0;
	ms_output text;
	char name[1024];

	*out = NULL;
	*nout = 0;
	if (!bytes || !v)
		goto nomem;
	for (size_t i = 0; i < s->ntraces; i++)
		bytes[s->traces[i].traceback] += s->traces[i].size;
	ms_output_init_buffer(&text);
	for (size_t t = 0; t < s->ntracebacks; t++) {
		const ms__traceback *tb = &s->tracebacks[t];

		if (!bytes[t])
			continue;
		ms_output_reset(&text);
		for (uint32_t j = tb->nframe; j-- > 0;) {
			ms_frame f;

			ms_snapshot_frame(s, s->tb_frames[tb->first + j], &f);
			frame_name(&f, name, sizeof(name));
			ms_output_printf(&text, "%s%s",
					 j + 1 < tb->nframe ? ";" : "", name);
		}
		if (!tb->nframe)
			ms_output_printf(&text, "[no traceback]");
		if (text.error || !(v[n].text = strdup(text.buf))) {
			ms_output_destroy(&text);
			goto nomem;
		}
		v[n++].bytes = bytes[t];
	}
	ms_output_destroy(&text);
	qsort(v, n, sizeof(*v), cmp_stack);
	/* tracebacks that differ only in line numbers give the same names */
	for (size_t i = 0; i < n; i++) {
		if (m && strcmp(v[m - 1].text, v[i].text) == 0) {
			v[m - 1].bytes += v[i].bytes;
			free(v[i].text);
			continue;
		}
		v[m++] = v[i];
	}
	free(bytes);
	*out = v;
	*nout = m;
	return 0;
nomem:
	for (size_t i = 0; v && i < n; i++)
		free(v[i].text);
	free(v);
	free(bytes);
	return ms__nomem(err, "building stacks");
}

static void free_stacks(stack_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

int ms_export_collapsed(ms_output *out, const ms_snapshot *s, ms_error *err)
{
	stack_line *v;
	size_t n;
	int rc = build_stacks(s, &v, &n, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		ms_output_printf(out, "%s %" PRIu64 "\n", v[i].text,
				 v[i].bytes);
	free_stacks(v, n);
	if (out->error)
		return ms__fail(err, -out->error, "writing stacks failed: %s",
				ms_strerror(-out->error));
	return 0;
}

/* ------------------------------------------------------------------ SVG */

typedef struct node {
	const char *name;   /* points into a stack line */
	size_t name_len;
	uint64_t bytes;
	size_t first_child, next_sibling; /* 0 = none (node 0 is the root) */
	size_t last_child;
} node;

typedef struct tree {
	node *v;
	size_t n, cap;
	unsigned depth;
} tree;

static int64_t tree_child(tree *t, size_t parent, const char *name,
			  size_t len)
{
	size_t last = t->v[parent].last_child;

	/* stacks come sorted, so an existing child is always the last one */
	if (last && t->v[last].name_len == len &&
	    memcmp(t->v[last].name, name, len) == 0)
		return (int64_t)last;
	if (ms__grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)) < 0)
		return -1;
	memset(&t->v[t->n], 0, sizeof(*t->v));
	t->v[t->n].name = name;
	t->v[t->n].name_len = len;
	if (last)
		t->v[last].next_sibling = t->n;
	else
		t->v[parent].first_child = t->n;
	t->v[parent].last_child = t->n;
	return (int64_t)t->n++;
}

static void xml_text(ms_output *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '<': ms_output_write(out, "&lt;", 4); break;
		case '>': ms_output_write(out, "&gt;", 4); break;
		case '&': ms_output_write(out, "&amp;", 5); break;
		case '"': ms_output_write(out, "&quot;", 6); break;
		default:
			/* XML 1.0 forbids most control characters */
			if ((unsigned char)s[i] < 0x20)
				ms_output_write(out, "?", 1);
			else
				ms_output_write(out, &s[i], 1);
		}
	}
}

enum { SVG_WIDTH = 1200, SVG_ROW = 17, SVG_TOP = 36, SVG_PAD = 10 };

static void svg_node(ms_output *out, const tree *t, size_t i, double x,
		     unsigned depth, double scale, uint64_t total,
		     unsigned height)
{
	const node *nd = &t->v[i];
	double w = (double)nd->bytes * scale;
	double y = height - SVG_PAD - (double)(depth + 1) * SVG_ROW;
	uint64_t h = ms__hash_bytes(nd->name, nd->name_len, 7);
	char sz[32];
	size_t fit;

	if (w < 0.5)
		return;
	ms_format_size(sz, sizeof(sz), (int64_t)nd->bytes, false);
	ms_output_printf(out, "<g><title>");
	xml_text(out, nd->name, nd->name_len);
	ms_output_printf(out, " (%s, %.2f%%)</title>", sz,
			 100.0 * (double)nd->bytes / (double)total);
	/* flamegraph.pl's warm palette */
	ms_output_printf(out,
			 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			 "height=\"%d\" rx=\"2\" fill=\"rgb(%u,%u,%u)\"/>",
			 x, y, w, SVG_ROW - 1, 205 + (unsigned)(h % 50),
			 (unsigned)((h >> 8) % 230),
			 (unsigned)((h >> 16) % 55));
	/* about 7 px per character at 12 px */
	fit = w > 21 ? (size_t)((w - 6) / 7) : 0;
	if (fit >= 3) {
		ms_output_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3,
				 y + SVG_ROW - 5);
		if (fit >= nd->name_len) {
			xml_text(out, nd->name, nd->name_len);
		} else {
			xml_text(out, nd->name, fit - 2);
			ms_output_write(out, "..", 2);
		}
		ms_output_printf(out, "</text>");
	}
	ms_output_printf(out, "</g>\n");
	for (size_t c = nd->first_child; c; c = t->v[c].next_sibling) {
		svg_node(out, t, c, x, depth + 1, scale, total, height);
		x += (double)t->v[c].bytes * scale;
	}
}

int ms_export_svg(ms_output *out, const ms_snapshot *s, const char *title,
		  ms_error *err)
{
	stack_line *v;
	size_t n;
	tree t = { 0 };
	unsigned height;
	double scale;
	uint64_t total = 0;
	char sz[32];
	int rc = build_stacks(s, &v, &n, err);

	if (rc < 0)
		return rc;
	if (ms__grow((void **)&t.v, &t.cap, 1, sizeof(*t.v)) < 0)
		goto nomem;
	memset(&t.v[0], 0, sizeof(*t.v));
	t.v[0].name = "all";
	t.v[0].name_len = 3;
	t.n = 1;
	for (size_t i = 0; i < n; i++) {
		const char *p = v[i].text;
		size_t cur = 0;
		unsigned depth = 1;

		t.v[0].bytes += v[i].bytes;
		for (;;) {
			const char *e = strchr(p, ';');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			int64_t c = tree_child(&t, cur, p, len);

			if (c < 0)
				goto nomem;
			cur = (size_t)c;
			t.v[cur].bytes += v[i].bytes;
			if (++depth > t.depth)
				t.depth = depth;
			if (!e)
				break;
			p = e + 1;
		}
	}
	total = t.v[0].bytes;
	if (t.depth == 0)
		t.depth = 1;
	height = SVG_TOP + t.depth * SVG_ROW + 2 * SVG_PAD;
	scale = total ? (double)(SVG_WIDTH - 2 * SVG_PAD) / (double)total : 0;
	ms_format_size(sz, sizeof(sz), (int64_t)total, false);
	ms_output_printf(out,
			 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
			 "<svg version=\"1.1\" width=\"%d\" height=\"%u\" "
			 "viewBox=\"0 0 %d %u\" "
			 "xmlns=\"http://www.w3.org/2000/svg\">\n"
			 "<style>text { font-family: monospace; font-size: "
			 "12px; fill: #000; } .title { font-size: 17px; "
			 "text-anchor: middle; }</style>\n"
			 "<rect x=\"0\" y=\"0\" width=\"100%%\" "
			 "height=\"100%%\" fill=\"#f8f4e8\"/>\n"
			 "<text class=\"title\" x=\"%d\" y=\"24\">",
			 SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH / 2);
	title = title ? title : "memsnap: live heap by allocating stack";
	xml_text(out, title, strlen(title));
	ms_output_printf(out, " (%s)</text>\n", sz);
	if (total)
		svg_node(out, &t, 0, SVG_PAD, 0, scale, total, height);
	ms_output_printf(out, "</svg>\n");
	free(t.v);
	free_stacks(v, n);
	if (out->error)
		return ms__fail(err, -out->error, "writing SVG failed: %s",
				ms_strerror(-out->error));
	return 0;
nomem:
	free(t.v);
	free_stacks(v, n);
	return ms__nomem(err, "building the flame graph");
}

/* ms_export, reporting JSON's progress through the traces (the other
 * formats group the traces first: their phase has no steps). */
static int export_any(ms_output *out, const ms_snapshot *s,
		      ms_export_format f, const ms_report_options *o,
		      const ms_progress *p, ms_error *err)
{
	switch (f) {
	case MS_EXPORT_JSON:
		return export_json(out, s, o, p, err);
	case MS_EXPORT_PPROF:
		return ms_export_pprof(out, s, err);
	case MS_EXPORT_COLLAPSED:
		return ms_export_collapsed(out, s, err);
	case MS_EXPORT_SVG:
		return ms_export_svg(out, s, NULL, err);
	}
	return ms__fail(err, MS_EINVAL, "unknown export format %d", (int)f);
}

int ms_export(ms_output *out, const ms_snapshot *s, ms_export_format f,
	      const ms_report_options *o, ms_error *err)
{
	return export_any(out, s, f, o, NULL, err);
}

int ms_export_file(const ms_snapshot *s, const char *path,
		   const ms_report_options *o, const ms_progress *p,
		   ms_error *err)
{
	ms_snapshot *filtered = NULL;
	ms_output buf;
	int rc;

	if (!o->format_set)
		return ms__fail(err, MS_EINVAL, "export: --format "
				"json|pprof|collapsed|svg is required");
	rc = ms_report_apply_filters(s, o, &filtered, err);
	if (rc < 0)
		return rc;
	ms__progress(p, "formatting", 0, 0);
	ms_output_init_buffer(&buf);
	rc = export_any(&buf, filtered ? filtered : s, o->format, o, p, err);
	ms_snapshot_free(filtered);
	if (rc == 0)
		rc = ms_file_write_atomic_progress(path, buf.buf, buf.len,
						   "an export", p, err);
	ms_output_destroy(&buf);
	return rc;
}
