/* test_symbols.c - the libdwfl symbolizer against real processes, a core
 * file and stored module maps, checked against binutils' addr2line on the
 * same module offsets.
 *
 * The targets (tests/targets/symbols/) print the return addresses of
 * interesting places and wait on stdin; see sym_cxx.cpp and sym_c.c. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memsnap.h"
#include "memsnap_symbols.h"

#ifndef SYM_TARGET_DIR
#error "SYM_TARGET_DIR must name the directory of the built targets"
#endif

#define CXX_TARGET SYM_TARGET_DIR "/sym_cxx"
#define C_TARGET SYM_TARGET_DIR "/sym_c"

/* ------------------------------------------------------------ targets */

struct target {
	pid_t pid;
	FILE *in, *out;
	size_t n;
	char label[16][32];
	uint64_t pc[16];
};

static void target_start(struct target *t, const char *path)
{
	int to[2], from[2];
	memset(t, 0, sizeof(*t));
	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	t->in = fdopen(to[1], "w");
	t->out = fdopen(from[0], "r");
	char line[256];
	while (fgets(line, sizeof(line), t->out)) {
		if (strcmp(line, "ready\n") == 0)
			return;
		assert_true(t->n < 16);
		assert_int_equal(sscanf(line, "%31s %" SCNx64, t->label[t->n],
					&t->pc[t->n]), 2);
		t->n++;
	}
	fail_msg("%s did not get ready", path);
}

static uint64_t target_pc(const struct target *t, const char *label)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->label[i], label) == 0)
			return t->pc[i];
	fail_msg("target printed no %s", label);
	return 0;
}

