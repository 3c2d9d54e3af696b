"""memsnap inside GDB: the ``snapshot`` commands and allocation tracking.

Load with ``source .../memsnap-gdb.py`` or ``python import memsnap.gdb``
(an installed memsnap is also auto-loaded, see docs/GDB.md). Then::

    (gdb) start
    (gdb) snapshot start --frames 16
    (gdb) next
    (gdb) snapshot take
    (gdb) snapshot statistics

From Python: ``memsnap.gdb.take()`` returns a ``memsnap.Snapshot``.

Tracking puts internal breakpoints (invisible in ``info breakpoints``) on
the allocator entry points; their stop() is C code of the extension
(gdbplugin/pygdb.c) that records each call in the engine's live table and
lets the inferior go on. Results are caught on the way back by return
stubs in a small scratch mapping of the inferior (no second stop), or by
a breakpoint at the call site or a trampoline.
"""
import os
import re
import struct

import gdb

import memsnap
from memsnap import _memsnap

__all__ = ["take", "start", "stop", "tracking", "session"]

# Allocator entry points and their argument layout; aligned_alloc and
# memalign are one function in glibc (one breakpoint serves both).
ALLOCATORS = (
    ("malloc", "malloc"),
    ("calloc", "calloc"),
    ("realloc", "realloc"),
    ("free", "free"),
    ("posix_memalign", "posix_memalign"),
    ("aligned_alloc", "memalign"),
    ("memalign", "memalign"),
)

DEFAULT_FRAMES = 16
CAPTURES = ("stub", "site", "trampoline")

# The scratch mapping of the return stubs: a page of code (r-x) and a
# page of data (rw-), made and removed by inferior calls.
_SCRATCH_SIZE = 8192
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE_ANONYMOUS = 0x22

session = _memsnap.Session()


class _Breakpoint(gdb.Breakpoint):
    """An internal breakpoint whose stop() is set on the instance."""


