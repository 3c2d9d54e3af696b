/* pygdb.c - the C side of memsnap inside GDB: the command session
 * (_memsnap.Session over ms_session_exec) and allocation tracking through
 * GDB's breakpoints (_memsnap.Tracker).
 *
 * Tracking (see docs/GDB.md for the whole design): GDB owns ptrace, so the
 * plugin puts internal gdb.Breakpoints on the allocator entry points, and
 * their stop() is a C callable from here (_memsnap._StopHandler) that
 * returns False, so the inferior never stops where the user can see it.
 * Registers come straight from ptrace (PTRACE_GETREGS on the stopped LWP:
 * GDB's thread is the tracer and stop() runs on it), memory from
 * /proc/PID/mem, stacks from DWARF CFI (shared/remote_unwind.c). Writes
 * that GDB must know about at a stop the user sees (the program counter,
 * a return address put back) go through GDB.
 *
 * Return capture, three ways (snapshot start --return-capture):
 *  - stub (default): the return address at [rsp] is swapped for a return
 *    stub in a scratch mapping (see stub_data) that stores rax and jumps
 *    back without a stop; results are collected at the next stop of any
 *    kind. One stop per call.
 *  - site: the entry asks Python for a breakpoint at the real return
 *    address of the call site (once per site); its handler reads rax.
 *  - trampoline: the return address is swapped for the executable's .init
 *    (see find_trampoline); at the trampoline rax is the result and the
 *    program counter is set back through GDB.
 * Whatever the mode, a call is caught at its site when the thread arrived
 * by single-step (GDB is stepping it and reads [rsp] itself), a breakpoint
 * of GDB's own sits at the return address (next, finish, until, an
 * inferior call's dummy) or a breakpoint of the user's could look at the
 * caller before the swap is undone (_StopHandler.shared, set by gdb.py);
 * and every swap is undone at each stop the user sees.
 */
#include "config.h"
#include "pymemsnap.h"
#include "command.h"
#include "return_stub.h"
#include "memsnap_symbols.h"
#include "remote_unwind.h"

#include <structmember.h>

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

