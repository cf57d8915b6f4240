#!/usr/bin/env bash
# test/bench/first_call.sh: the first call of a session, get_user_metadata_bulk
# of one id against the plain LEFT JOIN, on users just written (no ANALYZE
# yet: what a fresh import leaves).
#
# pgbench -C opens a new session for every call, so each latency holds the
# connection, the first dynamic load (for the bulk read) and the first plan.
# Contenders, in alternating rounds: SELECT 1 (the connection alone), the
# LEFT JOIN, the bulk read, and the bulk read with the library preloaded
# (session_preload_libraries).  Prints "round contender ms" lines and the
# median of each contender with its ratio to the LEFT JOIN.
#
# Usage: test/bench/first_call.sh [--users N] [--calls N] [--rounds N]
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
users=10000
calls=300
rounds=3
while [ $# -gt 0 ]; do
	case $1 in
		--users) users=$2; shift ;;
		--calls) calls=$2; shift ;;
		--rounds) rounds=$2; shift ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
um_build_install
UM_PG_OPTS="-c jit=off" um_start_cluster first_call
export PGHOST=$first_call_HOST PGPORT=$first_call_PORT PGUSER=postgres
work=$UM_TMP/first_call
mkdir -p "$work"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE EXTENSION user_metadata' \
	-c "SELECT count(user_metadata.set_user_metadata('u' || i, jsonb_build_object('i', i))) FROM generate_series(1, $users) i" >/dev/null
echo 'SELECT 1;' >"$work/connection.sql"
echo "SELECT m.user_id, m.metadata FROM unnest(ARRAY['u5']::text[]) WITH ORDINALITY AS i (id, n)
	LEFT JOIN user_metadata.user_metadata m ON m.app_id = 'public' AND m.user_id = i.id ORDER BY i.n;" >"$work/join.sql"
echo "SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['u5']::text[]);" >"$work/bulk.sql"

for round in $(seq "$rounds"); do
	for contender in connection join bulk bulk_preloaded; do
		script=$contender options=
		if [ $contender = bulk_preloaded ]; then
			script=bulk options="-c session_preload_libraries=user_metadata"
		fi
		PGOPTIONS=$options "$PGBIN/pgbench" -n -C -t "$calls" -f "$work/$script.sql" postgres 2>/dev/null |
			sed -n "s/^latency average = \([0-9.]*\) ms/$round $contender \1/p"
	done
done | tee "$work/lines"
echo "contender median_ms ratio_to_join"
sort -k2,2 -k3,3n "$work/lines" | awk '
	function median() { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	$2 != c { if (n) m[c] = median(); c = $2; n = 0 }
	{ a[++n] = $3 }
	END { m[c] = median(); for (k in m) printf "%s %.1f %.2f\n", k, m[k], m[k] / m["join"] }' | sort
