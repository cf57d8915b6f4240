#!/usr/bin/env bash
# test/suites/node.sh: a real Node.js client.  Sets up a database with the
# extension, change notifications on and a restricted client role, then runs
# test/node's tests (node-postgres, node --test) and prints their TAP lines.
set -euo pipefail
db=um_node
role=um_node_client
node_dir=$(cd "$(dirname "$0")/../node" && pwd)

cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS $role" >&2
}
cleanup
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres >&2 <<SQL
CREATE DATABASE $db;
CREATE ROLE $role LOGIN;
ALTER DATABASE $db SET user_metadata.notify = on;
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >&2 <<SQL
CREATE EXTENSION user_metadata;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO $role;
GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO $role;
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO $role;
SQL

cd "$node_dir"
if [ ! -d node_modules ]; then
	npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2
fi

# node's TAP reporter indents subtests and adds YAML blocks: the whole report
# goes to stderr, its unindented result lines to stdout
report=$(mktemp)
rc=0
PGDATABASE=$db UM_CLIENT_ROLE=$role node --test --test-reporter=tap app.test.js >"$report" 2>&1 || rc=$?
cat "$report" >&2
grep -E '^(ok|not ok) ' "$report" || true
rm -f "$report"
exit $rc
