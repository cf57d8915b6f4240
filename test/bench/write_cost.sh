#!/usr/bin/env bash
# test/bench/write_cost.sh: what per-app document rules and the change
# history cost the single-user upsert (targets: rules at most 1.1x, history
# at most 1.5x the upsert without them).
#
# update_user_metadata of a random user among 10 000 of app "b" (a 3-key
# patch into a 3-key document), CALLS calls in a PL/pgSQL loop of a new
# session after 200 untimed ones, on one throwaway cluster of the
# PostgreSQL under test (PG_CONFIG); the contenders in turn in every round;
# the median and the minimum over the rounds of the backend's CPU time per
# call (/proc/self/schedstat: on a shared machine, wall-clock time mostly
# measures the other work), and the WAL it writes per call (full-page
# images included: the pages a write first changes since a checkpoint):
#   base     the library of BASE (default fd14e7d, release 1.3), swapped in
#            for user_metadata.so, the history trigger disabled and the
#            table's CHECK constraints the SQL expressions of 1.3: the upsert
#            before rules and history existed
#   none     this tree's library, no app has rules (one scan of an empty
#            table per write)
#   rules    app "b" has rules naming every key of its documents, with
#            max_keys, max_bytes and other_keys false
#   rules100 the same, behind the rules of 100 other apps in the table
#   history  no rules, history on for app "b" (no limits), from an empty
#            history table in every round
#   history_keep  the same with keep_count 50: pruning as it goes
#   history_long  history on with keep_count 20, after 45 writes of every
#            user (untimed, then a VACUUM): the steady state of a long
#            history, 450 000 rows, where each user's whole document (every
#            16th row) prunes 16 rows
# and, after the last history round, the history table's size against the
# patches it holds and the whole documents among them.  Then end to end, as
# an application sees it: pgbench -M prepared, 2 clients, the same call in
# a transaction of its own (synchronous_commit off), for none, rules and
# history, TPS_SECONDS each, in turn over the same number of rounds.
# Writes test/bench/results/write_cost.md.
#
# Usage: test/bench/write_cost.sh [--rounds N] [--calls N] [--base REV] [--tps-seconds S]
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
rounds=11
calls=30000
base=fd14e7d
tps_seconds=5
out=$UM_ROOT/test/bench/results/write_cost.md
while [ $# -gt 0 ]; do
	case $1 in
		--rounds) rounds=$2; shift ;;
		--calls) calls=$2; shift ;;
		--base) base=$2; shift ;;
		--tps-seconds) tps_seconds=$2; shift ;;
		--out) out=$2; shift ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
work=$UM_TMP/write_cost_bench
mkdir -p "$work/base"
um_build_install
libdir=$("$PGBIN/pg_config" --pkglibdir)
cp "$UM_ROOT/user_metadata.so" "$work/new.so"
um_log "building the library of $base"
git -C "$UM_ROOT" archive "$base" | tar -x -C "$work/base"
make -C "$work/base" -s PG_CONFIG="$PGBIN/pg_config" >/dev/null
# a new file each time (mv), never rewritten in place under a running server
use_library() {
	cp "$1" "$libdir/user_metadata.so.new" && mv "$libdir/user_metadata.so.new" "$libdir/user_metadata.so"
}
trap 'use_library "$work/new.so"; um_stop_clusters' EXIT

UM_PG_OPTS="-c synchronous_commit=off -c jit=off" um_start_cluster bench
export PGHOST=$bench_HOST PGPORT=$bench_PORT PGUSER=postgres
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }
sql <<'SQL'
CREATE EXTENSION user_metadata;
INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
SELECT 'b', 'u' || i, jsonb_build_object('n', i, 's', 'x', 'flag', true) FROM generate_series(1, 10000) i;
VACUUM ANALYZE user_metadata.user_metadata;
SQL
sql <<'SQL'
CREATE FUNCTION public.cpu_ns() RETURNS bigint LANGUAGE sql AS $$
	SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint
