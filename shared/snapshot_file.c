/* snapshot_file.c - the snapshot file format: encode/decode, dump/load.
 *
 * docs/FORMAT.md describes the format byte by byte. In short: a 32-byte
 * header, a table of sections (each with its own crc32 and optional zstd
 * compression), then the sections back to back. Section payloads are LEB128
 * varints laid out in columns so that zstd finds the regularities.
 *
 * The decoder trusts nothing: every count is checked against the bytes that
 * could hold it before anything is allocated, every id against the table it
 * points into, and compressed sections against a maximum ratio, so a small
 * hostile file cannot make it allocate much more than the file could
 * legitimately describe. */
#include "config.h"
#include "memsnapP.h"
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define MAGIC "\x89MSNAP\r\n"
#define MAGIC_LEN 8
#define FORMAT_VERSION 1
#define HEADER_SIZE 32
#define ENTRY_SIZE 40
#define MAX_SECTIONS 64
#define FLAG_ZSTD 1u
#define FLAG_OPTIONAL 2u
#define FLAGS_KNOWN (FLAG_ZSTD | FLAG_OPTIONAL)
/* A compressed section may expand at most this much; the writer stores a
 * section raw rather than exceed it, so the reader may refuse more. */
#define MAX_RATIO 256
#define MAX_RAW ((uint64_t)UINT32_MAX)
#define MIN_COMPRESS 64
#define ZSTD_LEVEL 3
/* zstd frames we write have windows far below this; refusing larger ones
 * bounds the decoder's memory on hostile input. */
#define ZSTD_WINDOWLOG_MAX 27

enum {
	SEC_INFO = 1,
	SEC_STRINGS,
	SEC_MODULES,
	SEC_FRAMES,
	SEC_TRACEBACKS,
	SEC_TRACES,
	SEC_META,
	SEC_LAST = SEC_META,
};

static const char *const section_names[SEC_LAST + 1] = {
	[SEC_INFO] = "info",
	[SEC_STRINGS] = "strings",
	[SEC_MODULES] = "modules",
	[SEC_FRAMES] = "frames",
	[SEC_TRACEBACKS] = "tracebacks",
	[SEC_TRACES] = "traces",
	[SEC_META] = "meta",
};

/* ------------------------------------------------------------ little endian */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static uint64_t zigzag(uint64_t v)
{
	return (v << 1) ^ (0 - (v >> 63));
}

static uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, len);
}

/* The header's crc covers its first 28 bytes and the section table. */
static uint32_t header_crc(const uint8_t *p, uint32_t nsections)
{
	uLong c = crc32_z(0, Z_NULL, 0);

	c = crc32_z(c, p, 28);
	c = crc32_z(c, p + HEADER_SIZE, (size_t)ENTRY_SIZE * nsections);
	return (uint32_t)c;
}

/* ================================================================ encoder */

typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t more)
{
	size_t need;

	if (__builtin_add_overflow(b->len, more, &need))
		return -MS_ENOMEM;
	return ms__grow((void **)&b->p, &b->cap, need, 1);
}

/* Callers reserve 10 bytes per varint beforehand. */
static inline void put_varint(bytes *b, uint64_t v)
{
	uint8_t *q = b->p + b->len;

	while (v >= 0x80) {
		*q++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*q++ = (uint8_t)v;
	b->len = (size_t)(q - b->p);
}

/* Strings are renumbered by first use (modules, frames, metadata) so the
 * file holds only the strings the snapshot references, in an order that
 * depends on the snapshot's content alone: dump -> load -> dump gives the
 * same bytes. */
typedef struct strmap {
	uint32_t *new_id;    /* old id -> new id, 0 = not yet used */
	uint32_t *old_id;    /* new id -> old id */
	uint32_t count;      /* new ids handed out, including 0 */
} strmap;

static uint32_t strmap_use(strmap *m, uint32_t old)
{
	if (old == 0)
		return 0;
	if (!m->new_id[old]) {
		m->new_id[old] = m->count;
		m->old_id[m->count++] = old;
	}
	return m->new_id[old];
}

static int strmap_build(strmap *m, const ms_snapshot *s)
{
	size_t n = s->strings.count;

	m->new_id = ms__calloc_array(n, sizeof(*m->new_id));
	m->old_id = ms__calloc_array(n, sizeof(*m->old_id));
	if (!m->new_id || !m->old_id)
		return -MS_ENOMEM;
	m->count = 1;
	for (size_t i = 0; i < s->nmodules; i++) {
		strmap_use(m, s->modules[i].path);
		strmap_use(m, s->modules[i].build_id);
	}
	for (size_t i = 0; i < s->nframes; i++) {
		strmap_use(m, s->frames[i].filename);
		strmap_use(m, s->frames[i].function);
	}
	for (size_t i = 0; i < s->nmeta; i++) {
		strmap_use(m, s->meta[i].key);
		strmap_use(m, s->meta[i].value);
	}
	return 0;
}

static void strmap_free(strmap *m)
{
	free(m->new_id);
	free(m->old_id);
}

static int encode_info(const ms_snapshot *s, bytes *b)
{
	if (bytes_reserve(b, 10) < 0)
		return -MS_ENOMEM;
	put_varint(b, s->traceback_limit);
	return 0;
}

static int encode_strings(const ms_snapshot *s, const strmap *m, bytes *b)
{
	size_t total = 0;

	for (uint32_t i = 1; i < m->count; i++)
		total += strlen(ms__strpool_get(&s->strings, m->old_id[i]));
	if (bytes_reserve(b, 10 + 10 * (size_t)m->count + total) < 0)
		return -MS_ENOMEM;
	put_varint(b, m->count - 1);
	for (uint32_t i = 1; i < m->count; i++)
		put_varint(b, strlen(ms__strpool_get(&s->strings, m->old_id[i])));
	for (uint32_t i = 1; i < m->count; i++) {
		const char *str = ms__strpool_get(&s->strings, m->old_id[i]);
		size_t len = strlen(str);

		memcpy(b->p + b->len, str, len);
		b->len += len;
	}
	return 0;
}

static int encode_modules(const ms_snapshot *s, const strmap *m, bytes *b)
{
	if (bytes_reserve(b, 10 + 50 * s->nmodules) < 0)
		return -MS_ENOMEM;
	put_varint(b, s->nmodules);
	for (size_t i = 0; i < s->nmodules; i++) {
		const ms__module *mod = &s->modules[i];

		put_varint(b, m->new_id[mod->path]);
		put_varint(b, mod->build_id ? m->new_id[mod->build_id] : 0);
		put_varint(b, mod->bias);
		put_varint(b, mod->start);
		put_varint(b, mod->end);
	}
	return 0;
}

static int encode_frames(const ms_snapshot *s, const strmap *m, bytes *b)
{
	size_t n = s->nframes;
	uint64_t prev = 0;

	if (bytes_reserve(b, 10 + 50 * n) < 0)
		return -MS_ENOMEM;
	put_varint(b, n);
	for (size_t i = 0; i < n; i++) {
		put_varint(b, zigzag(s->frames[i].address - prev));
		prev = s->frames[i].address;
	}
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->frames[i].filename ?
				      m->new_id[s->frames[i].filename] : 0);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->frames[i].lineno);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->frames[i].function ?
				      m->new_id[s->frames[i].function] : 0);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->frames[i].module == MS__NO_MODULE ?
				      0 : (uint64_t)s->frames[i].module + 1);
	return 0;
}

