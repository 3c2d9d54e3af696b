/* report.c - output sinks, the statistics options, and text reports in
 * tracemalloc's formats. */
#include "config.h"
#include "memsnapP.h"
#include "command.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- output */

void ms_output_init_buffer(ms_output *o)
{
	memset(o, 0, sizeof(*o));
}

void ms_output_init_callback(ms_output *o, ms_write_fn fn, void *arg)
{
	memset(o, 0, sizeof(*o));
	o->write = fn;
	o->arg = arg;
}

static int file_write(void *arg, const void *data, size_t len)
{
	return fwrite(data, 1, len, arg) == len ? 0 : -MS_EIO;
}

void ms_output_init_file(ms_output *o, FILE *f)
{
	ms_output_init_callback(o, file_write, f);
}

void ms_output_destroy(ms_output *o)
{
	if (!o)
		return;
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

void ms_output_reset(ms_output *o)
{
	o->len = 0;
	if (o->buf)
		o->buf[0] = '\0';
	o->error = 0;
}

int ms_output_write(ms_output *o, const void *data, size_t len)
{
	int rc;

	if (o->error)
		return o->error;
	if (o->write) {
		rc = len ? o->write(o->arg, data, len) : 0;
		if (rc < 0)
			o->error = rc;
		return rc < 0 ? rc : 0;
	}
	if (len + 1 < len ||
	    ms__grow((void **)&o->buf, &o->cap, o->len + len + 1, 1) < 0) {
		o->error = -MS_ENOMEM;
		return o->error;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
	return 0;
}

int ms_output_printf(ms_output *o, const char *fmt, ...)
{
	char small[512], *big;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return o->error = -MS_EINVAL;
	if ((size_t)n < sizeof(small))
		return ms_output_write(o, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (!big)
		return o->error = -MS_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = ms_output_write(o, big, (size_t)n);
	free(big);
	return rc;
}

bool ms_color_wanted(bool is_tty)
{
	const char *nc = getenv("NO_COLOR");

	return is_tty && !(nc && *nc);
}

/* Turns a sticky write failure into the caller's error. */
static int output_status(ms_output *out, ms_error *err)
{
	if (!out->error)
		return 0;
	if (out->error == -MS_ENOMEM)
		return ms__nomem(err, "formatting the output");
	return ms__fail(err, -out->error, "writing the output failed: %s",
			ms_strerror(-out->error));
}

/* --------------------------------------------------------------- options */

static const char *const format_names[] = {
	[MS_EXPORT_JSON] = "json",
	[MS_EXPORT_PPROF] = "pprof",
	[MS_EXPORT_COLLAPSED] = "collapsed",
	[MS_EXPORT_SVG] = "svg",
};

int ms_export_format_parse(const char *name, ms_export_format *out,
			   ms_error *err)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names); i++)
		if (name && strcmp(name, format_names[i]) == 0) {
			*out = (ms_export_format)i;
			return 0;
		}
	return ms__fail(err, MS_EINVAL,
			"unknown export format '%s' (json, pprof, collapsed "
			"or svg)", name ? name : "");
}

static const struct {
	const char *name;
	ms_option_arg kind;
	ms_option_group group;
} option_table[] = {
	{ "group-by", MS_OPT_VALUE, MS_OPTS_STATS },
	{ "cumulative", MS_OPT_FLAG, MS_OPTS_STATS },
	{ "limit", MS_OPT_VALUE, MS_OPTS_STATS },
	{ "include", MS_OPT_VALUE, MS_OPTS_FILTER },
	{ "exclude", MS_OPT_VALUE, MS_OPTS_FILTER },
	{ "domain", MS_OPT_VALUE, MS_OPTS_FILTER },
	{ "all-frames", MS_OPT_FLAG, MS_OPTS_FILTER },
	{ "traceback", MS_OPT_FLAG, MS_OPTS_STATS },
	{ "bytes", MS_OPT_FLAG, MS_OPTS_STATS },
	{ "name", MS_OPT_VALUE, MS_OPTS_NAME },
	{ "format", MS_OPT_VALUE, MS_OPTS_FORMAT },
};
#define NOPTIONS (sizeof(option_table) / sizeof(option_table[0]))

