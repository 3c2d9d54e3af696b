/* test_file.c - the snapshot file format: round trips, determinism, and a
 * loader that refuses every damaged or hostile file with a clear message. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "memsnap.h"

/* ------------------------------------------------------------ helpers */

/* A small snapshot that uses every field: two modules (one without a
 * build-id), frames with and without function/module, a traceback cut by
 * the limit (total_nframe > nframe), three domains, metadata. */
static ms_snapshot *small_snapshot(void)
{
	ms_error err;
	ms_builder *b = ms_builder_new(3, &err);
	ms_frame f[4] = {
		{ .filename = "src/server.c", .lineno = 120,
		  .function = "handle_request", .address = 0x55d0c0001234 },
		{ .filename = "src/pool.c", .lineno = 44,
		  .function = "pool_grow", .address = 0x55d0c0002000 },
		{ .filename = "/usr/lib/libfoo.so.1", .lineno = 0,
		  .function = NULL, .address = 0x7f0000001000 },
		{ .filename = "??", .lineno = 0, .address = 0 },
	};
	int64_t m0, m1, fid[4];
	uint32_t ids[3];

	assert_non_null(b);
	m0 = ms_builder_module(b, "/usr/bin/server", "0123abcd", 0x55d0c0000000,
			       0x55d0c0000000, 0x55d0c0100000, &err);
	m1 = ms_builder_module(b, "/usr/lib/libfoo.so.1", NULL, 0x7f0000000000,
			       0x7f0000000000, 0x7f0000200000, &err);
	assert_int_equal(m0, 0);
	assert_int_equal(m1, 1);
	fid[0] = ms_builder_frame(b, &f[0], m0, &err);
	fid[1] = ms_builder_frame(b, &f[1], m0, &err);
	fid[2] = ms_builder_frame(b, &f[2], m1, &err);
	fid[3] = ms_builder_frame(b, &f[3], -1, &err);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fid[i], i);
	ids[0] = 1; ids[1] = 0; ids[2] = 2;
	assert_int_equal(ms_builder_traceback(b, ids, 3, 7, &err), 0);
	ids[0] = 0;
	assert_int_equal(ms_builder_traceback(b, ids, 1, 1, &err), 1);
	ids[0] = 3;
	assert_int_equal(ms_builder_traceback(b, ids, 1, 1, &err), 2);
	assert_int_equal(ms_builder_trace(b, 0, 0x55d0c0ffee00, 64, 0, &err), 0);
	assert_int_equal(ms_builder_trace(b, 0, 0x55d0c0ffee50, 100, 1, &err), 0);
	assert_int_equal(ms_builder_trace(b, 0, 0x55d0c0ffe000, 8, 0, &err), 0);
	assert_int_equal(ms_builder_trace(b, 1, 0x7f1234560000, 1 << 20, 2, &err), 0);
	assert_int_equal(ms_builder_trace(b, 7, 0x1000, 0, 1, &err), 0);
	assert_int_equal(ms_builder_meta(b, "pid", "4242", &err), 0);
	assert_int_equal(ms_builder_meta(b, "cmdline", "./server --port 80", &err), 0);
	assert_int_equal(ms_builder_meta(b, "host", "", &err), 0);
	return ms_builder_finish(b, &err);
}

/* n traces over ntb tracebacks of depth frames, heap-like addresses. */
static ms_snapshot *big_snapshot(size_t n, uint32_t ntb, uint32_t depth)
{
	ms_error err;
	ms_builder *b = ms_builder_new(depth, &err);
	uint32_t ids[64];
	uint64_t addr = 0x5600000000;
	char name[32];

	assert_non_null(b);
	for (uint32_t i = 0; i < 200; i++) {
		ms_frame f = { .filename = name, .lineno = i, .function = name,
			       .address = 0x400000 + 16 * i };

		snprintf(name, sizeof(name), "func_%u", i);
		assert_int_equal(ms_builder_frame(b, &f, -1, &err), i);
	}
	for (uint32_t t = 0; t < ntb; t++) {
		for (uint32_t j = 0; j < depth; j++)
			ids[j] = (t * 7 + j * 13) % 200;
		ids[0] = t % 200;
		ids[1] = t / 200 % 200;
		assert_int_equal(ms_builder_traceback(b, ids, depth, depth, &err), t);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t size = 16 + (i * 37) % 300;

		assert_int_equal(ms_builder_trace(b, 0, addr, size,
						  (uint32_t)(i * 7919 % ntb), &err), 0);
		addr += (size + 8 + 15) & ~(uint64_t)15;
	}
	return ms_builder_finish(b, &err);
}

static void assert_same_frame(const ms_frame *a, const ms_frame *b)
{
	assert_string_equal(a->filename, b->filename);
	assert_int_equal(a->lineno, b->lineno);
	if (a->function && b->function)
		assert_string_equal(a->function, b->function);
	else
		assert_ptr_equal(a->function, b->function);
	if (a->module && b->module)
		assert_string_equal(a->module, b->module);
	else
		assert_ptr_equal(a->module, b->module);
	if (a->build_id && b->build_id)
		assert_string_equal(a->build_id, b->build_id);
	else
		assert_ptr_equal(a->build_id, b->build_id);
	assert_int_equal(a->address, b->address);
	assert_int_equal(a->offset, b->offset);
}

