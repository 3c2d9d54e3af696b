# cli-lib.sh - helpers of the live command line's tests (sourced after
# init.sh): the grow target, whose every input line allocates three blocks
# of 4000 bytes at the line marked @grow of grow.c.

GROW_LINE=$(grep -n '@grow' "$TARGET_SRC/grow.c" | cut -d: -f1)

# start_grow_: starts `grow attach` reading the fifo on fd 7; pid in $gpid.
start_grow_() {
	rm -f "$tmp/in" "$tmp/out"
	mkfifo "$tmp/in" || framework_failure_ "mkfifo"
	exec 7<> "$tmp/in"
	# without fd 7: the fifo's last writer closing is the target's end
	"$TARGETS/grow" attach < "$tmp/in" > "$tmp/out" 7>&- &
	gpid=$!
	spawned_="$spawned_ $gpid"
	wait_for_ 20 grep -q waiting "$tmp/out" || fail_ "target never started"
}

# grow_: one more line to the target; waits until it allocated (the Nth
# "grew" line, N = $1).
grew_() {
	test "$(grep -c grew "$tmp/out")" -ge "$1"
}
grow_() {
	echo >&7
	wait_for_ 20 grew_ "$1" || fail_ "the target did not allocate ($1)"
}

# end_grow_: the target, detached, still allocates (no breakpoint is
# left: it would die of SIGTRAP) and exits 0 at the end of its input.
end_grow_() {
	kill -0 "$gpid" 2>/dev/null || fail_ "the target died while traced"
	n_=$(grep -c grew "$tmp/out")
	grow_ $((n_ + 1))
	exec 7>&-
	wait "$gpid" || fail_ "target exited $? after the detach"
}

# strip_: file paths cut to their base name.
strip_() {
	sed -e 's|^[^ :]*/||' "$@"
}