const char *const *ms_report_option_names(void)
{
	static const char *names[NOPTIONS + 1];

	if (!names[0])
		for (size_t i = 0; i < NOPTIONS; i++)
			names[i] = option_table[i].name;
	return names;
}

ms_option_arg ms_report_option_kind(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(name, option_table[i].name) == 0)
			return option_table[i].kind;
	return MS_OPT_UNKNOWN;
}

unsigned ms_report_option_group(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(name, option_table[i].name) == 0)
			return option_table[i].group;
	return 0;
}

void ms_report_options_init(ms_report_options *o, size_t default_limit)
{
	memset(o, 0, sizeof(*o));
	o->group_by = MS_GROUP_LINENO;
	o->limit = default_limit;
}

void ms_report_options_destroy(ms_report_options *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nfilters; i++)
		free((char *)o->filters[i].filename_pattern);
	free(o->filters);
	free(o->domains);
	free(o->name);
	memset(o, 0, sizeof(*o));
}

int ms_parse_u64(const char *text, const char *what, uint64_t *out,
		 ms_error *err)
{
	char *end;
	unsigned long long v;

	/* strtoull takes "-1" and " 1": a number here is digits only */
	if (!text || !(text[0] >= '0' && text[0] <= '9'))
		goto bad;
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || *end)
		goto bad;
	*out = v;
	return 0;
bad:
	return ms__fail(err, MS_EINVAL, "bad number for %s: '%s'", what,
			text ? text : "");
}

/* PATTERN[:LINE]: a trailing ":digits" is the line number. */
static int add_filter(ms_report_options *o, bool inclusive, const char *arg,
		      ms_error *err)
{
	const char *opt = inclusive ? "--include" : "--exclude";
	const char *colon = strrchr(arg, ':');
	size_t plen = strlen(arg);
	ms_filter f = { .kind = MS_FILTER_FILENAME, .inclusive = inclusive };
	char *pattern;

	if (colon && colon[1] && strspn(colon + 1, "0123456789") ==
					  strlen(colon + 1)) {
		uint64_t line;

		if (ms_parse_u64(colon + 1, opt, &line, err) < 0 ||
		    line > UINT32_MAX)
			return ms__fail(err, MS_EINVAL,
					"bad line number in %s '%s'", opt, arg);
		f.has_lineno = true;
		f.lineno = (uint32_t)line;
		plen = (size_t)(colon - arg);
	} else if (colon && !colon[1]) {
		return ms__fail(err, MS_EINVAL,
				"bad pattern for %s: '%s' (a line number must "
				"follow ':')", opt, arg);
	}
	if (plen == 0)
		return ms__fail(err, MS_EINVAL,
				"bad pattern for %s: '%s' (empty file name "
				"pattern)", opt, arg);
	if (ms__grow((void **)&o->filters, &o->filters_cap, o->nfilters + 1,
		     sizeof(*o->filters)) < 0)
		return ms__nomem(err, "adding a filter");
	pattern = strndup(arg, plen);
	if (!pattern)
		return ms__nomem(err, "adding a filter");
	f.filename_pattern = pattern;
	o->filters[o->nfilters++] = f;
	return 0;
}

