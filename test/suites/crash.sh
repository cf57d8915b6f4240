#!/usr/bin/env bash
# test/suites/crash.sh: crash durability of update_user_metadata.
#
# A cluster of its own with fsync and synchronous commit on.  Each round runs
# pgbench clients that merge one new key per transaction, kill -9s the server
# mid-run, restarts it through crash recovery and checks that every write
# whose COMMIT was acknowledged is there, that nothing that was never sent
# is, and that the table, its TOAST table and their indexes pass amcheck.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"

ROUNDS=5
CLIENTS=8
PER_DOC=50		# keys per user document: clients share documents

# Small WAL so that checkpoints run during the load, not only at start-up
UM_PG_OPTS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_wal_size=32MB"
um_start_cluster crash
export PGHOST=$crash_HOST PGPORT=$crash_PORT PGUSER=postgres PGDATABASE=postgres
data=$crash_DIR/data
rel_sql -c 'CREATE EXTENSION user_metadata' -c 'CREATE EXTENSION amcheck'

# Client c's n-th transaction (pgbench numbers them from 1) merges key
# "c<c>_<n>" = n into user u<n / PER_DOC> of app r<round>.  pgbench logs a
# transaction only once its COMMIT has returned.
cat >"$crash_DIR/update.sql" <<'EOF'
\set n :n + 1
BEGIN;
SELECT user_metadata.update_user_metadata('u' || (:n / :per_doc), jsonb_build_object('c' || :client_id || '_' || :n, :n), 'r' || :round);
COMMIT;
EOF

pgbench_pid=
cleanup() {
	[ -z "$pgbench_pid" ] || kill "$pgbench_pid" 2>/dev/null || true
	um_stop_clusters
}
trap cleanup EXIT

# wait_gone PID SHMID: wait until the dead server may be restarted.  pg_ctl and
# the new postmaster take the old PID for a running server as long as it
# exists, even as a zombie, so init must have reaped it; and every child must
# have detached from the shared memory (PostgreSQL checks that counter too).
wait_gone() {
	local postmaster=$1 shmid=$2 attached
	for _ in $(seq 600); do
		attached=$(awk -v id="$shmid" '$2 == id {print $7}' /proc/sysvipc/shm)
		[ ! -e "/proc/$postmaster" ] && [ "${attached:-0}" -eq 0 ] && return 0
		sleep 0.1
	done
	um_log "the killed server (PID $postmaster, shared memory $shmid) is still there"
	return 1
}

acked=$crash_DIR/acked		# lines "round client acknowledged highest-logged"
: >"$acked"
for round in $(seq "$ROUNDS"); do
	rm -f "$crash_DIR"/log.*
	"$PGBIN/pgbench" -n -M simple -c "$CLIENTS" -j 2 -T 60 \
		-D n=0 -D per_doc="$PER_DOC" -D round="$round" -f "$crash_DIR/update.sql" \
		-l --log-prefix="$crash_DIR/log" postgres >&2 &
	pgbench_pid=$!
	sleep "$((2 + RANDOM % 3)).$((RANDOM % 10))"

	# Odd rounds kill the postmaster alone (its children notice and exit),
	# even rounds its whole process group at once (pg_ctl makes it a
	# session leader), as an OOM kill or a power cut of the processes would.
	postmaster=$(sed -n 1p "$data/postmaster.pid")
	shmid=$(sed -n 7p "$data/postmaster.pid" | awk '{print $2}')
	if [ $((round % 2)) -eq 1 ]; then
		how="postmaster"
		kill -9 "$postmaster"
	else
		how="process group"
		kill -9 -- "-$postmaster"
	fi
	wait "$pgbench_pid" || true	# its clients fail once the server is gone
	pgbench_pid=
	wait_gone "$postmaster" "$shmid"
	runuser -u postgres -- "$PGBIN/pg_ctl" restart -D "$data" -l "$crash_DIR/server.log" -w -t 120 \
		>/dev/null

	# Per client: transactions logged and the highest number logged
	cat "$crash_DIR"/log.* | awk -v r="$round" -v clients="$CLIENTS" '
		{ count[$1]++; if ($2 > top[$1]) top[$1] = $2 }
		END { for (c = 0; c < clients; c++) print r, c, count[c] + 0, top[c] + 0 }' >>"$acked"
	um_log "round $round: killed the $how, $(awk -v r="$round" '$1 == r {s += $3} END {print s}' "$acked") writes acknowledged"
