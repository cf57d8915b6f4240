#!/usr/bin/env bash
# test/bench/citus.sh: what a call of update_user_metadata costs on one node,
# through a Citus coordinator (without and with delegation) and through
# PL/Proxy, and what a network round trip does to it against the client-side
# read-lock-write pattern.  Not run by the test command.
#
# Three throwaway instances on free ports of 127.0.0.1 (UM_PORT_BASE=P to
# take them from P up), citus and user_metadata preloaded: co, w1 and w2.
#   part 1: the same pgbench script, one random user of --users per call,
#     against um_single (one node, on w1), um_citus (Citus: coordinator co,
#     workers w1 and w2, distribute_on_citus()), um_deleg (the same with
#     delegate => true) and um_proxy (user_metadata_proxy on co, partitions
#     um_p0 on w1 and um_p1 on w2), once autocommit and once inside
#     BEGIN ... COMMIT; runs interleaved, median of --reps.
#   part 2: the same, with the links from the coordinator to the workers
#     (Citus) and from the proxy to the partitions (PL/Proxy) through
#     test/bench/delay_proxy.py, --delay-ms one way per message: what
#     delegation saves when the nodes are apart.
#   part 3: delay_proxy.py between pgbench and um_single;
#     update_user_metadata.sql against read_lock_write.sql
#     (test/bench/upsert/), --users users and one hot user, --net-clients
#     clients.
# Each delaying proxy's round trip is measured with SELECT 1.
# Writes a markdown report (default test/bench/results/citus.md).
#
# Usage: test/bench/citus.sh [--smoke] [--out FILE] [--duration S] [--reps N]
#        [--clients "1 4"] [--net-clients N] [--users N] [--delay-ms MS]
#        [--no-build]
# --smoke: tiny counts, a few seconds; proves the script works, its numbers
# mean nothing.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
command_line="test/bench/citus.sh${*:+ $*}"
out=$UM_ROOT/test/bench/results/citus.md
duration=5
reps=3
clients="1 4"
net_clients=8
users=10000
delay_ms=0.25
build=1
while [ $# -gt 0 ]; do
	case $1 in
		--smoke) duration=1 reps=1 clients=1 net_clients=2 users=100 ;;
		--out) out=$2; shift ;;
		--duration) duration=$2; shift ;;
		--reps) reps=$2; shift ;;
		--clients) clients=$2; shift ;;
		--net-clients) net_clients=$2; shift ;;
		--users) users=$2; shift ;;
		--delay-ms) delay_ms=$2; shift ;;
		--no-build) build=0 ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
[ "$reps" -ge 1 ] || { echo "--reps must be at least 1" >&2; exit 2; }
work=$UM_TMP/bench
mkdir -p "$work" "$(dirname "$out")"

if [ $build -eq 1 ]; then
	um_install_packages postgresql-server-dev-15 postgresql-15-plproxy python3
	[ -f "$UM_ROOT/../shared/citus/build.sh" ] && bash "$UM_ROOT/../shared/citus/build.sh" >&2
	um_build_install
fi
[ -f "$("$PGBIN/pg_config" --pkglibdir)/citus.so" ] || { echo "Citus is not installed" >&2; exit 1; }

delay_pids=()
trap 'kill "${delay_pids[@]}" 2>/dev/null; um_stop_clusters' EXIT
# delay PORT_VAR TARGET_PORT ONE_WAY_MS: a delaying proxy to TARGET_PORT on a free port, in PORT_VAR
delay() {
	local port tries
	for tries in 1 2 3 4 5; do
		port=$(um_free_port) || exit 1
		/usr/bin/env python3 "$UM_ROOT/test/bench/delay_proxy.py" "$port" "$2" "$3" 7200 2>>"$work/delay_proxy.log" &
		delay_pids+=($!)
		while kill -0 "${delay_pids[-1]}" 2>/dev/null && ! um_port_busy "$port"; do sleep 0.1; done
		if kill -0 "${delay_pids[-1]}" 2>/dev/null; then
			printf -v "$1" '%s' "$port"
			return 0
		fi
	done
	echo "cannot start delay_proxy.py" >&2
	exit 1
}
export UM_PG_OPTS="-c shared_preload_libraries=citus,user_metadata -c max_prepared_transactions=100
	-c citus.enable_statistics_collection=off -c jit=off"
for node in co w1 w2; do
	um_start_cluster "$node" tcp