/* Every field of two snapshots, through the public accessors. */
static void assert_same_snapshot(const ms_snapshot *a, const ms_snapshot *b)
{
	assert_int_equal(ms_snapshot_traceback_limit(a),
			 ms_snapshot_traceback_limit(b));
	assert_int_equal(ms_snapshot_ntraces(a), ms_snapshot_ntraces(b));
	for (size_t i = 0; i < ms_snapshot_ntraces(a); i++) {
		ms_trace x, y;

		ms_snapshot_trace(a, i, &x);
		ms_snapshot_trace(b, i, &y);
		assert_int_equal(x.domain, y.domain);
		assert_int_equal(x.address, y.address);
		assert_int_equal(x.size, y.size);
		assert_int_equal(x.traceback, y.traceback);
	}
	assert_int_equal(ms_snapshot_ntracebacks(a), ms_snapshot_ntracebacks(b));
	for (uint32_t i = 0; i < ms_snapshot_ntracebacks(a); i++) {
		const uint32_t *fa, *fb;
		uint32_t ta, tb;
		uint32_t na = ms_snapshot_traceback(a, i, &fa, &ta);
		uint32_t nb = ms_snapshot_traceback(b, i, &fb, &tb);

		assert_int_equal(na, nb);
		assert_int_equal(ta, tb);
		if (na)
			assert_memory_equal(fa, fb, na * sizeof(*fa));
	}
	assert_int_equal(ms_snapshot_nframes(a), ms_snapshot_nframes(b));
	for (uint32_t i = 0; i < ms_snapshot_nframes(a); i++) {
		ms_frame x, y;

		ms_snapshot_frame(a, i, &x);
		ms_snapshot_frame(b, i, &y);
		assert_same_frame(&x, &y);
	}
	assert_int_equal(ms_snapshot_nmodules(a), ms_snapshot_nmodules(b));
	for (size_t i = 0; i < ms_snapshot_nmodules(a); i++) {
		ms_module x, y;

		ms_snapshot_module(a, i, &x);
		ms_snapshot_module(b, i, &y);
		assert_string_equal(x.path, y.path);
		if (x.build_id && y.build_id)
			assert_string_equal(x.build_id, y.build_id);
		else
			assert_ptr_equal(x.build_id, y.build_id);
		assert_int_equal(x.bias, y.bias);
		assert_int_equal(x.start, y.start);
		assert_int_equal(x.end, y.end);
	}
	assert_int_equal(ms_snapshot_nmeta(a), ms_snapshot_nmeta(b));
	for (size_t i = 0; i < ms_snapshot_nmeta(a); i++) {
		const char *ka, *va, *kb, *vb;

		ms_snapshot_meta_at(a, i, &ka, &va);
		ms_snapshot_meta_at(b, i, &kb, &vb);
		assert_string_equal(ka, kb);
		assert_string_equal(va, vb);
	}
}

