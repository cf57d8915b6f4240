# test/reliability/lib.sh: what the reliability suites (test/suites/crash.sh,
# upgrade.sh, hostile.sh) share: test/lib/cluster.sh, TAP lines, psql.
#
# Source it from a suite; end the suite with rel_done.

source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

REL_FAILED=0

# tap STATUS DESCRIPTION: one TAP line, "ok" when STATUS is 0
tap() {
	if [ "$1" -eq 0 ]; then
		echo "ok - $2"
	else
		echo "not ok - $2"
		REL_FAILED=1
	fi
}

# tap_is GOT WANT DESCRIPTION: ok when the two strings are equal
tap_is() {
	[ "$1" = "$2" ] || um_log "$3: got '$1', want '$2'"
	tap "$([ "$1" = "$2" ]; echo $?)" "$3"
}

# rel_sql [PSQL ARGS...]: psql that stops at the first error, unaligned output
rel_sql() {
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

# rel_done: the suite's exit status, non-zero when any TAP line failed
rel_done() {
	exit "$REL_FAILED"
}
