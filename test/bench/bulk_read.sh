#!/usr/bin/env bash
# test/bench/bulk_read.sh: get_user_metadata_bulk against the same number of
# primary-key lookups, on a table of 1 000 000 users (issue: the bulk read
# costs at most 1.5x as many primary-key lookups, for 1 to 100 000 ids).
#
# Both contenders run inside the server, on the same random ids (one set per
# size, three in four of them stored users), in the same session, after a
# warm-up: the bulk read is `SELECT count(*) FROM get_user_metadata_bulk(ids)`;
# the lookups are a PL/pgSQL loop running the store's own point read
# `SELECT metadata FROM user_metadata.user_metadata WHERE app_id = $1 AND
# user_id = $2` once per id, its plan cached.  Median of --reps runs each,
# timed with clock_timestamp(); writes test/bench/results/bulk_read.md.
#
# Usage: test/bench/bulk_read.sh [--users N] [--reps N] [--sizes "1 10 ..."]
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
users=1000000
reps=5
sizes="1 10 100 1000 10000 100000"
out=$UM_ROOT/test/bench/results/bulk_read.md
while [ $# -gt 0 ]; do
	case $1 in
		--users) users=$2; shift ;;
		--reps) reps=$2; shift ;;
		--sizes) sizes=$2; shift ;;
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

um_log "loading $users users"
sql <<SQL
CREATE EXTENSION user_metadata;
INSERT INTO user_metadata.user_metadata (user_id, metadata)
SELECT 'user-' || i, jsonb_build_object('theme', 'dark', 'n', i, 'flags', jsonb_build_array(i % 7, i % 11))
FROM generate_series(1, $users) i;
VACUUM ANALYZE user_metadata.user_metadata;
CREATE FUNCTION pk_lookups(ids text[]) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE
	id text;
	doc jsonb;
	found_n bigint := 0;
BEGIN
	FOREACH id IN ARRAY ids LOOP
		SELECT metadata INTO doc FROM user_metadata.user_metadata
		WHERE app_id = 'public' AND user_id = id;
		found_n := found_n + 1;
	END LOOP;
	RETURN found_n;
END \$\$;
-- ms per run of each contender: reps runs, alternating, after one warm-up each
CREATE FUNCTION measure(ids text[], reps int, OUT bulk_ms float8, OUT lookups_ms float8) LANGUAGE plpgsql AS \$\$
DECLARE
	t timestamptz;
	b float8[] := '{}';
	l float8[] := '{}';
	n bigint;
BEGIN
	SELECT count(*) INTO n FROM user_metadata.get_user_metadata_bulk(ids);
	n := pk_lookups(ids);
	FOR r IN 1..reps LOOP
		t := clock_timestamp();
		SELECT count(*) INTO n FROM user_metadata.get_user_metadata_bulk(ids);
		b := b || extract(epoch FROM clock_timestamp() - t) * 1000;
		t := clock_timestamp();
		n := pk_lookups(ids);
		l := l || extract(epoch FROM clock_timestamp() - t) * 1000;
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO bulk_ms FROM unnest(b) x;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO lookups_ms FROM unnest(l) x;
END \$\$;
SQL

rows=""
for n in $sizes; do
	um_log "$n ids"
	line=$(sql -F ' | ' -c "SELECT to_char(bulk_ms, 'FM999990.000'), to_char(lookups_ms, 'FM999990.000'),
		to_char(bulk_ms / lookups_ms, 'FM990.00')
		FROM measure(ARRAY(SELECT 'user-' || (1 + floor(random() * $users * 4 / 3))::bigint
						   FROM generate_series(1, $n)), $reps)")
	rows+="| $n | $line |"$'\n'
done
{
	echo "# Bulk read: get_user_metadata_bulk vs primary-key lookups"
	echo
	echo "\`test/bench/bulk_read.sh --users $users --reps $reps --sizes \"$sizes\"\`, $(date -u +%Y-%m-%d), $(nproc) cores,"
	echo "PostgreSQL $(sql -c 'SHOW server_version'), shared_buffers 1GB, JIT off, table of $users users (all in memory)."
	echo "Median of $reps runs, in ms, both contenders inside the server on the same ids (a quarter unknown)."
	echo "Other processes may have shared the machine during the run."
	echo
	echo "| ids | get_user_metadata_bulk (ms) | as many PK lookups (ms) | ratio |"
	echo "| ---: | ---: | ---: | ---: |"
	printf '%s' "$rows"
} >"$out"
cat "$out"
