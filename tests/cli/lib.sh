# lib.sh - shared by the CLI tests (sourced). Sets up a private directory
# with the fixed snapshot files and source files, and runs memsnap in it.
# Environment: MEMSNAP (the binary to test; default the offline test
# driver), UPDATE_GOLDEN=1 rewrites the expected files instead of checking.
set -u

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
srcdir=$(cd "$srcdir" && pwd)
BUILDDIR=${BUILDDIR:-$(pwd)}
EXPECTED=$srcdir/tests/cli/expected
MEMSNAP=${MEMSNAP:-$BUILDDIR/tests/cli/memsnap-offline}
GEN=${GEN:-$BUILDDIR/tests/cli/gen_snapshots}
FAILED=0
PASSED=0

fail_() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); }
pass_() { PASSED=$((PASSED + 1)); }
skip_() { echo "SKIP: $*" >&2; exit 77; }
framework_failure_() { echo "ERROR: $*" >&2; exit 99; }

setup_() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/memsnap-cli.XXXXXX") ||
		framework_failure_ "mktemp"
	trap 'rm -rf "$T"' EXIT
	"$GEN" "$T/old.msnap" "$T/new.msnap" ||
		framework_failure_ "gen_snapshots failed"
	mkdir "$T/src"
	# source files whose line N reads "line_N_of_NAME();"
	for f in main server json cache config; do
		i=1
		while [ $i -le 120 ]; do
			echo "    line_${i}_of_$f();"
			i=$((i + 1))
		done > "$T/src/$f.c"
	done
	cd "$T" || framework_failure_ "cd $T"
	# no terminal: no colours, no alignment, every line shown
	unset NO_COLOR
}

# run_ NAME ARGS...: runs memsnap, leaves stdout in $T/NAME.out, stderr in
# $T/NAME.err and the exit status in $RC.
run_() {
	name=$1
	shift
	"$MEMSNAP" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null
	RC=$?
}

# golden_ NAME ARGS...: stdout and the exit status must equal
# expected/NAME.out.
golden_() {
	name=$1
	run_ "$@"
	echo "exit: $RC" >> "$T/$name.out"
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$T/$name.out" "$EXPECTED/$name.out"
	fi
	if cmp -s "$EXPECTED/$name.out" "$T/$name.out"; then
		pass_
	else
		fail_ "$name: output differs from expected/$name.out"
		diff -u "$EXPECTED/$name.out" "$T/$name.out" >&2
		[ -s "$T/$name.err" ] && cat "$T/$name.err" >&2
	fi
}

finish_() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