class Tracking:
    """The breakpoints and the live table of one tracked inferior."""

    def __init__(self, frames, capture="stub"):
        inf = gdb.selected_inferior()
        if inf.pid <= 0 or not inf.threads():
            raise gdb.GdbError("snapshot start: the program is not being "
                               "run: use 'start', 'run' or 'attach' first")
        if _is_core(inf):
            raise gdb.GdbError("snapshot start: the target is a core file: "
                               "load a snapshot file instead")
        self._inferior = inf
        self.sites = {}
        self.breakpoints = []
        self.mode = capture
        self.scratch = 0
        self.scratch_error = None
        self._remap = 0
        self.return_bp = None
        self._fork_child = None
        self.tracker = _memsnap.Tracker(inf.pid, frames, self._need_site,
                                        capture)
        if capture == "stub":
            self._map_scratch()
        try:
            self._insert()
        except BaseException:
            self._remove_breakpoints()
            self._unmap_scratch()
            raise
        self._events = ((gdb.events.stop, self._on_stop),
                        (gdb.events.exited, self._on_exit),
                        (gdb.events.new_objfile, self._on_new_objfile),
                        (gdb.events.free_objfile, self._on_free_objfile),
                        (gdb.events.clear_objfiles, self._on_clear_objfiles),
                        (gdb.events.new_inferior, self._on_new_inferior),
                        (gdb.events.breakpoint_created, self._on_breakpoint),
                        (gdb.events.breakpoint_modified, self._on_breakpoint),
                        (gdb.events.breakpoint_deleted, self._on_deleted))
        for ev, fn in self._events:
            ev.connect(fn)
        self._symbol_start = {}
        self._check_shared()

    @property
    def pid(self):
        return self.tracker.pid

    @property
    def inferior(self):
        """The tracked inferior: a fork child once GDB follows it."""
        if self._inferior.pid != self.tracker.pid:
            for inf in gdb.inferiors():
                if inf.pid == self.tracker.pid:
                    self._inferior = inf
                    break
        return self._inferior

    def _insert(self):
        self.hooked = {}        # address -> kind
        self.hook_module = {}   # address -> module path
        self.wrappers = {}      # (start, end) -> module path
        self.entries = {}       # address -> breakpoint
        self._hook_entries(None)
        if not self.hooked:
            # not a module dwfl can read: GDB's own symbol lookup
            for name, kind in ALLOCATORS:
                addr = _address_of(name)
                if addr is not None and addr not in self.hooked:
                    self._hook(addr, kind, "")
        if not self.hooked:
            raise gdb.GdbError("snapshot start: no allocator found in the "
                               "inferior (is libc loaded yet? use 'start')")
        self._add_trampoline()

    def _add_trampoline(self):
        tramp = self.tracker.stats()["trampoline"]
        if self.mode == "trampoline" and tramp:
            self.return_bp = self._add(tramp, "return")

    def _hook(self, addr, kind, module):
        self.hooked[addr] = kind
        self.hook_module[addr] = module
        self.entries[addr] = self._add(addr, kind)

    def _hook_entries(self, module):
        """Hooks every definition of an allocator entry point in the
        process's modules, or in the one module of that path (loaded
        after 'snapshot start': dlopen, exec)."""
        try:
            found = _memsnap.allocator_entries(self.pid, module)
        except OSError:
            return
        kinds = dict(ALLOCATORS)
        added = False
        wrappers = False
        for name, addr, path, size in found:
            if name not in kinds:
                # operator new, strdup...: frames skipped at record time
                self.wrappers[(addr, addr + size)] = path
                wrappers = True
            elif addr not in self.hooked:
                self._hook(addr, kinds[name], path)
                added = True
        if wrappers:
            self.tracker.set_wrappers(list(self.wrappers))
        if added and hasattr(self, "_symbol_start"):
            self._check_shared()

    def _on_new_objfile(self, event):
        objfile = event.new_objfile
        if self.inferior.pid <= 0 or objfile.progspace != self.inferior.progspace:
            return  # another inferior's
        if getattr(objfile, "owner", None) is not None or not objfile.filename:
            return  # a separate debug file
        self.tracker.modules_changed()
        self._hook_entries(objfile.filename)
        if self.return_bp is None or not self.return_bp.is_valid():
            self._add_trampoline()

    def _on_free_objfile(self, event):
        # an unloaded module's addresses may hold other code later
        path = _realpath(event.objfile.filename)
        gone = [a for a, m in self.hook_module.items()
                if m and _realpath(m) == path]
        for addr in gone:
            bp = self.entries.pop(addr)
            del self.hooked[addr], self.hook_module[addr]
            self.breakpoints.remove(bp)
            if bp.is_valid():
                bp.delete()
        wrappers = [r for r, m in self.wrappers.items()
                    if m and _realpath(m) == path]
        for r in wrappers:
            del self.wrappers[r]
        if wrappers:
            self.tracker.set_wrappers(list(self.wrappers))
        if gone or wrappers:
            self.tracker.modules_changed()

    def _on_clear_objfiles(self, event):
        # exec: a new image, its own allocators (hooked as its modules
        # come) and heap; the stub mapping went with the old one. Not the
        # copy of the program space that GDB makes for the parent of a
        # fork child it follows.
        if (event.progspace != self.inferior.progspace or
                self._fork_child is not None):
            return
        self._remove_breakpoints()
        self.hooked, self.hook_module, self.entries = {}, {}, {}
        self.wrappers = {}
        self.tracker.set_wrappers([])
        self.scratch = 0
        self._remap = 3
        self.tracker.new_image()

    def _map_scratch(self):
        """Maps the return stubs' page with an inferior call to mmap; when
        that cannot be done (no mmap symbol, a static program...) returns
        are caught at call sites, and 'snapshot status' says why."""
        try:
            addr = int(gdb.parse_and_eval(
                "(unsigned long)((void *(*)(void *, unsigned long, int, int, "
                "int, long))mmap)(0, %d, %d, %d, -1, 0)"
                % (_SCRATCH_SIZE, _PROT_READ | _PROT_EXEC,
                   _MAP_PRIVATE_ANONYMOUS)))
            if addr >= 2**64 - 4096:
                raise gdb.GdbError("mmap failed (errno %d)" % (2**64 - addr))
            rc = int(gdb.parse_and_eval(
                "((int (*)(void *, unsigned long, int))mprotect)"
                "((void *)0x%x, 4096, %d)"
                % (addr + 4096, _PROT_READ | _PROT_WRITE)))
            self.scratch = addr
            if rc != 0:
                raise gdb.GdbError("mprotect failed")
            self.tracker.set_stubs(addr)
        except (gdb.error, OSError) as e:
            self.scratch_error = str(e)
            self._unmap_scratch()

    def _unmap_scratch(self):
        if not self.scratch:
            return
        addr, self.scratch = self.scratch, 0
        self.tracker.set_stubs(0)
        if self.inferior.pid > 0 and self.inferior.is_valid():
            try:
                gdb.parse_and_eval(
                    "((int (*)(void *, unsigned long))munmap)((void *)0x%x, "
                    "%d)" % (addr, _SCRATCH_SIZE))
            except gdb.error:
                pass

    def _add(self, addr, kind):
        bp = _Breakpoint("*0x%x" % addr, internal=True)
        bp.silent = True
        bp.stop = self.tracker.handler(kind, addr)
        self.breakpoints.append(bp)
        return bp

    def _on_breakpoint(self, bp):
        if bp.number > 0:   # the user's, not ours (internal ones are < 0)
            self._check_shared()

    def _on_deleted(self, bp):
        if bp.number > 0:   # still listed while the event runs
            self._check_shared(bp.number)

    def _start_of(self, addr):
        """The address of the symbol that contains addr, or None."""
        if addr not in self._symbol_start:
            start = None
            try:
                text = gdb.execute("info symbol 0x%x" % addr, to_string=True)
                m = re.match(r"(\S+)(?: \+ (\d+))? in ", text)
                if m:
                    start = addr - int(m.group(2) or 0)
            except gdb.error:
                pass
            self._symbol_start[addr] = start
        return self._symbol_start[addr]

    def _module_of(self, addr):
        path = gdb.solib_name(addr)
        if path is None:
            path = self.inferior.progspace.filename
        return _realpath(path) if path else None

    def _check_shared(self, deleted=None):
        """Calls keep their real return address while code of the user's
        may look at the caller before memsnap could put it back: an
        enabled breakpoint inside an allocator, or a breakpoint with a
        condition or a Python stop() in a module that defines one (where
        an allocator's callees are: `break _int_malloc if
        $_caller_is(...)`), which makes every allocator keep them."""
        inside = set()
        everywhere = False
        modules = None
        for bp in gdb.breakpoints():
            if (bp.number <= 0 or not bp.enabled or
                    bp.type != gdb.BP_BREAKPOINT or bp.number == deleted):
                continue
            conditional = (bp.condition is not None or
                           type(bp).__dict__.get("stop") is not None)
            for loc in getattr(bp, "locations", ()):
                if not loc.enabled or loc.address is None:
                    continue
                start = self._start_of(loc.address)
                if start in self.hooked:
                    inside.add(start)
                elif conditional:
                    if modules is None:
                        modules = {_realpath(m) if m else None
                                   for m in self.hook_module.values()}
                    if self._module_of(loc.address) in modules:
                        everywhere = True
        for bp in self.breakpoints:
            h = bp.stop
            if isinstance(h, _memsnap._StopHandler) and bp.is_valid():
                addr = int(bp.location[1:], 16)
                h.shared = everywhere or addr in inside

    def _need_site(self, addr):
        if addr not in self.sites:
            self.sites[addr] = self._add(addr, "site")

    def _on_stop(self, event):
        # The user sees the inferior now: no thread stands in a stub, and
        # every swapped return address is back, so that backtraces, finish
        # and next see the real stack; the calls still in flight are caught
        # by a breakpoint at the return address instead.
        self._fork_child = None
        if self.inferior.pid <= 0 or not self.inferior.is_valid():
            return
        self._restore(sites=True)
        if self.mode == "stub" and not self.scratch and self._remap > 0:
            # after an exec: the new image gets its stubs at the first
            # stop that allows an inferior call (before libc is loaded,
            # 'catch exec', there is no mmap to call yet: a few tries)
            self._remap -= 1
            self._map_scratch()
            if self.scratch:
                self._remap = 0
        if self.mode == "stub":
            # site breakpoints left from earlier stops cost a second stop
            # per call: keep only those that calls in flight wait for
            needed = self.tracker.site_returns()
            for addr in [a for a in self.sites if a not in needed]:
                bp = self.sites.pop(addr)
                self.breakpoints.remove(bp)
                if bp.is_valid():
                    bp.delete()

    def _restore(self, sites):
        moved = self.tracker.stub_threads()
        if moved:
            selected = gdb.selected_thread()
            for th in self.inferior.threads():
                for lwp, ret in moved:
                    if th.ptid[1] == lwp:
                        th.switch()
                        gdb.parse_and_eval("$pc = 0x%x" % ret)
            if selected is not None and selected.is_valid():
                selected.switch()
        for stack_addr, ret in self.tracker.unswap():
            self.inferior.write_memory(stack_addr, struct.pack("<Q", ret))
            if sites:
                self._need_site(ret)
        gdb.invalidate_cached_frames()

    def _on_new_inferior(self, event):
        if event.inferior.pid > 0:
            self._fork_child = event.inferior

    def _on_exit(self, event):
        child, self._fork_child = self._fork_child, None
        if (getattr(event, "inferior", None) == self.inferior and
                not hasattr(event, "exit_code") and child is not None and
                child.is_valid() and child.pid > 0):
            # GDB detached the tracked process to follow its fork child
            # (follow-fork-mode child): the child's heap is a copy of it.
            # Breakpoints at addresses belong to one program space: the
            # child's are made once GDB has switched to it.
            # The child keeps the program space (and so the breakpoints);
            # the parent got a copy, which goes with it.
            self.tracker.retarget(child.pid)
            self._inferior = child
            return
        if getattr(event, "inferior", self.inferior) == self.inferior:
            self.close(restore=False)
            global _tracking
            if _tracking is self:
                _tracking = None
            gdb.write("memsnap: the inferior exited; tracking stopped\n")

    def _remove_breakpoints(self):
        for bp in self.breakpoints:
            if bp.is_valid():
                bp.delete()
        self.breakpoints = []
        self.sites = {}
        self.entries = {}
        self.return_bp = None

    def close(self, restore=True):
        """Removes everything tracking put into the inferior."""
        if restore and self.inferior.pid > 0:
            self._restore(sites=False)
        self.tracker.deactivate()
        self._remove_breakpoints()
        for ev, fn in self._events:
            try:
                ev.disconnect(fn)
            except (ValueError, RuntimeError):
                pass
        if restore:
            self._unmap_scratch()
        else:
            self.tracker.set_stubs(0)
            self.scratch = 0

    def take(self):
        return self.tracker.take()