static int fail(ms_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(ms_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -code;
}

/* ============================================================== Session */

typedef struct {
	PyObject_HEAD
	ms_session *session;
	PyObject *take;          /* callable returning a memsnap.Snapshot */
} MsPySession;

/* ms_take_fn: calls the Python take function; a Python exception becomes
 * the command's error message. */
static ms_snapshot *session_take(void *arg, ms_error *err)
{
	MsPySession *self = arg;
	PyObject *r, *type, *value, *tb, *msg;
	ms_snapshot *copy;

	if (!self->take) {
		fail(err, MS_EINVAL, "take: no live target in this session");
		return NULL;
	}
	r = PyObject_CallNoArgs(self->take);
	if (r && !PyObject_TypeCheck(r, &MsPySnapshot_Type)) {
		Py_DECREF(r);
		PyErr_SetString(PyExc_TypeError,
				"take function must return a memsnap.Snapshot");
		r = NULL;
	}
	if (!r) {
		PyErr_Fetch(&type, &value, &tb);
		msg = value ? PyObject_Str(value) : NULL;
		fail(err, MS_EINVAL, "%s",
		     msg && PyUnicode_Check(msg) ? PyUnicode_AsUTF8(msg)
						 : "take failed");
		PyErr_Clear();
		Py_XDECREF(msg);
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
		return NULL;
	}
	/* The session owns what it gets: give it a copy. */
	copy = ms_snapshot_filter(((MsPySnapshot *)r)->snap, NULL, 0, err);
	Py_DECREF(r);
	return copy;
}

static PyObject *session_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	MsPySession *self;
	ms_error err = { 0 };

	if (!PyArg_ParseTuple(args, ":Session"))
		return NULL;
	self = (MsPySession *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	self->session = ms_session_new(&err);
	if (!self->session) {
		Py_DECREF(self);
		return mspy_raise(&err);
	}
	ms_session_set_take(self->session, session_take, self);
	return (PyObject *)self;
}

static void session_dealloc(MsPySession *self)
{
	ms_session_free(self->session);
	Py_XDECREF(self->take);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *session_set_take(MsPySession *self, PyObject *fn)
{
	if (fn != Py_None && !PyCallable_Check(fn)) {
		PyErr_SetString(PyExc_TypeError, "take must be callable or None");
		return NULL;
	}
	Py_XDECREF(self->take);
	self->take = fn == Py_None ? NULL : Py_NewRef(fn);
	Py_RETURN_NONE;
}

/* exec(line, tty=False) -> (output, error message or None). Output written
 * before a failure is kept, as the command layer keeps it. */
static PyObject *session_exec(MsPySession *self, PyObject *args)
{
	const char *line;
	int tty = 0;
	ms_output out;
	ms_error err = { 0 };
	PyObject *text, *msg, *r;
	int rc;

	if (!PyArg_ParseTuple(args, "s|p:exec", &line, &tty))
		return NULL;
	ms_output_init_buffer(&out);
	out.tty = tty;
	ms_session_set_default_limit(self->session, tty ? 10 : 0);
	rc = ms_session_exec(self->session, line, &out, &err);
	if (PyErr_Occurred()) {
		ms_output_destroy(&out);
		return NULL;
	}
	text = PyUnicode_DecodeUTF8(out.buf ? out.buf : "", (Py_ssize_t)out.len,
				    "surrogateescape");
	ms_output_destroy(&out);
	if (!text)
		return NULL;
	if (rc < 0) {
		msg = mspy_str(err.message[0] ? err.message
					      : ms_strerror(err.code));
	} else {
		msg = Py_NewRef(Py_None);
	}
	if (!msg) {
		Py_DECREF(text);
		return NULL;
	}
	r = PyTuple_Pack(2, text, msg);
	Py_DECREF(text);
	Py_DECREF(msg);
	return r;
}

/* complete(line) -> (words, start, filenames) */
static PyObject *session_complete(MsPySession *self, PyObject *args)
{
	const char *line;
	ms_completion c = { 0 };
	ms_error err = { 0 };
	PyObject *words, *r;

	if (!PyArg_ParseTuple(args, "s:complete", &line))
		return NULL;
	if (ms_session_complete(self->session, line, &c, &err) < 0)
		return mspy_raise(&err);
	words = PyList_New((Py_ssize_t)c.count);
	for (size_t i = 0; words && i < c.count; i++) {
		PyObject *w = mspy_str(c.words[i]);

		if (!w) {
			Py_CLEAR(words);
			break;
		}
		PyList_SET_ITEM(words, (Py_ssize_t)i, w);
	}
	r = words ? Py_BuildValue("(NnN)", words, (Py_ssize_t)c.start,
				  PyBool_FromLong(c.filenames))
		  : NULL;
	ms_completion_destroy(&c);
	return r;
}

/* help(command=None) -> str */
static PyObject *session_help(PyObject *unused, PyObject *args)
{
	const char *cmd = NULL;
	ms_output out;
	ms_error err = { 0 };
	PyObject *r;

	if (!PyArg_ParseTuple(args, "|z:help", &cmd))
		return NULL;
	ms_output_init_buffer(&out);
	if (ms_session_help(&out, cmd, &err) < 0) {
		ms_output_destroy(&out);
		return mspy_raise(&err);
	}
	r = mspy_str(out.buf ? out.buf : "");
	ms_output_destroy(&out);
	return r;
}

/* find(ref=None) -> Snapshot (a copy of the session's) */
static PyObject *session_find(MsPySession *self, PyObject *args)
{
	const char *ref = NULL;
	const ms_snapshot *s;
	ms_snapshot *copy;
	ms_error err = { 0 };

	if (!PyArg_ParseTuple(args, "|z:find", &ref))
		return NULL;
	s = ms_session_find(self->session, ref, &err);
	if (!s)
		return mspy_raise(&err);
	copy = ms_snapshot_filter(s, NULL, 0, &err);
	if (!copy)
		return mspy_raise(&err);
	return mspy_snapshot_wrap(&MsPySnapshot_Type, copy);
}

/* add(snapshot, name=None, origin="python") -> number */
static PyObject *session_add(MsPySession *self, PyObject *args)
{
	PyObject *snap;
	const char *name = NULL, *origin = "python";
	ms_snapshot *copy;
	ms_error err = { 0 };
	int n;

	if (!PyArg_ParseTuple(args, "O!|zs:add", &MsPySnapshot_Type, &snap,
			      &name, &origin))
		return NULL;
	copy = ms_snapshot_filter(((MsPySnapshot *)snap)->snap, NULL, 0, &err);
	if (!copy)
		return mspy_raise(&err);
	n = ms_session_add(self->session, copy, name, origin, &err);
	if (n < 0)
		return mspy_raise(&err);
	return PyLong_FromLong(n);
}

static PyObject *session_count(MsPySession *self, PyObject *unused)
{
	return PyLong_FromSize_t(ms_session_count(self->session));
}

static PyMethodDef session_methods[] = {
	{ "exec", (PyCFunction)session_exec, METH_VARARGS,
	  "exec(line, tty=False) -> (output, error or None)" },
	{ "complete", (PyCFunction)session_complete, METH_VARARGS,
	  "complete(line) -> (words, start, filenames)" },
	{ "help", (PyCFunction)session_help, METH_VARARGS | METH_STATIC,
	  "help(command=None) -> str" },
	{ "set_take", (PyCFunction)session_set_take, METH_O,
	  "set_take(fn): fn() returns the Snapshot that 'take' adds" },
	{ "find", (PyCFunction)session_find, METH_VARARGS,
	  "find(ref=None) -> a copy of the snapshot ref (default newest)" },
	{ "add", (PyCFunction)session_add, METH_VARARGS,
	  "add(snapshot, name=None, origin='python') -> number" },
	{ "count", (PyCFunction)session_count, METH_NOARGS,
	  "count() -> number of snapshots" },
	{ NULL, NULL, 0, NULL },
};

PyTypeObject MsPySession_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap._memsnap.Session",
	.tp_basicsize = sizeof(MsPySession),
	.tp_dealloc = (destructor)session_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Session(): the snapshots of one GDB session and the "
		  "command language over them (shared/command.c).",
	.tp_methods = session_methods,
	.tp_new = session_new,
};

/* ================================================= module map checking */

typedef struct {
	const ms_snapshot *snap;
	char *first;          /* first mismatch, malloc'ed */
	size_t bad, checked;
} modcheck;

static int modcheck_cb(void *arg, const ms_module *m)
{
	modcheck *mc = arg;
	const char *base = strrchr(m->path, '/');

	base = base ? base + 1 : m->path;
	if (!m->build_id)
		return 0;
	for (size_t i = 0; i < ms_snapshot_nmodules(mc->snap); i++) {
		ms_module sm;
		const char *sb;

		ms_snapshot_module(mc->snap, i, &sm);
		sb = strrchr(sm.path, '/');
		sb = sb ? sb + 1 : sm.path;
		if (strcmp(sb, base) != 0 || !sm.build_id)
			continue;
		mc->checked++;
		if (strcmp(sm.build_id, m->build_id) != 0) {
			mc->bad++;
			if (!mc->first &&
			    asprintf(&mc->first, "%s: build-id %s in the "
				     "snapshot, %s in the core", sm.path,
				     sm.build_id, m->build_id) < 0)
				mc->first = NULL;
		}
	}
	return 0;
}

/* check_core(snapshot, core, executable=None) -> list of problems (str):
 * the snapshot's pid against the core's, and the build-id of every module
 * both know. An empty list means they agree. */
PyObject *mspy_check_core(PyObject *mod, PyObject *args)
{
	PyObject *snapobj, *list;
	const char *core, *exe = NULL;
	long core_pid = 0;
	ms_error err = { 0 };
	ms_dwfl *d;
	ms_symbolizer sym;
	modcheck mc = { 0 };
	const char *pid;
	char buf[512];
	int rc;

	if (!PyArg_ParseTuple(args, "O!s|zl:check_core", &MsPySnapshot_Type,
			      &snapobj, &core, &exe, &core_pid))
		return NULL;
	mc.snap = ((MsPySnapshot *)snapobj)->snap;
	list = PyList_New(0);
	if (!list)
		return NULL;
	pid = ms_snapshot_meta(mc.snap, MS_META_PID);
	if (core_pid > 0 && pid && strtol(pid, NULL, 10) != core_pid) {
		snprintf(buf, sizeof(buf), "the snapshot is of process %s, the "
			 "core of process %ld", pid, core_pid);
		if (PyList_Append(list, PyUnicode_FromString(buf)) < 0)
			goto fail;
	}
	Py_BEGIN_ALLOW_THREADS
	d = ms_dwfl_new_core(core, exe, NULL, &err);
	Py_END_ALLOW_THREADS
	if (!d) {
		snprintf(buf, sizeof(buf), "cannot read the core's modules: %s",
			 err.message);
		PyObject *s = PyUnicode_FromString(buf);
		if (!s || PyList_Append(list, s) < 0)
			goto fail;
		Py_DECREF(s);
		return list;
	}
	sym = ms_dwfl_symbolizer(d);
	rc = sym.ops->modules ? sym.ops->modules(sym.ctx, modcheck_cb, &mc, &err)
			      : 0;
	ms_dwfl_free(d);
	if (rc < 0) {
		snprintf(buf, sizeof(buf), "cannot list the core's modules: %s",
			 err.message);
	} else if (mc.bad) {
		snprintf(buf, sizeof(buf), "the snapshot is from another build: "
			 "%s (%zu of %zu modules differ)", mc.first, mc.bad,
			 mc.checked);
	} else if (!mc.checked) {
		snprintf(buf, sizeof(buf), "no module has a build-id in both "
			 "the snapshot and the core: cannot tell whether they "
			 "come from the same build");
	} else {
		buf[0] = 0;
	}
	free(mc.first);
	if (buf[0]) {
		PyObject *s = PyUnicode_FromString(buf);

		if (!s || PyList_Append(list, s) < 0) {
			Py_XDECREF(s);
			goto fail;
		}
		Py_DECREF(s);
	}
	return list;
fail:
	Py_DECREF(list);
	return NULL;
}

/* ================================================ allocator entry points */

/* The names whose definitions are hooked, each module's own: the program's
 * calls go to the first exported one in the dynamic linker's order, a
 * module bound to its own definitions (-Bsymbolic, RTLD_DEEPBIND, a hidden
 * or static one) calls its own. */
static const char *const allocator_names[] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign",
	"aligned_alloc", "memalign",
};

typedef struct entries_scan {
	PyObject *list;
	const char *only;   /* realpath of the one module to scan, or NULL */
} entries_scan;

/* One (name, address, module path, size) tuple onto list. */
static int add_entry(PyObject *list, const char *name, uint64_t addr,
		     const char *path, uint64_t size)
{
	PyObject *item = Py_BuildValue("(sKsK)", name, (unsigned long long)addr,
				       path ? path : "",
				       (unsigned long long)size);
	int rc = item ? PyList_Append(list, item) : -1;

	Py_XDECREF(item);
	return rc;
}

