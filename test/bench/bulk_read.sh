#!/usr/bin/env bash
# test/bench/bulk_read.sh: get_user_metadata_bulk against the plain LEFT JOIN
# it stands for, from every kind of caller, on a table of 1 000 000 users
# (issue 17: the bulk read at most 1.5x the LEFT JOIN, 1 to 100 000 ids, the
# first call of a session included).
#
# The contenders, on the same ids (one random set per size, a quarter of
# them unknown users), read from table bench_ids by the same subquery:
#   bulk:  SELECT count(metadata) FROM user_metadata.get_user_metadata_bulk(ids)
#   join:  SELECT count(m) FROM (SELECT ids.id, COALESCE(t.metadata, '{}') AS m
#          FROM unnest(ids) WITH ORDINALITY ids (id, ord) LEFT JOIN
#          user_metadata.user_metadata t ON t.app_id = 'public' AND
#          t.user_id = ids.id ORDER BY ids.ord) s
# (count of the documents, so that the planner cannot remove the join)
# as a superuser (the join needs the table; the admin path is the same for
# any role the scopes let through).  Callers:
#   top-level  pgbench -M simple, one statement per transaction
#   prepared   pgbench -M prepared
#   first call pgbench -M simple -C: a new session for every call
#   PL/pgSQL   a loop in one function call, each call timed with clock_timestamp()
#   procedure  pgbench: CALL of a procedure that runs the statement
# Medians of per-call latencies (pgbench --log; the loop's own timings), in
# ms, after a warm-up; the two contenders alternate in three rounds.  Writes
# test/bench/results/bulk_read.md.
#
# Usage: test/bench/bulk_read.sh [--users N] [--sizes "1 10 ..."] [--calls N]
#   --calls: calls per case at up to 1 000 ids (fewer for larger sizes)
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
users=1000000
sizes="1 10 100 1000 10000 100000"
calls=200
out=$UM_ROOT/test/bench/results/bulk_read.md
while [ $# -gt 0 ]; do
	case $1 in
		--users) users=$2; shift ;;
		--sizes) sizes=$2; shift ;;
		--calls) calls=$2; shift ;;
		--out) out=$2; shift ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
um_install_packages postgresql-server-dev-15
um_build_install
UM_PG_OPTS="-c shared_buffers=1GB -c jit=off" um_start_cluster bench
export PGHOST=$bench_HOST PGPORT=$bench_PORT PGUSER=postgres
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }
work=$UM_TMP/bulk_read
mkdir -p "$work"

um_log "loading $users users"
sql <<SQL
CREATE EXTENSION user_metadata;
INSERT INTO user_metadata.user_metadata (user_id, metadata)
SELECT 'user-' || i, jsonb_build_object('theme', 'dark', 'n', i, 'flags', jsonb_build_array(i % 7, i % 11))
FROM generate_series(1, $users) i;
VACUUM ANALYZE user_metadata.user_metadata;
CREATE EXTENSION pg_prewarm;
SELECT pg_prewarm('user_metadata.user_metadata'), pg_prewarm('user_metadata.user_metadata_pkey');
CREATE TABLE bench_ids (n int PRIMARY KEY, ids text[] NOT NULL);
INSERT INTO bench_ids
SELECT n, ARRAY(SELECT 'user-' || (1 + floor(random() * $users * 4 / 3))::bigint FROM generate_series(1, n))
FROM unnest('{${sizes// /,}}'::int[]) n;
CREATE PROCEDURE bulk_proc(n int) LANGUAGE plpgsql AS \$\$
DECLARE
	c bigint;
BEGIN
	SELECT count(metadata) INTO c FROM user_metadata.get_user_metadata_bulk((SELECT ids FROM bench_ids b WHERE b.n = bulk_proc.n));
END \$\$;
CREATE PROCEDURE join_proc(n int) LANGUAGE plpgsql AS \$\$
DECLARE
	c bigint;
BEGIN
	SELECT count(m) INTO c FROM (SELECT ids.id, COALESCE(t.metadata, '{}') AS m
		FROM unnest((SELECT ids FROM bench_ids b WHERE b.n = join_proc.n)) WITH ORDINALITY ids (id, ord)
		LEFT JOIN user_metadata.user_metadata t ON t.app_id = 'public' AND t.user_id = ids.id
		ORDER BY ids.ord) s;
END \$\$;
-- ms of each of reps calls in one PL/pgSQL loop, after one warm-up call
CREATE FUNCTION loop_ms(which text, n int, reps int) RETURNS float8[] LANGUAGE plpgsql AS \$\$
DECLARE
	v_ids text[] := (SELECT ids FROM bench_ids b WHERE b.n = loop_ms.n);
	t timestamptz;
	ms float8[] := '{}';
	c bigint;