$$;
-- CPU µs and WAL bytes per call
CREATE FUNCTION public.upsert_us(calls int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t0 bigint;
	wal0 pg_lsn;
BEGIN
	FOR i IN 1..200 LOOP
		PERFORM user_metadata.update_user_metadata('u' || (1 + (random() * 9999)::int), '{"n": 1, "s": "y", "flag": false}', 'b');
	END LOOP;
	t0 := public.cpu_ns();
	wal0 := pg_current_wal_insert_lsn();
	FOR i IN 1..calls LOOP
		PERFORM user_metadata.update_user_metadata('u' || (1 + (random() * 9999)::int), '{"n": 1, "s": "y", "flag": false}', 'b');
	END LOOP;
	RETURN round((public.cpu_ns() - t0) / 1000.0 / calls, 2) || ' ' || round((pg_current_wal_insert_lsn() - wal0) / calls);
END $$;
SQL
rules='{"max_keys": 10, "max_bytes": 1000, "other_keys": false, "keys": {"n": "number", "s": ["string", "null"], "flag": "boolean"}}'
# the table's CHECK constraints: those of 1.3 (SQL) or 1.4 (C calls)
checks() {
	local ids="user_metadata.ids_valid(app_id, user_id)" object="user_metadata.metadata_is_object(metadata)"
	if [ "$1" = sql ]; then
		ids="octet_length(app_id) BETWEEN 1 AND 512 AND octet_length(user_id) BETWEEN 1 AND 512"
		object="jsonb_typeof(metadata) = 'object'"
	fi
	sql -c "ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_ids_valid,
		DROP CONSTRAINT user_metadata_metadata_is_object,
		ADD CONSTRAINT user_metadata_ids_valid CHECK ($ids),
		ADD CONSTRAINT user_metadata_metadata_is_object CHECK ($object)"
}
# each contender starts from a vacuumed table: the rounds' updates bloat it
set_case() {
	sql -c 'TRUNCATE user_metadata.document_rules, user_metadata.history_settings, user_metadata.user_metadata_history' \
		-c 'ALTER TABLE user_metadata.user_metadata ENABLE TRIGGER record_history'
	use_library "$work/new.so"
	checks "$([ "$1" = base ] && echo sql || echo c)"
	sql -c 'VACUUM user_metadata.user_metadata'
	case $1 in
		base)
			# 1.3's library has neither the history trigger's function nor the checks'
			use_library "$work/base/user_metadata.so"
			sql -c 'ALTER TABLE user_metadata.user_metadata DISABLE TRIGGER record_history' ;;
		none) ;;
		rules) sql -c "SELECT user_metadata.set_document_rules('b', '$rules')" >/dev/null ;;
		rules100)
			sql -c "INSERT INTO user_metadata.document_rules SELECT 'app' || i, '$rules' FROM generate_series(1, 100) i"
			sql -c "SELECT user_metadata.set_document_rules('b', '$rules')" >/dev/null ;;
		history) sql -c "SELECT user_metadata.set_history('b', true)" >/dev/null ;;
		history_keep) sql -c "SELECT user_metadata.set_history('b', true, keep_count => 50)" >/dev/null ;;
		history_long)
			sql -c "SELECT user_metadata.set_history('b', true, keep_count => 20)" \
				-c "SELECT count(user_metadata.update_user_metadata('u' || (1 + i % 10000), jsonb_build_object('n', i), 'b'))
					FROM generate_series(1, 450000) i" \
				-c 'VACUUM ANALYZE user_metadata.user_metadata, user_metadata.user_metadata_history' >/dev/null ;;
	esac
}
# interleave CASES OUT MEASURE: every round runs MEASURE CASE on each case in
# turn, appending "CASE value" to OUT
interleave() {
	local round c value
	: >"$2"
	for round in $(seq 1 "$rounds"); do
		for c in $1; do
			set_case "$c"
			value=$("$3" "$c")
			um_log "round $round $c: $value"
			echo "$c $value" >>"$2"
		done
	done
}
# in-server CPU µs per call; after history, what its table holds
cpu_per_call() {
	sql -c "SELECT public.upsert_us($calls)"
	[ "$1" != history ] || sql -F ' ' -c "SELECT count(*), count(metadata), count(DISTINCT user_id),
		sum(pg_column_size(patch)), sum(pg_column_size(metadata)),
		pg_total_relation_size('user_metadata.user_metadata_history')
		FROM user_metadata.user_metadata_history" >"$work/storage"
}
# end to end: pgbench's TPS of the same call
cat >"$work/upsert.pgbench" <<'PGBENCH'
\set u random(1, 10000)
SELECT user_metadata.update_user_metadata('u' || :u, '{"n": 1, "s": "y", "flag": false}', 'b');
PGBENCH
pgbench_tps() {
	"$PGBIN/pgbench" -n -M prepared -c 2 -j 2 -T "$tps_seconds" -f "$work/upsert.pgbench" postgres |
		sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
cases="base none rules rules100 history history_keep history_long"
tps_cases="none rules history"
interleave "$cases" "$work/tps" cpu_per_call
interleave "$tps_cases" "$work/e2e" pgbench_tps
storage=$(cat "$work/storage")
# median CASE [FILE [FIELD]]
median() { grep "^$1 " "${2:-$work/tps}" | awk -v f="${3:-2}" '{print $f}' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minimum() { grep "^$1 " "$work/tps" | awk '{print $2}' | sort -n | head -1; }
base_med=$(median base)
base_min=$(minimum base)
none_med=$(median none)
none_min=$(minimum none)
ratio() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.3f", t / b }'; }
read -r hrows hwhole husers hpatch hdocs hsize <<<"$storage"
{
	echo "# Document rules and change history: the single-user upsert"
	echo
	echo "\`test/bench/write_cost.sh --rounds $rounds --calls $calls --base $base\`, $(date -u +%Y-%m-%d),"
	echo "PostgreSQL $("$PGBIN/pg_config" --version | sed 's/PostgreSQL //'), $(nproc) cores (shared with other work);"
	echo "the backend's CPU µs per update_user_metadata call (/proc/self/schedstat) over $rounds rounds of $calls calls, the contenders in turn in each round."
	echo
	echo "| contender | CPU µs per call, median | ÷ base | ÷ none | CPU µs per call, minimum | ÷ base | ÷ none | WAL bytes per call, median |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for c in $cases; do
		med=$(median "$c") min=$(minimum "$c")
		echo "| $c | $med | $(ratio "$base_med" "$med") | $(ratio "$none_med" "$med") | $min | $(ratio "$base_min" "$min") | $(ratio "$none_min" "$min") | $(median "$c" "$work/tps" 3) |"
	done
	echo
	echo "History storage after the last \`history\` round ($calls calls over $husers users): $hrows rows,"
	echo "$hwhole of them whole documents ($hdocs bytes), the patches $hpatch bytes; the table with its indexes $hsize bytes."
	echo
	echo "End to end (pgbench -M prepared -c 2 -j 2 -T $tps_seconds, $rounds rounds, the cases in turn):"
	echo
	echo "| contender | TPS, median | ÷ none (cost: none's TPS ÷ this one's) |"
	echo "| --- | ---: | ---: |"
	for c in $tps_cases; do
		med=$(median "$c" "$work/e2e")
		echo "| $c | $med | $(ratio "$med" "$(median none "$work/e2e")") |"
	done
	echo
	echo "Rounds (CPU µs, WAL bytes per call): $(tr '\n' ';' <"$work/tps" | sed 's/;$//; s/;/; /g')"
	echo
	echo "Rounds (TPS): $(tr '\n' ';' <"$work/e2e" | sed 's/;$//; s/;/; /g')"
} >"$out"
cat "$out"
