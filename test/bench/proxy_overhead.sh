#!/usr/bin/env bash
# test/bench/proxy_overhead.sh: what routing through user_metadata_proxy
# costs per call.  One throwaway instance holds partitions um_p0..um_p3 and
# the proxy database um_proxy; the same users, all living on um_p0, are read
# (get_user_metadata) and written (update_user_metadata) by pgbench over
# 127.0.0.1, once directly on um_p0 and once through the proxy, the two runs
# interleaved, and the median of the repetitions is reported.  Writes a
# markdown snippet (default test/bench/results/proxy.md).
#
# Usage: test/bench/proxy_overhead.sh [--smoke] [--out FILE] [--duration S]
#        [--reps N] [--clients "1 4"] [--no-build] [--port P]
# --smoke: tiny counts, a few seconds; proves the script works, its numbers
# mean nothing.  --port P: its cluster on 127.0.0.1:P (default: a free port).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
command_line="test/bench/proxy_overhead.sh${*:+ $*}"
out=$UM_ROOT/test/bench/results/proxy.md
duration=10			# seconds per pgbench run
reps=3
clients="1 4"
users=1000			# bench users, all on partition 0
build=1
port=tcp			# a free port unless --port
while [ $# -gt 0 ]; do
	case $1 in
		--smoke) duration=1 reps=3 clients=1 users=50 ;;
		--out) out=$2; shift ;;
		--duration) duration=$2; shift ;;
		--reps) reps=$2; shift ;;
		--clients) clients=$2; shift ;;
		--no-build) build=0 ;;
		--port) port=$2; shift ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
[ "$reps" -ge 1 ] || { echo "--reps must be at least 1" >&2; exit 2; }
work=$UM_TMP/bench
mkdir -p "$work" "$(dirname "$out")"
sql() { local db=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }

if [ $build -eq 1 ]; then
	um_install_packages postgresql-server-dev-15 postgresql-15-plproxy
	um_build_install
fi
um_start_cluster bench "$port"
port=$bench_PORT
for p in 0 1 2 3; do
	sql postgres -c "CREATE DATABASE um_p$p"
	sql um_p$p -c 'CREATE EXTENSION user_metadata'
done
sql postgres -c 'CREATE DATABASE um_proxy'
sql um_proxy -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION user_metadata_proxy CASCADE' \
	-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS (
			p0 'host=127.0.0.1 port=$port dbname=um_p0', p1 'host=127.0.0.1 port=$port dbname=um_p1',
			p2 'host=127.0.0.1 port=$port dbname=um_p2', p3 'host=127.0.0.1 port=$port dbname=um_p3')" \
	-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"

# Users of every partition, written through the proxy; the bench picks from
# those on um_p0, numbered 1..users in table bench_ids of both databases.
um_log "writing $((8 * users)) users"
sql um_proxy -c "SELECT count(user_metadata.update_user_metadata('user' || i,
	jsonb_build_object('n', i, 'plan', 'free', 'preferences', jsonb_build_object('theme', 'dark', 'lang', 'en'))))
	FROM generate_series(1, $((8 * users))) i" >/dev/null
for db in um_proxy um_p0; do
	sql "$db" -c "CREATE TABLE bench_ids (i int PRIMARY KEY, id text NOT NULL)" \
		-c "INSERT INTO bench_ids SELECT row_number() OVER (ORDER BY k), 'user' || k
			FROM generate_series(1, $((8 * users))) k WHERE hashtext('user' || k) & 3 = 0 LIMIT $users"
done
[ "$(sql um_p0 -c "SELECT count(*) FROM bench_ids b JOIN user_metadata.user_metadata m ON m.user_id = b.id")" = "$users" ] ||
	{ echo "the bench users are not all on um_p0" >&2; exit 1; }

cat >"$work/get.sql" <<SQL
\set i random(1, $users)
SELECT user_metadata.get_user_metadata(id) FROM bench_ids WHERE i = :i;
SQL
cat >"$work/update.sql" <<SQL
\set i random(1, $users)
\set v random(1, 1000000)
SELECT user_metadata.update_user_metadata(id, jsonb_build_object('last', :v)) FROM bench_ids WHERE i = :i;
SQL

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# run CALL CLIENTS DB REP: one pgbench run; appends "latency_us tps" to its file
run() {
	local log=$work/$1.$2.$3.$4.log
	"$PGBIN/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c "$2" -j "$(($2 < 2 ? $2 : 2))" -T "$duration" \
		-f "$work/$1.sql" "$3" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
	awk '/^latency average/ { lat = $4 * 1000 } /^tps/ { tps = $3 } END { print lat, tps }' "$log" \
		>>"$work/$1.$2.$3"
}
for c in $clients; do
	for call in get update; do
		for ((r = 1; r <= reps; r++)); do
			um_log "$call, $c clients, run $r of $reps"
			run "$call" "$c" um_p0 "$r"
			run "$call" "$c" um_proxy "$r"
		done
	done
done

{
	echo "<!-- $(basename "$out"): written by test/bench/proxy_overhead.sh; do not edit -->"
	echo "### Proxy overhead per call"
	echo
	echo "\`$command_line\` on $(date -u +%Y-%m-%d): PostgreSQL $("$PGBIN/postgres" -V | awk '{ print $3 }'),"
	echo "PL/Proxy $(dpkg-query -W -f='${Version}' postgresql-15-plproxy | cut -d- -f1), $(nproc) cores, one instance (fsync off) holding the"
	echo "4 partitions and the proxy database; $users users, all on partition 0, each call for one at"
	echo "random; pgbench over 127.0.0.1, ${duration} s per run, direct and proxy runs interleaved, median of $reps runs."
	echo "Latency is pgbench's average per call; the overhead is proxy minus direct."
	echo
	echo "| call | clients | direct µs | proxy µs | overhead µs | direct calls/s | proxy calls/s |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for call in get update; do
		for c in $clients; do
			d_lat=$(cut -d' ' -f1 "$work/$call.$c.um_p0" | median)
			p_lat=$(cut -d' ' -f1 "$work/$call.$c.um_proxy" | median)
			d_tps=$(cut -d' ' -f2 "$work/$call.$c.um_p0" | median)
			p_tps=$(cut -d' ' -f2 "$work/$call.$c.um_proxy" | median)
			name=$([ $call = get ] && echo get_user_metadata || echo update_user_metadata)
			awk -v n="$name" -v c="$c" -v dl="$d_lat" -v pl="$p_lat" -v dt="$d_tps" -v pt="$p_tps" 'BEGIN {
				printf "| %s | %d | %.0f | %.0f | %+.0f (%+.0f %%) | %.0f | %.0f |\n", n, c, dl, pl, pl - dl, 100 * (pl - dl) / dl, dt, pt }'
		done
	done
} >"$out"
cat "$out"