int ms_report_option_set(ms_report_options *o, const char *name,
			 const char *value, ms_error *err)
{
	ms_option_arg kind = ms_report_option_kind(name);
	uint64_t v;

	if (kind == MS_OPT_UNKNOWN)
		return ms__fail(err, MS_EINVAL, "unknown option '--%s'", name);
	if (kind == MS_OPT_VALUE && !value)
		return ms__fail(err, MS_EINVAL, "option '--%s' needs a value",
				name);
	if (kind == MS_OPT_FLAG && value)
		return ms__fail(err, MS_EINVAL,
				"option '--%s' takes no value", name);
	if (strcmp(name, "group-by") == 0) {
		int rc = ms_group_by_parse(value, &o->group_by, err);

		if (rc < 0)
			return rc;
		o->group_by_set = true;
	} else if (strcmp(name, "cumulative") == 0) {
		o->cumulative = true;
	} else if (strcmp(name, "limit") == 0) {
		if (ms_parse_u64(value, "--limit", &v, err) < 0)
			return -MS_EINVAL;
		o->limit = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
	} else if (strcmp(name, "include") == 0 ||
		   strcmp(name, "exclude") == 0) {
		return add_filter(o, name[0] == 'i', value, err);
	} else if (strcmp(name, "domain") == 0) {
		if (ms_parse_u64(value, "--domain", &v, err) < 0)
			return -MS_EINVAL;
		if (v > MS_DOMAIN_MAX)
			return ms__fail(err, MS_EINVAL,
					"bad number for --domain: '%s' (at "
					"most %u)", value, MS_DOMAIN_MAX);
		if (ms__grow((void **)&o->domains, &o->domains_cap,
			     o->ndomains + 1, sizeof(*o->domains)) < 0)
			return ms__nomem(err, "adding a domain filter");
		o->domains[o->ndomains++] = (uint32_t)v;
	} else if (strcmp(name, "all-frames") == 0) {
		o->all_frames = true;
	} else if (strcmp(name, "traceback") == 0) {
		o->traceback = true;
	} else if (strcmp(name, "bytes") == 0) {
		o->bytes = true;
	} else if (strcmp(name, "name") == 0) {
		char *dup = strdup(value);

		if (!dup)
			return ms__nomem(err, "reading --name");
		free(o->name);
		o->name = dup;
	} else if (strcmp(name, "format") == 0) {
		if (ms_export_format_parse(value, &o->format, err) < 0)
			return -MS_EINVAL;
		o->format_set = true;
	}
	return 0;
}

bool ms_report_options_filter(const ms_report_options *o)
{
	return o && (o->nfilters || o->ndomains);
}

int ms_report_apply_filters(const ms_snapshot *s, const ms_report_options *o,
			    ms_snapshot **out, ms_error *err)
{
	ms_snapshot *by_domain = NULL, *res = NULL;
	ms_filter *fs = NULL;
	const ms_snapshot *cur = s;

	*out = NULL;
	if (!ms_report_options_filter(o))
		return 0;
	if (o->ndomains) {
		fs = ms__calloc_array(o->ndomains, sizeof(*fs));
		if (!fs)
			return ms__nomem(err, "filtering by domain");
		for (size_t i = 0; i < o->ndomains; i++) {
			fs[i].kind = MS_FILTER_DOMAIN;
			fs[i].inclusive = true;
			fs[i].has_domain = true;
			fs[i].domain = o->domains[i];
		}
		by_domain = ms_snapshot_filter(s, fs, o->ndomains, err);
		free(fs);
		fs = NULL;
		if (!by_domain)
			return err ? -err->code : -MS_EINVAL;
		cur = by_domain;
	}
	if (o->nfilters) {
		fs = ms__malloc_array(o->nfilters, sizeof(*fs));
		if (!fs) {
			ms_snapshot_free(by_domain);
			return ms__nomem(err, "filtering");
		}
		for (size_t i = 0; i < o->nfilters; i++) {
			fs[i] = o->filters[i];
			fs[i].all_frames = o->all_frames;
		}
		res = ms_snapshot_filter(cur, fs, o->nfilters, err);
		free(fs);
		ms_snapshot_free(by_domain);
		if (!res)
			return err ? -err->code : -MS_EINVAL;
		*out = res;
		return 0;
	}
	*out = by_domain;
	return 0;
}

/* ---------------------------------------------------------------- colour */

#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_DIM "\033[2m"
#define C_OFF "\033[0m"

static const char *col(const ms_output *out, const char *c)
{
	return out->color ? c : "";
}

/* ------------------------------------------------------------ statistics */

static void stat_location(char *buf, size_t len, const ms_stat *st)
{
	if (st->nframe == 0)
		snprintf(buf, len, "<unknown>:0");
	else
		snprintf(buf, len, "%s:%" PRIu32, st->frames[0].filename,
			 st->frames[0].lineno);
}