static int entries_module(Dwfl_Module *mod, void **userdata,
			  const char *name, Dwarf_Addr start, void *arg)
{
	entries_scan *es = arg;
	const char *path = name;
	char real[PATH_MAX];
	int n;

	if (es->only) {
		if (!name || !realpath(name, real) || strcmp(real, es->only))
			return DWARF_CB_OK;
	}
	n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *sname = dwfl_module_getsym_info(mod, i, &sym, &addr,
							    NULL, NULL, NULL);
		bool wanted;

		/* local ones too: a hidden or static malloc is what its own
		 * module's calls bind to */
		if (!sname || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		wanted = sym.st_size && ms_unwind_is_wrapper_name(sname);

		for (size_t k = 0; !wanted && k < sizeof(allocator_names) /
						  sizeof(allocator_names[0]);
		     k++)
			wanted = strcmp(sname, allocator_names[k]) == 0;
		if (wanted && add_entry(es->list, sname, addr, path,
					sym.st_size) < 0)
			return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

PyObject *mspy_allocator_entries(PyObject *mod, PyObject *args)
{
	static char *debuginfo_path;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	int pid;
	const char *only = NULL;
	char real[PATH_MAX];
	entries_scan es = { 0 };
	Dwfl *d;
	int rc;

	if (!PyArg_ParseTuple(args, "i|z:allocator_entries", &pid, &only))
		return NULL;
	if (only) {
		if (!realpath(only, real))
			return PyList_New(0);
		es.only = real;
	}
	d = dwfl_begin(&callbacks);
	if (!d)
		return PyErr_NoMemory();
	rc = dwfl_linux_proc_report(d, pid);
	if (rc != 0 || dwfl_report_end(d, NULL, NULL) != 0) {
		dwfl_end(d);
		return PyErr_Format(PyExc_OSError, "cannot read the modules of "
				    "process %d: %s", pid,
				    rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
	}
	es.list = PyList_New(0);
	if (es.list && dwfl_getmodules(d, entries_module, &es, 0) != 0)
		Py_CLEAR(es.list);
	dwfl_end(d);
	return es.list;
}

/* ============================================================== Tracker */

enum alloc_kind {
	K_MALLOC, K_CALLOC, K_REALLOC, K_FREE, K_POSIX_MEMALIGN, K_MEMALIGN,
	K_RETURN,   /* the trampoline */
	K_SITE,     /* a breakpoint at a real return address */
	K_NKINDS
};

static const char *const kind_names[K_NKINDS] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign", "memalign",
	"return", "site",
};

/* How the return of one call is caught. */
enum capture {
	CAP_SITE,        /* a breakpoint at the real return address */
	CAP_TRAMPOLINE,  /* [entry_sp] holds the trampoline */
	CAP_STUB,        /* [entry_sp] holds a return stub: no stop */
};

/* The scratch mapping of stub mode (snapshot start maps it with an
 * inferior call to mmap): a page of return stubs (r-x) and a page of their
 * data (rw-). Stub i stores rax and a done flag into its data and jumps to
 * the real return address kept there, without a stop; the result is
 * collected at the next stop of any kind (the same stubs as the attacher's,
 * attach/scratch.c). It clobbers r11, which no caller expects to survive a
 * call. */
#define SCRATCH_SIZE 8192
#define STUB_DATA 4096
#define STUB_SIZE MS_STUB_SIZE
#define NSTUBS (4096 / STUB_SIZE)
typedef ms_stub_data stub_data;

/* One allocator call between its entry and its return. */
typedef struct pending {
	enum alloc_kind kind;
	enum capture capture;
	int stub;               /* CAP_STUB: the stub's index */
	uint64_t entry_sp;      /* rsp at entry: where the return address is */
	uint64_t ret;           /* the real return address */
	uint64_t a0, a1, a2;    /* arguments */
	uint32_t npcs, total;
	uint64_t *pcs;
} pending;

typedef struct thread_state {
	int lwp;
	pending *stack;
	size_t n, cap;
} thread_state;

typedef struct {
	PyObject_HEAD
	int pid;
	int memfd;
	uint32_t frames;
	uint64_t trampoline;
	ms_table *table;
	ms_dwfl *dwfl;
	ms_unwinder *unw;
	uint64_t (*wrappers)[2];  /* [start, end) of allocation wrappers */
	size_t nwrappers;
	thread_state *threads;
	size_t nthreads, cthreads;
	PyObject *gdb;            /* the gdb module */
	PyObject *need_site;      /* Python callable: need_site(addr) */
	uint64_t *pcbuf;          /* MS_MAX_FRAMES PCs */
	bool active;
	/* How returns are caught when nothing forbids it (the default is
	 * the stub, one stop per call; see the file's comment). */
	enum capture capture;
	uint64_t stubs;           /* CAP_STUB: the scratch mapping, 0 if none */
	bool stub_used[NSTUBS];
	unsigned narmed;          /* stubs in use */
	/* counters */
	uint64_t hits[K_NKINDS];
	uint64_t recorded, nested, site_entries, stub_entries, lost, errors;
	uint64_t foreign;         /* hits in another process than pid */
	uint64_t handler_ns;      /* time spent in the stop handlers */
	uint64_t unwind_ns;       /* ... of which unwinding */
	char last_error[400];
} MsPyTracker;

typedef struct {
	PyObject_HEAD
	MsPyTracker *tracker;
	enum alloc_kind kind;
	uint64_t addr;
	/* A breakpoint of the user's is inside this allocator: its condition
	 * or Python stop() may look at the caller, so calls keep their real
	 * return address (site capture). Set from Python. */
	char shared;
} MsPyStopHandler;

static thread_state *thread_get(MsPyTracker *t, int lwp)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].lwp == lwp)
			return &t->threads[i];
	if (t->nthreads == t->cthreads) {
		size_t nc = t->cthreads ? 2 * t->cthreads : 8;
		thread_state *n = realloc(t->threads, nc * sizeof(*n));

		if (!n)
			return NULL;
		t->threads = n;
		t->cthreads = nc;
	}
	t->threads[t->nthreads] = (thread_state){ .lwp = lwp };
	return &t->threads[t->nthreads++];
}

static void pending_drop(MsPyTracker *t, pending *p)
{
	free(p->pcs);
	p->pcs = NULL;
	if (p->capture == CAP_STUB && p->stub >= 0) {
		t->stub_used[p->stub] = false;
		t->narmed--;
	}
	p->capture = CAP_SITE;
	p->stub = -1;
}

static int read_mem(MsPyTracker *t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(t->memfd, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : -1;
}

static int read_u64(MsPyTracker *t, uint64_t addr, uint64_t *out)
{
	return read_mem(t, addr, out, sizeof(*out));
}

static int unwind_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	return read_mem(arg, addr, buf, len);
}

static bool in_wrapper(void *arg, uint64_t pc)
{
	const MsPyTracker *t = arg;

	for (size_t i = 0; i < t->nwrappers; i++)
		if (pc >= t->wrappers[i][0] && pc < t->wrappers[i][1])
			return true;
	return false;
}

/* The allocating stack at an allocator entry, caller first: DWARF CFI
 * (shared/remote_unwind.c) from the registers of the stop and the
 * inferior's memory, so that code built without frame pointers has its
 * exact stack; a frame-pointer walk where there are no unwind tables. */
static uint32_t unwind(MsPyTracker *t, int lwp,
		       const struct user_regs_struct *r, uint64_t *pcs,
		       uint32_t *total)
{
	struct timespec t0, t1;
	uint32_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = ms_unwinder_unwind(t->unw, lwp, r, in_wrapper, t, pcs, t->frames,
			       MS_MAX_FRAMES, total);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t->unwind_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
				   (t1.tv_nsec - t0.tv_nsec));
	return n;
}

static void tracker_error(MsPyTracker *t, const char *what,
			  const ms_error *err)
{
	t->errors++;
	snprintf(t->last_error, sizeof(t->last_error), "%s: %s", what,
		 err ? err->message : strerror(errno));
}