done
sql() { local port=$1 db=$2; shift 2; psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
# the delayed links of part 2: one proxy in front of each worker
delay w1_slow "$w1_PORT" "$delay_ms"
delay w2_slow "$w2_PORT" "$delay_ms"
# Citus databases: the _net ones reach their workers through the delayed links
for db in um_citus um_deleg um_citus_net um_deleg_net; do
	for port in "$co_PORT" "$w1_PORT" "$w2_PORT"; do
		sql "$port" postgres -c "CREATE DATABASE $db" 2>/dev/null
		sql "$port" "$db" -c 'CREATE EXTENSION citus'
	done
	case $db in *_net) p1=$w1_slow p2=$w2_slow ;; *) p1=$w1_PORT p2=$w2_PORT ;; esac
	sql "$co_PORT" "$db" -c "SELECT citus_set_coordinator_host('127.0.0.1', $co_PORT)" \
		-c "SELECT citus_add_node('127.0.0.1', $p1)" -c "SELECT citus_add_node('127.0.0.1', $p2)" \
		-c 'CREATE EXTENSION user_metadata' >/dev/null
	case $db in
		um_citus*) sql "$co_PORT" "$db" -c 'SELECT user_metadata.distribute_on_citus()' >/dev/null ;;
		*) sql "$co_PORT" "$db" -c 'SELECT user_metadata.distribute_on_citus(delegate => true)' >/dev/null ;;
	esac
done
sql "$w1_PORT" postgres -c 'CREATE DATABASE um_single' -c 'CREATE DATABASE um_p0'
sql "$w2_PORT" postgres -c 'CREATE DATABASE um_p1'
for target in "$w1_PORT um_single" "$w1_PORT um_p0" "$w2_PORT um_p1"; do
	sql $target -c 'CREATE EXTENSION user_metadata'
done
for db in um_proxy um_proxy_net; do
	case $db in *_net) p1=$w1_slow p2=$w2_slow ;; *) p1=$w1_PORT p2=$w2_PORT ;; esac
	sql "$co_PORT" postgres -c "CREATE DATABASE $db"
	sql "$co_PORT" "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION user_metadata_proxy CASCADE' \
		-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS (
				p0 'host=127.0.0.1 port=$p1 dbname=um_p0', p1 'host=127.0.0.1 port=$p2 dbname=um_p1')" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"
done

# The same users everywhere: ids '1'..'users', a small document each
doc='{"plan": "free", "preferences": {"theme": "dark", "lang": "en"}, "onboarding": {"step": 3}}'
um_log "writing $users users into each store"
load="INSERT INTO user_metadata.user_metadata (user_id, metadata) SELECT g::text, '$doc'::jsonb FROM generate_series(1, $users) g"
sql "$w1_PORT" um_single -c "$load"
for db in um_citus um_deleg um_citus_net um_deleg_net; do sql "$co_PORT" "$db" -c "$load"; done
sql "$w1_PORT" um_p0 -c "$load WHERE hashtext(g::text) & 1 = 0"
sql "$w2_PORT" um_p1 -c "$load WHERE hashtext(g::text) & 1 = 1"
for target in "$w1_PORT um_single" "$co_PORT um_citus" "$co_PORT um_deleg" "$co_PORT um_citus_net" \
	"$co_PORT um_deleg_net" "$w1_PORT um_p0" "$w2_PORT um_p1"; do
	sql $target -c 'VACUUM ANALYZE user_metadata.user_metadata'
done

cat >"$work/auto.sql" <<'SQL'
\set uid random(1, :users)
SELECT user_metadata.update_user_metadata(:uid, '{"last": 1}');
SQL
cat >"$work/tx.sql" <<'SQL'
\set uid random(1, :users)
BEGIN;
SELECT user_metadata.update_user_metadata(:uid, '{"last": 1}');
COMMIT;
SQL

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# run NAME PORT DB SCRIPT CLIENTS [PGBENCH ARGS]: one pgbench run; appends "latency_ms tps" to $work/NAME
run() {
	local name=$1 port=$2 db=$3 script=$4 c=$5 log
	shift 5
	log=$work/$name.$({ wc -l <"$work/$name"; } 2>/dev/null || echo 0).log
	"$PGBIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c "$c" -j "$((c < 2 ? c : 2))" \
		-T "$duration" -D users="$users" "$@" -f "$script" "$db" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
	awk '/^latency average/ { lat = $4 } /^tps/ { tps = $3 } END { print lat, tps }' "$log" >>"$work/$name"
}

#
# Part 1: cost per call
#
declare -A target=([single]="$w1_PORT um_single" [citus]="$co_PORT um_citus" [deleg]="$co_PORT um_deleg"
				   [plproxy]="$co_PORT um_proxy" [citus_net]="$co_PORT um_citus_net"
				   [deleg_net]="$co_PORT um_deleg_net" [plproxy_net]="$co_PORT um_proxy_net")