static bool shows_function(ms_group_by g)
{
	return g == MS_GROUP_LINENO || g == MS_GROUP_FUNCTION ||
	       g == MS_GROUP_TRACEBACK;
}

/* " in foo()": parentheses only when the (demangled) name has none. */
static void print_function(ms_output *out, const char *fn)
{
	if (!fn)
		return;
	ms_output_printf(out, " in %s%s", fn, strchr(fn, '(') ? "" : "()");
}

/* tracemalloc's units, or with --bytes exact integers for scripts and
 * tests ("4096 B", "+24 B"). */
static void fmt_size(const ms_report_options *o, char *buf, size_t len,
		     int64_t size, bool sign)
{
	if (o && o->bytes)
		snprintf(buf, len, sign ? "%+" PRId64 " B" : "%" PRId64 " B",
			 size);
	else
		ms_format_size(buf, len, size, sign);
}

static void print_stat(ms_output *out, const ms_stat *st, bool diff,
		       const ms_report_options *o, int width)
{
	char loc[4096], size[32], sdiff[32], avg[32];
	int pad;

	stat_location(loc, sizeof(loc), st);
	pad = width - (int)strlen(loc) - 1;
	ms_output_printf(out, "%s%s:%s%*s ", col(out, C_BOLD), loc,
			 col(out, C_OFF), pad > 0 ? pad : 0, "");
	fmt_size(o, size, sizeof(size), (int64_t)st->size, false);
	if (diff) {
		const char *c = st->size_diff > 0   ? C_RED
				: st->size_diff < 0 ? C_GREEN
						    : "";

		fmt_size(o, sdiff, sizeof(sdiff), st->size_diff, true);
		ms_output_printf(out,
				 "size=%s (%s%s%s), count=%" PRIu64
				 " (%+" PRId64 ")",
				 size, col(out, c), sdiff,
				 *c ? col(out, C_OFF) : "", st->count,
				 st->count_diff);
	} else {
		ms_output_printf(out, "size=%s, count=%" PRIu64, size,
				 st->count);
	}
	if (st->count) {
		/* Python's size / count is a true division */
		double a = (double)st->size / (double)st->count;

		if (o->bytes)
			snprintf(avg, sizeof(avg), "%.0f B", a);
		else
			ms_format_size_double(avg, sizeof(avg), a, false);
		ms_output_printf(out, ", average=%s", avg);
	}
	if (shows_function(o->group_by) && st->nframe)
		print_function(out, st->frames[0].function);
	/* module:0 names every call site of a stripped module alike: its
	 * offset, the identity of such a frame, tells them apart */
	if ((o->group_by == MS_GROUP_LINENO ||
	     o->group_by == MS_GROUP_TRACEBACK) && st->nframe &&
	    !st->frames[0].lineno && st->frames[0].module &&
	    st->frames[0].address)
		ms_output_printf(out, " at +0x%" PRIx64,
				 st->frames[0].offset);
	ms_output_write(out, "\n", 1);
}

/* A line of a source file, stripped as linecache + str.strip() give it;
 * empty when unreadable. */
static void source_line(const char *path, uint32_t lineno, char *buf,
			size_t len)
{
	FILE *f;
	uint32_t n = 0;
	char *s, *e;

	buf[0] = '\0';
	if (!lineno || !path || !*path)
		return;
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, (int)len, f)) {
		size_t l = strlen(buf);
		bool whole = l && buf[l - 1] == '\n';

		/* a line longer than buf continues: skip its rest */
		if (!whole && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (++n == lineno)
			break;
		buf[0] = '\0';
	}
	fclose(f);
	if (n != lineno) {
		buf[0] = '\0';
		return;
	}
	for (s = buf; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
		      *s == '\f' || *s == '\v';
	     s++)
		;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n' || e[-1] == '\f' || e[-1] == '\v'))
		e--;
	*e = '\0';
	memmove(buf, s, (size_t)(e - s) + 1);
}