static int encode_tracebacks(const ms_snapshot *s, bytes *b)
{
	size_t n = s->ntracebacks, nids = 0;

	for (size_t i = 0; i < n; i++)
		nids += s->tracebacks[i].nframe;
	if (bytes_reserve(b, 10 + 20 * n + 5 * nids) < 0)
		return -MS_ENOMEM;
	put_varint(b, n);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->tracebacks[i].nframe);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->tracebacks[i].total_nframe);
	for (size_t i = 0; i < n; i++) {
		const ms__traceback *tb = &s->tracebacks[i];

		for (uint32_t j = 0; j < tb->nframe; j++)
			put_varint(b, s->tb_frames[tb->first + j]);
	}
	return 0;
}

/* Addresses are stored as the gap after the previous block: for blocks
 * sorted by address that is the allocator's header and rounding, a handful
 * of small values that zstd squeezes to a few bits. */
static int encode_traces(const ms_snapshot *s, bytes *b)
{
	size_t n = s->ntraces;
	uint64_t next = 0;

	if (bytes_reserve(b, 10 + 35 * n) < 0)
		return -MS_ENOMEM;
	put_varint(b, n);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->traces[i].domain);
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->traces[i].size);
	for (size_t i = 0; i < n; i++) {
		put_varint(b, zigzag(s->traces[i].address - next));
		next = s->traces[i].address + s->traces[i].size;
	}
	for (size_t i = 0; i < n; i++)
		put_varint(b, s->traces[i].traceback);
	return 0;
}

static int encode_meta(const ms_snapshot *s, const strmap *m, bytes *b)
{
	if (bytes_reserve(b, 10 + 10 * s->nmeta) < 0)
		return -MS_ENOMEM;
	put_varint(b, s->nmeta);
	for (size_t i = 0; i < s->nmeta; i++) {
		put_varint(b, m->new_id[s->meta[i].key]);
		put_varint(b, m->new_id[s->meta[i].value]);
	}
	return 0;
}

/* Appends one section's stored bytes to out and fills its table entry. */
static int emit_section(ZSTD_CCtx *cctx, bytes *out, size_t idx,
			uint32_t type, const bytes *raw, ms_error *err)
{
	size_t start = out->len, stored = raw->len;
	uint32_t flags = 0;
	uint8_t *entry;

	if (raw->len > MAX_RAW)
		return ms__fail(err, MS_ELIMIT,
				"section '%s' would hold %zu bytes, more than "
				"the format's limit of 4 GiB",
				section_names[type], raw->len);
	if (raw->len >= MIN_COMPRESS) {
		size_t bound = ZSTD_compressBound(raw->len);
		size_t z;

		if (bytes_reserve(out, bound) < 0)
			return ms__nomem(err, "compressing a snapshot");
		z = ZSTD_compressCCtx(cctx, out->p + start, bound, raw->p,
				      raw->len, ZSTD_LEVEL);
		if (ZSTD_isError(z))
			return ms__fail(err, MS_EIO, "zstd: %s",
					ZSTD_getErrorName(z));
		/* compress only where it pays, and never beyond what the
		 * reader accepts */
		if (z < raw->len && z * (uint64_t)MAX_RATIO >= raw->len) {
			flags = FLAG_ZSTD;
			stored = z;
		}
	}
	if (!flags) {
		if (bytes_reserve(out, raw->len) < 0)
			return ms__nomem(err, "encoding a snapshot");
		if (raw->len)
			memcpy(out->p + start, raw->p, raw->len);
	}
	out->len = start + stored;
	/* out->p may have moved while the section was appended */
	entry = out->p + HEADER_SIZE + ENTRY_SIZE * idx;
	put_le32(entry, type);
	put_le32(entry + 4, flags);
	put_le64(entry + 8, start);
	put_le64(entry + 16, stored);
	put_le64(entry + 24, raw->len);
	put_le32(entry + 32, crc(out->p + start, stored));
	put_le32(entry + 36, 0);
	return 0;
}