_tracking = None


def _realpath(path):
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _is_core(inf):
    conn = getattr(inf, "connection", None)
    return conn is not None and conn.type == "core"


def _address_of(name):
    try:
        sym = gdb.lookup_global_symbol(name)
        if sym is not None and sym.addr_class == gdb.SYMBOL_LOC_BLOCK:
            return int(sym.value().address)
    except gdb.error:
        pass
    try:
        v = gdb.parse_and_eval("(long)&'%s'" % name)
        return int(v)
    except gdb.error:
        return None


def tracking():
    """The Tracking of the inferior, or None."""
    return _tracking


def start(frames=DEFAULT_FRAMES, trampoline=False, capture=None):
    """Starts tracking the selected inferior's heap. capture: how the
    result of an allocator call is caught on its return: "stub" (default:
    the return address is swapped for a return stub in a scratch mapping
    of the inferior, no second stop), "site" (a breakpoint at each call
    site) or "trampoline" (the return address swapped for one trampoline
    breakpoint); trampoline=True is capture="trampoline"."""
    global _tracking
    if capture is None:
        capture = "trampoline" if trampoline else "stub"
    if capture not in CAPTURES:
        raise gdb.GdbError("snapshot start: --return-capture must be one "
                           "of %s" % ", ".join(CAPTURES))
    if _tracking is not None:
        raise gdb.GdbError("snapshot start: already tracking process %d "
                           "('snapshot stop' first)" % _tracking.pid)
    if capture != "site" and gdb.parameter("non-stop"):
        # other threads run while a stop is handled: no return address
        # of theirs can be swapped or put back safely
        gdb.write("memsnap: non-stop mode: returns are caught at call "
                  "sites\n")
        capture = "site"
    _tracking = Tracking(frames, capture)
    return _tracking