int ms_report_traceback(ms_output *out, const ms_frame *frames, uint32_t n,
			const char *indent, ms_error *err)
{
	char line[1024];

	for (uint32_t i = 0; i < n; i++) {
		const ms_frame *f = &frames[i];

		ms_output_printf(out, "%s  File \"%s\", line %" PRIu32, indent,
				 f->filename, f->lineno);
		if (f->function)
			ms_output_printf(out, ", in %s", f->function);
		ms_output_write(out, "\n", 1);
		source_line(f->filename, f->lineno, line, sizeof(line));
		if (line[0])
			ms_output_printf(out, "%s    %s%s%s\n", indent,
					 col(out, C_DIM), line,
					 col(out, C_OFF));
	}
	return output_status(out, err);
}

static int location_width(const ms_output *out, const ms_stats *st,
			  size_t shown)
{
	char loc[4096];
	int w = 0;

	if (!out->tty)
		return 0;
	for (size_t i = 0; i < shown; i++) {
		ms_stat s;
		int l;

		ms_stats_get(st, i, &s);
		stat_location(loc, sizeof(loc), &s);
		l = (int)strlen(loc) + 1;
		if (l > w)
			w = l;
	}
	/* one very long path must not push every line off the screen */
	return w > 60 ? 60 : w;
}

static void print_total(ms_output *out, const ms_snapshot *new_snap,
			const ms_snapshot *old_snap,
			const ms_report_options *o)
{
	uint64_t size, count, osize, ocount;
	char sz[32], dsz[32];

	ms_snapshot_totals(new_snap, &size, &count);
	fmt_size(o, sz, sizeof(sz), (int64_t)size, false);
	if (!old_snap) {
		ms_output_printf(out, "Total: %" PRIu64 " blocks, %s\n", count,
				 sz);
		return;
	}
	ms_snapshot_totals(old_snap, &osize, &ocount);
	fmt_size(o, dsz, sizeof(dsz), (int64_t)(size - osize), true);
	ms_output_printf(out,
			 "Total: %" PRIu64 " blocks (%+" PRId64 "), %s (%s)\n",
			 count, (int64_t)(count - ocount), sz, dsz);
}

static int print_stats(ms_output *out, const ms_stats *st,
		       const ms_report_options *o, ms_error *err)
{
	size_t n = ms_stats_count(st);
	size_t shown = o->limit && o->limit < n ? o->limit : n;
	bool diff = ms_stats_is_diff(st);
	int width = location_width(out, st, shown);
	uint64_t rsize = 0, rcount = 0;
	int64_t rdsize = 0, rdcount = 0;

	for (size_t i = 0; i < n; i++) {
		ms_stat s;

		ms_stats_get(st, i, &s);
		if (i >= shown) {
			rsize += s.size;
			rcount += s.count;
			rdsize += s.size_diff;
			rdcount += s.count_diff;
			continue;
		}
		print_stat(out, &s, diff, o, width);
		if (o->traceback && ms_report_traceback(out, s.frames, s.nframe,
							 "", err) < 0)
			return -err->code;
	}
	if (shown < n) {
		char sz[32], dsz[32];

		fmt_size(o, sz, sizeof(sz), (int64_t)rsize, false);
		if (diff) {
			fmt_size(o, dsz, sizeof(dsz), rdsize, true);
			ms_output_printf(out,
					 "... %zu more: size=%s (%s), count=%" PRIu64
					 " (%+" PRId64 ")\n",
					 n - shown, sz, dsz, rcount, rdcount);
		} else {
			ms_output_printf(out,
					 "... %zu more: size=%s, count=%" PRIu64
					 "\n",
					 n - shown, sz, rcount);
		}
	}
	return 0;
}

static ms_report_options default_options(void)
{
	ms_report_options o;

	ms_report_options_init(&o, 0);
	return o;
}

/* o's filters on *s: *s becomes the filtered snapshot, also left in
 * *filtered for the caller to free (NULL when o has no filter). */
