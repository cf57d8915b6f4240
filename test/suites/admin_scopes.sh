#!/usr/bin/env bash
# test/suites/admin_scopes.sh: per-app admin scopes across sessions, in a
# database of the main cluster (PGHOST, PGPORT).
#
# A scope committed in one session confines a role in a session that had
# already cached the scopes; and a session whose reading of the scopes was
# cut short by an error (a lock timeout while another session holds the
# table) stays confined afterwards: the cache fails closed.
set -uo pipefail
source "$(dirname "$0")/../reliability/lib.sh"
export PGUSER=${PGUSER:-postgres}
db=um_scopes

cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS um_scoped_a"
}
trap 'cleanup; um_stop_clusters' EXIT
cleanup
rel_sql -d postgres -c "CREATE DATABASE $db" -c "CREATE ROLE um_scoped_a"
rel_sql -d $db >/dev/null <<'SQL'
CREATE EXTENSION user_metadata;
GRANT EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) TO um_scoped_a;
SELECT user_metadata.set_user_metadata('u', '{"x":1}', 'app_b');
SQL

# psql session as um_scoped_a: the SQLSTATE of each SQL statement, 00000 if
# none (psql meta-commands such as \! run between them and report nothing)
states() {
	local s
	for s in "$@"; do
		case $s in
			\\*) printf '%s\n' "$s" ;;
			*) printf '%s;\n%s\n' "$s" '\echo :SQLSTATE' ;;
		esac
	done |
		psql -X -q -At -d $db -c 'SET ROLE um_scoped_a' -f - 2>/dev/null | grep -E '^[0-9A-Z]{5}$' | paste -sd' '
}

# 1. a scope added in another session takes effect in a session that cached the scopes
check "admin scopes: a scope committed elsewhere confines a session that had cached the scopes" "00000 42501" \
	"$(states "SELECT user_metadata.get_user_metadata('u', 'app_b')" \
		"\\! psql -X -q -d $db -c \"INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped_a', 'app_a')\"" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')")"

# 2. the session's first read of the scopes times out on a lock; the holder
# then rolls back (no invalidation is sent): the session is still confined
psql -X -q -d $db -c "SET application_name = um_scopes_locker" \
	-c "BEGIN" -c "LOCK TABLE user_metadata.admin_scopes IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(600)" \
	>/dev/null 2>&1 &
locker=$!
for _ in $(seq 1 600); do
	[ "$(rel_sql -d $db -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'um_scopes_locker'
		AND state = 'active' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
	sleep 0.1
done
stop_locker="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'um_scopes_locker'"
check "admin scopes: a session whose reading of the scopes failed is still confined afterwards (fails closed)" \
	"55P03 42501" \
	"$(states "SET lock_timeout = '200ms'" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')" \
		"\\! psql -X -q -At -d $db -c \"$stop_locker\" >/dev/null" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')" | cut -d' ' -f2-)"
wait "$locker" 2>/dev/null
checks_done