static int encode(const ms_snapshot *s, uint8_t **buf, size_t *len,
		  const ms_progress *p, ms_error *err)
{
	bytes out = { 0 }, raw = { 0 };
	strmap map = { 0 };
	ZSTD_CCtx *cctx = NULL;
	size_t table = HEADER_SIZE + ENTRY_SIZE * SEC_LAST;
	int rc = 0;

	if (!s || !buf || !len)
		return ms__fail(err, MS_EINVAL,
				"ms_snapshot_encode: NULL argument");
	*buf = NULL;
	*len = 0;
	if (strmap_build(&map, s) < 0) {
		rc = ms__nomem(err, "encoding a snapshot");
		goto out;
	}
	cctx = ZSTD_createCCtx();
	if (!cctx || bytes_reserve(&out, table) < 0) {
		rc = ms__nomem(err, "encoding a snapshot");
		goto out;
	}
	memset(out.p, 0, table);
	out.len = table;
	for (uint32_t type = SEC_INFO; type <= SEC_LAST; type++) {
		ms__progress(p, "encoding", type - SEC_INFO, SEC_LAST);
		raw.len = 0;
		switch (type) {
		case SEC_INFO: rc = encode_info(s, &raw); break;
		case SEC_STRINGS: rc = encode_strings(s, &map, &raw); break;
		case SEC_MODULES: rc = encode_modules(s, &map, &raw); break;
		case SEC_FRAMES: rc = encode_frames(s, &map, &raw); break;
		case SEC_TRACEBACKS: rc = encode_tracebacks(s, &raw); break;
		case SEC_TRACES: rc = encode_traces(s, &raw); break;
		default: rc = encode_meta(s, &map, &raw); break;
		}
		if (rc < 0) {
			rc = ms__nomem(err, "encoding a snapshot");
			goto out;
		}
		rc = emit_section(cctx, &out, type - SEC_INFO, type, &raw, err);
		if (rc < 0)
			goto out;
	}
	memcpy(out.p, MAGIC, MAGIC_LEN);
	put_le16(out.p + 8, FORMAT_VERSION);
	put_le16(out.p + 10, 0);
	put_le32(out.p + 12, SEC_LAST);
	put_le64(out.p + 16, out.len);
	put_le32(out.p + 24, 0);
	put_le32(out.p + 28, header_crc(out.p, SEC_LAST));
	ms__progress(p, "encoding", SEC_LAST, SEC_LAST);
out:
	ZSTD_freeCCtx(cctx);
	strmap_free(&map);
	free(raw.p);
	if (rc < 0) {
		free(out.p);
		return rc;
	}
	*buf = out.p;
	*len = out.len;
	return 0;
}

int ms_snapshot_encode(const ms_snapshot *s, uint8_t **buf, size_t *len,
		       ms_error *err)
{
	return encode(s, buf, len, NULL, err);
}

/* ================================================================ decoder */

typedef struct section {
	uint32_t flags;
	uint64_t stored, raw;
	const uint8_t *data;   /* the stored bytes, inside the file */
	bool present;
} section;

typedef struct reader {
	const uint8_t *start, *p, *end;
	const char *name;      /* the section, for messages */
	uint64_t seed;         /* secret per load: no crafted hash floods */
	ms_error *err;
} reader;

static int rfail(reader *r, int code, const char *fmt, ...) MS__PRINTF(3, 4);
static int rfail(reader *r, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ms__fail(r->err, code, "section '%s': %s", r->name, msg);
}

static size_t rpos(const reader *r, const uint8_t *p)
{
	return (size_t)(p - r->start);
}

static int varint_slow(reader *r, uint64_t *out)
{
	const uint8_t *p = r->p;
	uint64_t v = 0;

	for (int i = 0;; i++) {
		uint8_t b;

		if (p == r->end)
			return rfail(r, MS_ECORRUPT,
				     "the number at byte %zu runs past the end "
				     "of the section", rpos(r, r->p));
		b = *p++;
		if (i == 9 && b > 1)
			return rfail(r, MS_ECORRUPT,
				     "the number at byte %zu does not fit in "
				     "64 bits", rpos(r, r->p));
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return rfail(r, MS_ECORRUPT,
					     "the number at byte %zu is not in "
					     "its shortest form", rpos(r, r->p));
			break;
		}
	}
	r->p = p;
	*out = v;
	return 0;
}

static inline int get_varint(reader *r, uint64_t *out)
{
	if (r->p < r->end && *r->p < 0x80) {
		*out = *r->p++;
		return 0;
	}
	return varint_slow(r, out);
}

/* A count of elements that each take at least min_bytes of what is left:
 * checking it here, before any allocation, is what keeps a small file from
 * asking for gigabytes. */
static int get_count(reader *r, uint64_t *n, size_t min_bytes, uint64_t max,
		     const char *what)
{
	size_t left;

	if (get_varint(r, n) < 0)
		return -MS_ECORRUPT;
	if (*n > max)
		return rfail(r, MS_ELIMIT, "%" PRIu64 " %s, more than the "
			     "limit of %" PRIu64, *n, what, max);
	left = (size_t)(r->end - r->p);
	if (*n > left / min_bytes)
		return rfail(r, MS_ECORRUPT, "%" PRIu64 " %s declared but only "
			     "%zu bytes left to hold them", *n, what, left);
	return 0;
}

/* An id of something in a table of n; names the referrer in the message. */
static int get_id(reader *r, uint64_t *v, uint64_t n, const char *who,
		  size_t idx, const char *field, const char *table)
{
	if (get_varint(r, v) < 0)
		return -MS_ECORRUPT;
	if (*v >= n)
		return rfail(r, MS_ECORRUPT, "%s %zu: %s %" PRIu64 " is out "
			     "of range (%" PRIu64 " %s)", who, idx, field, *v,
			     n, table);
	return 0;
}

static int check_end(reader *r)
{
	if (r->p != r->end)
		return rfail(r, MS_ECORRUPT, "%zu unexpected bytes after the "
			     "last entry", (size_t)(r->end - r->p));
	return 0;
}

static int decode_info(reader *r, uint32_t *limit)
{
	uint64_t v;

	if (get_varint(r, &v) < 0)
		return -MS_ECORRUPT;
	if (v > UINT32_MAX)
		return rfail(r, MS_ECORRUPT, "traceback_limit %" PRIu64
			     " does not fit in 32 bits", v);
	*limit = (uint32_t)v;
	return check_end(r);
}

/* Modules, frames and tracebacks are interned by the builder: equal ones
 * share one id. A file that repeats one would break that invariant (two
 * statistics lines for one traceback), so the loader refuses it. */
typedef bool (*same_fn)(const ms_snapshot *s, uint32_t a, uint32_t b);
typedef uint64_t (*hash_fn)(const ms_snapshot *s, uint32_t i, uint64_t seed);