/* Sends a command and returns its one-line answer (static buffer). */
static const char *target_cmd(struct target *t, const char *cmd)
{
	static char line[256];
	fprintf(t->in, "%s\n", cmd);
	fflush(t->in);
	assert_non_null(fgets(line, sizeof(line), t->out));
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static void target_stop(struct target *t)
{
	int status;
	fclose(t->in);
	fclose(t->out);
	assert_int_equal(waitpid(t->pid, &status, 0), t->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ------------------------------------------------------------ addr2line */

struct a2l {
	size_t n;
	char func[MS_MAX_INLINE][1024];
	char file[MS_MAX_INLINE][1024];
	uint32_t line[MS_MAX_INLINE];
};

/* binutils 2.40 joins a relative DWARF 5 directory 0 to the compilation
 * directory that it already is: "./stdlib/./stdlib/msort.c" for glibc's
 * "./stdlib/msort.c". Undo that one doubling. */
static void undouble_comp_dir(char *path)
{
	char *mid = strstr(path, "/./");
	if (!mid || path[0] != '.')
		return;
	size_t k = (size_t)(mid - path);
	if (strncmp(mid + 1, path, k) == 0 && mid[1 + k] == '/')
		memmove(path, mid + 1, strlen(mid + 1) + 1);
}

/* One name per file, as the symbolizer gives it: "a/./b" and "a/x/../b"
 * become "a/b" (binutils keeps them as DWARF spells them). */
static void clean_lexically(char *path, size_t len)
{
	char copy[1024], *parts[256];
	size_t n = 0, o = 0;
	bool abs = path[0] == '/';

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *tok = strtok(copy, "/"); tok; tok = strtok(NULL, "/")) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0 && n && strcmp(parts[n - 1], "..")) {
			n--;
			continue;
		}
		if (strcmp(tok, "..") == 0 && abs)
			continue;
		assert_true(n < 256);
		parts[n++] = tok;
	}
	path[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(path + o, len - o, "%s%s",
				      i || abs ? "/" : "", parts[i]);
	if (!n)
		snprintf(path, len, "%s", abs ? "/" : ".");
}

/* Runs binutils' or elfutils' addr2line -f -i -C on module at offset. */
static void addr2line(const char *tool, const char *module, uint64_t offset,
		      struct a2l *out)
{
	char cmd[2048], func[1024], loc[1024];
	snprintf(cmd, sizeof(cmd), "%s -f -i -C -e '%s' 0x%" PRIx64, tool,
		 module, offset);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	memset(out, 0, sizeof(*out));
	while (fgets(func, sizeof(func), p) && fgets(loc, sizeof(loc), p)) {
		assert_true(out->n < MS_MAX_INLINE);
		func[strcspn(func, "\n")] = '\0';
		/* elfutils: "f inlined at FILE:LINE in g" */
		char *inl = strstr(func, " inlined at ");
		if (inl)
			*inl = '\0';
		loc[strcspn(loc, "\n")] = '\0';
		char *disc = strstr(loc, " (discriminator");
		if (disc)
			*disc = '\0';
		char *colon = strchr(loc, ':');
		assert_non_null(colon);
		*colon = '\0';
		/* elfutils adds ":COLUMN" */
		out->line[out->n] = (uint32_t)strtoul(colon + 1, NULL, 10);
		snprintf(out->func[out->n], sizeof(out->func[0]), "%s", func);
		snprintf(out->file[out->n], sizeof(out->file[0]), "%s", loc);
		undouble_comp_dir(out->file[out->n]);
		clean_lexically(out->file[out->n], sizeof(out->file[0]));
		out->n++;
	}
	assert_int_equal(pclose(p), 0);
}

/* Frames for pc must be what addr2line says at the same module offset:
 * every file and line, and every function but the innermost of an inlined
 * chain, for which binutils prints the outer function's symbol (the
 * elfutils addr2line, which names the inlined function, decides that
 * one). */
static void check_against_addr2line(const ms_frame *f, int n, bool is_return)
{
	struct a2l bin, eu;
	assert_true(n >= 1);
	assert_non_null(f[0].module);
	uint64_t off = f[0].offset - (is_return ? 1 : 0);
	addr2line("addr2line", f[0].module, off, &bin);
	assert_int_equal(n, (int)bin.n);
	for (int i = 0; i < n; i++) {
		if (strcmp(bin.file[i], "??") == 0) {
			assert_string_equal(f[i].filename, f[i].module);
			assert_int_equal(f[i].lineno, 0);
		} else {
			assert_string_equal(f[i].filename, bin.file[i]);
			assert_int_equal(f[i].lineno, bin.line[i]);
		}
		const char *want = bin.func[i];
		if (i == 0 && n > 1) {
			addr2line("eu-addr2line", f[0].module, off, &eu);
			want = eu.func[0];
		}
		if (strcmp(want, "??") == 0)
			assert_null(f[i].function);
		else
			assert_string_equal(f[i].function, want);
	}
}

static int resolve(ms_dwfl *d, uint64_t pc, bool is_return, ms_frame *f)
{
	ms_symbolizer s = ms_dwfl_symbolizer(d);
	ms_error err;
	int n = s.ops->resolve(s.ctx, pc, is_return, f, MS_MAX_INLINE, &err);
	if (n < 0)
		fail_msg("resolve 0x%" PRIx64 ": %s", pc, err.message);
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ------------------------------------------------------------ scratch */

static char scratch[256];

static void run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static char *scratch_path(const char *name)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", scratch, name);
	return buf[i];
}

/* The hex build-id of an ELF file, from readelf. */
static void file_build_id(const char *path, char *out, size_t len)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "readelf -n '%s' | sed -n 's/.*Build ID: //p'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, (int)len, p));
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

static int group_setup(void **state)
{
	snprintf(scratch, sizeof(scratch), "/tmp/test_symbols.XXXXXX");
	if (!mkdtemp(scratch))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ live */

static const char *const cxx_labels[] = {
	"inline", "template", "namespace", "lambda", "libc", "libstdcxx",
	"main",
};

static void test_live_frames_match_addr2line(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	target_start(&t, CXX_TARGET);
	ms_error err;
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, &err);
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(cxx_labels) / sizeof(*cxx_labels); i++) {
		int n = resolve(d, target_pc(&t, cxx_labels[i]), true, f);
		check_against_addr2line(f, n, true);
	}
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_inlined_calls_expand_innermost_first(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	uint64_t pc = target_pc(&t, "inline");
	assert_int_equal(resolve(d, pc, true, f), 3);
	assert_string_equal(f[0].function, "inline_inner");
	assert_string_equal(f[1].function, "inline_outer");
	assert_string_equal(f[2].function, "run_inline()");
	for (int i = 0; i < 3; i++) {
		assert_true(ends_with(f[i].filename, "/sym_cxx.cpp"));
		assert_string_equal(f[i].module, CXX_TARGET);
		assert_int_equal(f[i].address, pc);
		assert_int_equal(f[i].offset, f[0].offset);
	}
	/* the lambda's body is inlined into apply<>() */
	assert_int_equal(resolve(d, target_pc(&t, "lambda"), true, f), 2);
	assert_string_equal(f[0].function, "operator()");
	assert_string_equal(f[1].function, "apply<main()::<lambda(int)> >");
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_cxx_names_are_demangled(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(resolve(d, target_pc(&t, "template"), true, f), 1);
	assert_string_equal(f[0].function, "geo::Box<long>::area() const");
	assert_int_equal(resolve(d, target_pc(&t, "namespace"), true, f), 1);
	assert_string_equal(f[0].function, "outer::inner::answer(int)");
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_libc_uses_its_debug_package(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	char id[256], debug[512];
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	int n = resolve(d, target_pc(&t, "libc"), true, f);
	assert_true(n >= 1);
	assert_true(ends_with(f[0].module, "/libc.so.6"));
	file_build_id(f[0].module, id, sizeof(id));
	assert_string_equal(f[0].build_id, id);
	/* libc6-dbg keeps only the DWARF, by build-id */
	snprintf(debug, sizeof(debug), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 id, id + 2);
	assert_int_equal(access(debug, R_OK), 0);
	assert_string_equal(f[n - 1].function, "msort_with_tmp");
	assert_true(ends_with(f[0].filename, "msort.c"));
	assert_true(f[0].lineno > 0);
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_no_debug_info_names_function_from_symbols(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	/* libstdc++ has no debug package installed: .dynsym only */
	assert_int_equal(resolve(d, target_pc(&t, "libstdcxx"), true, f), 1);
	assert_string_equal(f[0].function, "operator new(unsigned long)");
	assert_true(strstr(f[0].module, "/libstdc++.so.6") != NULL);
	assert_string_equal(f[0].filename, f[0].module);
	assert_int_equal(f[0].lineno, 0);
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_return_address_is_looked_up_at_pc_minus_1(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	uint64_t pc = target_pc(&t, "main");
	check_against_addr2line(f, resolve(d, pc, true, f), true);
	check_against_addr2line(f, resolve(d, pc, false, f), false);
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_missing_process_is_not_found(void **state)
{
	ms_error err;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_null(ms_dwfl_new_pid(pid, NULL, &err));
	assert_int_equal(err.code, MS_ENOTFOUND);
	char want[64];
	snprintf(want, sizeof(want), "no process %d", (int)pid);
	assert_string_equal(err.message, want);
}

/* ------------------------------------------------------------ cache */

static void test_pc_is_symbolized_once(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	ms_dwfl_stats st;
	target_start(&t, CXX_TARGET);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	uint64_t pc = target_pc(&t, "inline");
	assert_int_equal(resolve(d, pc, true, f), 3);
	assert_int_equal(resolve(d, pc, true, f), 3);
	assert_string_equal(f[0].function, "inline_inner");
	ms_dwfl_get_stats(d, &st);
	assert_int_equal(st.lookups, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.cached, 1);
	/* the same PC as an innermost frame is another lookup */
	resolve(d, pc, false, f);
	ms_dwfl_get_stats(d, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.cached, 2);
	ms_dwfl_forget(d);
	ms_dwfl_get_stats(d, &st);
	assert_int_equal(st.cached, 0);
	ms_dwfl_free(d);
	target_stop(&t);
}

static void test_refresh_drops_unloaded_module_only(void **state)
{
	struct target t;
	ms_frame f[MS_MAX_INLINE];
	ms_dwfl_stats st;
	ms_error err;
	target_start(&t, CXX_TARGET);
	uint64_t zpc;
	assert_int_equal(sscanf(target_cmd(&t, "dlopen"), "dl %" SCNx64, &zpc),
			 1);
	assert_true(zpc != 0);
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(resolve(d, zpc, false, f), 1);
	assert_string_equal(f[0].function, "zlibVersion");
	assert_true(strstr(f[0].module, "/libz.so.1") != NULL);
	resolve(d, target_pc(&t, "template"), true, f);
	ms_dwfl_get_stats(d, &st);
	size_t modules_before = st.modules;
	assert_int_equal(st.cached, 2);

	assert_string_equal(target_cmd(&t, "dlclose"), "closed");
	assert_int_equal(ms_dwfl_refresh(d, &err), 0);
	ms_dwfl_get_stats(d, &st);
	assert_int_equal(st.cached, 1);
	assert_int_equal(st.modules, modules_before - 1);
	/* the other module's PC is still cached */
	assert_int_equal(resolve(d, target_pc(&t, "template"), true, f), 1);
	ms_dwfl_get_stats(d, &st);
	assert_int_equal(st.misses, 2);
	/* the unloaded library's address is no module's any more */
	assert_int_equal(resolve(d, zpc, false, f), 1);
	assert_null(f[0].function);
	assert_null(f[0].module);
	assert_string_equal(f[0].filename, "??");
	ms_dwfl_free(d);
	target_stop(&t);
}

/* ------------------------------------------------------------ variants */

/* Frames of the sym_c variant at path (its "leaf" PC), from a live run. */
static int c_variant_frames(const char *path, const ms_dwfl_options *o,
			    ms_frame *f, uint64_t *pc)
{
	struct target t;
	target_start(&t, path);
	*pc = target_pc(&t, "leaf");
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, o, NULL);
	assert_non_null(d);
	int n = resolve(d, *pc, true, f);
	static ms_frame copy[MS_MAX_INLINE];
	static char strings[MS_MAX_INLINE][3][1024];
	/* keep the strings past ms_dwfl_free */
	for (int i = 0; i < n; i++) {
		copy[i] = f[i];
		snprintf(strings[i][0], 1024, "%s", f[i].filename);
		copy[i].filename = strings[i][0];
		if (f[i].function) {
			snprintf(strings[i][1], 1024, "%s", f[i].function);
			copy[i].function = strings[i][1];
		}
		snprintf(strings[i][2], 1024, "%s", f[i].module);
		copy[i].module = strings[i][2];
		copy[i].build_id = NULL;
	}
	memcpy(f, copy, n * sizeof(*f));
	ms_dwfl_free(d);
	target_stop(&t);
	return n;
}

static void test_split_debug_file_is_found_by_build_id(void **state)
{
	ms_frame f[MS_MAX_INLINE];
	char id[256];
	uint64_t pc;
	const char *bin = scratch_path("split_id");
	run("cp '%s' '%s' && objcopy --only-keep-debug '%s' '%s.debug' && "
	    "strip --strip-all '%s'", C_TARGET, bin, bin, bin, bin);
	file_build_id(bin, id, sizeof(id));
	/* only the build-id path knows it: no debuglink, not next to it */
	run("mkdir -p '%s/dbg/.build-id/%.2s' && mv '%s.debug' "
	    "'%s/dbg/.build-id/%.2s/%s.debug'", scratch, id, bin, scratch, id,
	    id + 2);
	ms_dwfl_options o = { .debug_dir = scratch_path("dbg") };
	int n = c_variant_frames(bin, &o, f, &pc);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "leaf_function");
	assert_true(ends_with(f[0].filename, "/sym_c.c"));
	/* the unstripped build at the same offset says the same */
	char module[1024];
	snprintf(module, sizeof(module), "%s", C_TARGET);
	f[0].module = module;
	check_against_addr2line(f, n, true);
	/* without the debug dir there is nothing but the module */
	n = c_variant_frames(bin, NULL, f, &pc);
	assert_int_equal(n, 1);
	assert_null(f[0].function);
	assert_string_equal(f[0].filename, bin);
	assert_int_equal(f[0].lineno, 0);
}

static void test_split_debug_file_is_found_by_debuglink(void **state)
{
	ms_frame f[MS_MAX_INLINE];
	uint64_t pc;
	const char *bin = scratch_path("split_link");
	run("cp '%s' '%s' && objcopy --only-keep-debug '%s' '%s.dbg' && "
	    "strip --strip-all '%s' && objcopy --add-gnu-debuglink='%s.dbg' "
	    "'%s'", C_TARGET, bin, bin, bin, bin, bin, bin);
	int n = c_variant_frames(bin, NULL, f, &pc);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "leaf_function");
	assert_true(f[0].lineno > 0);
	char module[1024];
	snprintf(module, sizeof(module), "%s", C_TARGET);
	f[0].module = module;
	check_against_addr2line(f, n, true);
}

static void test_symtab_only_gives_function_and_module_path(void **state)
{
	ms_frame f[MS_MAX_INLINE];
	uint64_t pc;
	const char *bin = scratch_path("nodebug");
	run("cp '%s' '%s' && strip --strip-debug '%s'", C_TARGET, bin, bin);
	assert_int_equal(c_variant_frames(bin, NULL, f, &pc), 1);
	assert_string_equal(f[0].function, "leaf_function");
	assert_string_equal(f[0].filename, bin);
	assert_int_equal(f[0].lineno, 0);
	assert_string_equal(f[0].module, bin);
}

static void test_no_symbols_at_all_gives_unknown_with_offset(void **state)
{
	ms_frame f[MS_MAX_INLINE], full[MS_MAX_INLINE];
	uint64_t pc, full_pc;
	const char *bin = scratch_path("nosyms");
	run("cp '%s' '%s' && strip --strip-all '%s'", C_TARGET, bin, bin);
	assert_int_equal(c_variant_frames(bin, NULL, f, &pc), 1);
	assert_null(f[0].function);
	assert_string_equal(f[0].filename, bin);
	assert_int_equal(f[0].lineno, 0);
	assert_string_equal(f[0].module, bin);
	/* same code, same offset as in the unstripped build */
	assert_int_equal(c_variant_frames(C_TARGET, NULL, full, &full_pc), 1);
	assert_int_equal(f[0].offset, full[0].offset);
	assert_int_equal(f[0].address, pc);
}

static void test_minidebuginfo_gives_function(void **state)
{
	ms_frame f[MS_MAX_INLINE];
	uint64_t pc;
	const char *bin = scratch_path("minidebug");
	const char *mini = scratch_path("mini");
	/* Fedora's recipe: the function symbols of .symtab, xz-compressed,
	 * in .gnu_debugdata of a fully stripped file */
	run("cp '%s' '%s' && nm '%s' --format=posix --defined-only | "
	    "awk '$2 ~ /[Tt]/ {print $1}' | sort > '%s.funcs' && "
	    "objcopy --only-keep-debug '%s' '%s' && "
	    "objcopy -S --remove-section .gdb_index --remove-section .comment "
	    "--keep-symbols='%s.funcs' '%s' && xz -f '%s' && "
	    "strip --strip-all '%s' && "
	    "objcopy --add-section .gnu_debugdata='%s.xz' '%s'",
	    C_TARGET, bin, bin, mini, bin, mini, mini, mini, mini, bin, mini,
	    bin);
	assert_int_equal(c_variant_frames(bin, NULL, f, &pc), 1);
	assert_string_equal(f[0].function, "leaf_function");
	assert_string_equal(f[0].filename, bin);
	assert_int_equal(f[0].lineno, 0);
}

/* ------------------------------------------------------------ core */

static void assert_frames_equal(const ms_frame *a, int na, const ms_frame *b,
				int nb)
{
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++) {
		if (strcmp(a[i].filename, a[i].module) == 0)
			assert_string_equal(b[i].filename, b[i].module);
		else
			assert_string_equal(a[i].filename, b[i].filename);
		assert_int_equal(a[i].lineno, b[i].lineno);
		if (a[i].function || b[i].function) {
			assert_non_null(a[i].function);
			assert_non_null(b[i].function);
			assert_string_equal(a[i].function, b[i].function);
		}
		/* a core names libraries as the dynamic linker loaded them
		 * (/lib/...), the maps as the kernel resolved them (/usr/lib) */
		char ra[4096], rb[4096];
		assert_non_null(realpath(a[i].module, ra));
		assert_non_null(realpath(b[i].module, rb));
		assert_string_equal(ra, rb);
		assert_string_equal(a[i].build_id, b[i].build_id);
		assert_int_equal(a[i].address, b[i].address);
		assert_int_equal(a[i].offset, b[i].offset);
	}
}

static void test_core_file_frames_match_live(void **state)
{
	struct target t;
	ms_frame live[MS_MAX_INLINE], core[MS_MAX_INLINE];
	ms_error err;
	char path[512];
	target_start(&t, CXX_TARGET);
	const char *prefix = scratch_path("core");
	run("gcore -o '%s' %d >/dev/null 2>&1", prefix, (int)t.pid);
	snprintf(path, sizeof(path), "%s.%d", prefix, (int)t.pid);
	ms_dwfl *dl = ms_dwfl_new_pid(t.pid, NULL, NULL);
	ms_dwfl *dc = ms_dwfl_new_core(path, CXX_TARGET, NULL, &err);
	if (!dc)
		fail_msg("%s", err.message);
	assert_non_null(dl);
	assert_int_equal(ms_dwfl_verify(dc, &err), 0);
	for (size_t i = 0; i < sizeof(cxx_labels) / sizeof(*cxx_labels); i++) {
		uint64_t pc = target_pc(&t, cxx_labels[i]);
		int nl = resolve(dl, pc, true, live);
		int nc = resolve(dc, pc, true, core);
		assert_frames_equal(live, nl, core, nc);
		check_against_addr2line(core, nc, true);
	}
	ms_dwfl_free(dc);
	ms_dwfl_free(dl);
	target_stop(&t);
}

static void test_core_needs_a_core_file(void **state)
{
	ms_error err;
	assert_null(ms_dwfl_new_core(CXX_TARGET, NULL, NULL, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message, CXX_TARGET ": not a core file");
}

/* ------------------------------------------------------------ stored maps */

struct map {
	size_t n;
	ms_module m[128];
	char path[128][512];
	char id[128][129];
};

static int keep_module(void *arg, const ms_module *m)
{
	struct map *map = arg;
	assert_true(map->n < 128);
	size_t i = map->n++;
	map->m[i] = *m;
	snprintf(map->path[i], sizeof(map->path[i]), "%s", m->path);
	map->m[i].path = map->path[i];
	if (m->build_id) {
		snprintf(map->id[i], sizeof(map->id[i]), "%s", m->build_id);
		map->m[i].build_id = map->id[i];
	}
	return 0;
}

static void save_map(ms_dwfl *d, struct map *map)
{
	ms_symbolizer s = ms_dwfl_symbolizer(d);
	map->n = 0;
	assert_int_equal(s.ops->modules(s.ctx, keep_module, map, NULL), 0);
}

static void test_stored_map_frames_match_live(void **state)
{
	struct target t;
	struct map map;
	ms_frame live[MS_MAX_INLINE], stored[MS_MAX_INLINE];
	ms_error err;
	target_start(&t, CXX_TARGET);
	ms_dwfl *dl = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(dl);
	save_map(dl, &map);
	target_stop(&t);
	bool seen_exe = false;
	for (size_t i = 0; i < map.n; i++) {
		if (strcmp(map.m[i].path, CXX_TARGET) == 0) {
			seen_exe = true;
			assert_non_null(map.m[i].build_id);
			assert_true(map.m[i].bias != 0); /* PIE */
		}
	}
	assert_true(seen_exe);
	/* the process is gone: only the map is left */
	ms_dwfl *ds = ms_dwfl_new_modules(map.m, map.n, NULL, &err);
	if (!ds)
		fail_msg("%s", err.message);
	assert_int_equal(ms_dwfl_verify(ds, &err), 0);
	for (size_t i = 0; i < t.n; i++) {
		int nl = resolve(dl, t.pc[i], true, live);
		int ns = resolve(ds, t.pc[i], true, stored);
		assert_frames_equal(live, nl, stored, ns);
	}
	ms_dwfl_free(ds);
	ms_dwfl_free(dl);
}

static ms_dwfl *c_map(const char *bin, struct map *map, uint64_t *pc)
{
	struct target t;
	target_start(&t, bin);
	*pc = target_pc(&t, "leaf");
	ms_dwfl *d = ms_dwfl_new_pid(t.pid, NULL, NULL);
	assert_non_null(d);
	save_map(d, map);
	target_stop(&t);
	return d;
}

static void test_stored_map_reports_binary_moved_away(void **state)
{
	struct map map;
	ms_frame f[MS_MAX_INLINE];
	ms_error err;
	uint64_t pc;
	const char *bin = scratch_path("moved");
	run("cp '%s' '%s'", C_TARGET, bin);
	ms_dwfl_free(c_map(bin, &map, &pc));
	run("mv '%s' '%s.away'", bin, bin);
	ms_dwfl *d = ms_dwfl_new_modules(map.m, map.n, NULL, &err);
	assert_non_null(d);
	char want[1024];
	snprintf(want, sizeof(want), "%s: no such file", bin);
	assert_int_equal(ms_dwfl_verify(d, &err), -MS_ESYMBOL);
	assert_string_equal(err.message, want);
	ms_symbolizer s = ms_dwfl_symbolizer(d);
	assert_int_equal(s.ops->resolve(s.ctx, pc, true, f, MS_MAX_INLINE,
					&err), -MS_ESYMBOL);
	snprintf(want, sizeof(want), "cannot symbolize 0x%" PRIx64
		 ": %s: no such file", pc, bin);
	assert_string_equal(err.message, want);
	ms_dwfl_free(d);

	/* a sysroot that holds the file makes it usable again */
	run("mkdir -p '%s/root%s' && mv '%s.away' '%s/root%s'", scratch,
	    scratch, bin, scratch, bin);
	ms_dwfl_options o = { .sysroot = scratch_path("root") };
	d = ms_dwfl_new_modules(map.m, map.n, &o, &err);
	assert_non_null(d);
	assert_int_equal(ms_dwfl_verify(d, &err), 0);
	assert_int_equal(resolve(d, pc, true, f), 1);
	assert_string_equal(f[0].function, "leaf_function");
	assert_string_equal(f[0].module, bin);
	ms_dwfl_free(d);
}

static void test_stored_map_reports_build_id_mismatch(void **state)
{
	struct map map;
	ms_frame f[MS_MAX_INLINE];
	ms_error err;
	uint64_t pc;
	char recorded[256], ondisk[256];
	const char *bin = scratch_path("rebuilt");
	run("cp '%s' '%s'", C_TARGET, bin);
	ms_dwfl_free(c_map(bin, &map, &pc));
	file_build_id(bin, recorded, sizeof(recorded));
	/* the file is "rebuilt": same path, other contents */
	run("cp '%s' '%s'", CXX_TARGET, bin);
	file_build_id(bin, ondisk, sizeof(ondisk));
	ms_dwfl *d = ms_dwfl_new_modules(map.m, map.n, NULL, &err);
	assert_non_null(d);
	char want[1024];
	snprintf(want, sizeof(want), "%s: build-id %s differs from the "
		 "recorded %s", bin, ondisk, recorded);
	assert_int_equal(ms_dwfl_verify(d, &err), -MS_ESYMBOL);
	assert_string_equal(err.message, want);
	ms_symbolizer s = ms_dwfl_symbolizer(d);
	assert_int_equal(s.ops->resolve(s.ctx, pc, true, f, MS_MAX_INLINE,
					&err), -MS_ESYMBOL);
	assert_non_null(strstr(err.message, want));
	ms_dwfl_free(d);
}

static void test_stored_map_rejects_bad_build_id_text(void **state)
{
	ms_error err;
	ms_module m = { .path = "/bin/true", .build_id = "XYZ",
			.start = 0x1000, .end = 0x2000 };
	assert_null(ms_dwfl_new_modules(&m, 1, NULL, &err));
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.message,
			    "/bin/true: build-id \"XYZ\" is not lower-case hex");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_frames_match_addr2line),
		cmocka_unit_test(test_inlined_calls_expand_innermost_first),
		cmocka_unit_test(test_cxx_names_are_demangled),
		cmocka_unit_test(test_libc_uses_its_debug_package),
		cmocka_unit_test(test_no_debug_info_names_function_from_symbols),
		cmocka_unit_test(test_return_address_is_looked_up_at_pc_minus_1),
		cmocka_unit_test(test_missing_process_is_not_found),
		cmocka_unit_test(test_pc_is_symbolized_once),
		cmocka_unit_test(test_refresh_drops_unloaded_module_only),
		cmocka_unit_test(test_split_debug_file_is_found_by_build_id),
		cmocka_unit_test(test_split_debug_file_is_found_by_debuglink),
		cmocka_unit_test(test_symtab_only_gives_function_and_module_path),
		cmocka_unit_test(test_no_symbols_at_all_gives_unknown_with_offset),
		cmocka_unit_test(test_minidebuginfo_gives_function),
		cmocka_unit_test(test_core_file_frames_match_live),
		cmocka_unit_test(test_core_needs_a_core_file),
		cmocka_unit_test(test_stored_map_frames_match_live),
		cmocka_unit_test(test_stored_map_reports_binary_moved_away),
		cmocka_unit_test(test_stored_map_reports_build_id_mismatch),
		cmocka_unit_test(test_stored_map_rejects_bad_build_id_text),
	};
	/* a target killed by a failed assertion must not take us along */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