contenders="single citus deleg plproxy"
net_contenders="citus_net deleg_net plproxy_net"
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= reps; r++)); do
	for c in $clients; do
		for shape in auto tx; do
			for who in $contenders $([ "$c" = "${clients%% *}" ] && echo "$net_contenders"); do
				um_log "part 1/2: $who, $shape, $c clients, run $r of $reps"
				run "p1.$who.$shape.$c" ${target[$who]} "$work/$shape.sql" "$c"
			done
		done
	done
done
# delegation really happens: the coordinator sends the call, not an INSERT
deleg_check=$(for db in um_citus um_deleg; do
	sql "$co_PORT" "$db" -c 'SET citus.log_remote_commands = on' -c BEGIN \
		-c "SELECT user_metadata.update_user_metadata('1', '{}')" -c COMMIT 2>&1 |
		grep -oE 'issuing (SELECT user_metadata.update_user_metadata|INSERT INTO user_metadata)' | sort -u | paste -sd ,
done | paste -sd '|')

#
# Part 3: between the client and the server
#
delay proxy_port "$w1_PORT" "$delay_ms"
delay zero_port "$w1_PORT" 0
echo 'SELECT 1;' >"$work/one.sql"
patch='{"last": 1, "onboarding": {"step": 4}}'
new_doc=$(sql "$w1_PORT" um_single -c "SELECT user_metadata.jsonb_merge('$doc', '$patch')")
for ((r = 1; r <= reps; r++)); do
	run p2.rtt.direct "$w1_PORT" um_single "$work/one.sql" 1
	run p2.rtt.zero "$zero_port" um_single "$work/one.sql" 1
	run p2.rtt.delay "$proxy_port" um_single "$work/one.sql" 1
	run p2.rtt.w1_slow "$w1_slow" um_single "$work/one.sql" 1
	for case in uniform hot; do
		n=$([ $case = hot ] && echo 1 || echo "$users")
		for script in update_user_metadata read_lock_write; do
			um_log "part 3: $script, $case, $net_clients clients, run $r of $reps"
			sql "$w1_PORT" um_single -v users="$users" -v doc="$doc" -f "$UM_ROOT/test/bench/upsert/reset.sql" >/dev/null
			"$PGBIN/pgbench" -n -M prepared -h 127.0.0.1 -p "$proxy_port" -U postgres -c "$net_clients" -j 2 \
				-T "$duration" -D users="$n" -D patch="$patch" -D doc="$new_doc" \
				-f "$UM_ROOT/test/bench/upsert/$script.sql" um_single >"$work/p2.$script.$case.$r.log" 2>&1 ||
				{ cat "$work/p2.$script.$case.$r.log" >&2; exit 1; }
			awk '/^latency average/ { lat = $4 } /^tps/ { tps = $3 } END { print lat, tps }' \
				"$work/p2.$script.$case.$r.log" >>"$work/p2.$script.$case"
		done
	done
done
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