/* base: the id of element 0 in messages (strings count from 1). */
static int find_repeat(const ms_snapshot *s, size_t n, hash_fn hash,
		       same_fn same, reader *r, const char *what,
		       uint32_t base)
{
	size_t cap = 16;
	uint32_t *slots;

	while (cap < 2 * n)
		cap *= 2;
	slots = ms__calloc_array(cap, sizeof(*slots));
	if (!slots)
		return ms__nomem(r->err, "checking a snapshot file");
	for (uint32_t i = 0; i < n; i++) {
		size_t j = hash(s, i, r->seed) & (cap - 1);

		for (; slots[j]; j = (j + 1) & (cap - 1)) {
			uint32_t first = slots[j] - 1;

			if (same(s, first, i)) {
				free(slots);
				return rfail(r, MS_ECORRUPT, "%s %" PRIu32
					     " repeats %s %" PRIu32, what,
					     i + base, what, first + base);
			}
		}
		slots[j] = i + 1;
	}
	free(slots);
	return 0;
}

static uint64_t module_hash(const ms_snapshot *s, uint32_t i, uint64_t seed)
{
	const ms__module *m = &s->modules[i];

	return ms__hash64(m->path ^ ms__hash64(m->build_id ^ ms__hash64(
		m->bias ^ ms__hash64(m->start ^ ms__hash64(m->end ^ seed)))));
}

static bool module_same(const ms_snapshot *s, uint32_t a, uint32_t b)
{
	const ms__module *x = &s->modules[a], *y = &s->modules[b];

	return x->path == y->path && x->build_id == y->build_id &&
	       x->bias == y->bias && x->start == y->start && x->end == y->end;
}

static uint64_t frame_hash(const ms_snapshot *s, uint32_t i, uint64_t seed)
{
	const ms__frame *f = &s->frames[i];

	return ms__hash64(f->address ^ ms__hash64(
		((uint64_t)f->filename << 32 | f->lineno) ^
		ms__hash64(((uint64_t)f->function << 32 | f->module) ^ seed)));
}

static bool frame_same(const ms_snapshot *s, uint32_t a, uint32_t b)
{
	const ms__frame *x = &s->frames[a], *y = &s->frames[b];

	return x->address == y->address && x->filename == y->filename &&
	       x->lineno == y->lineno && x->function == y->function &&
	       x->module == y->module;
}

static uint64_t traceback_hash(const ms_snapshot *s, uint32_t i,
			       uint64_t seed)
{
	const ms__traceback *t = &s->tracebacks[i];

	return ms__hash_bytes(s->tb_frames + t->first,
			      t->nframe * sizeof(uint32_t),
			      seed ^ t->total_nframe);
}

static uint64_t string_hash(const ms_snapshot *s, uint32_t i, uint64_t seed)
{
	const char *str = ms__strpool_get(&s->strings, i + 1);

	return ms__hash_bytes(str, strlen(str), seed);
}

static bool string_same(const ms_snapshot *s, uint32_t a, uint32_t b)
{
	return strcmp(ms__strpool_get(&s->strings, a + 1),
		      ms__strpool_get(&s->strings, b + 1)) == 0;
}

static bool traceback_same(const ms_snapshot *s, uint32_t a, uint32_t b)
{
	const ms__traceback *x = &s->tracebacks[a], *y = &s->tracebacks[b];

	return x->nframe == y->nframe && x->total_nframe == y->total_nframe &&
	       memcmp(s->tb_frames + x->first, s->tb_frames + y->first,
		      x->nframe * sizeof(uint32_t)) == 0;
}

/* The pool is filled directly rather than through ms__strpool_intern:
 * one copy, and uniqueness is checked with the loader's seeded hash. */
static int decode_strings(reader *r, ms_snapshot *s)
{
	ms__strpool *pool = &s->strings;
	uint64_t n, total = 0;
	uint32_t *lens = NULL;
	int rc = 0;

	if (get_count(r, &n, 2, UINT32_MAX - 2, "strings") < 0)
		return -MS_ECORRUPT;
	lens = ms__malloc_array(n, sizeof(*lens));
	if (!lens)
		return ms__nomem(r->err, "loading strings");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v;

		if ((rc = get_varint(r, &v)) < 0)
			goto out;
		if (v == 0 || v > (uint64_t)(r->end - r->p)) {
			rc = rfail(r, MS_ECORRUPT, "string %" PRIu64 " has "
				   "length %" PRIu64 ", %s", i + 1, v,
				   v ? "past the end of the section" :
				       "but only string 0 may be empty");
			goto out;
		}
		lens[i] = (uint32_t)v;
		total += v;
	}
	if (total > (uint64_t)(r->end - r->p)) {
		rc = rfail(r, MS_ECORRUPT, "the strings need %" PRIu64 " bytes "
			   "but only %zu are left", total,
			   (size_t)(r->end - r->p));
		goto out;
	}
	if (pool->len + total + n > UINT32_MAX) {
		rc = rfail(r, MS_ELIMIT, "the strings take more than 4 GiB");
		goto out;
	}
	if (ms__grow((void **)&pool->data, &pool->cap, pool->len + total + n,
		     1) < 0 ||
	    ms__grow((void **)&pool->offsets, &pool->offsets_cap,
		     pool->count + n, sizeof(*pool->offsets)) < 0) {
		rc = ms__nomem(r->err, "loading strings");
		goto out;
	}
	ms__strpool_freeze(pool);
	for (uint64_t i = 0; i < n; i++) {
		if (memchr(r->p, '\0', lens[i])) {
			rc = rfail(r, MS_ECORRUPT, "string %" PRIu64
				   " contains a NUL byte", i + 1);
			goto out;
		}
		memcpy(pool->data + pool->len, r->p, lens[i]);
		pool->data[pool->len + lens[i]] = '\0';
		pool->offsets[pool->count++] = (uint32_t)pool->len;
		pool->len += lens[i] + 1;
		r->p += lens[i];
	}
	if ((rc = check_end(r)) < 0)
		goto out;
	rc = find_repeat(s, n, string_hash, string_same, r, "string", 1);
out:
	free(lens);
	return rc;
}

