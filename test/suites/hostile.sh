#!/usr/bin/env bash
# test/suites/hostile.sh: hostile calls, from test/reliability/hostile.sql.
#
# A cluster of its own.  The corpus' set-up part stores the documents to
# protect and makes hostile roles and look-alike objects; then each entry
# runs in its own transaction of one session and must end with the SQLSTATE
# it names.  An entry expected to fail is committed, so that a call that
# wrongly succeeded would show; one expected to succeed (00000) checks its
# own results and is rolled back.  After every entry the stored data must be
# byte-for-byte what it was, and at the end the server must never have
# crashed: same postmaster start time, no "terminated by signal" nor crash
# restart in its log.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"

corpus=$UM_ROOT/test/reliability/hostile.sql
# Errors print tersely: their details would repeat megabyte-sized ids
UM_PG_OPTS="-c log_error_verbosity=terse -c log_min_error_statement=panic"
um_start_cluster hostile
export PGHOST=$hostile_HOST PGPORT=$hostile_PORT PGUSER=postgres PGDATABASE=postgres
rel_sql -c 'CREATE EXTENSION user_metadata'
started=$(rel_sql -c 'SELECT pg_postmaster_start_time()')

# Every row with its document's exact bytes (the set-up creates the cast)
checksum="SELECT md5(string_agg(ROW(app_id, user_id, metadata::bytea, created_at, updated_at)::text, E'\\n'
	ORDER BY app_id, user_id)) AS sum FROM user_metadata.user_metadata \\gset"

# The corpus as one psql script: entries start at lines "--! SQLSTATE what";
# each prints "result N SQLSTATE CHECKSUM"; expectations go to a side file.
script=$hostile_DIR/hostile.psql
expected=$hostile_DIR/expected
awk -v checksum="$checksum" -v expected="$expected" '
	function close_entry() {
		if (n == 0) return
		print "\\set state :SQLSTATE"
		print (state == "00000" ? "ROLLBACK;" : "COMMIT;")
		print "\\unset sum"
		print checksum
		print "\\echo result " n " :state :sum"
	}
	BEGIN { print "\\set ON_ERROR_STOP on" }
	/^--! / {
		if (n == 0) {
			print checksum
			print "\\echo baseline :sum"
			print "\\set ON_ERROR_STOP off"
		}
		close_entry()
		n++
		state = $2
		what = $0
		sub(/^--! [^ ]+ /, "", what)
		print n "\t" state "\t" what > expected
		print "\\warn entry " n
		print "BEGIN;"
		next
	}
	{ print }
	END { close_entry() }' "$corpus" >"$script"

results=$(psql -X -q -o /dev/null -v VERBOSITY=terse -f "$script") || um_log "psql ended with status $?"
declare -A got sums
while read -r kind n state sum; do
	case $kind in
		baseline) baseline=$n ;;
		result) got[$n]=$state sums[$n]=$sum ;;
	esac
done <<<"$results"
check_status "$([[ ${baseline:-} =~ ^[0-9a-f]{32}$ ]]; echo $?)" "hostile: the set-up stored the documents to protect"
# Each entry must leave the data as the one before left it, so that a change
# shows at the entry that made it
tried=$(wc -l <"$expected")
before=${baseline:-}
while IFS=$'\t' read -r n state what; do
	if [ "${got[$n]:-}" = "$state" ] && [ "${sums[$n]:-}" = "$before" ]; then
		check_status 0 "hostile $n: $what: $state"
	else
		case ${sums[$n]:-} in
			"$before") data=unchanged ;;
			"") data=unknown ;;
			*) data=CHANGED ;;
		esac
		check_status 1 "hostile $n: $what: $state (got ${got[$n]:-nothing}, data $data)"
	fi
	before=${sums[$n]:-$before}
done <"$expected"

check "hostile: the server never restarted during the $tried hostile inputs (pg_postmaster_start_time unchanged)" "$started" \
	"$(rel_sql -c 'SELECT pg_postmaster_start_time()')"
check "hostile: no backend terminated by a signal, no crash restart during the $tried hostile inputs (server log)" 0 \
	"$(grep -cE 'terminated by signal|reinitializing' "$hostile_DIR/server.log" || true)"
checks_done