/* Records the outcome of a finished call whose result is rax. */
static void record(MsPyTracker *t, pending *p, uint64_t rax)
{
	ms_error err = { 0 };
	int rc = 0;

	switch (p->kind) {
	case K_MALLOC:
	case K_MEMALIGN:
		if (rax)
			rc = ms_table_alloc(t->table, MS_DOMAIN_MALLOC, rax,
					    p->kind == K_MALLOC ? p->a0 : p->a1,
					    p->pcs, p->npcs, p->total, &err);
		break;
	case K_CALLOC:
		if (rax)
			rc = ms_table_alloc(t->table, MS_DOMAIN_MALLOC, rax,
					    p->a0 * p->a1, p->pcs, p->npcs,
					    p->total, &err);
		break;
	case K_REALLOC:
		if (!p->a0) {
			if (rax)
				rc = ms_table_alloc(t->table, MS_DOMAIN_MALLOC,
						    rax, p->a1, p->pcs, p->npcs,
						    p->total, &err);
		} else if (rax) {
			rc = ms_table_realloc(t->table, MS_DOMAIN_MALLOC, p->a0,
					      rax, p->a1, p->pcs, p->npcs,
					      p->total, &err);
		} else if (!p->a1) {
			/* realloc(p, 0) freed p (glibc) */
			rc = ms_table_free_block(t->table, MS_DOMAIN_MALLOC,
						 p->a0, &err);
		}
		break;
	case K_POSIX_MEMALIGN:
		if (rax == 0) {
			uint64_t block;

			if (read_u64(t, p->a0, &block) < 0) {
				t->lost++;
				return;
			}
			rc = ms_table_alloc(t->table, MS_DOMAIN_MALLOC, block,
					    p->a2, p->pcs, p->npcs, p->total,
					    &err);
		}
		break;
	default:
		break;
	}
	if (rc < 0 && rc != -MS_ENOTFOUND)
		tracker_error(t, "record", &err);
	else
		t->recorded++;
}

static int get_regs(int lwp, struct user_regs_struct *r)
{
	return ptrace(PTRACE_GETREGS, lwp, NULL, r) < 0 ? -1 : 0;
}

/* The LWP of the thread GDB reports the stop for (its selected thread). */
static int current_lwp(MsPyTracker *t, int *pid)
{
	PyObject *th, *ptid;
	long lwp = -1;

	*pid = -1;
	th = PyObject_CallMethod(t->gdb, "selected_thread", NULL);
	if (!th)
		return -1;
	ptid = PyObject_GetAttrString(th, "ptid");
	Py_DECREF(th);
	if (!ptid)
		return -1;
	if (PyTuple_Check(ptid) && PyTuple_GET_SIZE(ptid) >= 2) {
		*pid = (int)PyLong_AsLong(PyTuple_GET_ITEM(ptid, 0));
		lwp = PyLong_AsLong(PyTuple_GET_ITEM(ptid, 1));
	}
	Py_DECREF(ptid);
	if (lwp <= 0 && !PyErr_Occurred())
		PyErr_SetString(PyExc_RuntimeError, "no LWP for this thread");
	return (int)lwp;
}

/* Whether the thread reached this address by executing the breakpoint's
 * int3 (SI_KERNEL) rather than by a single-step of GDB's. */
static bool hit_by_int3(int lwp)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, lwp, NULL, &si) < 0)
		return true;
	return si.si_signo == SIGTRAP && si.si_code == SI_KERNEL;
}