static int decode_modules(reader *r, ms_snapshot *s)
{
	uint64_t n, nstr = s->strings.count;

	if (get_count(r, &n, 5, MS__NO_MODULE - 1, "modules") < 0)
		return -MS_ECORRUPT;
	s->modules = ms__calloc_array(n, sizeof(*s->modules));
	if (!s->modules)
		return ms__nomem(r->err, "loading modules");
	s->modules_cap = n;
	for (uint64_t i = 0; i < n; i++) {
		ms__module *m = &s->modules[i];
		uint64_t path, build_id;

		if (get_id(r, &path, nstr, "module", i, "path string", "strings") < 0 ||
		    get_id(r, &build_id, nstr, "module", i, "build-id string",
			   "strings") < 0 ||
		    get_varint(r, &m->bias) < 0 ||
		    get_varint(r, &m->start) < 0 ||
		    get_varint(r, &m->end) < 0)
			return -MS_ECORRUPT;
		m->path = (uint32_t)path;
		m->build_id = (uint32_t)build_id;
		s->nmodules = i + 1;
	}
	if (check_end(r) < 0)
		return -MS_ECORRUPT;
	return find_repeat(s, s->nmodules, module_hash, module_same, r,
			   "module", 0);
}

static int decode_frames(reader *r, ms_snapshot *s)
{
	uint64_t n, v, addr = 0, nstr = s->strings.count;
	ms__frame *f;

	if (get_count(r, &n, 5, UINT32_MAX - 1, "frames") < 0)
		return -MS_ECORRUPT;
	f = s->frames = ms__calloc_array(n, sizeof(*s->frames));
	if (!f)
		return ms__nomem(r->err, "loading frames");
	s->frames_cap = n;
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		addr += unzigzag(v);
		f[i].address = addr;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (get_id(r, &v, nstr, "frame", i, "filename string", "strings") < 0)
			return -MS_ECORRUPT;
		f[i].filename = (uint32_t)v;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		if (v > UINT32_MAX)
			return rfail(r, MS_ECORRUPT, "frame %" PRIu64 ": line "
				     "%" PRIu64 " does not fit in 32 bits", i, v);
		f[i].lineno = (uint32_t)v;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (get_id(r, &v, nstr, "frame", i, "function string", "strings") < 0)
			return -MS_ECORRUPT;
		f[i].function = (uint32_t)v;
	}
	for (uint64_t i = 0; i < n; i++) {
		/* 0 = no module, k = module k - 1 */
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		if (v > s->nmodules)
			return rfail(r, MS_ECORRUPT, "frame %" PRIu64 ": module "
				     "%" PRIu64 " (1-based) is out of range "
				     "(%zu modules)", i, v, s->nmodules);
		f[i].module = v ? (uint32_t)(v - 1) : MS__NO_MODULE;
	}
	s->nframes = n;
	if (check_end(r) < 0)
		return -MS_ECORRUPT;
	return find_repeat(s, s->nframes, frame_hash, frame_same, r, "frame",
			   0);
}

static int decode_tracebacks(reader *r, ms_snapshot *s)
{
	uint64_t n, v, nids = 0;
	ms__traceback *tb;

	if (get_count(r, &n, 2, UINT32_MAX - 1, "tracebacks") < 0)
		return -MS_ECORRUPT;
	tb = s->tracebacks = ms__calloc_array(n, sizeof(*s->tracebacks));
	if (!tb)
		return ms__nomem(r->err, "loading tracebacks");
	s->tracebacks_cap = n;
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		if (v > UINT32_MAX)
			return rfail(r, MS_ECORRUPT, "traceback %" PRIu64 " has "
				     "%" PRIu64 " frames", i, v);
		tb[i].first = (uint32_t)nids;
		tb[i].nframe = (uint32_t)v;
		nids += v;
		if (nids > UINT32_MAX)
			return rfail(r, MS_ELIMIT, "more than 2^32 frame ids "
				     "in all tracebacks");
	}
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		if (v > UINT32_MAX)
			return rfail(r, MS_ECORRUPT, "traceback %" PRIu64 ": "
				     "total_nframe %" PRIu64 " does not fit in "
				     "32 bits", i, v);
		tb[i].total_nframe = (uint32_t)v;
	}
	if (nids > (uint64_t)(r->end - r->p))
		return rfail(r, MS_ECORRUPT, "the tracebacks list %" PRIu64
			     " frame ids but only %zu bytes are left", nids,
			     (size_t)(r->end - r->p));
	s->tb_frames = ms__malloc_array(nids, sizeof(*s->tb_frames));
	if (!s->tb_frames)
		return ms__nomem(r->err, "loading tracebacks");
	s->tb_frames_cap = nids;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t *ids = s->tb_frames + tb[i].first;

		for (uint32_t j = 0; j < tb[i].nframe; j++) {
			if (get_id(r, &v, s->nframes, "traceback", i,
				   "frame id", "frames") < 0)
				return -MS_ECORRUPT;
			ids[j] = (uint32_t)v;
		}
	}
	s->ntb_frames = nids;
	s->ntracebacks = n;
	if (check_end(r) < 0)
		return -MS_ECORRUPT;
	return find_repeat(s, s->ntracebacks, traceback_hash, traceback_same,
			   r, "traceback", 0);
}

static int decode_traces(reader *r, ms_snapshot *s)
{
	uint64_t n, v, next = 0;
	ms__trace *t;

	if (get_count(r, &n, 4, SIZE_MAX / sizeof(ms__trace), "traces") < 0)
		return -MS_ECORRUPT;
	t = s->traces = ms__malloc_array(n, sizeof(*s->traces));
	if (!t)
		return ms__nomem(r->err, "loading traces");
	s->traces_cap = n;
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		if (v > UINT32_MAX)
			return rfail(r, MS_ECORRUPT, "trace %" PRIu64 ": domain "
				     "%" PRIu64 " does not fit in 32 bits", i, v);
		t[i].domain = (uint32_t)v;
	}
	for (uint64_t i = 0; i < n; i++)
		if (get_varint(r, &t[i].size) < 0)
			return -MS_ECORRUPT;
	for (uint64_t i = 0; i < n; i++) {
		if (get_varint(r, &v) < 0)
			return -MS_ECORRUPT;
		t[i].address = next + unzigzag(v);
		next = t[i].address + t[i].size;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (get_id(r, &v, s->ntracebacks, "trace", i, "traceback id",
			   "tracebacks") < 0)
			return -MS_ECORRUPT;
		t[i].traceback = (uint32_t)v;
	}
	s->ntraces = n;
	return check_end(r);
}