def stop():
    """Stops tracking and removes every breakpoint and swapped return
    address from the inferior."""
    global _tracking
    if _tracking is None:
        raise gdb.GdbError("snapshot stop: not tracking")
    t, _tracking = _tracking, None
    t.close()


def take():
    """A memsnap.Snapshot of the live blocks of the tracked inferior."""
    if _tracking is None:
        raise gdb.GdbError("take: not tracking: run 'snapshot start' first "
                           "(or 'snapshot load FILE')")
    if _tracking.inferior.pid <= 0:
        raise gdb.GdbError("take: the tracked inferior is not running")
    return _tracking.take()


session.set_take(take)


def _core_file():
    try:
        text = gdb.execute("info target", to_string=True)
    except gdb.error:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("`") and "file type" in line:
            return line[1:line.index("'")]
    return None


def _check_loaded_against_core(ref=None, say_ok=False):
    inf = gdb.selected_inferior()
    if not _is_core(inf):
        return
    core = _core_file()
    if core is None:
        return
    exe = gdb.current_progspace().filename
    snap = session.find(ref)
    problems = _memsnap.check_core(snap, core, exe, inf.pid)
    for problem in problems:
        gdb.write("warning: %s\n" % problem, gdb.STDERR)
    if say_ok and not problems:
        gdb.write("The core %s belongs with this snapshot: process %d, "
                  "same build-ids.\n" % (core, inf.pid))


