/* fuzz_load.c - libFuzzer harness for the snapshot file decoder.
 *
 * Every input is decoded twice: as it is (mostly exercising the header and
 * checksum checks) and with its checksums repaired, so that mutations reach
 * the section decoders behind the crc32s. Whatever decodes must survive a
 * round trip: encode, decode again, same content, and re-encoding gives the
 * same bytes. A violated property aborts, which libFuzzer reports.
 *
 * The same file is linked into tests/fuzz/regress (normal build, no
 * libFuzzer) to replay the corpus and every past finding. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "memsnap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_load: %s:%d: %s\n", __FILE__,  \
				__LINE__, #cond);                            \
			abort();                                             \
		}                                                            \
	} while (0)

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_same(const ms_snapshot *a, const ms_snapshot *b)
{
	CHECK(ms_snapshot_traceback_limit(a) == ms_snapshot_traceback_limit(b));
	CHECK(ms_snapshot_ntraces(a) == ms_snapshot_ntraces(b));
	for (size_t i = 0; i < ms_snapshot_ntraces(a); i++) {
		ms_trace x, y;

		ms_snapshot_trace(a, i, &x);
		ms_snapshot_trace(b, i, &y);
		CHECK(x.domain == y.domain && x.address == y.address &&
		      x.size == y.size && x.traceback == y.traceback);
		CHECK(x.traceback < ms_snapshot_ntracebacks(a));
	}
	CHECK(ms_snapshot_ntracebacks(a) == ms_snapshot_ntracebacks(b));
	for (uint32_t i = 0; i < ms_snapshot_ntracebacks(a); i++) {
		const uint32_t *fa, *fb;
		uint32_t ta, tb;
		uint32_t na = ms_snapshot_traceback(a, i, &fa, &ta);

		CHECK(na == ms_snapshot_traceback(b, i, &fb, &tb));
		CHECK(ta == tb);
		for (uint32_t j = 0; j < na; j++)
			CHECK(fa[j] == fb[j] && fa[j] < ms_snapshot_nframes(a));
	}
	CHECK(ms_snapshot_nframes(a) == ms_snapshot_nframes(b));
	for (uint32_t i = 0; i < ms_snapshot_nframes(a); i++) {
		ms_frame x, y;

		ms_snapshot_frame(a, i, &x);
		ms_snapshot_frame(b, i, &y);
		CHECK(x.filename && same_str(x.filename, y.filename));
		CHECK(x.lineno == y.lineno && x.address == y.address &&
		      x.offset == y.offset);
		CHECK(same_str(x.function, y.function));
		CHECK(same_str(x.module, y.module));
		CHECK(same_str(x.build_id, y.build_id));
	}
	CHECK(ms_snapshot_nmodules(a) == ms_snapshot_nmodules(b));
	for (size_t i = 0; i < ms_snapshot_nmodules(a); i++) {
		ms_module x, y;

		ms_snapshot_module(a, i, &x);
		ms_snapshot_module(b, i, &y);
		CHECK(same_str(x.path, y.path) && same_str(x.build_id, y.build_id));
		CHECK(x.bias == y.bias && x.start == y.start && x.end == y.end);
	}
	CHECK(ms_snapshot_nmeta(a) == ms_snapshot_nmeta(b));
	for (size_t i = 0; i < ms_snapshot_nmeta(a); i++) {
		const char *ka, *va, *kb, *vb;

		ms_snapshot_meta_at(a, i, &ka, &va);
		ms_snapshot_meta_at(b, i, &kb, &vb);
		CHECK(same_str(ka, kb) && same_str(va, vb));
		CHECK(ms_snapshot_meta(a, ka) == va);
	}
}

static void decode_and_round_trip(const uint8_t *data, size_t size)
{
	ms_error err = { .code = -1 };
	ms_snapshot *s = ms_snapshot_decode(data, size, &err), *t;
	uint8_t *b1, *b2;
	size_t l1, l2;

	if (!s) {
		/* a refusal must say why */
		CHECK(err.code > 0 && err.code < MS__NERRORS);
		CHECK(err.message[0] != '\0');
		CHECK(memchr(err.message, '\0', sizeof(err.message)));
		return;
	}
	CHECK(ms_snapshot_encode(s, &b1, &l1, &err) == 0);
	t = ms_snapshot_decode(b1, l1, &err);
	if (!t) {
		fprintf(stderr, "fuzz_load: re-encoded snapshot does not load: "
			"%s\n", err.message);
		abort();
	}
	check_same(s, t);
	CHECK(ms_snapshot_encode(t, &b2, &l2, &err) == 0);
	CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
	free(b1);
	free(b2);
	ms_snapshot_free(s);
	ms_snapshot_free(t);
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

/* Rewrites the crc32 of every section that lies inside the buffer, then
 * the header's (layout: docs/FORMAT.md). Returns false when there is no
 * section table to repair. */
static bool repair_checksums(uint8_t *p, size_t size)
{
	uint32_t n;
	uLong c;

	if (size < 32)
		return false;
	n = le32(p + 12);
	if (n == 0 || n > 64 || 32 + 40 * (size_t)n > size)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = p + 32 + 40 * i;
		uint64_t off = le64(e + 8), len = le64(e + 16);

		if (off <= size && len <= size - off)
			put32(e + 32, (uint32_t)crc32_z(0, p + off, len));
	}
	c = crc32_z(0, p, 28);
	c = crc32_z(c, p + 32, 40 * (size_t)n);
	put32(p + 28, (uint32_t)c);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	decode_and_round_trip(data, size);
	copy = malloc(size ? size : 1);
	CHECK(copy);
	if (size)
		memcpy(copy, data, size);
	if (repair_checksums(copy, size) && memcmp(copy, data, size) != 0)
		decode_and_round_trip(copy, size);
	free(copy);
	return 0;
}