static int decode_meta(reader *r, ms_snapshot *s)
{
	uint64_t n, key, value, nstr = s->strings.count;
	uint8_t *seen;
	int rc = 0;

	if (get_count(r, &n, 2, UINT32_MAX, "metadata entries") < 0)
		return -MS_ECORRUPT;
	s->meta = ms__calloc_array(n, sizeof(*s->meta));
	seen = ms__calloc_array(nstr, 1);
	if (!s->meta || !seen) {
		free(seen);
		return ms__nomem(r->err, "loading metadata");
	}
	s->meta_cap = n;
	for (uint64_t i = 0; i < n; i++) {
		if (get_id(r, &key, nstr, "metadata entry", i, "key string",
			   "strings") < 0 ||
		    get_id(r, &value, nstr, "metadata entry", i, "value string",
			   "strings") < 0) {
			rc = -MS_ECORRUPT;
			goto out;
		}
		if (key == 0) {
			rc = rfail(r, MS_ECORRUPT, "metadata entry %" PRIu64
				   " has an empty key", i);
			goto out;
		}
		/* strings are unique, so equal keys have equal ids */
		if (seen[key]++) {
			rc = rfail(r, MS_ECORRUPT, "metadata key '%.64s' "
				   "appears twice",
				   ms__strpool_get(&s->strings, (uint32_t)key));
			goto out;
		}
		s->meta[i].key = (uint32_t)key;
		s->meta[i].value = (uint32_t)value;
		s->nmeta = i + 1;
	}
	rc = check_end(r);
out:
	free(seen);
	return rc;
}

/* Validates the header and the section table; fills secs by type. */
static int parse_header(const uint8_t *buf, size_t len,
			section secs[SEC_LAST + 1], ms_error *err)
{
	uint64_t file_size, pos;
	uint32_t version, nsec, stored_crc, actual_crc;
	size_t table_end;

	if (len < MAGIC_LEN) {
		if (len && memcmp(buf, MAGIC, len) == 0)
			return ms__fail(err, MS_ETRUNCATED, "truncated: the file "
					"has %zu bytes, less than the %d-byte "
					"header", len, HEADER_SIZE);
		return ms__fail(err, MS_EFORMAT, "not a memsnap snapshot file "
				"(%zu bytes, too short for the signature)", len);
	}
	if (memcmp(buf, MAGIC, MAGIC_LEN) != 0)
		return ms__fail(err, MS_EFORMAT, "not a memsnap snapshot file "
				"(the first 8 bytes are not the memsnap "
				"signature)");
	if (len < HEADER_SIZE)
		return ms__fail(err, MS_ETRUNCATED, "truncated: the file has "
				"%zu bytes, less than the %d-byte header", len,
				HEADER_SIZE);
	version = get_le16(buf + 8);
	if (version != FORMAT_VERSION)
		return ms__fail(err, MS_EVERSION, "file format version %" PRIu32
				" %s; this memsnap reads version %d", version,
				version > FORMAT_VERSION ?
					"is newer than this memsnap (upgrade "
					"memsnap to read it)" : "is not valid",
				FORMAT_VERSION);
	nsec = get_le32(buf + 12);
	if (nsec == 0 || nsec > MAX_SECTIONS)
		return ms__fail(err, MS_ECORRUPT, "corrupt header: %" PRIu32
				" sections (1 to %d allowed)", nsec,
				MAX_SECTIONS);
	table_end = HEADER_SIZE + (size_t)ENTRY_SIZE * nsec;
	if (table_end > len)
		return ms__fail(err, MS_ETRUNCATED, "truncated: the section "
				"table ends at byte %zu but the file has %zu "
				"bytes", table_end, len);
	stored_crc = get_le32(buf + 28);
	actual_crc = header_crc(buf, nsec);
	if (stored_crc != actual_crc)
		return ms__fail(err, MS_ECHECKSUM, "header checksum mismatch "
				"(stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
				"): the file is damaged", stored_crc,
				actual_crc);
	if (get_le16(buf + 10) != 0 || get_le32(buf + 24) != 0)
		return ms__fail(err, MS_ECORRUPT, "corrupt header: reserved "
				"fields are not zero");
	file_size = get_le64(buf + 16);

	/* sections tile the file in table order: no gap, no overlap */
	pos = table_end;
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + HEADER_SIZE + (size_t)ENTRY_SIZE * i;
		uint32_t type = get_le32(e), flags = get_le32(e + 4);
		uint64_t off = get_le64(e + 8), stored = get_le64(e + 16);
		uint64_t raw = get_le64(e + 24);
		const char *name = type >= SEC_INFO && type <= SEC_LAST ?
					   section_names[type] : "unknown";

		if ((flags & ~FLAGS_KNOWN) || get_le32(e + 36) != 0)
			return ms__fail(err, MS_ECORRUPT, "section %" PRIu32
					" ('%s'): unknown flags 0x%" PRIx32
					" or reserved field not zero", i, name,
					flags);
		if (off != pos)
			return ms__fail(err, MS_ECORRUPT, "section %" PRIu32
					" ('%s') starts at byte %" PRIu64
					", expected %" PRIu64, i, name, off,
					pos);
		if (stored > UINT64_MAX - off)
			return ms__fail(err, MS_ECORRUPT, "section %" PRIu32
					" ('%s'): size %" PRIu64 " overflows",
					i, name, stored);
		if (raw > MAX_RAW)
			return ms__fail(err, MS_ELIMIT, "section %" PRIu32
					" ('%s') expands to %" PRIu64 " bytes, "
					"more than the limit of 4 GiB", i,
					name, raw);
		if (flags & FLAG_ZSTD) {
			if (raw / MAX_RATIO > stored)
				return ms__fail(err, MS_ECORRUPT, "section %"
						PRIu32 " ('%s'): %" PRIu64
						" bytes claim to expand to %"
						PRIu64 ", more than %d times",
						i, name, stored, raw,
						MAX_RATIO);
		} else if (raw != stored) {
			return ms__fail(err, MS_ECORRUPT, "section %" PRIu32
					" ('%s') is stored uncompressed but its "
					"sizes differ (%" PRIu64 " and %" PRIu64
					")", i, name, stored, raw);
		}
		pos = off + stored;
	}
	if (pos != file_size)
		return ms__fail(err, MS_ECORRUPT, "corrupt header: the file "
				"size is %" PRIu64 " but the sections end at "
				"byte %" PRIu64, file_size, pos);
	if (file_size > len) {
		for (uint32_t i = 0; i < nsec; i++) {
			const uint8_t *e = buf + HEADER_SIZE +
					   (size_t)ENTRY_SIZE * i;
			uint32_t type = get_le32(e);
			uint64_t end = get_le64(e + 8) + get_le64(e + 16);

			if (end > len)
				return ms__fail(err, MS_ETRUNCATED,
						"truncated: section '%s' ends "
						"at byte %" PRIu64 " but the "
						"file has %zu bytes",
						type >= SEC_INFO &&
								type <= SEC_LAST ?
							section_names[type] :
							"unknown",
						end, len);
		}
	}
	if (file_size < len)
		return ms__fail(err, MS_ECORRUPT, "%" PRIu64 " unexpected "
				"bytes after the end of the snapshot (byte %"
				PRIu64 ")", len - file_size, file_size);

	memset(secs, 0, sizeof(section) * (SEC_LAST + 1));
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = buf + HEADER_SIZE + (size_t)ENTRY_SIZE * i;
		uint32_t type = get_le32(e), flags = get_le32(e + 4);
		uint64_t off = get_le64(e + 8), stored = get_le64(e + 16);
		bool known = type >= SEC_INFO && type <= SEC_LAST;
		const char *name = known ? section_names[type] : "unknown";

		stored_crc = get_le32(e + 32);
		actual_crc = crc(buf + off, stored);
		if (stored_crc != actual_crc)
			return ms__fail(err, MS_ECHECKSUM, "section %" PRIu32
					" ('%s') checksum mismatch (stored "
					"0x%08" PRIx32 ", computed 0x%08" PRIx32
					"): the file is damaged", i, name,
					stored_crc, actual_crc);
		if (!known) {
			/* a later minor revision may add optional sections */
			if (flags & FLAG_OPTIONAL)
				continue;
			return ms__fail(err, MS_EVERSION, "section %" PRIu32
					" has type %" PRIu32 ", unknown to this "
					"memsnap and required: the file needs "
					"a newer memsnap", i, type);
		}
		if (secs[type].present)
			return ms__fail(err, MS_ECORRUPT, "section '%s' "
					"appears twice", name);
		secs[type].present = true;
		secs[type].flags = flags;
		secs[type].stored = stored;
		secs[type].raw = get_le64(e + 24);
		secs[type].data = buf + off;
	}
	for (uint32_t type = SEC_INFO; type <= SEC_LAST; type++)
		if (!secs[type].present)
			return ms__fail(err, MS_ECORRUPT, "section '%s' is "
					"missing", section_names[type]);
	return 0;
}

