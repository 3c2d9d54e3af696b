/* filter.c - tracemalloc's Filter / DomainFilter and Python's fnmatch. */
#include "config.h"
#include "memsnapP.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ fnmatch */

/* Python matches str, that is code points: '?' and set members are one code
 * point each. Names are decoded as UTF-8; a byte that does not start a
 * valid sequence becomes U+DC80..U+DCFF, as os.fsdecode's surrogateescape
 * makes it, so that any byte string still matches consistently. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	uint32_t c = s[i], lo = 0x80, hi = 0xbf, cp;
	size_t need;

	if (c < 0x80) {
		*pos = i + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;  /* no encoded surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		goto invalid;
	}
	if (len - i - 1 < need)
		goto invalid;
	for (size_t k = 1; k <= need; k++) {
		uint32_t b = s[i + k];

		if (b < lo || b > hi)
			goto invalid;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (b & 0x3f);
	}
	*pos = i + 1 + need;
	return cp;
invalid:
	*pos = i + 1;
	return 0xdc00 + c;
}

/* Where the set opened at pat[open] ('[') closes, or 0 when it does not
 * (the '[' is then a literal), with fnmatch.translate's scan: a leading
 * '!' and then a leading ']' belong to the set. */
static size_t set_end(const unsigned char *pat, size_t plen, size_t open)
{
	size_t j = open + 1;

	if (j < plen && pat[j] == '!')
		j++;
	if (j < plen && pat[j] == ']')
		j++;
	while (j < plen && pat[j] != ']')
		j++;
	return j < plen ? j : 0;
}

/* Does cp belong to the set pat[start, end)? Items are read left to right:
 * "x-y" is a range when y is inside the set, else x and '-' are literals;
 * a reversed range matches nothing (translate drops it). This is the set
 * translate's chunking produces, without building a regex. */
static bool set_match(const unsigned char *pat, size_t start, size_t end,
		      uint32_t cp)
{
	bool negate = start < end && pat[start] == '!';
	bool found = false;
	size_t q = start + negate;

	while (q < end && !found) {
		uint32_t lo = utf8_next(pat, end, &q);

		if (q + 1 < end && pat[q] == '-') {
			uint32_t hi;

			q++;
			hi = utf8_next(pat, end, &q);
			found = lo <= cp && cp <= hi;
		} else {
			found = cp == lo;
		}
	}
	return found != negate;
}

/* Matches one non-star token at pat[*p] against cp and moves *p past it. */
static bool token_match(const unsigned char *pat, size_t plen, size_t *p,
			uint32_t cp)
{
	size_t end;

	if (pat[*p] == '?') {
		(*p)++;
		return true;
	}
	if (pat[*p] == '[' && (end = set_end(pat, plen, *p)) != 0) {
		bool ok = set_match(pat, *p + 1, end, cp);

		*p = end + 1;
		return ok;
	}
	return utf8_next(pat, plen, p) == cp;
}

/* Every token but '*' matches exactly one code point, so on a mismatch it
 * is enough to let the last star eat one more code point: this is the
 * language of translate's "(?>.*?fixed)...\Z" regex. */