col() { cut -d' ' -f"$2" "$work/$1" | median; }
{
	echo "<!-- $(basename "$out"): written by test/bench/citus.sh; do not edit -->"
	echo "### Citus, PL/Proxy and one node; calls over a slower network"
	echo
	echo "\`$command_line\` on $(date -u +%Y-%m-%d): PostgreSQL $("$PGBIN/postgres" -V | awk '{ print $3 }'),"
	echo "Citus $(sql "$co_PORT" um_citus -c "SELECT split_part(citus_version(), ' ', 2)"),"
	echo "PL/Proxy $(dpkg-query -W -f='${Version}' postgresql-15-plproxy 2>/dev/null | cut -d- -f1), $(nproc) cores."
	echo "Three instances (fsync off) on this one machine: the Citus coordinator (which also holds the PL/Proxy"
	echo "proxy database), worker 1 (which also holds the single-node database and PL/Proxy partition 0)"
	echo "and worker 2 (partition 1). **The machine is shared**: pgbench, the three servers and other"
	echo "users' jobs all run on its $(nproc) cores (load average $loadavg_before before the runs, $loadavg_after after),"
	echo "so the figures are for comparing the contenders with each other in this run, not absolute."
	echo "pgbench \`-M prepared\` over 127.0.0.1, ${duration} s per run, runs interleaved, median of $reps."
	echo
	echo "#### Cost per call of update_user_metadata"
	echo
	echo "$users users, each call for one at random (\`SELECT user_metadata.update_user_metadata(:uid, ...)\`),"
	echo "autocommit or as the only statement of \`BEGIN; ...; COMMIT\` (three round trips from pgbench)."
	echo "Citus: 32 shards over 2 workers; without delegation the coordinator runs the function and sends its"
	echo "INSERT to the worker; with \`distribute_on_citus(delegate => true)\` it sends the call itself"
	echo "(checked in this run: coordinator issued \`${deleg_check//|/\` without, \`}\` with delegation, inside BEGIN)."
	echo "PL/Proxy: 2 partitions; each call is a separate autocommitted call on the partition."
	echo
	echo "| setup | clients | autocommit ms | calls/s | ratio to one node | in BEGIN…COMMIT ms | tx/s | ratio to one node |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for c in $clients; do
		for who in $contenders; do
			label=$(case $who in single) echo "one node" ;; citus) echo "Citus, no delegation" ;;
				deleg) echo "Citus, delegated" ;; plproxy) echo "PL/Proxy" ;; esac)
			awk -v n="$label" -v c="$c" -v al="$(col "p1.$who.auto.$c" 1)" -v at="$(col "p1.$who.auto.$c" 2)" \
				-v bl="$(col "p1.single.auto.$c" 1)" -v tl="$(col "p1.$who.tx.$c" 1)" -v tt="$(col "p1.$who.tx.$c" 2)" \
				-v btl="$(col "p1.single.tx.$c" 1)" 'BEGIN {
				printf "| %s | %d | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", n, c, al, at, al / bl, tl, tt, tl / btl }'
		done
	done
	c1=${clients%% *}
	echo
	echo "#### The same with the nodes apart"
	echo
	echo "The links from the coordinator to the workers (Citus) and from the proxy database to the partitions"
	echo "(PL/Proxy) through test/bench/delay_proxy.py, ${delay_ms} ms held in each direction: \`SELECT 1\` through"
	echo "such a link takes $(col p2.rtt.w1_slow 1) ms (direct: $(col p2.rtt.direct 1) ms). pgbench still talks to the coordinator"
	echo "or proxy directly; $c1 client(s); ratios to one node as above (no delay there)."
	echo
	echo "| setup | autocommit ms | calls/s | ratio to one node | in BEGIN…COMMIT ms | tx/s | ratio to one node |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for who in $net_contenders; do
		label=$(case $who in citus_net) echo "Citus, no delegation" ;; deleg_net) echo "Citus, delegated" ;;
			plproxy_net) echo "PL/Proxy" ;; esac)
		awk -v n="$label" -v al="$(col "p1.$who.auto.$c1" 1)" -v at="$(col "p1.$who.auto.$c1" 2)" \
			-v bl="$(col "p1.single.auto.$c1" 1)" -v tl="$(col "p1.$who.tx.$c1" 1)" -v tt="$(col "p1.$who.tx.$c1" 2)" \
			-v btl="$(col "p1.single.tx.$c1" 1)" 'BEGIN {
			printf "| %s | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", n, al, at, al / bl, tl, tt, tl / btl }'
	done
	echo
	echo "#### Over a network: update_user_metadata against read-lock-write"
	echo
	echo "test/bench/delay_proxy.py between pgbench and the single node, holding every message ${delay_ms} ms in each"
	echo "direction (a ~$(awk -v d="$delay_ms" 'BEGIN { print 2 * d }') ms round trip asked). Measured with \`SELECT 1\` (1 client):"
	echo "$(col p2.rtt.direct 1) ms direct, $(col p2.rtt.zero 1) ms through the proxy with no delay (its own cost),"
	echo "$(col p2.rtt.delay 1) ms with the delay: the delay adds $(awk -v a="$(col p2.rtt.delay 1)" -v b="$(col p2.rtt.zero 1)" 'BEGIN { printf "%.2f", a - b }') ms per round trip."
	echo "$net_clients clients; uniform = a random user of $users per transaction, hot = all on one user. Scripts:"
	echo "test/bench/upsert/update_user_metadata.sql (one round trip) and read_lock_write.sql (\`BEGIN\`, \`SELECT … FOR UPDATE\`,"
	echo "\`UPDATE\`, \`COMMIT\`: four round trips, the row locked for three of them). The table is reset before each run."
	echo
	echo "| case | update_user_metadata tx/s | latency ms | read-lock-write tx/s | latency ms | TPS ratio |"
	echo "|---|---:|---:|---:|---:|---:|"
	for case in uniform hot; do
		awk -v n="$case" -v ut="$(col "p2.update_user_metadata.$case" 2)" -v ul="$(col "p2.update_user_metadata.$case" 1)" \
			-v rt="$(col "p2.read_lock_write.$case" 2)" -v rl="$(col "p2.read_lock_write.$case" 1)" 'BEGIN {
			printf "| %s | %.0f | %.2f | %.0f | %.2f | %.1f× |\n", n, ut, ul, rt, rl, ut / rt }'
	done
} >"$out"
cat "$out"