/* The raw bytes of a section: the stored bytes, or decompressed into a
 * buffer of exactly the declared size (returned in *owned). */
static int section_raw(ZSTD_DCtx *dctx, const section *sec, const char *name,
		       const uint8_t **raw, uint8_t **owned, ms_error *err)
{
	unsigned long long content;
	size_t got;

	*owned = NULL;
	if (!(sec->flags & FLAG_ZSTD)) {
		*raw = sec->data;
		return 0;
	}
	content = ZSTD_getFrameContentSize(sec->data, sec->stored);
	if (content != sec->raw)
		return ms__fail(err, MS_ECORRUPT, "section '%s': the zstd frame "
				"does not declare the section's size %" PRIu64,
				name, sec->raw);
	if (ZSTD_findFrameCompressedSize(sec->data, sec->stored) != sec->stored)
		return ms__fail(err, MS_ECORRUPT, "section '%s' is not exactly "
				"one zstd frame", name);
	*owned = malloc(sec->raw ? sec->raw : 1);
	if (!*owned)
		return ms__nomem(err, "decompressing a snapshot");
	got = ZSTD_decompressDCtx(dctx, *owned, sec->raw, sec->data,
				  sec->stored);
	if (ZSTD_isError(got))
		return ms__fail(err, MS_ECORRUPT, "section '%s': zstd: %s",
				name, ZSTD_getErrorName(got));
	if (got != sec->raw)
		return ms__fail(err, MS_ECORRUPT, "section '%s' decompresses to "
				"%zu bytes, not %" PRIu64, name, got, sec->raw);
	*raw = *owned;
	return 0;
}

static ms_snapshot *decode(const uint8_t *buf, size_t len,
			   const ms_progress *p, ms_error *err)
{
	section secs[SEC_LAST + 1];
	ms_snapshot *s = NULL;
	ZSTD_DCtx *dctx = NULL;
	uint32_t limit = 0;
	uint64_t seed, done = 0, total = 0;
	int rc;

	if (!buf && len) {
		ms__fail(err, MS_EINVAL, "ms_snapshot_decode: NULL buffer");
		return NULL;
	}
	if (parse_header(buf, len, secs, err) < 0)
		return NULL;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = ms__hash64((uintptr_t)&seed ^ (uintptr_t)buf);
	dctx = ZSTD_createDCtx();
	if (!dctx ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
						ZSTD_WINDOWLOG_MAX))) {
		ms__nomem(err, "decompressing a snapshot");
		goto fail;
	}
	/* the raw bytes of the sections measure the work */
	for (uint32_t type = SEC_INFO; type <= SEC_LAST; type++)
		total += secs[type].raw;
	for (uint32_t type = SEC_INFO; type <= SEC_LAST; type++) {
		const uint8_t *raw = NULL;
		uint8_t *owned;
		reader r;

		ms__progress(p, "decoding", done, total);
		done += secs[type].raw;
		if (section_raw(dctx, &secs[type], section_names[type], &raw,
				&owned, err) < 0) {
			free(owned);
			goto fail;
		}
		r.start = r.p = raw;
		r.end = raw + secs[type].raw;
		r.name = section_names[type];
		r.seed = seed;
		r.err = err;
		switch (type) {
		case SEC_INFO:
			rc = decode_info(&r, &limit);
			if (rc == 0 && !(s = ms__snapshot_new(limit, err)))
				rc = -MS_ENOMEM;
			break;
		case SEC_STRINGS: rc = decode_strings(&r, s); break;
		case SEC_MODULES: rc = decode_modules(&r, s); break;
		case SEC_FRAMES: rc = decode_frames(&r, s); break;
		case SEC_TRACEBACKS: rc = decode_tracebacks(&r, s); break;
		case SEC_TRACES: rc = decode_traces(&r, s); break;
		default: rc = decode_meta(&r, s); break;
		}
		free(owned);
		if (rc < 0)
			goto fail;
	}
	ms__strpool_freeze(&s->strings);
	ZSTD_freeDCtx(dctx);
	ms__progress(p, "decoding", total, total);
	return s;