static int set_pc(MsPyTracker *t, uint64_t pc)
{
	char expr[64];
	PyObject *r;

	snprintf(expr, sizeof(expr), "$pc = 0x%llx", (unsigned long long)pc);
	r = PyObject_CallMethod(t->gdb, "parse_and_eval", "s", expr);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* Writes a return address through GDB so that its caches and breakpoint
 * shadows stay right. */
static int write_ret(MsPyTracker *t, uint64_t addr, uint64_t value)
{
	PyObject *inf, *r;

	inf = PyObject_CallMethod(t->gdb, "selected_inferior", NULL);
	if (!inf)
		return -1;
	r = PyObject_CallMethod(inf, "write_memory", "Ky#",
				(unsigned long long)addr, (const char *)&value,
				(Py_ssize_t)sizeof(value));
	Py_DECREF(inf);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

static uint64_t stub_code(const MsPyTracker *t, int i)
{
	return t->stubs + (uint64_t)i * STUB_SIZE;
}

static uint64_t stub_data_addr(const MsPyTracker *t, int i)
{
	return t->stubs + STUB_DATA + (uint64_t)i * sizeof(stub_data);
}

static int alloc_stub(MsPyTracker *t)
{
	if (!t->stubs)
		return -1;
	for (int i = 0; i < NSTUBS; i++)
		if (!t->stub_used[i]) {
			t->stub_used[i] = true;
			t->narmed++;
			return i;
		}
	return -1;
}

/* Fills stub i's data and swaps the return address at sp for the stub.
 * Straight through /proc/PID/mem: the thread is stopped inside GDB's
 * handling of a breakpoint hit that does not stop, and GDB drops its
 * memory cache when it resumes the inferior, right after. */
static int arm_stub(MsPyTracker *t, int lwp, int i, uint64_t sp,
		    uint64_t ret)
{
	stub_data d = { ret, 0, 0, 0 };
	uint64_t code = stub_code(t, i);
	struct iovec local[2] = { { &d, sizeof(d) }, { &code, 8 } };
	struct iovec remote[2] = {
		{ (void *)(uintptr_t)stub_data_addr(t, i), sizeof(d) },
		{ (void *)(uintptr_t)sp, 8 } };

	/* both writable pages: one system call for the two writes */
	if (process_vm_writev(lwp, local, 2, remote, 2, 0) ==
	    (ssize_t)(sizeof(d) + 8))
		return 0;
	if (pwrite(t->memfd, &d, sizeof(d), (off_t)stub_data_addr(t, i)) !=
	    (ssize_t)sizeof(d))
		return -1;
	return pwrite(t->memfd, &code, 8, (off_t)sp) == 8 ? 0 : -1;
}

/* Records the calls that returned through a stub since the last stop of
 * any kind, so that a free (or a snapshot) always sees the allocation
 * before it. */
static void collect_stubs(MsPyTracker *t)
{
	stub_data data[NSTUBS], res[NSTUBS];
	bool any = false;

	if (!t->narmed ||
	    read_mem(t, stub_data_addr(t, 0), data, sizeof(data)) < 0)
		return;
	for (int i = 0; i < NSTUBS; i++)
		any |= t->stub_used[i] && (data[i].done & 0xff);
	/* In non-stop mode other threads run meanwhile: one read can see a
	 * done flag set but a result from before the stub stored it. The
	 * stub stores the result first, so a second read has every result
	 * the first one flagged. */
	if (!any || read_mem(t, stub_data_addr(t, 0), res, sizeof(res)) < 0)
		return;
	for (size_t k = 0; k < t->nthreads; k++) {
		thread_state *ts = &t->threads[k];

		for (size_t j = ts->n; j-- > 0;) {
			pending *p = &ts->stack[j];

			if (p->capture != CAP_STUB ||
			    !(data[p->stub].done & 0xff))
				continue;
			record(t, p, res[p->stub].result);
			/* the calls above it were abandoned (longjmp) */
			while (ts->n > j) {
				if (ts->n - 1 != j)
					t->lost++;
				pending_drop(t, &ts->stack[--ts->n]);
			}
		}
	}
}

/* Whether the pending call p of a thread now at sp is still in progress.
 * A call deeper than sp was left (longjmp, a thread unwound past it); so
 * was a call whose return address slot no longer holds what it held at
 * the entry: its frame is gone and deeper calls have reused the stack. */
static bool pending_alive(MsPyTracker *t, const pending *p, uint64_t sp)
{
	uint64_t word;

	if (p->entry_sp < sp)
		return false;
	if (read_u64(t, p->entry_sp, &word) < 0)
		return false;
	switch (p->capture) {
	case CAP_STUB:
		return word == stub_code(t, p->stub);
	case CAP_TRAMPOLINE:
		return word == t->trampoline;
	default:
		return word == p->ret;
	}
}

static int on_entry(MsPyTracker *t, const MsPyStopHandler *h, int lwp)
{
	enum alloc_kind kind = h->kind;
	struct user_regs_struct r;
	thread_state *ts;
	pending p = { .kind = kind };
	uint8_t byte;

	if (get_regs(lwp, &r) < 0) {
		tracker_error(t, "registers", NULL);
		return 0;
	}
	ts = thread_get(t, lwp);
	if (!ts)
		return -1;
	/* Calls left by longjmp or a thread that unwound past them. */
	while (ts->n && !pending_alive(t, &ts->stack[ts->n - 1], r.rsp)) {
		pending_drop(t, &ts->stack[--ts->n]);
		t->lost++;
	}
	if (ts->n) {
		/* inside another allocator call: only the outermost counts */
		t->nested++;
		return 0;
	}
	if (kind == K_FREE) {
		ms_error err = { 0 };

		if (r.rdi) {
			int rc = ms_table_free_block(t->table, MS_DOMAIN_MALLOC,
						     r.rdi, &err);

			if (rc < 0 && rc != -MS_ENOTFOUND)
				tracker_error(t, "free", &err);
			else
				t->recorded++;
		}
		return 0;
	}
	p.entry_sp = r.rsp;
	p.a0 = r.rdi;
	p.a1 = r.rsi;
	p.a2 = r.rdx;
	p.npcs = unwind(t, lwp, &r, t->pcbuf, &p.total);
	if (!p.npcs) {
		t->lost++;
		return 0;
	}
	if (read_u64(t, r.rsp, &p.ret) < 0) {
		t->lost++;
		return 0;
	}
	p.pcs = malloc(p.npcs * sizeof(uint64_t));
	if (!p.pcs)
		return -1;
	memcpy(p.pcs, t->pcbuf, p.npcs * sizeof(uint64_t));
	if (ts->n == ts->cap) {
		size_t nc = ts->cap ? 2 * ts->cap : 4;
		pending *n = realloc(ts->stack, nc * sizeof(*n));

		if (!n) {
			free(p.pcs);
			return -1;
		}
		ts->stack = n;
		ts->cap = nc;
	}
	p.stub = -1;
	/* A breakpoint of GDB's own at the return address (finish, next,
	 * until, an inferior call's dummy) or a single-step arrival (GDB is
	 * stepping this thread and will read [rsp] itself): leave the stack
	 * alone and catch the return with a breakpoint there. So too for
	 * posix_memalign in stub mode: its result is in memory the caller
	 * may reuse before the next stop. */
	if (t->capture != CAP_SITE &&
	    (h->shared || read_mem(t, p.ret, &byte, 1) < 0 || byte == 0xcc ||
	     !hit_by_int3(lwp)))
		p.capture = CAP_SITE;
	else if (t->capture == CAP_STUB &&
		 (kind == K_POSIX_MEMALIGN || (p.stub = alloc_stub(t)) < 0))
		p.capture = CAP_SITE;
	else
		p.capture = t->capture;
	if (p.capture == CAP_STUB) {
		t->stub_entries++;
		if (arm_stub(t, lwp, p.stub, r.rsp, p.ret) < 0) {
			/* not the stack: a failed write cannot have swapped
			 * it */
			t->stub_used[p.stub] = false;
			t->narmed--;
			p.stub = -1;
			p.capture = CAP_SITE;
		}
	}
	if (p.capture == CAP_SITE) {
		PyObject *res;

		t->site_entries++;
		res = PyObject_CallFunction(t->need_site, "K",
					    (unsigned long long)p.ret);
		if (!res) {
			free(p.pcs);
			return -1;
		}
		Py_DECREF(res);
	} else if (p.capture == CAP_TRAMPOLINE) {
		if (write_ret(t, r.rsp, t->trampoline) < 0) {
			free(p.pcs);
			return -1;
		}
	}
	ts->stack[ts->n++] = p;
	return 0;
}

/* At the trampoline or a site breakpoint: the call whose return address
 * was at rsp - 8 has returned. */
static int on_return(MsPyTracker *t, enum alloc_kind kind, int lwp)
{
	struct user_regs_struct r;
	thread_state *ts;
	size_t i;

	if (get_regs(lwp, &r) < 0) {
		tracker_error(t, "registers", NULL);
		return 0;
	}
	ts = thread_get(t, lwp);
	if (!ts)
		return -1;
	for (i = ts->n; i > 0; i--)
		if (ts->stack[i - 1].entry_sp + 8 == r.rsp &&
		    ts->stack[i - 1].capture ==
			    (kind == K_RETURN ? CAP_TRAMPOLINE : CAP_SITE))
			break;
	if (!i)
		return 0; /* not ours: someone else's code at this address */
	i--;
	record(t, &ts->stack[i], r.rax);
	if (kind == K_RETURN && set_pc(t, ts->stack[i].ret) < 0)
		return -1;
	while (ts->n > i) {
		if (ts->n - 1 != i)
			t->lost++;
		pending_drop(t, &ts->stack[--ts->n]);
	}
	return 0;
}

static size_t tracker_in_flight(const MsPyTracker *self)
{
	size_t n = 0;

	for (size_t i = 0; i < self->nthreads; i++)
		n += self->threads[i].n;
	return n;
}

static void tracker_clear_threads(MsPyTracker *self);

/* Opens what reads process pid: its memory and the unwinder. */
static int tracker_open(MsPyTracker *t, int pid)
{
	char path[64];
	int fd;
	ms_unwinder *u;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
		return -1;
	}
	u = ms_unwinder_new(pid, unwind_read, t);
	if (!u) {
		close(fd);
		PyErr_NoMemory();
		return -1;
	}
	if (t->memfd >= 0)
		close(t->memfd);
	ms_unwinder_free(t->unw);
	t->memfd = fd;
	t->unw = u;
	t->pid = pid;
	ms_dwfl_free(t->dwfl);
	t->dwfl = NULL;
	return 0;
}

/* The process became pid (a fork child that GDB follows): its memory is a
 * copy of the parent's, live blocks and the stub mapping included, and it
 * has one thread, which was in no allocator call. */
static int tracker_retarget(MsPyTracker *t, int pid)
{
	if (tracker_open(t, pid) < 0)
		return -1;
	/* the calls that returned through a stub before the fork are in the
	 * child's copy of the stub data too */
	collect_stubs(t);
	t->lost += tracker_in_flight(t);
	tracker_clear_threads(t);
	memset(t->stub_used, 0, sizeof(t->stub_used));
	t->narmed = 0;
	return 0;
}

static PyObject *stop_handler_call(MsPyStopHandler *self, PyObject *args,
				   PyObject *kw)
{
	MsPyTracker *t = self->tracker;
	struct timespec t0, t1;
	int lwp, pid, rc;

	if (!t->active)
		Py_RETURN_FALSE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	t->hits[self->kind]++;
	collect_stubs(t);
	lwp = current_lwp(t, &pid);
	if (lwp < 0)
		return NULL;
	/* another inferior of GDB's (a fork child kept with detach-on-fork
	 * off) runs the same code: not the tracked process */
	if (pid != t->pid) {
		t->foreign++;
		goto out;
	}
	if (self->kind == K_RETURN || self->kind == K_SITE)
		rc = on_return(t, self->kind, lwp);
	else
		rc = on_entry(t, self, lwp);
	if (rc < 0) {
		if (!PyErr_Occurred())
			PyErr_NoMemory();
		return NULL;
	}
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t->handler_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
				    (t1.tv_nsec - t0.tv_nsec));
	Py_RETURN_FALSE;
}

