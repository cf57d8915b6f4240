#!/usr/bin/env bash
# test/suites/concurrency.sh: no lost updates under concurrency.  pgbench
# runs 8 clients x 200 transactions against one user, each adding its own
# key, for an existing row and for a user with no row yet; then a clear and
# an update race in both orders and in a storm; then the change history
# under 8 writers of one user.  Prints TAP lines.
set -euo pipefail
source "$(dirname "$0")/../lib/tap.sh"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
db=um_concurrency
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }

PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
sql -c 'CREATE EXTENSION user_metadata'

clients=8
per_client=200
missing_keys() {
	sql -c "SELECT count(*) FROM generate_series(0, $clients - 1) c, generate_series(1, $per_client) n
			WHERE NOT user_metadata.get_user_metadata('$1') ? ('c' || c || '_' || n)"
}
# Each client numbers its own transactions in the pgbench variable n.
for user in existing fresh; do
	[ "$user" = existing ] && sql -c "SELECT user_metadata.set_user_metadata('existing', '{\"base\": true}')" >/dev/null
	cat >"$work/add_key.sql" <<SQL
\set n :n + 1
SELECT user_metadata.update_user_metadata('$user', jsonb_build_object('c' || :client_id || '_' || :n, :n));
SQL
	"$PGBIN/pgbench" -n -c $clients -j 2 -t $per_client -D n=0 -f "$work/add_key.sql" "$db" \
		>"$work/pgbench_$user.log" 2>&1 || cat "$work/pgbench_$user.log" >&2
	check "$clients x $per_client concurrent updates of one $user user: no key lost" 0 "$(missing_keys $user)"
	check "$clients x $per_client concurrent updates of one $user user: no transaction failed" \
		"$((clients * per_client))" "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench_$user.log")"
done
check "the existing user's earlier keys survive" true "$(sql -c "SELECT user_metadata.get_user_metadata('existing') -> 'base'")"

# clear and update racing on one row: whichever commits second wins whole
race() {				# race FIRST SECOND: FIRST holds its row lock while SECOND waits
	sql -c "SELECT user_metadata.set_user_metadata('racer', '{\"before\": 1}')" >/dev/null
	sql -c "BEGIN" -c "SELECT $1" -c "SELECT pg_sleep(0.5)" -c "COMMIT" >/dev/null &
	sleep 0.2
	sql -c "SELECT $2" >/dev/null
	wait
	sql -c "SELECT coalesce((SELECT metadata::text FROM user_metadata.user_metadata WHERE user_id = 'racer'), 'no row')"
}
check "clear then a waiting update: the update lands on an empty document" '{"x": 1}' \
	"$(race "user_metadata.clear_user_metadata('racer')" "user_metadata.update_user_metadata('racer', '{\"x\": 1}')")"
check "update then a waiting clear: the row is gone" 'no row' \
	"$(race "user_metadata.update_user_metadata('racer', '{\"x\": 1}')" "user_metadata.clear_user_metadata('racer')")"

# A storm of clears and updates: never an error, and the end state is a valid one
cat >"$work/storm.sql" <<'SQL'
\set op random(0, 1)
SELECT CASE WHEN :op = 0 THEN user_metadata.clear_user_metadata('storm')::text
	   ELSE user_metadata.update_user_metadata('storm', '{"x": 1}')::text END;
SQL
sql -c "SELECT user_metadata.set_user_metadata('storm', '{\"before\": 1}')" >/dev/null
"$PGBIN/pgbench" -n -c 4 -j 2 -t 200 -f "$work/storm.sql" "$db" >"$work/storm.log" 2>&1 || cat "$work/storm.log" >&2
check "800 racing clears and updates: no transaction failed" 800 \
	"$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/storm.log")"
check "racing clears and updates end with no row or exactly the update's document" t \
	"$(sql -c "SELECT coalesce((SELECT metadata = '{\"x\": 1}' FROM user_metadata.user_metadata WHERE user_id = 'storm'), true)")"

# The change history under 8 writers of one user: every committed write
# has exactly one row, in commit order, and every row's document is the
# one before with its patch merged in
sql -c "SELECT user_metadata.set_history('public', true)" >/dev/null
cat >"$work/history.sql" <<'SQL'
\set n :n + 1
SELECT user_metadata.update_user_metadata('hist', jsonb_build_object('c' || :client_id, :n));
SQL
"$PGBIN/pgbench" -n -c $clients -j 2 -t $per_client -D n=0 -f "$work/history.sql" "$db" \
	>"$work/pgbench_history.log" 2>&1 || cat "$work/pgbench_history.log" >&2
check "history: $clients x $per_client concurrent updates of one user, one row each" "$((clients * per_client))" \
	"$(sql -c "SELECT count(*) FROM user_metadata.user_metadata_history WHERE user_id = 'hist'")"
check "history: each client's writes appear in the order it made them, with times in the same order" 0 \
	"$(sql -c "SELECT count(*) FROM (SELECT e.n::int AS n, row_number() OVER (PARTITION BY e.c ORDER BY h.seq) AS nth,
			h.changed_at, lag(h.changed_at) OVER (ORDER BY h.seq) AS before
		FROM user_metadata.user_metadata_history h, jsonb_each_text(h.patch) AS e (c, n) WHERE h.user_id = 'hist') o
		WHERE n <> nth OR changed_at < before")"
check "history: every row's document is the one before with its patch merged in" 0 \
	"$(sql -c "SELECT count(*) FROM (SELECT patch, metadata, lag(metadata, 1, '{}') OVER (ORDER BY ord) AS prev
		FROM user_metadata.user_metadata_history('hist') WITH ORDINALITY AS h (changed_at, changed_by, patch, metadata, by_user, ord)) r
		WHERE user_metadata.jsonb_merge(prev, patch) <> metadata")"
check "history: the last row's document is the stored one" t \
	"$(sql -c "SELECT (SELECT metadata FROM user_metadata.user_metadata_history('hist') WITH ORDINALITY h ORDER BY ordinality DESC LIMIT 1)
		= user_metadata.get_user_metadata('hist')")"
check "history: whole documents at most every 16th row" t \
	"$(sql -c "SELECT count(*) FILTER (WHERE metadata IS NOT NULL) <= count(*) / 16 + 1 FROM user_metadata.user_metadata_history WHERE user_id = 'hist'")"

psql -X -q -d postgres -c "DROP DATABASE $db"
checks_done