static bool glob_match(const unsigned char *pat, size_t plen,
		       const unsigned char *name, size_t nlen)
{
	size_t p = 0, n = 0, star_p = SIZE_MAX, star_n = 0;

	while (n < nlen) {
		if (p < plen && pat[p] == '*') {
			while (p < plen && pat[p] == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (p < plen) {
			size_t np = p, nn = n;
			uint32_t cp = utf8_next(name, nlen, &nn);

			if (token_match(pat, plen, &np, cp)) {
				p = np;
				n = nn;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		utf8_next(name, nlen, &star_n);
		p = star_p;
		n = star_n;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

bool ms_fnmatch(const char *pattern, const char *name)
{
	if (!pattern || !name)
		return false;
	return glob_match((const unsigned char *)pattern, strlen(pattern),
			  (const unsigned char *)name, strlen(name));
}

/* ------------------------------------------------------------ filters */

/* tracemalloc's _normalize_filename on POSIX: normcase is the identity and
 * a ".pyc" suffix reads as ".py". Kept for parity with Python snapshots;
 * native file names never end in ".pyc". */
static size_t normalized_len(const char *s)
{
	size_t len = strlen(s);

	if (len >= 4 && memcmp(s + len - 4, ".pyc", 4) == 0)
		len--;
	return len;
}

/* What tracemalloc shows for a traceback without frames. */
#define UNKNOWN_FILENAME "<unknown>"

enum { UNSEEN = 0, YES = 1, NO = 2 };

typedef struct filter_state {
	const ms_filter *f;
	size_t plen;
	uint8_t *name_match;  /* string id -> UNSEEN/YES/NO; last = <unknown> */
	uint8_t *tb_match;    /* traceback id -> _match_traceback, UNSEEN/YES/NO */
} filter_state;

typedef struct filter_ctx {
	const ms_snapshot *s;
	filter_state *st;
	size_t nfilters;
} filter_ctx;

static bool filename_matches(const filter_ctx *c, filter_state *fs,
			     uint32_t sid)
{
	uint8_t *slot = &fs->name_match[sid];

	if (*slot == UNSEEN) {
		const char *name = sid == c->s->strings.count
					   ? UNKNOWN_FILENAME
					   : ms__strpool_get(&c->s->strings, sid);

		*slot = glob_match((const unsigned char *)fs->f->filename_pattern,
				   fs->plen, (const unsigned char *)name,
				   normalized_len(name)) ? YES : NO;
	}
	return *slot == YES;
}

/* Filter._match_frame_impl; sid == strings.count stands for <unknown>. */
static bool frame_matches(const filter_ctx *c, filter_state *fs, uint32_t sid,
			  uint32_t lineno)
{
	if (!filename_matches(c, fs, sid))
		return false;
	return !fs->f->has_lineno || lineno == fs->f->lineno;
}

/* Filter._match_traceback. A traceback without frames is tracemalloc's
 * (("<unknown>", 0),): its C side never stores an empty traceback. */
static bool traceback_matches(const filter_ctx *c, filter_state *fs,
			      uint32_t tb_id)
{
	const ms_snapshot *s = c->s;
	const ms__traceback *tb = &s->tracebacks[tb_id];
	const ms_filter *f = fs->f;
	uint8_t *slot = &fs->tb_match[tb_id];
	bool res;

	if (*slot != UNSEEN)
		return *slot == YES;
	if (tb->nframe == 0) {
		res = frame_matches(c, fs, (uint32_t)s->strings.count, 0) ^
		      !f->inclusive;
	} else if (f->all_frames) {
		bool any = false;

		for (uint32_t i = 0; i < tb->nframe && !any; i++) {
			const ms__frame *fr =
				&s->frames[s->tb_frames[tb->first + i]];

			any = frame_matches(c, fs, fr->filename, fr->lineno);
		}
		res = any ? f->inclusive : !f->inclusive;
	} else {
		const ms__frame *fr = &s->frames[s->tb_frames[tb->first]];

		res = frame_matches(c, fs, fr->filename, fr->lineno) ^
		      !f->inclusive;
	}
	*slot = res ? YES : NO;
	return res;
}

/* BaseFilter._match for both filter classes. */
static bool trace_matches(const filter_ctx *c, filter_state *fs,
			  const ms__trace *t)
{
	const ms_filter *f = fs->f;
	bool res;

	if (f->kind == MS_FILTER_DOMAIN)
		return (t->domain == f->domain) ^ !f->inclusive;
	res = traceback_matches(c, fs, t->traceback);
	if (!f->has_domain)
		return res;
	if (f->inclusive)
		return res && t->domain == f->domain;
	return res || t->domain != f->domain;
}

/* Snapshot._filter_trace. */
static bool keep_trace(const filter_ctx *c, const ms__trace *t)
{
	bool have_include = false, included = false;

	for (size_t i = 0; i < c->nfilters; i++) {
		if (!c->st[i].f->inclusive)
			continue;
		have_include = true;
		if (trace_matches(c, &c->st[i], t)) {
			included = true;
			break;
		}
	}
	if (have_include && !included)
		return false;
	for (size_t i = 0; i < c->nfilters; i++)
		if (!c->st[i].f->inclusive && !trace_matches(c, &c->st[i], t))
			return false;
	return true;
}

static int check_filters(const ms_snapshot *s, const ms_filter *filters,
			 size_t nfilters, ms_error *err)
{
	if (!s)
		return ms__fail(err, MS_EINVAL, "filter: no snapshot given");
	if (nfilters && !filters)
		return ms__fail(err, MS_EINVAL,
				"filter: %zu filters announced but none given",
				nfilters);
	for (size_t i = 0; i < nfilters; i++) {
		const ms_filter *f = &filters[i];

		if (f->kind != MS_FILTER_FILENAME && f->kind != MS_FILTER_DOMAIN)
			return ms__fail(err, MS_EINVAL,
					"filter %zu: unknown filter kind %d", i,
					(int)f->kind);
		if (f->kind == MS_FILTER_FILENAME && !f->filename_pattern)
			return ms__fail(err, MS_EINVAL,
					"filter %zu: a filename filter needs a "
					"filename pattern", i);
	}
	return 0;
}

/* Copies what a kept trace needs into the builder: frames and tracebacks
 * are added on first use, so the result holds only what its traces use. */
typedef struct copy_ctx {
	const ms_snapshot *s;
	ms_builder *b;
	int64_t *module_map;    /* source module -> builder module */
	uint32_t *frame_map;    /* source frame -> builder frame + 1 */
	uint32_t *tb_map;       /* source traceback -> builder traceback + 1 */
	uint32_t *ids;
	size_t ids_cap;
} copy_ctx;

static int64_t copy_traceback(copy_ctx *cc, uint32_t tb_id, ms_error *err)
{
	const ms_snapshot *s = cc->s;
	const ms__traceback *tb = &s->tracebacks[tb_id];
	int64_t id;

	if (cc->tb_map[tb_id])
		return cc->tb_map[tb_id] - 1;
	if (ms__grow((void **)&cc->ids, &cc->ids_cap, (size_t)tb->nframe + 1,
		     sizeof(*cc->ids)) < 0)
		return ms__nomem(err, "filtering a snapshot");
	for (uint32_t i = 0; i < tb->nframe; i++) {
		uint32_t src = s->tb_frames[tb->first + i];

		if (!cc->frame_map[src]) {
			const ms__frame *fr = &s->frames[src];
			ms_frame out;
			int64_t fid;

			ms__snapshot_frame_export(s, fr, &out);
			fid = ms_builder_frame(cc->b, &out,
					       fr->module == MS__NO_MODULE
						       ? -1
						       : cc->module_map[fr->module],
					       err);
			if (fid < 0)
				return fid;
			cc->frame_map[src] = (uint32_t)fid + 1;
		}
		cc->ids[i] = cc->frame_map[src] - 1;
	}
	id = ms_builder_traceback(cc->b, cc->ids, tb->nframe, tb->total_nframe,
				  err);
	if (id < 0)
		return id;
	cc->tb_map[tb_id] = (uint32_t)id + 1;
	return id;
}

static int copy_header(copy_ctx *cc, ms_error *err)
{
	const ms_snapshot *s = cc->s;

	for (size_t i = 0; i < s->nmodules; i++) {
		const ms__module *m = &s->modules[i];
		int64_t id = ms_builder_module(
			cc->b, ms__strpool_get(&s->strings, m->path),
			m->build_id ? ms__strpool_get(&s->strings, m->build_id)
				    : NULL,
			m->bias, m->start, m->end, err);

		if (id < 0)
			return (int)id;
		cc->module_map[i] = id;
	}
	for (size_t i = 0; i < s->nmeta; i++) {
		int rc = ms_builder_meta(
			cc->b, ms__strpool_get(&s->strings, s->meta[i].key),
			ms__strpool_get(&s->strings, s->meta[i].value), err);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_filter(filter_ctx *fc, copy_ctx *cc, ms_error *err)
{
	const ms_snapshot *s = fc->s;
	int rc;

	rc = copy_header(cc, err);
	for (size_t i = 0; i < s->ntraces && rc == 0; i++) {
		const ms__trace *t = &s->traces[i];
		int64_t tb;

		if (t->traceback >= s->ntracebacks)
			return ms__fail(err, MS_ECORRUPT,
					"trace %zu refers to traceback %u of %zu",
					i, t->traceback, s->ntracebacks);
		if (!keep_trace(fc, t))
			continue;
		tb = copy_traceback(cc, t->traceback, err);
		if (tb < 0)
			return (int)tb;
		rc = ms_builder_trace(cc->b, t->domain, t->address, t->size,
				      (uint32_t)tb, err);
	}
	return rc;
}

ms_snapshot *ms_snapshot_filter(const ms_snapshot *s, const ms_filter *filters,
				size_t nfilters, ms_error *err)
{
	filter_ctx fc;
	copy_ctx cc;
	ms_snapshot *out = NULL;
	int rc;

	if (check_filters(s, filters, nfilters, err) < 0)
		return NULL;
	memset(&fc, 0, sizeof(fc));
	memset(&cc, 0, sizeof(cc));
	fc.s = s;
	fc.nfilters = nfilters;
	cc.s = s;
	fc.st = ms__calloc_array(nfilters, sizeof(*fc.st));
	cc.module_map = ms__calloc_array(s->nmodules, sizeof(*cc.module_map));
	cc.frame_map = ms__calloc_array(s->nframes, sizeof(*cc.frame_map));
	cc.tb_map = ms__calloc_array(s->ntracebacks, sizeof(*cc.tb_map));
	rc = fc.st && cc.module_map && cc.frame_map && cc.tb_map ? 0 : -1;
	for (size_t i = 0; i < nfilters && rc == 0; i++) {
		filter_state *fs = &fc.st[i];

		fs->f = &filters[i];
		if (fs->f->kind != MS_FILTER_FILENAME)
			continue;
		fs->plen = normalized_len(fs->f->filename_pattern);
		fs->name_match = ms__calloc_array(s->strings.count + 1, 1);
		fs->tb_match = ms__calloc_array(s->ntracebacks, 1);
		if (!fs->name_match || !fs->tb_match)
			rc = -1;
	}
	if (rc < 0) {
		ms__nomem(err, "filtering a snapshot");
	} else {
		cc.b = ms_builder_new(s->traceback_limit, err);
		if (cc.b && run_filter(&fc, &cc, err) == 0)
			out = ms_builder_finish(cc.b, err);
		else
			ms_builder_free(cc.b);
	}
	for (size_t i = 0; fc.st && i < nfilters; i++) {
		free(fc.st[i].name_match);
		free(fc.st[i].tb_match);
	}
	free(fc.st);
	free(cc.module_map);
	free(cc.frame_map);
	free(cc.tb_map);
	free(cc.ids);
	return out;
}
