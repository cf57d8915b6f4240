# test/lib/tap.sh: the TAP lines of test/run and of every suite in
# test/suites, and test/run's count of them.
#
# A suite sources it, reports with the functions below, and ends with
# checks_done (its exit status says whether every check passed):
#   check DESCRIPTION EXPECTED ACTUAL  ok when the two strings are equal; a
#                                      failure shows both as # lines
#   check_ok DESCRIPTION COMMAND...    ok when COMMAND exits 0 (output discarded)
#   check_status STATUS DESCRIPTION    ok when STATUS is 0
#   check_skip DESCRIPTION REASON      "ok - DESCRIPTION # SKIP REASON": not run
#                                      here (e.g. Citus missing), counted as skipped
# test/run reads the lines with tap_count and ends with tap_summary.

TAP_PASSED=0
TAP_FAILED=0
TAP_SKIPPED=0

# tap_line STATUS DESCRIPTION: one line, "ok" when STATUS is 0
tap_line() {
	if [ "$1" -eq 0 ]; then
		printf 'ok - %s\n' "$2"
	else
		printf 'not ok - %s\n' "$2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# tap_diag LABEL VALUE: a TAP diagnostic, one "#" line per line of VALUE
tap_diag() {
	printf '%s\n' "$2" | sed "s/^/#   $1: /"
}

check() {
	if [ "$2" = "$3" ]; then
		tap_line 0 "$1"
	else
		tap_line 1 "$1"
		tap_diag expected "$2"
		tap_diag got "$3"
	fi
}

check_ok() {
	local what=$1
	shift
	local rc=0
	"$@" >/dev/null 2>&1 || rc=$?
	tap_line "$rc" "$what"
}

check_status() {
	tap_line "$1" "$2"
}

check_skip() {
	printf 'ok - %s # SKIP %s\n' "$1" "$2"
}

checks_done() {
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	exit 0
}

# tap_count: echo TAP lines from stdin, counting them in TAP_PASSED,
# TAP_FAILED and TAP_SKIPPED ("ok ... # SKIP ..." is skipped, not passed)
tap_count() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
			"ok "*"# "[Ss][Kk][Ii][Pp]*) TAP_SKIPPED=$((TAP_SKIPPED + 1)) ;;
			"ok "* | "ok") TAP_PASSED=$((TAP_PASSED + 1)) ;;
			"not ok "* | "not ok") TAP_FAILED=$((TAP_FAILED + 1)) ;;
		esac
	done
}

# pg_regress_results LOG: "ok NAME" or "FAILED NAME" for each test in a
# pg_regress log.  15 prints "test NAME ... ok"; 16 and later print TAP,
# "ok N - NAME  T ms" ("not ok" on failure, "+" for "-" in a parallel group)
pg_regress_results() {
	sed -nE -e 's/^(test| ) *([a-z0-9_]+) +\.\.\. (ok|FAILED).*/\3 \2/p' \
		-e 's/^ok +[0-9]+ +[-+] +([a-z0-9_]+) .*/ok \1/p' \
		-e 's/^not ok +[0-9]+ +[-+] +([a-z0-9_]+) .*/FAILED \1/p' "$1"
}

# tap_summary: the final line; fails when a check failed or none passed
tap_summary() {
	echo "$TAP_PASSED passed, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	[ "$TAP_FAILED" -eq 0 ] && [ "$TAP_PASSED" -gt 0 ]
}