static void stop_handler_dealloc(MsPyStopHandler *self)
{
	Py_XDECREF(self->tracker);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef stop_handler_members[] = {
	{ "shared", T_BOOL, offsetof(MsPyStopHandler, shared), 0,
	  "a breakpoint of the user's is inside this allocator: calls "
	  "keep their real return address" },
	{ NULL, 0, 0, 0, NULL },
};

PyTypeObject MsPyStopHandler_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap._memsnap._StopHandler",
	.tp_basicsize = sizeof(MsPyStopHandler),
	.tp_dealloc = (destructor)stop_handler_dealloc,
	.tp_call = (ternaryfunc)stop_handler_call,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_members = stop_handler_members,
	.tp_doc = "The stop() of one of memsnap's internal breakpoints.",
};

/* The address of the executable's .init section: code the dynamic linker
 * runs once before main and never again, so a breakpoint there costs
 * nothing and is a safe trampoline (GDB itself uses the ELF entry point
 * for displaced stepping and inferior-call returns, so not _start). The
 * load bias comes from AT_ENTRY in the auxiliary vector. */
static int find_trampoline(int pid, uint64_t *out, ms_error *err)
{
	char path[64];
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, strsec;
	char *names = NULL;
	uint64_t auxv[2], entry = 0;
	int fd;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, MS_EIO, "%s: %s", path, strerror(errno));
	while (read(fd, auxv, sizeof(auxv)) == sizeof(auxv) && auxv[0] != AT_NULL)
		if (auxv[0] == AT_ENTRY)
			entry = auxv[1];
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, MS_EIO, "%s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		fail(err, MS_EINVAL, "the inferior is not an x86-64 ELF "
		     "program: memsnap tracks only x86-64 Linux programs");
		goto out;
	}
	if (!entry || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
	    eh.e_shentsize != sizeof(Elf64_Shdr)) {
		fail(err, MS_EINVAL, "the inferior's executable has no section "
		     "headers: cannot place the return trampoline");
		goto out;
	}
	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh) {
		fail(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	if (pread(fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff) !=
	    (ssize_t)(eh.e_shnum * sizeof(*sh)))
		goto bad;
	strsec = sh[eh.e_shstrndx];
	if (strsec.sh_size > (1u << 24))
		goto bad;
	names = calloc(1, strsec.sh_size + 1);
	if (!names || pread(fd, names, strsec.sh_size, (off_t)strsec.sh_offset) !=
			      (ssize_t)strsec.sh_size)
		goto bad;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_name < strsec.sh_size &&
		    strcmp(names + sh[i].sh_name, ".init") == 0 &&
		    sh[i].sh_size > 0) {
			*out = sh[i].sh_addr + (entry - eh.e_entry);
			rc = 0;
			goto out;
		}
	}
bad:
	fail(err, MS_EINVAL, "the inferior's executable has no .init section: "
	     "cannot place the return trampoline");
out:
	free(names);
	free(sh);
	close(fd);
	return rc;
}

static PyObject *tracker_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static const char *kwlist[] = { "pid", "frames", "need_site",
					"capture", NULL };
	MsPyTracker *self;
	int pid;
	unsigned int frames = 1;
	PyObject *need_site;
	const char *capture = "stub";
	ms_error err = { 0 };

	if (!PyArg_ParseTupleAndKeywords(args, kw, "iIO|s:Tracker",
					 (char **)kwlist, &pid, &frames,
					 &need_site, &capture))
		return NULL;
	if (strcmp(capture, "stub") != 0 && strcmp(capture, "site") != 0 &&
	    strcmp(capture, "trampoline") != 0) {
		PyErr_Format(PyExc_ValueError, "capture must be 'stub', 'site' "
			     "or 'trampoline', not '%s'", capture);
		return NULL;
	}
	if (frames < 1 || frames > MS_MAX_FRAMES) {
		PyErr_Format(PyExc_ValueError, "frames must be in 1..%d",
			     MS_MAX_FRAMES);
		return NULL;
	}
	self = (MsPyTracker *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	self->memfd = -1;
	self->pid = pid;
	self->frames = frames;
	self->need_site = Py_NewRef(need_site);
	self->gdb = PyImport_ImportModule("gdb");
	if (!self->gdb)
		goto fail;
	self->pcbuf = calloc(MS_MAX_FRAMES, sizeof(uint64_t));
	if (!self->pcbuf) {
		PyErr_NoMemory();
		goto fail;
	}
	if (find_trampoline(pid, &self->trampoline, &err) < 0) {
		mspy_raise(&err);
		goto fail;
	}
	if (tracker_open(self, pid) < 0)
		goto fail;
	self->table = ms_table_new(&err);
	if (!self->table) {
		mspy_raise(&err);
		goto fail;
	}
	self->active = true;
	/* stub mode catches returns at call sites until set_stubs() */
	self->capture = capture[1] == 'r' ? CAP_TRAMPOLINE
		      : capture[1] == 't' ? CAP_STUB : CAP_SITE;
	return (PyObject *)self;
fail:
	Py_DECREF(self);
	return NULL;
}

static void tracker_clear_threads(MsPyTracker *self)
{
	for (size_t i = 0; i < self->nthreads; i++) {
		thread_state *ts = &self->threads[i];

		for (size_t j = 0; j < ts->n; j++)
			pending_drop(self, &ts->stack[j]);
		free(ts->stack);
	}
	free(self->threads);
	self->threads = NULL;
	self->nthreads = self->cthreads = 0;
}