static int filter_in_place(const ms_snapshot **s, const ms_report_options *o,
			   ms_snapshot **filtered, ms_error *err)
{
	int rc = ms_report_apply_filters(*s, o, filtered, err);

	if (rc == 0 && *filtered)
		*s = *filtered;
	return rc;
}

/* The statistics of *s grouped by g after o's filters (filter_in_place:
 * free *filtered once done with *st). */
static int filtered_statistics(const ms_snapshot **s,
			       const ms_report_options *o, ms_group_by g,
			       bool cumulative, ms_snapshot **filtered,
			       ms_stats **st, ms_error *err)
{
	int rc = filter_in_place(s, o, filtered, err);

	if (rc < 0)
		return rc;
	*st = ms_snapshot_statistics(*s, g, cumulative, err);
	if (!*st) {
		ms_snapshot_free(*filtered);
		*filtered = NULL;
		return err ? -err->code : -MS_EINVAL;
	}
	return 0;
}

int ms_report_statistics(ms_output *out, const ms_snapshot *s,
			 const ms_report_options *o, ms_error *err)
{
	ms_report_options def = default_options();
	ms_snapshot *filtered;
	ms_stats *st;
	int rc;

	if (!o)
		o = &def;
	rc = filtered_statistics(&s, o, o->group_by, o->cumulative, &filtered,
				 &st, err);
	if (rc < 0)
		return rc;
	rc = print_stats(out, st, o, err);
	if (rc == 0)
		print_total(out, s, NULL, o);
	ms_stats_free(st);
	ms_snapshot_free(filtered);
	return rc < 0 ? rc : output_status(out, err);
}

int ms_report_compare(ms_output *out, const ms_snapshot *old_snap,
		      const ms_snapshot *new_snap, const ms_report_options *o,
		      ms_error *err)
{
	ms_report_options def = default_options();
	ms_snapshot *fold = NULL, *fnew = NULL;
	ms_stats *st;
	int rc;

	if (!o)
		o = &def;
	rc = filter_in_place(&old_snap, o, &fold, err);
	if (rc < 0)
		return rc;
	rc = filter_in_place(&new_snap, o, &fnew, err);
	if (rc < 0) {
		ms_snapshot_free(fold);
		return rc;
	}
	st = ms_snapshot_compare(new_snap, old_snap, o->group_by,
				 o->cumulative, err);
	if (!st) {
		rc = err ? -err->code : -MS_EINVAL;
	} else {
		rc = print_stats(out, st, o, err);
		if (rc == 0)
			print_total(out, new_snap, old_snap, o);
		ms_stats_free(st);
	}
	ms_snapshot_free(fold);
	ms_snapshot_free(fnew);
	return rc < 0 ? rc : output_status(out, err);
}

/* ------------------------------------------------------------ info, block */

static void info_row(ms_output *out, const char *key, const char *value)
{
	ms_output_printf(out, "  %-16s %s\n", key, value);
}

