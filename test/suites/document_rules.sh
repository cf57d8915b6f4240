#!/usr/bin/env bash
# test/suites/document_rules.sh: per-app document rules across sessions, in
# a database of the main cluster (PGHOST, PGPORT).
#
# Rules committed in one session hold at the next write of a session that
# has already written (and checked the app's earlier rules), however they
# were written: through set_document_rules, or straight into the table in
# replica mode (logical replication's apply, pg_restore
# --disable-triggers); rules removed elsewhere stop holding at once; and
# set_document_rules waits for the writers under way (its SHARE lock), so
# that no write slips in between its check of the stored documents and its
# commit.
set -uo pipefail
source "$(dirname "$0")/../lib/suite.sh"
export PGUSER=${PGUSER:-postgres}
db=um_doc_rules

cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
trap 'cleanup; um_stop_clusters' EXIT
cleanup
rel_sql -d postgres -c "CREATE DATABASE $db"
rel_sql -d $db >/dev/null <<'SQL'
CREATE EXTENSION user_metadata;
SELECT user_metadata.set_document_rules('app_a', '{"keys": {"n": "number"}}');
SQL

# one psql session: rel_states (test/lib/suite.sh)
states() {
	rel_states $db "RESET ROLE" "$@"
}
# other NAME: a \! line running stdin's SQL in another session; its
# SQLSTATEs (verbose errors) go to $UM_TMP/doc_rules_NAME.out
other() {
	cat >"$UM_TMP/doc_rules_$1.sql"
	printf '\\! psql -X -q -v VERBOSITY=verbose -d %s -f %s 2>&1 | grep -oE "[0-9][0-9A-Z]{4}:" >%s; true' \
		"$db" "$UM_TMP/doc_rules_$1.sql" "$UM_TMP/doc_rules_$1.out"
}

check "document rules: rules changed by set_document_rules in another session hold at an open session's next write" \
	"00000 00000 23514" \
	"$(states "SELECT user_metadata.update_user_metadata('u1', '{\"n\": 1, \"s\": \"x\"}', 'app_a')" \
		"SELECT user_metadata.update_user_metadata('u1', '{\"n\": 2}', 'app_a')" \
		"$(other set <<<"SELECT user_metadata.set_document_rules('app_a', '{\"keys\": {\"n\": \"number\"}, \"max_keys\": 2}');")" \
		"SELECT user_metadata.update_user_metadata('u1', '{\"t\": 3}', 'app_a')")"

check "document rules: rules inserted with session_replication_role = replica hold at an open session's next write" \
	"00000 23514" \
	"$(states "SELECT user_metadata.set_user_metadata('u2', '{\"s\": 1}', 'app_b')" \
		"$(other replica <<<"SET session_replication_role = replica; INSERT INTO user_metadata.document_rules VALUES ('app_b', '{\"max_keys\": 0}');")" \
		"SELECT user_metadata.set_user_metadata('u2', '{\"s\": 1}', 'app_b')")"

check "document rules: rules removed in another session stop holding at an open session's next write" \
	"23514 00000" \
	"$(states "SELECT user_metadata.set_user_metadata('u3', '{\"s\": 1}', 'app_b')" \
		"$(other remove <<<"SELECT user_metadata.set_document_rules('app_b', NULL);")" \
		"SELECT user_metadata.set_user_metadata('u3', '{\"s\": 1}', 'app_b')")"

check "document rules: set_document_rules waits for a writer's open transaction (55P03 under lock_timeout)" \
	"00000 00000 00000 55P03:" \
	"$(states "BEGIN" \
		"SELECT user_metadata.set_user_metadata('u4', '{\"n\": \"four\"}', 'app_c')" \
		"$(other wait <<<"SET lock_timeout = '200ms'; SELECT user_metadata.set_document_rules('app_c', '{\"keys\": {\"n\": \"number\"}}');")" \
		"COMMIT") $(cat "$UM_TMP/doc_rules_wait.out")"
check "document rules: once the writer committed, its document is seen and the rules refused (23514)" 23514 \
	"$(states "SELECT user_metadata.set_document_rules('app_c', '{\"keys\": {\"n\": \"number\"}}')")"
checks_done
