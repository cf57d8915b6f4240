#!/usr/bin/env bash
# test/suites/admin_scopes.sh: per-app admin scopes across sessions, in a
# database of the main cluster (PGHOST, PGPORT).
#
# A scope committed in one session confines a role at the next call of a
# session that has already used the admin API, however the scope was
# written: by a plain INSERT, in replica mode (logical replication's apply,
# pg_restore --disable-triggers), or with the table's triggers disabled;
# and a session whose reading of the scopes was cut short by an error (a
# lock timeout while another session holds the table) is still confined
# afterwards: the check fails closed.  On 1.2's library the replica-mode
# and DISABLE TRIGGER cases failed open (issue 17).
set -uo pipefail
source "$(dirname "$0")/../lib/suite.sh"
export PGUSER=${PGUSER:-postgres}
db=um_scopes

cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS um_scoped_a" \
		-c "DROP ROLE IF EXISTS um_scoped_b" -c "DROP ROLE IF EXISTS um_scoped_c"
}
trap 'cleanup; um_stop_clusters' EXIT
cleanup
rel_sql -d postgres -c "CREATE DATABASE $db" -c "CREATE ROLE um_scoped_a" -c "CREATE ROLE um_scoped_b" \
	-c "CREATE ROLE um_scoped_c"
rel_sql -d $db >/dev/null <<'SQL'
CREATE EXTENSION user_metadata;
GRANT EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) TO um_scoped_a, um_scoped_b, um_scoped_c;
SELECT user_metadata.set_user_metadata('u', '{"x":1}', 'app_b');
SQL

# a psql session as role $ROLE (um_scoped_a): rel_states (test/lib/suite.sh)
states() {
	rel_states $db "SET ROLE ${ROLE:-um_scoped_a}" "$@"
}

# 1. a scope added in another session takes effect in a session that used the admin API
check "admin scopes: a scope committed elsewhere confines an open session at its next call" "00000 42501" \
	"$(states "SELECT user_metadata.get_user_metadata('u', 'app_b')" \
		"\\! psql -X -q -d $db -c \"INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped_a', 'app_a')\"" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')")"

# 2. a scope written in replica mode, where no trigger fires
check "admin scopes: a scope inserted with session_replication_role = replica confines an open session at its next call" \
	"00000 42501" \
	"$(ROLE=um_scoped_b states "SELECT user_metadata.get_user_metadata('u', 'app_b')" \
		"\\! psql -X -q -d $db -c \"SET session_replication_role = replica\" -c \"INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped_b', 'app_a')\"" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')")"

# 3. a scope written while the table's triggers are disabled (disabled
# before the session's first call: ALTER TABLE itself invalidates caches)
rel_sql -d $db -c "ALTER TABLE user_metadata.admin_scopes DISABLE TRIGGER USER"
check "admin scopes: a scope inserted with the table's triggers disabled confines an open session at its next call" \
	"00000 42501" \
	"$(ROLE=um_scoped_c states "SELECT user_metadata.get_user_metadata('u', 'app_b')" \
		"\\! psql -X -q -d $db -c \"INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped_c', 'app_a')\"" \
		"SELECT user_metadata.get_user_metadata('u', 'app_b')")"
rel_sql -d $db -c "ALTER TABLE user_metadata.admin_scopes ENABLE TRIGGER USER"

# 4. the session's first read of the scopes times out on a lock; the holder
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