done

# The checks run on the restarted server after the last crash, so the writes
# of every round have been through one to five crash recoveries.
check "crash: pgbench logged each client's acknowledged transactions 1..k without gaps" 0 \
	"$(awk '$3 != $4' "$acked" | wc -l)"
recoveries=$(grep -c 'automatic recovery in progress' "$crash_DIR/server.log" || true)
check "crash: $ROUNDS kill -9 rounds (postmaster alone, whole process group), each followed by crash recovery" "$ROUNDS" \
	"$recoveries"

# Each check is a query of its own, so that one failing leaves the others
rel_sql -c 'CREATE TABLE acked (round int, client int, acked int, highest int)' \
	-c "\copy acked FROM '$acked' WITH (DELIMITER ' ')"
query() { rel_sql -c "$1" || echo '?'; }	# one value, '?' on error

# amcheck: the heap (with its TOAST) and every btree index of the table and
# of its TOAST table, each index entry matched against the heap
heap_problems=$(query "SELECT count(*) FROM verify_heapam('user_metadata.user_metadata', check_toast => true)")
toast_problems=$(query "SELECT count(*) FROM verify_heapam(
	(SELECT reltoastrelid FROM pg_class WHERE oid = 'user_metadata.user_metadata'::regclass))")
check "crash: verify_heapam finds no corruption in the table and its TOAST table" "0|0" \
	"$heap_problems|$toast_problems"
btrees=$(query "SELECT count(bt_index_parent_check(i.indexrelid, heapallindexed => true, rootdescend => true))
	FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
	JOIN pg_class t ON i.indrelid IN (t.oid, t.reltoastrelid)
	WHERE t.oid = 'user_metadata.user_metadata'::regclass AND am.amname = 'btree'")
check "crash: bt_index_parent_check (heapallindexed, rootdescend) passes the primary key and the TOAST index" 2 \
	"$btrees"

# Every acknowledged write, looked up by its app, user and key
IFS='|' read -r written lost <<<"$(query "
	SELECT count(*), count(*) FILTER (WHERE d.metadata -> ('c' || a.client || '_' || n) IS DISTINCT FROM to_jsonb(n))
	FROM acked a CROSS JOIN generate_series(1, a.acked) n
	LEFT JOIN user_metadata.user_metadata d ON d.app_id = 'r' || a.round AND d.user_id = 'u' || (n / $PER_DOC)")"
check_status "$([[ ${written:-} =~ ^[1-9][0-9]*$ ]] && [ "$lost" = 0 ]; echo $?)" \
	"crash: all ${written:-0} acknowledged writes present after $ROUNDS crashes, ${lost:-?} lost"

# Stored keys past the acknowledged ones: the one in flight per client may
# have committed without its acknowledgement arriving, any further one was
# never sent
IFS='|' read -r in_flight unsent <<<"$(query "
	SELECT count(*) FILTER (WHERE s.n = a.acked + 1), count(*) FILTER (WHERE s.n > a.acked + 1)
	FROM (SELECT substr(d.app_id, 2)::int AS round, split_part(substr(k, 2), '_', 1)::int AS client,
				 split_part(k, '_', 2)::int AS n
		  FROM user_metadata.user_metadata d, jsonb_object_keys(d.metadata) k) s
	JOIN acked a USING (round, client)")"
check "crash: no write beyond the one in flight per client (${in_flight:-?} unacknowledged commits survived)" 0 \
	"${unsent:-}"

# The GIN index finds each client's last acknowledged write
IFS='|' read -r client_rounds gin_found <<<"$(query "
	SET enable_seqscan = off;
	SELECT count(*), count(*) FILTER (WHERE EXISTS (
		SELECT FROM user_metadata.user_metadata d
		WHERE d.app_id = 'r' || a.round
		  AND d.metadata @> jsonb_build_object('c' || a.client || '_' || a.acked, a.acked)))
	FROM acked a WHERE a.acked > 0")"
check_status "$([[ ${client_rounds:-} =~ ^[1-9][0-9]*$ ]] && [ "$gin_found" = "$client_rounds" ]; echo $?)" \
	"crash: the GIN index finds the last acknowledged write of ${gin_found:-?} of ${client_rounds:-?} client rounds"
checks_done
