# init.sh - shell library of the GDB plugin's tests (sourced by *.test).
#
# Gives: fail_ (exit 1), skip_ (exit 77), framework_failure_ (exit 99), a
# private directory $tmp removed at exit, a timeout around the whole test
# ($MEMSNAP_TEST_TIMEOUT seconds, default 180), processes started with
# spawn_ killed at exit, gdb_ to run a real `gdb -nx -batch` session with
# the plugin sourced from the build tree, and section_/check_section_ to
# compare parts of its output with what the target's source promises.
#
# Tests run from the top build directory (make check).

me_=${0##*/}
fail_() { printf '%s: FAIL: %s\n' "$me_" "$*" >&2; exit 1; }
skip_() { printf '%s: SKIP: %s\n' "$me_" "$*" >&2; exit 77; }
framework_failure_() { printf '%s: ERROR: %s\n' "$me_" "$*" >&2; exit 99; }

srcdir=$(cd "$(dirname "$0")/../.." && pwd) || framework_failure_ "no srcdir"
builddir=${MEMSNAP_BUILDDIR:-$PWD}
GDB=${GDB:-gdb}
PLUGIN=$builddir/python/memsnap-gdb.py
TARGETS=$builddir/tests/targets/gdb
TSRC=$srcdir/tests/targets/gdb
[ -z "${MEMSNAP_NO_PLUGIN:-}" ] || skip_ "the plugin is $MEMSNAP_NO_PLUGIN"
[ -f "$PLUGIN" ] || framework_failure_ "$PLUGIN is not built"
command -v "$GDB" >/dev/null || skip_ "no gdb"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memsnap-gdb-test.XXXXXX") ||
	framework_failure_ "mktemp failed"
spawned_=
cleanup_() {
	for p in $spawned_; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup_ EXIT
trap 'fail_ "timed out after ${MEMSNAP_TEST_TIMEOUT:-180} s"' USR2
( sleep "${MEMSNAP_TEST_TIMEOUT:-180}"; kill -USR2 $$ 2>/dev/null ) &
spawned_="$!"

spawn_() {
	"$@" &
	spawned_="$spawned_ $!"
}

# gdb_ OUT ARGS...: a batch GDB session with the plugin sourced; the
# output (stdout and stderr, the source directory written as SRC) goes to
# OUT. Each "=== NAME" echo starts a section of the output, which ends
# at the next section or empty line.
gdb_() {
	out_=$1; shift
	"$GDB" -nx -batch -iex 'set pagination off' -iex 'set width 0' \
		-ex "source $PLUGIN" "$@" </dev/null >"$out_.raw" 2>&1
	rc_=$?
	# GDB names a file as DWARF does: relative to the build directory
	# when configure was run with a relative path
	sed -e "s|$TSRC/|SRC/|g" -e "s|$srcdir/|SRC/|g" \
	    -e 's|\(\.\./\)\{1,\}tests/targets/gdb/|SRC/|g' \
	    -e 's/0x0000[0-9a-f]\{12\}/ADDR/g' -e 's/0x5[0-9a-f]\{11\}/ADDR/g' \
	    -e 's/process [0-9][0-9]*/process PID/g' "$out_.raw" >"$out_"
	return $rc_
}

# section_ OUT NAME: the lines of section NAME of a gdb_ output.
section_() {
	awk -v n="=== $2" '$0 == n { on = 1; next } /^=== / || /^$/ { on = 0 } on' "$1"
}

# check_section_ OUT NAME: section NAME must be exactly stdin.
check_section_() {
	cat >"$tmp/expected"
	section_ "$1" "$2" >"$tmp/got"
	diff -u "$tmp/expected" "$tmp/got" >"$tmp/diff" || {
		cat "$tmp/diff" >&2
		echo "--- whole session:" >&2
		cat "$1" >&2
		fail_ "section '$2' differs"
	}
}

# mark_ NAME: the -ex arguments that print a section header.
mark_() { printf '%s\n' "echo === $1\\n"; }