int ms_report_info(ms_output *out, const ms_snapshot *s, const char *label,
		   ms_error *err)
{
	static const char *const known[] = {
		MS_META_PID, MS_META_CMDLINE, MS_META_TIME, MS_META_HOST,
		MS_META_HOOKED, MS_META_UNKNOWN_FREES,
	};
	static const char *const titles[] = {
		"pid:", "cmdline:", "time:", "host:", "hooked:",
		"unknown frees:",
	};
	char buf[128], sz[32];
	uint64_t size, count;

	ms_output_printf(out, "%sSnapshot %s%s\n", col(out, C_BOLD),
			 label ? label : "", col(out, C_OFF));
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++) {
		const char *v = ms_snapshot_meta(s, known[i]);

		if (v && strcmp(known[i], MS_META_TIME) == 0) {
			char *end;
			long long t = strtoll(v, &end, 10);
			time_t tt = (time_t)t;
			struct tm tm;

			if (*v && !*end && gmtime_r(&tt, &tm)) {
				char when[64];

				strftime(when, sizeof(when),
					 "%Y-%m-%d %H:%M:%S UTC", &tm);
				snprintf(buf, sizeof(buf), "%s (%s)", when, v);
				v = buf;
			}
		}
		info_row(out, titles[i], v ? v : "-");
	}
	snprintf(buf, sizeof(buf), "%" PRIu32, ms_snapshot_traceback_limit(s));
	info_row(out, "traceback limit:", buf);
	ms_snapshot_totals(s, &size, &count);
	snprintf(buf, sizeof(buf), "%zu", ms_snapshot_ntraces(s));
	info_row(out, "traces:", buf);
	ms_format_size(sz, sizeof(sz), (int64_t)size, false);
	snprintf(buf, sizeof(buf), "%s (%" PRIu64 " B)", sz, size);
	info_row(out, "total size:", buf);
	snprintf(buf, sizeof(buf), "%zu", ms_snapshot_nmodules(s));
	info_row(out, "modules:", buf);
	for (size_t i = 0; i < ms_snapshot_nmeta(s); i++) {
		const char *k, *v;
		bool is_known = false;
		char title[64];

		ms_snapshot_meta_at(s, i, &k, &v);
		for (size_t j = 0; j < sizeof(known) / sizeof(*known); j++)
			is_known |= strcmp(k, known[j]) == 0;
		if (is_known)
			continue;
		snprintf(title, sizeof(title), "%s:", k);
		if (strcmp(k, MS_META_PEAK_SIZE) == 0) {
			char *end;
			unsigned long long peak = strtoull(v, &end, 10);

			if (*v && !*end) {
				snprintf(title, sizeof(title), "peak size:");
				ms_format_size(sz, sizeof(sz), (int64_t)peak,
					       false);
				snprintf(buf, sizeof(buf), "%s (%llu B)", sz,
					 peak);
				v = buf;
			}
		} else if (strcmp(k, "signal") == 0) {
			/* --dump-on-crash stores the number; name it */
			char *end;
			long sig = strtol(v, &end, 10);
			const char *abbrev = *v && !*end && sig > 0 &&
				sig < 65 ? sigabbrev_np((int)sig) : NULL;

			if (abbrev) {
				snprintf(buf, sizeof(buf), "%ld (SIG%s)", sig,
					 abbrev);
				v = buf;
			}
		}
		info_row(out, title, v);
	}
	return output_status(out, err);
}

/* The trace whose block ends closest below addr, within
 * MS_REPORT_NEAR_WINDOW bytes (an overrun faults at the first unmapped or
 * protected byte past the block); -1 when none. */
static int64_t nearest_below(const ms_snapshot *s, uint64_t addr)
{
	int64_t best = -1;
	uint64_t best_end = 0;

	for (size_t i = 0; i < ms_snapshot_ntraces(s); i++) {
		ms_trace t;
		uint64_t end;

		ms_snapshot_trace(s, i, &t);
		end = t.address + t.size;
		if (end < t.address || end > addr ||
		    addr - end >= MS_REPORT_NEAR_WINDOW)
			continue;
		if (best < 0 || end > best_end) {
			best = (int64_t)i;
			best_end = end;
		}
	}
	return best;
}