static void tracker_dealloc(MsPyTracker *self)
{
	tracker_clear_threads(self);
	ms_table_free(self->table);
	ms_dwfl_free(self->dwfl);
	ms_unwinder_free(self->unw);
	free(self->wrappers);
	free(self->pcbuf);
	if (self->memfd >= 0)
		close(self->memfd);
	Py_XDECREF(self->gdb);
	Py_XDECREF(self->need_site);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* handler(kind, addr=0) -> _StopHandler */
static PyObject *tracker_handler(MsPyTracker *self, PyObject *args)
{
	const char *name;
	unsigned long long addr = 0;
	MsPyStopHandler *h;

	if (!PyArg_ParseTuple(args, "s|K:handler", &name, &addr))
		return NULL;
	for (int k = 0; k < K_NKINDS; k++) {
		if (strcmp(name, kind_names[k]) != 0)
			continue;
		h = PyObject_New(MsPyStopHandler, &MsPyStopHandler_Type);
		if (!h)
			return NULL;
		h->tracker = (MsPyTracker *)Py_NewRef(self);
		h->kind = (enum alloc_kind)k;
		h->addr = addr;
		h->shared = 0;
		return (PyObject *)h;
	}
	return PyErr_Format(PyExc_ValueError, "unknown allocator kind '%s'",
			    name);
}

/* unswap() -> [(stack address, real return address)]: every swapped call
 * turns into a site call; the caller writes the real return addresses
 * back (through GDB) and puts site breakpoints on them. Called at every
 * stop the user sees, so that backtraces, `finish` and `next` see the
 * real stack. A slot that no longer holds what was swapped in belongs to
 * a frame left by longjmp: it is someone else's stack now. */
static PyObject *tracker_unswap(MsPyTracker *self, PyObject *unused)
{
	PyObject *list = PyList_New(0);

	collect_stubs(self);
	for (size_t i = 0; list && i < self->nthreads; i++) {
		thread_state *ts = &self->threads[i];

		for (size_t j = ts->n; j-- > 0;) {
			pending *p = &ts->stack[j];
			PyObject *item;
			uint64_t word, swapped_in;

			if (p->capture == CAP_SITE)
				continue;
			swapped_in = p->capture == CAP_STUB
					     ? stub_code(self, p->stub)
					     : self->trampoline;
			if (read_u64(self, p->entry_sp, &word) < 0 ||
			    word != swapped_in) {
				while (ts->n > j) {
					self->lost++;
					pending_drop(self, &ts->stack[--ts->n]);
				}
				continue;
			}
			item = Py_BuildValue("(KK)",
					     (unsigned long long)p->entry_sp,
					     (unsigned long long)p->ret);
			if (!item || PyList_Append(list, item) < 0) {
				Py_XDECREF(item);
				Py_CLEAR(list);
				break;
			}
			Py_DECREF(item);
			if (p->capture == CAP_STUB) {
				self->stub_used[p->stub] = false;
				self->narmed--;
				p->stub = -1;
			}
			p->capture = CAP_SITE;
		}
	}
	return list;
}

/* stub_threads() -> [(lwp, return address)]: the threads standing inside
 * a return stub (they returned from the allocator and have not jumped
 * back yet). Their calls are recorded here; the caller moves each to its
 * return address (through GDB) so that the user never sees a stub. */
static PyObject *tracker_stub_threads(MsPyTracker *self, PyObject *unused)
{
	PyObject *list = PyList_New(0);

	if (!list || !self->stubs)
		return list;
	collect_stubs(self);
	for (size_t i = 0; i < self->nthreads; i++) {
		thread_state *ts = &self->threads[i];
		struct user_regs_struct r;
		uint64_t off, ret;
		int stub;
		PyObject *item;

		if (get_regs(ts->lwp, &r) < 0 || r.rip < self->stubs ||
		    r.rip >= self->stubs + STUB_DATA)
			continue;
		off = r.rip - self->stubs;
		stub = (int)(off / STUB_SIZE);
		/* past the load of the return address into r11 (the stub's
		 * data may be another call's by now) */
		if (off % STUB_SIZE >= MS_STUB_HAS_RET)
			ret = r.r11;
		else if (read_u64(self, stub_data_addr(self, stub), &ret) < 0)
			continue;
		for (size_t j = ts->n; j-- > 0;) {
			if (ts->stack[j].capture != CAP_STUB ||
			    ts->stack[j].stub != stub)
				continue;
			record(self, &ts->stack[j], r.rax);
			while (ts->n > j) {
				if (ts->n - 1 != j)
					self->lost++;
				pending_drop(self, &ts->stack[--ts->n]);
			}
			break;
		}
		item = Py_BuildValue("(iK)", ts->lwp, (unsigned long long)ret);
		if (!item || PyList_Append(list, item) < 0) {
			Py_XDECREF(item);
			Py_DECREF(list);
			return NULL;
		}
		Py_DECREF(item);
	}
	return list;
}

/* site_returns() -> set of the return addresses that calls in flight
 * wait for at a site breakpoint. */
static PyObject *tracker_site_returns(MsPyTracker *self, PyObject *unused)
{
	PyObject *set = PySet_New(NULL);

	for (size_t i = 0; set && i < self->nthreads; i++) {
		thread_state *ts = &self->threads[i];

		for (size_t j = 0; j < ts->n; j++) {
			PyObject *a;

			if (ts->stack[j].capture != CAP_SITE)
				continue;
			a = PyLong_FromUnsignedLongLong(ts->stack[j].ret);
			if (!a || PySet_Add(set, a) < 0) {
				Py_XDECREF(a);
				Py_CLEAR(set);
			} else {
				Py_DECREF(a);
			}
		}
	}
	return set;
}

/* set_stubs(addr): the scratch mapping (SCRATCH_SIZE bytes at addr, the
 * first page executable, the second writable) gets its stubs, and calls
 * return through them from now on. set_stubs(0): no stubs any more (the
 * caller put every swapped return address back and unmaps it). */
static PyObject *tracker_set_stubs(MsPyTracker *self, PyObject *arg)
{
	unsigned long long addr = PyLong_AsUnsignedLongLong(arg);
	uint8_t page[SCRATCH_SIZE];

	if (addr == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	if (addr == 0) {
		self->stubs = 0;
		memset(self->stub_used, 0, sizeof(self->stub_used));
		self->narmed = 0;
		Py_RETURN_NONE;
	}
	if (addr & 4095)
		return PyErr_Format(PyExc_ValueError, "set_stubs: 0x%llx is "
				    "not page-aligned", addr);
	memset(page, 0xcc, STUB_DATA);
	for (int i = 0; i < NSTUBS; i++)
		ms_return_stub_write(page + i * STUB_SIZE,
				     addr + (uint64_t)i * STUB_SIZE,
				     addr + STUB_DATA +
					     (uint64_t)i * sizeof(stub_data));
	memset(page + STUB_DATA, 0, SCRATCH_SIZE - STUB_DATA);
	if (pwrite(self->memfd, page, sizeof(page), (off_t)addr) !=
	    (ssize_t)sizeof(page))
		return PyErr_SetFromErrno(PyExc_OSError);
	self->stubs = addr;
	Py_RETURN_NONE;
}

/* Forget the pending calls of a thread that exited. */
static PyObject *tracker_thread_exited(MsPyTracker *self, PyObject *arg)
{
	long lwp = PyLong_AsLong(arg);

	if (lwp == -1 && PyErr_Occurred())
		return NULL;
	for (size_t i = 0; i < self->nthreads; i++) {
		thread_state *ts = &self->threads[i];

		if (ts->lwp != lwp)
			continue;
		for (size_t j = 0; j < ts->n; j++)
			pending_drop(self, &ts->stack[j]);
		free(ts->stack);
		self->threads[i] = self->threads[--self->nthreads];
		break;
	}
	Py_RETURN_NONE;
}

/* new_image(): the process exec'd. Its memory, threads, heap and
 * modules are new: a new trace set, as the attacher does; the caller
 * deletes the breakpoints and hooks the new image's allocators. */
static PyObject *tracker_new_image(MsPyTracker *self, PyObject *unused)
{
	ms_error err = { 0 };

	if (tracker_open(self, self->pid) < 0)
		return NULL;
	self->lost += tracker_in_flight(self);
	tracker_clear_threads(self);
	self->stubs = 0;
	memset(self->stub_used, 0, sizeof(self->stub_used));
	self->narmed = 0;
	ms_table_clear(self->table);
	if (find_trampoline(self->pid, &self->trampoline, &err) < 0)
		self->trampoline = 0;
	Py_RETURN_NONE;
}

/* set_wrappers([(start, end)]): the address ranges of the allocation
 * wrappers (operator new, strdup...) whose frames are skipped. */
static PyObject *tracker_set_wrappers(MsPyTracker *self, PyObject *arg)
{
	PyObject *seq = PySequence_Fast(arg, "set_wrappers takes a sequence");
	Py_ssize_t n;
	uint64_t (*v)[2];

	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v) {
		Py_DECREF(seq);
		return PyErr_NoMemory();
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		unsigned long long a, b;

		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i),
				      "KK:set_wrappers", &a, &b)) {
			free(v);
			Py_DECREF(seq);
			return NULL;
		}
		v[i][0] = a;
		v[i][1] = b;
	}
	Py_DECREF(seq);
	free(self->wrappers);
	self->wrappers = v;
	self->nwrappers = (size_t)n;
	Py_RETURN_NONE;
}

/* modules_changed(): a module was loaded or unloaded; unwind tables and
 * symbols are looked up afresh. */
static PyObject *tracker_modules_changed(MsPyTracker *self, PyObject *unused)
{
	ms_unwinder_flush(self->unw);
	Py_RETURN_NONE;
}

/* retarget(pid): GDB follows the fork child pid and detached the tracked
 * process. */