_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")


def _address(expr):
    try:
        return int(gdb.parse_and_eval(expr).cast(
            gdb.lookup_type("unsigned long")))
    except gdb.error as e:
        raise gdb.GdbError("block: cannot evaluate '%s': %s" % (expr, e)) \
            from None


def _block_line(rest):
    """block ADDR|EXPR|--fault [SNAP]: the command language's block with
    ADDR given as a GDB expression ($_siginfo._sifields._sigfault.si_addr,
    p->next...) or --fault, the snapshot's recorded fault_address."""
    words = rest.split()
    if not words or _NUMBER.fullmatch(words[0]):
        return "block " + rest
    if words[0] == "--fault":
        if len(words) > 2:
            raise gdb.GdbError("block: usage: block --fault [SNAP]")
        ref = words[1] if len(words) > 1 else None
        try:
            snap = session.find(ref)
        except Exception as e:  # the session's own message
            raise gdb.GdbError("block: %s" % e) from None
        fault = snap.metadata.get("fault_address")
        if not fault:
            raise gdb.GdbError("block --fault: the snapshot records no "
                               "fault address (it was not written by "
                               "memsnap --dump-on-crash at a fault)")
        return " ".join(["block", fault] + words[1:])
    # the whole text is the expression, or all but a last word naming
    # the snapshot
    try:
        return "block %d" % int(gdb.parse_and_eval(rest).cast(
            gdb.lookup_type("unsigned long")))
    except gdb.error:
        if len(words) < 2:
            raise
    return "block %d %s" % (_address(" ".join(words[:-1])), words[-1])


def execute(line, from_tty=False):
    """Runs one command of the command language (docs/COMMANDS.md)."""
    words = line.split(None, 1)
    if words and words[0] == "snapshot":
        line = words[1] if len(words) > 1 else ""
        words = line.split(None, 1)
    if words and words[0] == "block":
        try:
            line = _block_line(words[1] if len(words) > 1 else "")
        except gdb.error as e:
            raise gdb.GdbError("block: %s" % e) from None
    text, err = session.exec(line, from_tty)
    if text:
        gdb.write(text)
    if err is not None:
        raise gdb.GdbError(err)
    words = line.split()
    if words and words[0] == "load":
        _check_loaded_against_core()
    elif words and words[0] == "info":
        _check_loaded_against_core(words[1] if len(words) > 1 else None,
                                   True)


def _complete(line, word):
    words, start, filenames = session.complete(line)
    if filenames:
        return gdb.COMPLETE_FILENAME
    typed = line[start:]
    # GDB breaks words at '#' and '-' differently from the command layer:
    # give GDB the part of each candidate that follows its word.
    cut = len(typed) - len(word or "")
    return [w[cut:] for w in words if w.startswith(typed) and cut >= 0]


_START_HELP = """Start tracking the heap of the program being debugged.
Usage: snapshot start [--frames N] [--return-capture stub|site|trampoline]

Puts internal breakpoints (not shown by 'info breakpoints') on malloc,
calloc, realloc, free, posix_memalign, aligned_alloc and memalign, and
records every call from now on; blocks allocated before are unknown (their
frees are counted as unknown frees). N is the number of frames kept per
allocation (default %d). The program must be running ('start', 'run' or
'attach'). 'snapshot stop' removes everything tracking put into the
program.

The result of an allocator call is read when it returns. stub (the
default): the return address is swapped for a return stub in a small
mapping that tracking adds to the program (with an inferior call to
mmap), which stores the result and jumps back without a stop; calls in
flight at a stop you see are put back on their real return address. site:
a breakpoint on the return address of each call site (added the first
time the site allocates). trampoline (also --trampoline): the return
address is swapped for one trampoline breakpoint. stub costs one stop per
call, the others two.""" % DEFAULT_FRAMES

_STOP_HELP = """Stop tracking and restore the program.
Usage: snapshot stop

Deletes memsnap's internal breakpoints, puts back any return address
that tracking had swapped and unmaps the return stubs. The snapshots
taken stay in the session."""

_STATUS_HELP = """Show the tracking counters.
Usage: snapshot status"""


