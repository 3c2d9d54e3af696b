# init.sh - shell library of the attacher's tests (sourced by *.test).
#
# Gives: fail_ (exit 1), skip_ (exit 77), framework_failure_ (exit 99), a
# private directory $tmp removed at exit, a timeout around the whole test
# ($MEMSNAP_TEST_TIMEOUT seconds, default 120), processes started with
# spawn_ killed at exit, and helpers to run memsnap on a target and compare
# `memsnap stats` with what the target's source says it allocates.
#
# Tests run from the top build directory (make check); $srcdir is found
# from the script's own path.

me_=${0##*/}
fail_() { printf '%s: FAIL: %s\n' "$me_" "$*" >&2; exit 1; }
skip_() { printf '%s: SKIP: %s\n' "$me_" "$*" >&2; exit 77; }
framework_failure_() { printf '%s: ERROR: %s\n' "$me_" "$*" >&2; exit 99; }

srcdir=$(cd "$(dirname "$0")/../.." && pwd) || framework_failure_ "no srcdir"
builddir=${MEMSNAP_BUILDDIR:-$PWD}
MEMSNAP=$builddir/memsnap
TARGETS=$builddir/tests/targets/attach
TARGET_SRC=$srcdir/tests/targets/attach
[ -x "$MEMSNAP" ] || framework_failure_ "$MEMSNAP is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memsnap-test.XXXXXX") ||
	framework_failure_ "mktemp failed"
spawned_=
cleanup_() {
	kill -TERM "$watchdog_" 2>/dev/null
	for p in $spawned_; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup_ EXIT
trap 'fail_ "timed out after ${MEMSNAP_TEST_TIMEOUT:-120} s"' USR2
# the watchdog takes its sleep down with it
( trap 'kill "$s_" 2>/dev/null; exit 0' TERM
  sleep "${MEMSNAP_TEST_TIMEOUT:-120}" & s_=$!
  wait "$s_" && kill -USR2 $$ 2>/dev/null ) > /dev/null 2>&1 &
watchdog_=$!

# spawn_ CMD...: start in the background (stdin /dev/null), remember for
# cleanup; pid in $!
spawn_() {
	"$@" &
	spawned_="$spawned_ $!"
}

# wait_for_ SECONDS CMD...: poll until CMD succeeds.
wait_for_() {
	n_=$(( $1 * 50 )); shift
	while [ "$n_" -gt 0 ]; do
		"$@" && return 0
		sleep 0.02
		n_=$((n_ - 1))
	done
	return 1
}

# expected_ SRC: the `memsnap stats` lines the markers "@NAME SIZE" or
# "@NAME SIZE xCOUNT" of SRC promise, sorted.
expected_() {
	awk -v f="${1##*/}" '
	match($0, /@[A-Za-z_0-9]+ [0-9]+( x[0-9]+)?/) {
		n = split(substr($0, RSTART, RLENGTH), w, " ")
		count = n > 2 ? substr(w[3], 2) : 1
		printf "%s:%d: size=%d B, count=%d\n", f, NR, w[2] * count, count
	}' "$1" | LC_ALL=C sort
}

# stats_ FILE [ARGS]: memsnap stats with paths cut to their base name,
# sorted.
stats_() {
	"$MEMSNAP" stats --bytes --limit 0 "$@" > "$tmp/stats.raw" ||
		fail_ "memsnap stats $* failed"
	sed -e '/^Total: /d' -e 's/, average=.*//' -e 's|^[^:]*/||' \
		"$tmp/stats.raw" | LC_ALL=C sort
}

# check_stats_ SNAPSHOT SRC: the snapshot holds exactly what SRC promises.
check_stats_() {
	expected_ "$2" > "$tmp/expected"
	stats_ "$1" > "$tmp/actual"
	diff -u "$tmp/expected" "$tmp/actual" >&2 ||
		fail_ "snapshot $1 differs from what ${2##*/} allocates"
}

# run_dump_ SNAPSHOT [MEMSNAP OPTIONS] -- TARGET ARGS: memsnap run with a
# snapshot at the target's exit; the target must exit 0.
run_dump_() {
	snap_=$1; shift
	timeout -s KILL 60 "$MEMSNAP" run --dump-on-exit "$snap_" "$@" \
		2> "$tmp/memsnap.err" ||
		{ cat "$tmp/memsnap.err" >&2; fail_ "memsnap run $* exited $?"; }
	[ -f "$snap_" ] || { cat "$tmp/memsnap.err" >&2; fail_ "no snapshot $snap_"; }
}

# attach_snapshot_ SNAPSHOT [MEMSNAP OPTIONS] -- TARGET ARGS: start TARGET
# in attach mode, attach memsnap, take a snapshot with SIGUSR1 once the
# target is ready, detach with SIGTERM, let the target finish (exit 0).
attach_snapshot_() {
	snap_=$1; shift
	opts_=
	while [ "$1" != "--" ]; do opts_="$opts_ $1"; shift; done
	shift
	rm -f "$tmp/in" "$tmp/out"
	mkfifo "$tmp/in" || framework_failure_ "mkfifo"
	: > "$tmp/out"
	# read-write: opening a fifo so does not wait for the other end
	exec 7<> "$tmp/in"
	# not through spawn_: a background command without its own
	# redirection gets /dev/null as stdin
	"$@" attach < "$tmp/in" > "$tmp/out" &
	target_pid_=$!
	spawned_="$spawned_ $!"
	wait_for_ 20 grep -q waiting "$tmp/out" || fail_ "target never started"
	# shellcheck disable=SC2086
	spawn_ "$MEMSNAP" attach $opts_ -o "$tmp/snap" "$target_pid_" \
		2> "$tmp/memsnap.err"
	memsnap_pid_=$!
	wait_for_ 20 grep -q ready "$tmp/out" ||
		{ cat "$tmp/memsnap.err" >&2; fail_ "target never got ready"; }
	# a test may act on the ready target first
	if command -v after_ready_ > /dev/null; then after_ready_; fi
	kill -USR1 "$memsnap_pid_"
	wait_for_ 20 test -f "$tmp/snap.0.msnap" ||
		{ cat "$tmp/memsnap.err" >&2; fail_ "no snapshot after SIGUSR1"; }
	kill -TERM "$memsnap_pid_"
	wait "$memsnap_pid_" ||
		{ cat "$tmp/memsnap.err" >&2; fail_ "memsnap attach exited $?"; }
	echo >&7
	exec 7>&-
	wait "$target_pid_" || fail_ "target exited $? after the detach"
	mv "$tmp/snap.0.msnap" "$snap_"
}

# check_own_stats_ SNAPSHOT SRC: the lines of SRC's own call sites are
# exactly what SRC promises (the C library's own blocks, e.g. thread
# stacks and TLS, are left out).
check_own_stats_() {
	expected_ "$2" > "$tmp/expected"
	stats_ "$1" | grep "^${2##*/}:" > "$tmp/actual"
	diff -u "$tmp/expected" "$tmp/actual" >&2 ||
		fail_ "snapshot $1 differs from what ${2##*/} allocates"
}
