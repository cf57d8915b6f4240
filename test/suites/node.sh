#!/usr/bin/env bash
# test/suites/node.sh: a real Node.js client.  Sets up a database with the
# extension, change notifications on and a restricted client role, then runs
# test/node's tests (node-postgres, node --test) and prints their TAP lines,
# then runs the example itself (node app.js).
set -euo pipefail
source "$(dirname "$0")/../lib/tap.sh"
db=um_node
role=um_node_client
node_dir=$(cd "$(dirname "$0")/../node" && pwd)

cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS $role" >&2
}
cleanup
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -v db=$db -v role=$role -d postgres -f "$node_dir/setup.sql" >&2

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
check_status $rc "node --test app.test.js passes"

# The example run on its own, as test/node/run-example runs it
rc=0
PGDATABASE=$db UM_CLIENT_ROLE=$role node app.js >"$node_dir/example.log" 2>&1 || rc=$?
cat "$node_dir/example.log" >&2
refreshed=$(sed -n 's/^refreshCustomData: //p' "$node_dir/example.log")
check_status "$([ $rc -eq 0 ] && [[ $refreshed == *'"favoriteFood":"pizza"'* && $refreshed == *'"sms":true'* &&
	$refreshed != *todos* ]]; echo $?)" "node app.js, the example, runs: merges through HTTP, writes as the client role"
rm -f "$node_dir/example.log"
checks_done