fail:
	ZSTD_freeDCtx(dctx);
	ms_snapshot_free(s);
	return NULL;
}

ms_snapshot *ms_snapshot_decode(const uint8_t *buf, size_t len, ms_error *err)
{
	return decode(buf, len, NULL, err);
}

/* ================================================================ files */

/* Big files are read and written in chunks of this many bytes, each a
 * step of the progress. */
#define IO_CHUNK ((size_t)8 << 20)

static int write_all(int fd, const uint8_t *p, size_t len,
		     const ms_progress *progress)
{
	size_t done = 0;

	while (done < len) {
		size_t left = len - done;
		ssize_t n;

		ms__progress(progress, "writing", done, len);
		n = write(fd, p + done, left > IO_CHUNK ? IO_CHUNK : left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	ms__progress(progress, "writing", len, len);
	return 0;
}

/* Opens a fresh temporary file next to base in dirfd. O_EXCL|O_NOFOLLOW
 * so that nothing planted under the name is ever opened. */
static int open_temp(int dirfd, const char *base, char *name, size_t size)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = ms__hash64((uint64_t)getpid() << 32 ^
				       (uint64_t)attempt ^ (uintptr_t)name);
		snprintf(name, size, ".%.200s.%012" PRIx64 ".tmp", base,
			 r & UINT64_C(0xffffffffffff));
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
				     O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int ms_snapshot_dump_progress(const ms_snapshot *s, const char *path,
			      const ms_progress *p, ms_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!s || !path || !*path)
		return ms__fail(err, MS_EINVAL, "ms_snapshot_dump: no snapshot "
				"or empty path");
	rc = encode(s, &buf, &len, p, err);
	if (rc == 0)
		rc = ms_file_write_atomic_progress(path, buf, len, "a snapshot",
						   p, err);
	free(buf);
	return rc;
}

int ms_snapshot_dump(const ms_snapshot *s, const char *path, ms_error *err)
{
	return ms_snapshot_dump_progress(s, path, NULL, err);
}

int ms_file_write_atomic(const char *path, const void *buf, size_t len,
			 const char *what, ms_error *err)
{
	return ms_file_write_atomic_progress(path, buf, len, what, NULL, err);
}

int ms_file_write_atomic_progress(const char *path, const void *buf,
				  size_t len, const char *what,
				  const ms_progress *p, ms_error *err)
{
	char dir[PATH_MAX], tmp[256];
	const char *slash, *base;
	int dirfd = -1, fd = -1, rc;

	if (!path || !*path)
		return ms__fail(err, MS_EINVAL, "cannot write %s: empty path",
				what);
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return ms__fail(err, MS_EINVAL, "cannot write %s to '%s': the "
				"path names a directory, not a file", what,
				path);
	if (strlen(base) > NAME_MAX)
		return ms__fail(err, MS_EINVAL, "cannot write %s to '%.200s...': "
				"the file name is longer than %d bytes", what,
				path, NAME_MAX);
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return ms__fail(err, MS_EINVAL, "cannot write %s to '%.200s...': "
				"the path is too long", what, path);
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return ms__fail(err, MS_EIO, "cannot write %s to '%s': "
				"directory '%s': %s", what, path, dir,
				strerror(errno));
	fd = open_temp(dirfd, base, tmp, sizeof(tmp));
	if (fd < 0) {
		rc = ms__fail(err, MS_EIO, "cannot create a temporary file in "
			      "'%s' to write '%s': %s", dir, path,
			      strerror(errno));
		goto out;
	}
	/* 0600 whatever the umask: a snapshot holds the target's secrets */
	if (fchmod(fd, 0600) < 0 || write_all(fd, buf, len, p) < 0) {
		rc = ms__fail(err, MS_EIO, "cannot write '%s': %s", path,
			      strerror(errno));
		goto out_unlink;
	}
	ms__progress(p, "syncing", 0, 0);
	if (fsync(fd) < 0) {
		rc = ms__fail(err, MS_EIO, "cannot write '%s': %s", path,
			      strerror(errno));
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = ms__fail(err, MS_EIO, "cannot write '%s': %s", path,
			      strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	/* rename replaces a symlink at path instead of following it */
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		rc = ms__fail(err, MS_EIO, "cannot replace '%s': %s", path,
			      strerror(errno));
		goto out_unlink;
	}
	if (fsync(dirfd) < 0) {
		/* the new file is in place; only its durability is in doubt */
		rc = ms__fail(err, MS_EIO, "wrote '%s' but could not sync its "
			      "directory: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
out_unlink:
	unlinkat(dirfd, tmp, 0);
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}

ms_snapshot *ms_snapshot_load_progress(const char *path, const ms_progress *p,
				       ms_error *err)
{
	ms_snapshot *s;
	ms_error e = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd;

	if (!path) {
		ms__fail(err, MS_EINVAL, "ms_snapshot_load: NULL path");
		return NULL;
	}
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ms__fail(err, MS_EIO, "cannot open '%s': %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		ms__fail(err, MS_EIO, "cannot read '%s': %s", path,
			 strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ms__fail(err, MS_EIO, "cannot load '%s': not a regular file",
			 path);
		goto fail;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ms__nomem(err, "reading a snapshot file");
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		size_t left = (size_t)st.st_size - len;
		ssize_t n;

		ms__progress(p, "reading", len, (uint64_t)st.st_size);
		n = read(fd, buf + len, left > IO_CHUNK ? IO_CHUNK : left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ms__fail(err, MS_EIO, "cannot read '%s': %s", path,
				 strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;  /* shrank under us: the decoder says truncated */
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	s = decode(buf, len, p, &e);
	free(buf);
	if (!s)
		ms__fail(err, e.code, "%s: %s", path, e.message);
	return s;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

ms_snapshot *ms_snapshot_load(const char *path, ms_error *err)
{
	return ms_snapshot_load_progress(path, NULL, err);
}
