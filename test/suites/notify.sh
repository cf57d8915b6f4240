#!/usr/bin/env bash
# test/suites/notify.sh: change notifications.  One listening session makes
# writes of every kind and checks the payloads it receives between markers:
# one per user per committed transaction, none for a rollback, none while
# user_metadata.notify is off.  Prints TAP lines.
set -euo pipefail
source "$(dirname "$0")/../lib/tap.sh"
db=um_notify
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
	-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION user_metadata'

# psql prints a received notification after the command that brought it
received=$(psql -X -q -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL' |
LISTEN user_metadata;
SET user_metadata.notify = on;
\echo == two users, one twice, in one transaction
BEGIN;
SELECT FROM user_metadata.update_user_metadata('u1', '{"a":1}');
SELECT FROM user_metadata.update_user_metadata('u1', '{"b":2}');
SELECT FROM user_metadata.update_user_metadata('u2', '{"a":1}');
COMMIT;
\echo == rolled back
BEGIN;
SELECT FROM user_metadata.update_user_metadata('u3', '{"a":1}');
ROLLBACK;
\echo == set, clear and another app
SELECT FROM user_metadata.set_user_metadata('u4', '{"a":1}');
SELECT FROM user_metadata.clear_user_metadata('u4');
SELECT FROM user_metadata.update_user_metadata('u5', '{"a":1}', 'shop "eu"');
\echo == a direct write to the table
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('u6', '{}');
\echo == the Atlas procedure
BEGIN;
SET LOCAL user_metadata.user_id = 'u7';
CALL user_metadata.write_custom_user_data('{"a":1}');
COMMIT;
\echo == notify off
SET user_metadata.notify = off;
SELECT FROM user_metadata.update_user_metadata('u1', '{"c":3}');
\echo == end
SQL
	sed -n -e 's/^== \(.*\)/== \1/p' \
		-e 's/^Asynchronous notification "user_metadata" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p')

section() {				# the payloads between "== $1" and the next marker
	awk -v s="== $1" '$0 == s {on = 1; next} /^== / {on = 0} on' <<<"$received" | sort | paste -sd'|' -
}

check "one notification per user per committed transaction" \
	'{"app_id": "public", "user_id": "u1"}|{"app_id": "public", "user_id": "u2"}' "$(section 'two users, one twice, in one transaction')"
check "no notification for a rolled-back change" '' "$(section 'rolled back')"
check "set and clear each notify; the app id is escaped JSON" \
	'{"app_id": "public", "user_id": "u4"}|{"app_id": "public", "user_id": "u4"}|{"app_id": "shop \"eu\"", "user_id": "u5"}' \
	"$(section 'set, clear and another app')"
check "a direct write to the table notifies" '{"app_id": "public", "user_id": "u6"}' "$(section 'a direct write to the table')"
check "write_custom_user_data notifies" '{"app_id": "public", "user_id": "u7"}' "$(section 'the Atlas procedure')"
check "nothing is sent while user_metadata.notify is off" '' "$(section 'notify off')"
check "every payload is valid JSON" 0 "$(grep -v '^== ' <<<"$received" |
	while IFS= read -r p; do psql -X -At -d "$db" -c "SELECT \$\$$p\$\$::jsonb" >/dev/null 2>&1 || echo bad; done | wc -l)"

psql -X -q -d postgres -c "DROP DATABASE $db"
checks_done