static void encode(const ms_snapshot *s, uint8_t **buf, size_t *len)
{
	ms_error err;

	assert_int_equal(ms_snapshot_encode(s, buf, len, &err), 0);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static char *temp_dir(void)
{
	char tmpl[] = "/tmp/test_file.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* path loads back as want, and dir holds nentries entries (no temporary
 * file left beside it). */
static void assert_file_holds(const char *path, const ms_snapshot *want,
			      const char *dir, int nentries)
{
	ms_error err;
	ms_snapshot *t = ms_snapshot_load(path, &err);

	assert_non_null(t);
	assert_same_snapshot(want, t);
	ms_snapshot_free(t);
	assert_int_equal(count_entries(dir), nentries);
}

/* ------------------------------------------------------ crafted files */

/* Crafted files are built here, independently of the encoder, from the
 * layout that docs/FORMAT.md gives: that both agree is part of the test. */
typedef struct payload {
	uint8_t b[4096];
	size_t len;
} payload;

static void pv(payload *p, uint64_t v)
{
	while (v >= 0x80) {
		p->b[p->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p->b[p->len++] = (uint8_t)v;
}

static void pbytes(payload *p, const void *s, size_t n)
{
	memcpy(p->b + p->len, s, n);
	p->len += n;
}

typedef struct csection {
	uint32_t type, flags;
	payload p;
	uint64_t raw;   /* raw size for compressed sections */
} csection;

/* The minimal valid file: one frame, one traceback, one trace. */
static void default_sections(csection s[7])
{
	memset(s, 0, 7 * sizeof(*s));
	for (int i = 0; i < 7; i++)
		s[i].type = (uint32_t)i + 1;
	pv(&s[0].p, 5);                          /* info: traceback_limit */
	pv(&s[1].p, 2); pv(&s[1].p, 3); pv(&s[1].p, 4);
	pbytes(&s[1].p, "a.cmain", 7);           /* strings 1 "a.c", 2 "main" */
	pv(&s[2].p, 0);                          /* no modules */
	pv(&s[3].p, 1);                          /* one frame */
	pv(&s[3].p, 0x2000);                     /* address zigzag(0x1000) */
	pv(&s[3].p, 1); pv(&s[3].p, 10); pv(&s[3].p, 2); pv(&s[3].p, 0);
	pv(&s[4].p, 1); pv(&s[4].p, 1); pv(&s[4].p, 1); pv(&s[4].p, 0);
	pv(&s[5].p, 1);                          /* one trace */
	pv(&s[5].p, 0); pv(&s[5].p, 16); pv(&s[5].p, 0x2000); pv(&s[5].p, 0);
	pv(&s[6].p, 1); pv(&s[6].p, 2); pv(&s[6].p, 1);  /* main = a.c */
}

static uint8_t *craft(const csection *s, size_t n, size_t *len)
{
	size_t off = 32 + 40 * n, total = off;
	uint8_t *buf;
	uLong c;

	for (size_t i = 0; i < n; i++)
		total += s[i].p.len;
	buf = calloc(1, total);
	memcpy(buf, "\x89MSNAP\r\n", 8);
	buf[8] = 1;
	put32(buf + 12, (uint32_t)n);
	put64(buf + 16, total);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = buf + 32 + 40 * i;

		put32(e, s[i].type);
		put32(e + 4, s[i].flags);
		put64(e + 8, off);
		put64(e + 16, s[i].p.len);
		put64(e + 24, s[i].flags & 1 ? s[i].raw : s[i].p.len);
		put32(e + 32, (uint32_t)crc32(0, s[i].p.b, (uInt)s[i].p.len));
		memcpy(buf + off, s[i].p.b, s[i].p.len);
		off += s[i].p.len;
	}
	c = crc32(0, buf, 28);
	c = crc32(c, buf + 32, (uInt)(40 * n));
	put32(buf + 28, (uint32_t)c);
	*len = total;
	return buf;
}

/* Decodes a crafted file and checks the error code and message. */
static void assert_rejected(const csection *s, size_t n, int code,
			    const char *message)
{
	size_t len;
	uint8_t *buf = craft(s, n, &len);
	ms_error err;
	ms_snapshot *snap = ms_snapshot_decode(buf, len, &err);

	assert_null(snap);
	assert_int_equal(err.code, code);
	assert_string_equal(err.message, message);
	free(buf);
}

static void reset(payload *p)
{
	p->len = 0;
}

/* ------------------------------------------------------------ tests */

static void test_round_trip_keeps_every_field(void **state)
{
	ms_snapshot *s = small_snapshot(), *t;
	uint8_t *buf;
	size_t len;
	ms_error err;
	ms_trace tr;
	ms_frame f;
	ms_module m;
	const uint32_t *ids;
	uint32_t total;
	const char *k, *v;

	encode(s, &buf, &len);
	t = ms_snapshot_decode(buf, len, &err);
	assert_non_null(t);
	assert_same_snapshot(s, t);
	/* and the values themselves, not only their equality */
	assert_int_equal(ms_snapshot_traceback_limit(t), 3);
	assert_int_equal(ms_snapshot_ntraces(t), 5);
	ms_snapshot_trace(t, 3, &tr);
	assert_int_equal(tr.domain, 1);
	assert_int_equal(tr.address, 0x7f1234560000);
	assert_int_equal(tr.size, 1 << 20);
	assert_int_equal(tr.traceback, 2);
	ms_snapshot_trace(t, 2, &tr);
	assert_int_equal(tr.address, 0x55d0c0ffe000);   /* order kept */
	assert_int_equal(ms_snapshot_traceback(t, 0, &ids, &total), 3);
	assert_int_equal(total, 7);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[2], 2);
	ms_snapshot_frame(t, 0, &f);
	assert_string_equal(f.filename, "src/server.c");
	assert_int_equal(f.lineno, 120);
	assert_string_equal(f.function, "handle_request");
	assert_string_equal(f.module, "/usr/bin/server");
	assert_string_equal(f.build_id, "0123abcd");
	assert_int_equal(f.address, 0x55d0c0001234);
	assert_int_equal(f.offset, 0x1234);
	ms_snapshot_frame(t, 2, &f);
	assert_null(f.function);
	assert_null(f.build_id);
	ms_snapshot_frame(t, 3, &f);
	assert_string_equal(f.filename, "??");
	assert_null(f.module);
	assert_int_equal(ms_snapshot_nmodules(t), 2);
	ms_snapshot_module(t, 1, &m);
	assert_string_equal(m.path, "/usr/lib/libfoo.so.1");
	assert_null(m.build_id);
	assert_int_equal(m.end, 0x7f0000200000);
	assert_int_equal(ms_snapshot_nmeta(t), 3);
	ms_snapshot_meta_at(t, 1, &k, &v);
	assert_string_equal(k, "cmdline");
	assert_string_equal(v, "./server --port 80");
	assert_string_equal(ms_snapshot_meta(t, "host"), "");
	free(buf);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
}

static void test_reencode_is_byte_identical(void **state)
{
	ms_snapshot *s = big_snapshot(20000, 500, 16), *t;
	uint8_t *a, *b;
	size_t alen, blen;
	ms_error err;

	encode(s, &a, &alen);
	t = ms_snapshot_decode(a, alen, &err);
	assert_non_null(t);
	assert_same_snapshot(s, t);
	encode(t, &b, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
}

static void test_redump_file_is_byte_identical(void **state)
{
	char *dir = temp_dir(), p1[256], p2[256];
	ms_snapshot *s = small_snapshot(), *t;
	ms_error err;
	char *a, *b;
	size_t alen, blen;

	snprintf(p1, sizeof(p1), "%s/one.msnap", dir);
	snprintf(p2, sizeof(p2), "%s/two.msnap", dir);
	assert_int_equal(ms_snapshot_dump(s, p1, &err), 0);
	t = ms_snapshot_load(p1, &err);
	assert_non_null(t);
	assert_int_equal(ms_snapshot_dump(t, p2, &err), 0);
	a = read_file(p1, &alen);
	b = read_file(p2, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
	remove_tree(dir);
	free(dir);
}

static void test_big_sections_are_compressed(void **state)
{
	ms_snapshot *s = big_snapshot(20000, 500, 16);
	uint8_t *buf;
	size_t len;

	encode(s, &buf, &len);
	/* tracebacks (5) and traces (6) are stored with the zstd flag */
	assert_int_equal(le32(buf + 32 + 40 * 4), 5);
	assert_int_equal(le32(buf + 32 + 40 * 4 + 4), 1);
	assert_int_equal(le32(buf + 32 + 40 * 5), 6);
	assert_int_equal(le32(buf + 32 + 40 * 5 + 4), 1);
	assert_true(le64(buf + 32 + 40 * 5 + 16) < le64(buf + 32 + 40 * 5 + 24));
	assert_true(len < 20000 * 4);
	free(buf);
	ms_snapshot_free(s);
}

static void test_degenerate_section_is_stored_raw_within_ratio(void **state)
{
	ms_error err;
	ms_builder *b = ms_builder_new(1, &err);
	ms_frame f = { .filename = "x.c" };
	uint32_t id = 0;
	ms_snapshot *s, *t;
	uint8_t *buf;
	size_t len;

	assert_int_equal(ms_builder_frame(b, &f, -1, &err), 0);
	assert_int_equal(ms_builder_traceback(b, &id, 1, 1, &err), 0);
	for (int i = 0; i < 200000; i++)
		assert_int_equal(ms_builder_trace(b, 0, 0, 0, 0, &err), 0);
	s = ms_builder_finish(b, &err);
	encode(s, &buf, &len);
	/* 800 kB of zeros would compress past the 256:1 the reader accepts */
	assert_int_equal(le32(buf + 32 + 40 * 5 + 4), 0);
	assert_int_equal(le64(buf + 32 + 40 * 5 + 16), 800003);
	t = ms_snapshot_decode(buf, len, &err);
	assert_non_null(t);
	assert_int_equal(ms_snapshot_ntraces(t), 200000);
	free(buf);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
}

static void test_empty_snapshot_round_trips(void **state)
{
	ms_error err;
	ms_snapshot *s = ms_builder_finish(ms_builder_new(0, &err), &err), *t;
	uint8_t *a, *b;
	size_t alen, blen;

	assert_non_null(s);
	encode(s, &a, &alen);
	/* header + 7 entries + one count byte per section */
	assert_int_equal(alen, 32 + 7 * 40 + 7);
	t = ms_snapshot_decode(a, alen, &err);
	assert_non_null(t);
	assert_int_equal(ms_snapshot_ntraces(t), 0);
	assert_int_equal(ms_snapshot_ntracebacks(t), 0);
	assert_int_equal(ms_snapshot_nframes(t), 0);
	assert_int_equal(ms_snapshot_nmodules(t), 0);
	assert_int_equal(ms_snapshot_nmeta(t), 0);
	assert_int_equal(ms_snapshot_traceback_limit(t), 0);
	encode(t, &b, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
}

static void test_every_truncation_is_rejected(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf;
	size_t len;
	ms_error err;
	char expect[128];

	encode(s, &buf, &len);
	for (size_t n = 0; n < len; n++) {
		assert_null(ms_snapshot_decode(buf, n, &err));
		assert_int_equal(err.code, n ? MS_ETRUNCATED : MS_EFORMAT);
		if (n)
			assert_memory_equal(err.message, "truncated: ", 11);
	}
	/* cut one byte into the traces section */
	{
		uint64_t off = le64(buf + 32 + 40 * 5 + 8);
		uint64_t end = off + le64(buf + 32 + 40 * 5 + 16);

		assert_null(ms_snapshot_decode(buf, (size_t)off + 1, &err));
		snprintf(expect, sizeof(expect), "truncated: section 'traces' "
			 "ends at byte %llu but the file has %llu bytes",
			 (unsigned long long)end, (unsigned long long)off + 1);
		assert_string_equal(err.message, expect);
	}
	assert_null(ms_snapshot_decode(buf, 100, &err));
	assert_string_equal(err.message, "truncated: the section table ends at "
			    "byte 312 but the file has 100 bytes");
	assert_null(ms_snapshot_decode(buf, 20, &err));
	assert_string_equal(err.message, "truncated: the file has 20 bytes, "
			    "less than the 32-byte header");
	free(buf);
	ms_snapshot_free(s);
}

static void test_every_bit_flip_is_rejected(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf;
	size_t len;
	ms_error err;

	encode(s, &buf, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			ms_snapshot *t;

			buf[i] ^= (uint8_t)(1 << bit);
			t = ms_snapshot_decode(buf, len, &err);
			if (t)
				fail_msg("flip of bit %d of byte %zu loaded",
					 bit, i);
			assert_int_not_equal(err.code, MS_OK);
			assert_true(strlen(err.message) > 10);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	free(buf);
	ms_snapshot_free(s);
}

static void test_section_checksum_mismatch_is_reported(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf;
	size_t len;
	ms_error err;
	uint64_t off;

	encode(s, &buf, &len);
	off = le64(buf + 32 + 40 * 6 + 8);   /* meta */
	buf[off] ^= 1;
	assert_null(ms_snapshot_decode(buf, len, &err));
	assert_int_equal(err.code, MS_ECHECKSUM);
	assert_memory_equal(err.message, "section 6 ('meta') checksum "
			    "mismatch (stored 0x", 38);
	free(buf);
	ms_snapshot_free(s);
}

static void test_crafted_minimal_file_loads(void **state)
{
	csection s[7];
	size_t len;
	uint8_t *buf;
	ms_error err;
	ms_snapshot *snap;
	ms_trace tr;
	ms_frame f;

	default_sections(s);
	buf = craft(s, 7, &len);
	snap = ms_snapshot_decode(buf, len, &err);
	assert_non_null(snap);
	assert_int_equal(ms_snapshot_traceback_limit(snap), 5);
	ms_snapshot_trace(snap, 0, &tr);
	assert_int_equal(tr.address, 0x1000);
	assert_int_equal(tr.size, 16);
	ms_snapshot_frame(snap, 0, &f);
	assert_int_equal(f.address, 0x1000);
	assert_string_equal(f.filename, "a.c");
	assert_string_equal(f.function, "main");
	assert_string_equal(ms_snapshot_meta(snap, "main"), "a.c");
	ms_snapshot_free(snap);
	free(buf);
}

static void test_oversized_counts_are_rejected(void **state)
{
	csection s[7];

	default_sections(s);
	reset(&s[5].p);
	pv(&s[5].p, 1000000000);
	pv(&s[5].p, 0); pv(&s[5].p, 16); pv(&s[5].p, 0); pv(&s[5].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces': 1000000000 "
			"traces declared but only 4 bytes left to hold them");
	default_sections(s);
	reset(&s[1].p);
	pv(&s[1].p, UINT64_C(1) << 40);
	assert_rejected(s, 7, MS_ELIMIT, "section 'strings': 1099511627776 "
			"strings, more than the limit of 4294967293");
	default_sections(s);
	reset(&s[4].p);
	pv(&s[4].p, 1); pv(&s[4].p, 4000000000u); pv(&s[4].p, 1);
	pv(&s[4].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'tracebacks': the "
			"tracebacks list 4000000000 frame ids but only 1 bytes "
			"are left");
	default_sections(s);
	reset(&s[1].p);
	pv(&s[1].p, 1); pv(&s[1].p, 100); pbytes(&s[1].p, "abc", 3);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'strings': string 1 has "
			"length 100, past the end of the section");
}

static void test_out_of_range_ids_are_rejected(void **state)
{
	csection s[7];

	default_sections(s);
	s[5].p.b[s[5].p.len - 1] = 1;       /* traceback id 1 of 1 */
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces': trace 0: "
			"traceback id 1 is out of range (1 tracebacks)");
	default_sections(s);
	s[4].p.b[3] = 9;                    /* frame id 9 of 1 */
	assert_rejected(s, 7, MS_ECORRUPT, "section 'tracebacks': traceback "
			"0: frame id 9 is out of range (1 frames)");
	default_sections(s);
	reset(&s[3].p);
	pv(&s[3].p, 1); pv(&s[3].p, 0); pv(&s[3].p, 3); pv(&s[3].p, 0);
	pv(&s[3].p, 0); pv(&s[3].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'frames': frame 0: "
			"filename string 3 is out of range (3 strings)");
	default_sections(s);
	s[3].p.b[s[3].p.len - 1] = 1;       /* module 1 (1-based), none exist */
	assert_rejected(s, 7, MS_ECORRUPT, "section 'frames': frame 0: module 1 "
			"(1-based) is out of range (0 modules)");
	default_sections(s);
	reset(&s[6].p);
	pv(&s[6].p, 1); pv(&s[6].p, 1); pv(&s[6].p, 7);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'meta': metadata entry 0: "
			"value string 7 is out of range (3 strings)");
	default_sections(s);
	reset(&s[5].p);
	pv(&s[5].p, 1); pv(&s[5].p, UINT64_C(1) << 33); pv(&s[5].p, 0);
	pv(&s[5].p, 0); pv(&s[5].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces': trace 0: domain "
			"8589934592 does not fit in 32 bits");
}

static void test_repeated_entries_are_rejected(void **state)
{
	csection s[7];

	default_sections(s);
	reset(&s[1].p);
	pv(&s[1].p, 2); pv(&s[1].p, 3); pv(&s[1].p, 3);
	pbytes(&s[1].p, "a.ca.c", 6);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'strings': string 2 repeats string 1");
	default_sections(s);
	reset(&s[1].p);
	pv(&s[1].p, 2); pv(&s[1].p, 3); pv(&s[1].p, 4);
	pbytes(&s[1].p, "a.cm\0in", 7);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'strings': string 2 contains a NUL byte");
	default_sections(s);
	reset(&s[4].p);
	pv(&s[4].p, 2); pv(&s[4].p, 1); pv(&s[4].p, 1); pv(&s[4].p, 1);
	pv(&s[4].p, 1); pv(&s[4].p, 0); pv(&s[4].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'tracebacks': traceback 1 repeats traceback 0");
	default_sections(s);
	reset(&s[3].p);
	pv(&s[3].p, 2); pv(&s[3].p, 2); pv(&s[3].p, 0);
	pv(&s[3].p, 1); pv(&s[3].p, 1); pv(&s[3].p, 0); pv(&s[3].p, 0);
	pv(&s[3].p, 0); pv(&s[3].p, 0); pv(&s[3].p, 0); pv(&s[3].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'frames': frame 1 repeats frame 0");
	default_sections(s);
	reset(&s[6].p);
	pv(&s[6].p, 2); pv(&s[6].p, 2); pv(&s[6].p, 1); pv(&s[6].p, 2);
	pv(&s[6].p, 0);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'meta': metadata key 'main' appears twice");
	default_sections(s);
	reset(&s[6].p);
	pv(&s[6].p, 1); pv(&s[6].p, 0); pv(&s[6].p, 1);
	assert_rejected(s, 7, MS_ECORRUPT,
			"section 'meta': metadata entry 0 has an empty key");
}

static void test_bad_varints_are_rejected(void **state)
{
	csection s[7];

	default_sections(s);
	reset(&s[0].p);
	pbytes(&s[0].p, "\x85\x00", 2);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'info': the number at byte "
			"0 is not in its shortest form");
	reset(&s[0].p);
	pbytes(&s[0].p, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'info': the number at byte "
			"0 does not fit in 64 bits");
	reset(&s[0].p);
	pbytes(&s[0].p, "\x85", 1);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'info': the number at byte "
			"0 runs past the end of the section");
	reset(&s[0].p);
	pv(&s[0].p, 5); pv(&s[0].p, 5);
	assert_rejected(s, 7, MS_ECORRUPT, "section 'info': 1 unexpected bytes "
			"after the last entry");
}

static void test_section_table_problems_are_rejected(void **state)
{
	csection s[8];

	default_sections(s);
	s[6].type = 6;
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces' appears twice");
	default_sections(s);
	assert_rejected(s, 6, MS_ECORRUPT, "section 'meta' is missing");
	default_sections(s);
	s[7] = s[6];
	s[7].type = 99;
	assert_rejected(s, 8, MS_EVERSION, "section 7 has type 99, unknown to "
			"this memsnap and required: the file needs a newer "
			"memsnap");
	default_sections(s);
	s[3].flags = 4;
	assert_rejected(s, 7, MS_ECORRUPT, "section 3 ('frames'): unknown flags "
			"0x4 or reserved field not zero");
}

static void test_unknown_optional_section_is_skipped(void **state)
{
	csection s[8];
	size_t len;
	uint8_t *buf;
	ms_error err;
	ms_snapshot *snap;

	default_sections(s);
	memset(&s[7], 0, sizeof(s[7]));
	s[7].type = 1000;
	s[7].flags = 2;
	pbytes(&s[7].p, "future", 6);
	buf = craft(s, 8, &len);
	snap = ms_snapshot_decode(buf, len, &err);
	assert_non_null(snap);
	assert_int_equal(ms_snapshot_ntraces(snap), 1);
	ms_snapshot_free(snap);
	free(buf);
}

static void test_decompression_bomb_is_refused(void **state)
{
	csection s[7];
	size_t cap = 1 << 20;
	uint8_t *zeros = calloc(1, cap);
	size_t z;

	default_sections(s);
	/* a valid zstd frame of 1 MiB of zeros: ~40 bytes */
	z = ZSTD_compress(s[5].p.b, sizeof(s[5].p.b), zeros, cap, 19);
	assert_false(ZSTD_isError(z));
	s[5].p.len = z;
	s[5].flags = 1;
	s[5].raw = cap;
	{
		char expect[200];

		snprintf(expect, sizeof(expect), "section 5 ('traces'): %zu bytes "
			 "claim to expand to 1048576, more than 256 times", z);
		assert_rejected(s, 7, MS_ECORRUPT, expect);
	}
	/* the declared size must be what the frame holds */
	default_sections(s);
	z = ZSTD_compress(s[5].p.b, sizeof(s[5].p.b), zeros, 1000, 1);
	s[5].p.len = z;
	s[5].flags = 1;
	s[5].raw = 1001;
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces': the zstd frame "
			"does not declare the section's size 1001");
	/* garbage behind the zstd flag */
	default_sections(s);
	s[5].flags = 1;
	s[5].raw = 100;
	assert_rejected(s, 7, MS_ECORRUPT, "section 'traces': the zstd frame "
			"does not declare the section's size 100");
	free(zeros);
}

static void test_wrong_magic_is_not_a_snapshot(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf;
	size_t len;
	ms_error err;

	encode(s, &buf, &len);
	buf[1] = 'X';
	assert_null(ms_snapshot_decode(buf, len, &err));
	assert_int_equal(err.code, MS_EFORMAT);
	assert_string_equal(err.message, "not a memsnap snapshot file (the "
			    "first 8 bytes are not the memsnap signature)");
	assert_null(ms_snapshot_decode((const uint8_t *)"hello", 5, &err));
	assert_int_equal(err.code, MS_EFORMAT);
	free(buf);
	ms_snapshot_free(s);
}

static void test_future_version_is_refused(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf;
	size_t len;
	ms_error err;

	encode(s, &buf, &len);
	buf[8] = 2;
	assert_null(ms_snapshot_decode(buf, len, &err));
	assert_int_equal(err.code, MS_EVERSION);
	assert_string_equal(err.message, "file format version 2 is newer than "
			    "this memsnap (upgrade memsnap to read it); this "
			    "memsnap reads version 1");
	free(buf);
	ms_snapshot_free(s);
}

static void test_trailing_bytes_are_rejected(void **state)
{
	ms_snapshot *s = small_snapshot();
	uint8_t *buf, *big;
	size_t len;
	ms_error err;
	char expect[128];

	encode(s, &buf, &len);
	big = calloc(1, len + 3);
	memcpy(big, buf, len);
	assert_null(ms_snapshot_decode(big, len + 3, &err));
	assert_int_equal(err.code, MS_ECORRUPT);
	snprintf(expect, sizeof(expect), "3 unexpected bytes after the end of "
		 "the snapshot (byte %zu)", len);
	assert_string_equal(err.message, expect);
	free(big);
	free(buf);
	ms_snapshot_free(s);
}

static void test_dump_writes_mode_0600(void **state)
{
	char *dir = temp_dir(), path[256];
	ms_snapshot *s = small_snapshot();
	ms_error err;
	struct stat st;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/snap.msnap", dir);
	assert_int_equal(ms_snapshot_dump(s, path, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1);
	ms_snapshot_free(s);
	remove_tree(dir);
	free(dir);
}

static void test_dump_replaces_symlink_without_following(void **state)
{
	char *dir = temp_dir(), path[256], victim[256];
	ms_snapshot *s = small_snapshot();
	ms_error err;
	struct stat st;
	char *content;
	size_t len;
	FILE *f;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(path, sizeof(path), "%s/snap.msnap", dir);
	f = fopen(victim, "w");
	fputs("precious", f);
	fclose(f);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(ms_snapshot_dump(s, path, &err), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	content = read_file(victim, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(content, "precious", 8);
	free(content);
	assert_file_holds(path, s, dir, 2);
	ms_snapshot_free(s);
	remove_tree(dir);
	free(dir);
}

static void test_dump_into_missing_directory_fails_cleanly(void **state)
{
	char *dir = temp_dir(), path[256], expect[512];
	ms_snapshot *s = small_snapshot();
	ms_error err;

	snprintf(path, sizeof(path), "%s/missing/snap.msnap", dir);
	assert_int_equal(ms_snapshot_dump(s, path, &err), -MS_EIO);
	assert_int_equal(err.code, MS_EIO);
	snprintf(expect, sizeof(expect), "cannot write a snapshot to '%s': "
		 "directory '%s/missing': No such file or directory", path, dir);
	assert_string_equal(err.message, expect);
	assert_int_equal(count_entries(dir), 0);
	ms_snapshot_free(s);
	remove_tree(dir);
	free(dir);
}

static void test_failed_dump_leaves_no_temp_file(void **state)
{
	char *dir = temp_dir(), path[256], expect[512];
	ms_snapshot *s = small_snapshot();
	ms_error err;
	struct stat st;

	/* a directory at the target: rename fails after the write */
	snprintf(path, sizeof(path), "%s/snap.msnap", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ms_snapshot_dump(s, path, &err), -MS_EIO);
	snprintf(expect, sizeof(expect), "cannot replace '%s': Is a directory",
		 path);
	assert_string_equal(err.message, expect);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	ms_snapshot_free(s);
	remove_tree(dir);
	free(dir);
}

static void test_failed_write_keeps_the_old_file(void **state)
{
	char *dir = temp_dir(), path[256], expect[512];
	ms_snapshot *a = small_snapshot(), *b = big_snapshot(5000, 100, 8);
	ms_error err;
	struct rlimit old, small;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	snprintf(path, sizeof(path), "%s/snap.msnap", dir);
	assert_int_equal(ms_snapshot_dump(a, path, &err), 0);
	/* the new file is bigger than the process may write: EFBIG */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 1000;   /* soft limit only, so it can be restored */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(ms_snapshot_dump(b, path, &err), -MS_EIO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	snprintf(expect, sizeof(expect), "cannot write '%s': File too large",
		 path);
	assert_string_equal(err.message, expect);
	assert_file_holds(path, a, dir, 1);
	ms_snapshot_free(a);
	ms_snapshot_free(b);
	remove_tree(dir);
	free(dir);
}

static void test_load_refuses_a_fifo_without_blocking(void **state)
{
	char *dir = temp_dir(), path[256], expect[512];
	ms_error err;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(ms_snapshot_load(path, &err));
	assert_int_equal(err.code, MS_EIO);
	snprintf(expect, sizeof(expect), "cannot load '%s': not a regular file",
		 path);
	assert_string_equal(err.message, expect);
	remove_tree(dir);
	free(dir);
}

static void test_dump_over_existing_file_replaces_it(void **state)
{
	char *dir = temp_dir(), path[256];
	ms_snapshot *a = small_snapshot(), *b = big_snapshot(100, 10, 4);
	ms_error err;

	snprintf(path, sizeof(path), "%s/snap.msnap", dir);
	assert_int_equal(ms_snapshot_dump(a, path, &err), 0);
	assert_int_equal(ms_snapshot_dump(b, path, &err), 0);
	assert_file_holds(path, b, dir, 1);
	ms_snapshot_free(a);
	ms_snapshot_free(b);
	remove_tree(dir);
	free(dir);
}

static void test_load_errors_name_the_file(void **state)
{
	char *dir = temp_dir(), path[256], expect[512];
	ms_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/nope.msnap", dir);
	assert_null(ms_snapshot_load(path, &err));
	assert_int_equal(err.code, MS_EIO);
	snprintf(expect, sizeof(expect), "cannot open '%s': No such file or "
		 "directory", path);
	assert_string_equal(err.message, expect);
	f = fopen(path, "w");
	fputs("\x89MSNAP\r\n\x01", f);
	fclose(f);
	assert_null(ms_snapshot_load(path, &err));
	assert_int_equal(err.code, MS_ETRUNCATED);
	snprintf(expect, sizeof(expect), "%s: truncated: the file has 9 bytes, "
		 "less than the 32-byte header", path);
	assert_string_equal(err.message, expect);
	assert_null(ms_snapshot_load(dir, &err));
	snprintf(expect, sizeof(expect), "cannot load '%s': not a regular file",
		 dir);
	assert_string_equal(err.message, expect);
	remove_tree(dir);
	free(dir);
}

/* Every phase of a dump and a load is reported, in order, with done
 * growing to total: what a front-end's progress line shows. */
typedef struct progress_log {
	char text[2048];
	size_t len;
} progress_log;

static void log_progress(void *arg, const char *phase, uint64_t done,
			 uint64_t total)
{
	progress_log *l = arg;

	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len,
				   "%s %llu/%llu\n", phase,
				   (unsigned long long)done,
				   (unsigned long long)total);
}

static void test_dump_and_load_report_progress(void **state)
{
	ms_snapshot *s = small_snapshot(), *t;
	progress_log log = { "", 0 };
	ms_progress p = { log_progress, &log };
	char *dir = temp_dir(), path[512], expect[1024];
	struct stat st;
	ms_error err;

	snprintf(path, sizeof(path), "%s/p.msnap", dir);
	assert_int_equal(ms_snapshot_dump_progress(s, path, &p, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	snprintf(expect, sizeof(expect),
		 "encoding 0/7\nencoding 1/7\nencoding 2/7\nencoding 3/7\n"
		 "encoding 4/7\nencoding 5/7\nencoding 6/7\nencoding 7/7\n"
		 "writing 0/%lld\nwriting %lld/%lld\nsyncing 0/0\n",
		 (long long)st.st_size, (long long)st.st_size,
		 (long long)st.st_size);
	assert_string_equal(log.text, expect);

	log.len = 0;
	log.text[0] = 0;
	t = ms_snapshot_load_progress(path, &p, &err);
	assert_non_null(t);
	/* reading, then one step per section (7) and the end */
	assert_true(strncmp(log.text, "reading 0/", 10) == 0);
	{
		const char *d = strstr(log.text, "decoding 0/");
		unsigned long long total, done = 0, prev = 0;
		int steps = 0;

		assert_non_null(d);
		while (sscanf(d, "decoding %llu/%llu\n", &done, &total) == 2) {
			assert_true(done >= prev && done <= total);
			prev = done;
			steps++;
			d = strchr(d, '\n') + 1;
		}
		assert_int_equal(steps, 8);
		assert_true(done == total && total > 0);
		assert_string_equal(d, "");
	}
	ms_snapshot_free(t);
	ms_snapshot_free(s);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_keeps_every_field),
		cmocka_unit_test(test_reencode_is_byte_identical),
		cmocka_unit_test(test_redump_file_is_byte_identical),
		cmocka_unit_test(test_big_sections_are_compressed),
		cmocka_unit_test(test_degenerate_section_is_stored_raw_within_ratio),
		cmocka_unit_test(test_empty_snapshot_round_trips),
		cmocka_unit_test(test_every_truncation_is_rejected),
		cmocka_unit_test(test_every_bit_flip_is_rejected),
		cmocka_unit_test(test_section_checksum_mismatch_is_reported),
		cmocka_unit_test(test_crafted_minimal_file_loads),
		cmocka_unit_test(test_oversized_counts_are_rejected),
		cmocka_unit_test(test_out_of_range_ids_are_rejected),
		cmocka_unit_test(test_repeated_entries_are_rejected),
		cmocka_unit_test(test_bad_varints_are_rejected),
		cmocka_unit_test(test_section_table_problems_are_rejected),
		cmocka_unit_test(test_unknown_optional_section_is_skipped),
		cmocka_unit_test(test_decompression_bomb_is_refused),
		cmocka_unit_test(test_wrong_magic_is_not_a_snapshot),
		cmocka_unit_test(test_future_version_is_refused),
		cmocka_unit_test(test_trailing_bytes_are_rejected),
		cmocka_unit_test(test_dump_writes_mode_0600),
		cmocka_unit_test(test_dump_replaces_symlink_without_following),
		cmocka_unit_test(test_dump_into_missing_directory_fails_cleanly),
		cmocka_unit_test(test_failed_dump_leaves_no_temp_file),
		cmocka_unit_test(test_failed_write_keeps_the_old_file),
		cmocka_unit_test(test_load_refuses_a_fifo_without_blocking),
		cmocka_unit_test(test_dump_over_existing_file_replaces_it),
		cmocka_unit_test(test_load_errors_name_the_file),
		cmocka_unit_test(test_dump_and_load_report_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