int ms_report_block(ms_output *out, const ms_snapshot *s, const char *label,
		    uint64_t addr, ms_error *err)
{
	int64_t i = ms_snapshot_find_containing(s, addr);
	const uint32_t *ids;
	uint32_t n, total;
	ms_frame *frames;
	ms_trace t;
	char sz[32];
	bool past = false;
	int rc;

	if (i < 0 && (i = nearest_below(s, addr)) >= 0) {
		past = true;
		ms_snapshot_trace(s, (size_t)i, &t);
		ms_output_printf(out, "No live block in %s contains 0x%" PRIx64
				 "; it is %" PRIu64 " bytes past the end of "
				 "the nearest block below:\n",
				 label ? label : "the snapshot", addr,
				 addr - (t.address + t.size));
	} else if (i < 0) {
		return ms__fail(err, MS_ENOTFOUND,
				"no live block in %s contains 0x%" PRIx64,
				label ? label : "the snapshot", addr);
	} else {
		ms_snapshot_trace(s, (size_t)i, &t);
		ms_output_printf(out, "Block containing 0x%" PRIx64 " in %s:\n",
				 addr, label ? label : "the snapshot");
	}
	ms_format_size(sz, sizeof(sz), (int64_t)t.size, false);
	ms_output_printf(out, "  domain:  %" PRIu32 "\n", t.domain);
	ms_output_printf(out, "  address: 0x%" PRIx64 "\n", t.address);
	ms_output_printf(out, "  size:    %" PRIu64 " (%s)\n", t.size, sz);
	if (!past)
		ms_output_printf(out, "  offset:  %" PRIu64 "\n",
				 addr - t.address);
	else
		ms_output_printf(out, "  offset:  %" PRIu64 " (%" PRIu64
				 " past the end)\n", addr - t.address,
				 addr - t.address - t.size);
	n = ms_snapshot_traceback(s, t.traceback, &ids, &total);
	frames = ms__calloc_array(n ? n : 1, sizeof(*frames));
	if (!frames)
		return ms__nomem(err, "formatting a traceback");
	/* stored most recent first, shown oldest first */
	for (uint32_t j = 0; j < n; j++)
		ms_snapshot_frame(s, ids[n - 1 - j], &frames[j]);
	if (total > n)
		ms_output_printf(out,
				 "Traceback (most recent call last; %" PRIu32
				 " of %" PRIu32 " frames, the oldest not "
				 "recorded):\n",
				 n, total);
	else
		ms_output_printf(out,
				 "Traceback (most recent call last; %" PRIu32
				 " frames):\n",
				 n);
	rc = ms_report_traceback(out, frames, n, "", err);
	free(frames);
	return rc < 0 ? rc : output_status(out, err);
}

/* ------------------------------------------------------------ leaks */

static void leak_frame(ms_output *out, uint32_t i, const ms_frame *f)
{
	char line[1024];

	ms_output_printf(out, "    #%" PRIu32 " 0x%" PRIx64 " in %s %s", i,
			 f->address, f->function ? f->function : "??",
			 f->filename);
	if (f->lineno)
		ms_output_printf(out, ":%" PRIu32, f->lineno);
	ms_output_write(out, "\n", 1);
	source_line(f->filename, f->lineno, line, sizeof(line));
	if (line[0])
		ms_output_printf(out, "        %s%s%s\n", col(out, C_DIM), line,
				 col(out, C_OFF));
}

int ms_report_leaks(ms_output *out, const ms_snapshot *s,
		    const ms_report_options *o, ms_error *err)
{
	ms_report_options def = default_options();
	ms_snapshot *filtered;
	uint64_t size, count;
	ms_stats *st;
	size_t n;
	int rc;

	if (!o)
		o = &def;
	rc = filtered_statistics(&s, o, MS_GROUP_TRACEBACK, false, &filtered,
				 &st, err);
	if (rc < 0)
		return rc;
	n = ms_stats_count(st);
	for (size_t i = 0; i < n; i++) {
		ms_stat t;

		ms_stats_get(st, i, &t);
		ms_output_printf(out, "%sLeak of %" PRIu64 " byte(s) in %" PRIu64
				 " object(s) allocated from:%s\n",
				 col(out, C_BOLD), t.size, t.count,
				 col(out, C_OFF));
		/* frames come oldest first; a leak report reads from the
		 * allocating call outwards */
		for (uint32_t j = 0; j < t.nframe; j++)
			leak_frame(out, j, &t.frames[t.nframe - 1 - j]);
		if (!t.nframe)
			ms_output_printf(out, "    (no frame recorded)\n");
		ms_output_write(out, "\n", 1);
	}
	ms_snapshot_totals(s, &size, &count);
	if (count)
		ms_output_printf(out, "SUMMARY: memsnap: %" PRIu64 " byte(s) "
				 "leaked in %" PRIu64 " allocation(s) from %zu "
				 "traceback(s).\n", size, count, n);
	else
		ms_output_printf(out, "No leaks: no live block.\n");
	ms_stats_free(st);
	ms_snapshot_free(filtered);
	return output_status(out, err);
}