class _SnapshotPrefix(gdb.Command):
    def __init__(self, doc):
        self.__doc__ = doc
        super().__init__("snapshot", gdb.COMMAND_DATA, gdb.COMPLETE_NONE,
                         True)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            gdb.write(session.help(None))
            return
        execute(arg, from_tty)


class _Sub(gdb.Command):
    name = None

    def __init__(self):
        super().__init__("snapshot " + self.name, gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        execute(self.name + " " + arg, from_tty)

    def complete(self, text, word):
        return _complete("snapshot " + self.name + " " + text, word)


class _Start(gdb.Command):
    __doc__ = _START_HELP

    def __init__(self):
        super().__init__("snapshot start", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        frames = DEFAULT_FRAMES
        capture = "stub"
        while argv:
            a = argv.pop(0)
            if a == "--trampoline":
                capture = "trampoline"
                continue
            if a.startswith("--frames=") or a.startswith("--return-capture="):
                a, v = a.split("=", 1)
                argv.insert(0, v)
            if a == "--return-capture":
                if not argv or argv[0] not in CAPTURES:
                    raise gdb.GdbError("snapshot start: --return-capture "
                                       "takes stub, site or trampoline")
                capture = argv.pop(0)
                continue
            if a == "--frames" and argv:
                try:
                    frames = int(argv.pop(0), 0)
                except ValueError:
                    raise gdb.GdbError("snapshot start: bad number for "
                                       "--frames") from None
                if not 1 <= frames <= 1024:
                    raise gdb.GdbError("snapshot start: --frames must be "
                                       "in 1..1024")
            else:
                raise gdb.GdbError("snapshot start: unknown argument '%s' "
                                   "(usage: snapshot start [--frames N] "
                                   "[--return-capture stub|site|"
                                   "trampoline])" % a)
        t = start(frames, capture=capture)
        gdb.write("memsnap: tracking process %d (%d allocator entry "
                  "points, %d frames per allocation)\n"
                  % (t.pid, len(t.hooked), frames))
        if t.scratch_error is not None:
            gdb.write("memsnap: no return stubs (%s): returns are caught "
                      "at call sites\n" % t.scratch_error)

    def complete(self, text, word):
        words = text.split()
        typed = "" if not text or text[-1].isspace() else words.pop()
        cut = len(typed) - len(word or "")
        if words and words[-1] == "--return-capture":
            options = CAPTURES
        else:
            options = ("--frames", "--return-capture", "--trampoline")
        return [o[cut:] for o in options if o.startswith(typed)]


class _Stop(gdb.Command):
    __doc__ = _STOP_HELP

    def __init__(self):
        super().__init__("snapshot stop", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError("snapshot stop: takes no argument")
        stop()
        gdb.write("memsnap: tracking stopped\n")


class _Status(gdb.Command):
    __doc__ = _STATUS_HELP

    def __init__(self):
        super().__init__("snapshot status", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        if _tracking is None:
            gdb.write("memsnap: not tracking\n")
            return
        st = _tracking.tracker.stats()
        gdb.write("memsnap: tracking process %d\n" % st.pop("pid"))
        if _tracking.scratch_error is not None:
            st["stubs_error"] = _tracking.scratch_error
        for k in sorted(st):
            v = st[k]
            if k in ("trampoline", "stubs"):
                v = "0x%x" % v
            gdb.write("  %s: %s\n" % (k, v))


def _sub_doc(name):
    text = session.help(name)
    lines = text.splitlines()
    usage = lines[0]
    summary = lines[1].strip() if len(lines) > 1 else usage
    rest = "\n".join(lines[2:])
    doc = "%s%s.\nUsage: %s" % (summary[:1].upper(), summary[1:], usage)
    return doc + ("\n\n" + rest if rest else "")


_SUBCOMMANDS = ("take", "list", "statistics", "compare", "filter", "dump",
                "load", "block", "info", "leaks", "export")


def _register():
    _SnapshotPrefix(
        "Native heap snapshots (memsnap), with tracemalloc's semantics.\n"
        "Usage: snapshot SUBCOMMAND [ARGS]\n\n"
        "snapshot start begins tracking the program's heap; snapshot take\n"
        "records the live blocks; statistics, compare, block... report on\n"
        "snapshots, which can also be loaded from files (works on a core).\n\n"
        + session.help(None))
    for name in _SUBCOMMANDS:
        cls = type("_Snapshot_" + name, (_Sub,),
                   {"name": name, "__doc__": _sub_doc(name)})
        cls()
    _Start()
    _Stop()
    _Status()


_register()