BEGIN
	FOR r IN 0..reps LOOP
		t := clock_timestamp();
		IF which = 'bulk' THEN
			SELECT count(metadata) INTO c FROM user_metadata.get_user_metadata_bulk(v_ids);
		ELSE
			SELECT count(m) INTO c FROM (SELECT ids.id, COALESCE(t.metadata, '{}') AS m
				FROM unnest(v_ids) WITH ORDINALITY ids (id, ord)
				LEFT JOIN user_metadata.user_metadata t ON t.app_id = 'public' AND t.user_id = ids.id
				ORDER BY ids.ord) s;
		END IF;
		IF r > 0 THEN
			ms := ms || extract(epoch FROM clock_timestamp() - t) * 1000;
		END IF;
	END LOOP;
	RETURN ms;
END \$\$;
SQL

statement() {			# statement bulk|join N: the contender's top-level statement
	local ids="(SELECT ids FROM bench_ids WHERE n = $2)"
	if [ "$1" = bulk ]; then
		echo "SELECT count(metadata) FROM user_metadata.get_user_metadata_bulk($ids);"
	else
		echo "SELECT count(m) FROM (SELECT ids.id, COALESCE(t.metadata, '{}') AS m FROM unnest($ids) WITH ORDINALITY ids (id, ord) LEFT JOIN user_metadata.user_metadata t ON t.app_id = 'public' AND t.user_id = ids.id ORDER BY ids.ord) s;"
	fi
}
median() {				# median of the numbers on stdin, one per line, as ms with 3 decimals
	sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
pgbench_calls() {		# pgbench_calls MODE-ARGS SCRIPT N: the ms of N calls after a warm-up, one per line
	local prefix=$work/log
	"$PGBIN/pgbench" -n -t 2 $1 -f "$2" postgres >/dev/null
	"$PGBIN/pgbench" -n -t "$3" $1 -f "$2" -l --log-prefix="$prefix" postgres >/dev/null
	cat "$prefix".* | awk '{ print $3 / 1000 }'
	rm -f "$prefix".*
}
calls_of() {			# calls_of KIND bulk|join SIZE N: the ms of N calls of one kind, one per line
	case $1 in
		top-level) pgbench_calls "-M simple" "$work/$2.sql" "$4" ;;
		prepared) pgbench_calls "-M prepared" "$work/$2.sql" "$4" ;;
		first-call) pgbench_calls "-M simple -C" "$work/$2.sql" "$4" ;;
		procedure) pgbench_calls "-M simple" "$work/${2}_proc.sql" "$4" ;;
		PL/pgSQL) sql -c "SELECT unnest(loop_ms('$2', $3, $4))" ;;
	esac
}

# The contenders alternate in rounds, so that a change of load on the
# machine falls on both
kinds="top-level prepared first-call PL/pgSQL procedure"
rounds=3
declare -A ms
for size in $sizes; do
	n=$calls
	[ "$size" -ge 10000 ] && n=$((calls / 10 < 5 ? 5 : calls / 10))
	[ "$size" -ge 100000 ] && n=$((calls / 40 < 5 ? 5 : calls / 40))
	um_log "$size ids, $rounds rounds of $n calls per contender and caller"
	for who in bulk join; do
		statement $who "$size" >"$work/$who.sql"
		echo "CALL ${who}_proc($size);" >"$work/${who}_proc.sql"
	done
	for kind in $kinds; do
		: >"$work/bulk.ms"
		: >"$work/join.ms"
		for round in $(seq $rounds); do
			for who in bulk join; do
				calls_of "$kind" $who "$size" $n >>"$work/$who.ms"
			done
		done
		for who in bulk join; do
			ms[$who,$size,$kind]=$(median <"$work/$who.ms")
		done
	done
done

{
	echo "# Bulk read: get_user_metadata_bulk vs the plain LEFT JOIN, by caller"
	echo
	echo "\`test/bench/bulk_read.sh --users $users --sizes \"$sizes\" --calls $calls\`, $(date -u +%Y-%m-%d), $(nproc) cores,"
	echo "PostgreSQL $(sql -c 'SHOW server_version'), shared_buffers 1GB, JIT off, table of $users users prewarmed."
	echo "Median ms per call over $rounds alternating rounds, both contenders in the same run on the same ids (a quarter"
	echo "unknown); ratio = bulk / join."
	echo "top-level, prepared and procedure are timed by pgbench over a unix socket, first-call opens a"
	echo "new session for every call (connection time included for both), PL/pgSQL times each call in a loop."
	echo "Other processes may have shared the machine during the run."
	for kind in $kinds; do
		echo
		echo "## $kind"
		echo
		echo "| ids | get_user_metadata_bulk (ms) | LEFT JOIN (ms) | ratio |"
		echo "| ---: | ---: | ---: | ---: |"
		for size in $sizes; do
			b=${ms[bulk,$size,$kind]} j=${ms[join,$size,$kind]}
			echo "| $size | $b | $j | $(awk -v b="$b" -v j="$j" 'BEGIN { printf "%.2f", (j > 0) ? b / j : 0 }') |"
		done
	done
} >"$out"
cat "$out"