static PyObject *tracker_retarget_py(MsPyTracker *self, PyObject *arg)
{
	long pid = PyLong_AsLong(arg);

	if (pid == -1 && PyErr_Occurred())
		return NULL;
	if (tracker_retarget(self, (int)pid) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *tracker_collect(MsPyTracker *self, PyObject *unused)
{
	collect_stubs(self);
	Py_RETURN_NONE;
}

static PyObject *tracker_deactivate(MsPyTracker *self, PyObject *unused)
{
	self->active = false;
	Py_RETURN_NONE;
}


static int add_meta(ms_capture *c, const char *key, const char *value,
		    ms_error *err)
{
	return ms_capture_meta(c, key, value, err);
}

/* take() -> Snapshot of the live blocks now. */
static PyObject *tracker_take(MsPyTracker *self, PyObject *unused)
{
	ms_error err = { 0 };
	ms_capture *c;
	ms_snapshot *s;
	ms_symbolizer sym;
	char buf[4096], num[32];
	ms_domain_stats ds;
	int fd, rc = 0;
	ssize_t n;

	if (!self->dwfl) {
		self->dwfl = ms_dwfl_new_pid(self->pid, NULL, &err);
		if (!self->dwfl)
			return mspy_raise(&err);
	} else if (ms_dwfl_refresh(self->dwfl, &err) < 0) {
		return mspy_raise(&err);
	}
	collect_stubs(self);
	c = ms_capture_take(self->table, self->frames, &err);
	if (!c)
		return mspy_raise(&err);
	snprintf(num, sizeof(num), "%d", self->pid);
	rc = add_meta(c, MS_META_PID, num, &err);
	snprintf(buf, sizeof(buf), "/proc/%d/cmdline", self->pid);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			for (ssize_t i = 0; i < n - 1; i++)
				if (!buf[i])
					buf[i] = ' ';
			if (rc >= 0)
				rc = add_meta(c, MS_META_CMDLINE, buf, &err);
		}
	}
	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	if (rc >= 0)
		rc = add_meta(c, MS_META_TIME, num, &err);
	if (rc >= 0 && gethostname(buf, 256) == 0) {
		buf[255] = 0;
		rc = add_meta(c, MS_META_HOST, buf, &err);
	}
	if (rc >= 0)
		rc = add_meta(c, MS_META_HOOKED, "malloc,calloc,realloc,free,"
			      "posix_memalign,aligned_alloc,memalign", &err);
	ds = ms_table_domain_stats(self->table, MS_DOMAIN_MALLOC);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ds.unknown_frees);
	if (rc >= 0)
		rc = add_meta(c, MS_META_UNKNOWN_FREES, num, &err);
	snprintf(num, sizeof(num), "%zu", tracker_in_flight(self));
	if (rc >= 0)
		rc = add_meta(c, MS_META_IN_FLIGHT, num, &err);
	if (rc >= 0)
		rc = add_meta(c, "source", "gdb", &err);
	if (rc < 0) {
		ms_capture_free(c);
		return mspy_raise(&err);
	}
	sym = ms_dwfl_symbolizer(self->dwfl);
	s = ms_capture_finish(c, &sym, &err);
	if (!s)
		return mspy_raise(&err);
	return mspy_snapshot_wrap(&MsPySnapshot_Type, s);
}

static PyObject *tracker_stats(MsPyTracker *self, PyObject *unused)
{
	PyObject *d = PyDict_New(), *v;

	if (!d)
		return NULL;
#define SET(key, expr)                                                    \
	do {                                                              \
		v = (expr);                                               \
		if (!v || PyDict_SetItemString(d, key, v) < 0) {         \
			Py_XDECREF(v);                                    \
			Py_DECREF(d);                                     \
			return NULL;                                      \
		}                                                         \
		Py_DECREF(v);                                             \
	} while (0)
	for (int k = 0; k < K_NKINDS; k++) {
		char key[64];

		snprintf(key, sizeof(key), "hits_%s", kind_names[k]);
		SET(key, PyLong_FromUnsignedLongLong(self->hits[k]));
	}
	SET("recorded", PyLong_FromUnsignedLongLong(self->recorded));
	SET("nested", PyLong_FromUnsignedLongLong(self->nested));
	SET("site_entries", PyLong_FromUnsignedLongLong(self->site_entries));
	SET("stub_entries", PyLong_FromUnsignedLongLong(self->stub_entries));
	SET("stubs", PyLong_FromUnsignedLongLong(self->stubs));
	SET("capture", PyUnicode_FromString(
		self->capture == CAP_STUB ? "stub" :
		self->capture == CAP_TRAMPOLINE ? "trampoline" : "site"));
	SET("lost", PyLong_FromUnsignedLongLong(self->lost));
	SET("handler_us", PyLong_FromUnsignedLongLong(self->handler_ns / 1000));
	SET("unwind_us", PyLong_FromUnsignedLongLong(self->unwind_ns / 1000));
	SET("errors", PyLong_FromUnsignedLongLong(self->errors));
	SET("foreign", PyLong_FromUnsignedLongLong(self->foreign));
	SET("last_error", PyUnicode_FromString(self->last_error));
	SET("live_blocks", PyLong_FromSize_t(ms_table_count(self->table)));
	SET("in_flight", PyLong_FromSize_t(tracker_in_flight(self)));
	SET("trampoline", PyLong_FromUnsignedLongLong(self->trampoline));
	SET("pid", PyLong_FromLong(self->pid));
	SET("frames", PyLong_FromUnsignedLong(self->frames));
#undef SET
	return d;
}

static PyMethodDef tracker_methods[] = {
	{ "handler", (PyCFunction)tracker_handler, METH_VARARGS,
	  "handler(kind, addr=0) -> the stop() callable of a "
	  "breakpoint of that kind at addr" },

	{ "unswap", (PyCFunction)tracker_unswap, METH_NOARGS,
	  "unswap() -> [(stack address, real return address)]" },
	{ "stub_threads", (PyCFunction)tracker_stub_threads, METH_NOARGS,
	  "stub_threads() -> [(lwp, return address)] of threads in a stub" },
	{ "site_returns", (PyCFunction)tracker_site_returns, METH_NOARGS,
	  "site_returns() -> set of return addresses with a site call "
	  "in flight" },
	{ "set_stubs", (PyCFunction)tracker_set_stubs, METH_O,
	  "set_stubs(addr): return stubs in the scratch mapping at addr "
	  "(0: none)" },
	{ "retarget", (PyCFunction)tracker_retarget_py, METH_O,
	  "retarget(pid): GDB follows the fork child pid" },
	{ "new_image", (PyCFunction)tracker_new_image, METH_NOARGS,
	  "new_image(): the process exec'd: a new trace set" },
	{ "set_wrappers", (PyCFunction)tracker_set_wrappers, METH_O,
	  "set_wrappers([(start, end)]): allocation wrappers, skipped" },
	{ "modules_changed", (PyCFunction)tracker_modules_changed, METH_NOARGS,
	  "modules_changed(): a module was loaded or unloaded" },
	{ "collect", (PyCFunction)tracker_collect, METH_NOARGS,
	  "collect(): record the calls that returned through a stub" },
	{ "thread_exited", (PyCFunction)tracker_thread_exited, METH_O,
	  "thread_exited(lwp): forget the thread's pending calls" },
	{ "deactivate", (PyCFunction)tracker_deactivate, METH_NOARGS,
	  "deactivate(): handlers do nothing from now on" },
	{ "take", (PyCFunction)tracker_take, METH_NOARGS,
	  "take() -> Snapshot of the live blocks" },
	{ "stats", (PyCFunction)tracker_stats, METH_NOARGS,
	  "stats() -> dict of counters" },
	{ NULL, NULL, 0, NULL },
};

static PyMemberDef tracker_members[] = {
	{ "pid", T_INT, offsetof(MsPyTracker, pid), READONLY,
	  "the tracked process (a fork child once GDB follows it)" },
	{ NULL, 0, 0, 0, NULL },
};

PyTypeObject MsPyTracker_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "memsnap._memsnap.Tracker",
	.tp_basicsize = sizeof(MsPyTracker),
	.tp_dealloc = (destructor)tracker_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Tracker(pid, frames, need_site): the live trace set of a "
		  "GDB inferior, fed by stop handlers of internal breakpoints.",
	.tp_methods = tracker_methods,
	.tp_members = tracker_members,
	.tp_new = tracker_new,
};
