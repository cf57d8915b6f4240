#!/usr/bin/env bash
# test/suites/citus.sh: user_metadata distributed with Citus.  Throwaway
# clusters on free ports of 127.0.0.1: a coordinator and workers w1, w2; w3
# joins later.  Checks
#   1. user_metadata.distribute_on_citus(): its refusals and the distributed
#      tables, the rules and history settings set before it kept; document
#      rules and change history through the coordinator (rules_and_history);
#      test/proxy/calls.sql gives the same output through the coordinator
#      as in a single-node database; in databases of their own, a store
#      distributed under 1.3 and updated, and a coordinator that holds
#      shards (the copy into them not recorded as history, patches recorded
#      there, the rules check of its own shards under a concurrent writer);
#   2. delegation (coordinator restarted with user_metadata preloaded): the
#      distributed functions, calls.sql and rules_and_history again, NULL
#      user ids refused before Citus plans them, calls delegated in and
#      outside transaction blocks, admin scopes checked on the worker;
#   3. transactions: ROLLBACK undoes a write, a merge and a write to a
#      co-located app table commit or roll back together on one worker;
#   4. pgbench, 8 clients, one hot user and a new one: no key lost;
#   5. the row-level-security matrix of a client role through the coordinator;
#      a client's direct write recorded in the history, its own rows only
#      readable (history stays on for app public from here on);
#   6. merge_trigger on a distributed table; change notifications;
#   7. a third worker and a rebalance while pgbench writes: nothing lost or
#      duplicated, every user's history complete and in order;
#   8. a stopped worker: its users get 08006, the others keep working; once
#      it is back everything works and nothing is lost.
# Without Citus the suite prints one skipped TAP line.  Prints TAP lines;
# logs to stderr.
set -uo pipefail
source "$(dirname "$0")/../lib/suite.sh"
work=$UM_TMP/citus
mkdir -p "$work"

skip() {
	check_skip citus "citus is not installed: $1"
	checks_done
}

# Citus: built by shared/citus/build.sh when the workplace has it
# (workplace.sh; a no-op once installed), else an installed one, else the
# suite is skipped.
build=$(um_shared_script citus/build.sh) || build=
libdir=$("$PGBIN/pg_config" --pkglibdir)
sharedir=$("$PGBIN/pg_config" --sharedir)
# Citus 13.2.2, the release ../shared/citus holds, supports 15 to 17
if [ "$UM_PG_MAJOR" -ge 18 ] && [ ! -f "$libdir/citus.so" ]; then
	check_skip citus "Citus 13.2.2 supports PostgreSQL 15 to 17, not $UM_PG_MAJOR"
	checks_done
fi
if [ -n "$build" ]; then
	um_log "citus: $build"
	PG_CONFIG=$PGBIN/pg_config bash "$build" >"$work/build.log" 2>&1 || {
		tail -20 "$work/build.log" >&2
		echo "not ok - citus: $build failed (log on stderr)"
		exit 1
	}
fi
[ -f "$libdir/citus.so" ] || skip "no citus.so in $libdir"
[ -f "$sharedir/extension/citus.control" ] || skip "no citus.control in $sharedir/extension"

# Workers preload user_metadata after citus (README); the coordinator first
# without it, to see distribute_on_citus refuse delegation, then with it.
opts="-c wal_level=logical -c max_prepared_transactions=100 -c citus.enable_statistics_collection=off"
for node in co w1 w2 w3; do
	if [ $node = co ]; then preload=citus; else preload=citus,user_metadata; fi
	UM_PG_OPTS="-c shared_preload_libraries=$preload $opts" um_start_cluster "$node" tcp ||
		{ echo "not ok - citus: start cluster $node"; exit 1; }
done
declare -A port=([co]=$co_PORT [w1]=$w1_PORT [w2]=$w2_PORT [w3]=$w3_PORT)
um_log "citus: coordinator $co_PORT, workers $w1_PORT $w2_PORT, later $w3_PORT"

on() {					# on NODE PSQL-ARGS...: unaligned, stops at the first error
	local node=$1
	shift
	rel_sql -h 127.0.0.1 -p "${port[$node]}" -U postgres -d postgres "$@"
}
co() { on co "$@"; }
state_of() {			# state_of NODE STATEMENT...: SQLSTATE of the session's last error, 00000 if none
	local node=$1 args=()
	shift
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -q -At -h 127.0.0.1 -p "${port[$node]}" -U postgres -d postgres "${args[@]}" \
		-c '\echo :LAST_ERROR_SQLSTATE' 2>>"$work/errors.log" | tail -1
}
node_of() {				# node_of USER_ID: the worker (w1, w2, w3) holding the user's shard
	local p n
	p=$(co -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
		WHERE p.shardid = get_shard_id_for_distribution_column('user_metadata.user_metadata', '$1')")
	for n in w1 w2 w3; do [ "${port[$n]}" = "$p" ] && echo "$n"; done
}
users_on() {			# users_on NODE COUNT PREFIX [DB]: COUNT ids PREFIX1.. whose shard is on NODE, quoted
	rel_sql -h 127.0.0.1 -p "${port[co]}" -U postgres -d "${4:-postgres}" -c "SELECT string_agg(quote_literal(u), ',') FROM (SELECT u FROM (SELECT '$3' || i AS u
		FROM generate_series(1, 1000) i) s WHERE (SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n
		USING (groupid) WHERE p.shardid = get_shard_id_for_distribution_column('user_metadata.user_metadata', u))
		= ${port[$1]} LIMIT $2) t"
}
pgbench_processed() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }

for node in co w1 w2 w3; do
	on "$node" -c 'CREATE EXTENSION citus' || { echo "not ok - citus: CREATE EXTENSION citus on $node"; exit 1; }
done
co -c "SELECT citus_set_coordinator_host('127.0.0.1', ${port[co]})" \
	-c "SELECT citus_add_node('127.0.0.1', ${port[w1]})" -c "SELECT citus_add_node('127.0.0.1', ${port[w2]})" \
	-c 'CREATE EXTENSION user_metadata' -c 'CREATE DATABASE um_single' >/dev/null ||
	{ echo "not ok - citus: set up the coordinator and workers"; exit 1; }
rel_sql -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_single -c 'CREATE EXTENSION user_metadata'

#
# 1. distribute_on_citus(), without delegation; the store's calls
#
check "distribute_on_citus in a database without citus: 55000" 55000 \
	"$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_single \
	-c 'SELECT user_metadata.distribute_on_citus()' -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null | tail -1)"
check "distribute_on_citus on a worker: 55000" 55000 \
	"$(state_of w1 'SELECT user_metadata.distribute_on_citus()')"
check "distribute_on_citus with shard_count 0: 22023" 22023 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(0)')"
check "distribute_on_citus with delegate NULL: 22004" 22004 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(8, NULL)')"
co -c 'CREATE ROLE um_stranger LOGIN' -c 'CREATE ROLE um_backend LOGIN' -c 'CREATE ROLE app_client LOGIN'
check "distribute_on_citus is not for PUBLIC: 42501" 42501 \
	"$(state_of co 'SET ROLE um_stranger' 'SELECT user_metadata.distribute_on_citus()')"
check "delegation without user_metadata in shared_preload_libraries: 55000, nothing distributed" \
	"55000|0" "$(state_of co 'SELECT user_metadata.distribute_on_citus(8, delegate => true)')|$(co -c 'SELECT count(*) FROM pg_dist_partition')"
# rules and history set on one node follow the store onto the workers
co -c "SELECT user_metadata.set_document_rules('ruled', '{\"keys\": {\"n\": \"string\"}}')" \
	-c "SELECT user_metadata.set_history('kept', true)" \
	-c "SELECT user_metadata.set_user_metadata('pre', '{\"p\": 1}', 'kept')" >/dev/null
check "distribute_on_citus(8) on the coordinator, with document rules and change history" 00000 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(8)')"
check "the store is hash-distributed by user_id in 8 shards" "h user_id 8" \
	"$(co -c "SELECT partmethod::text || ' ' || column_to_column_name(logicalrelid, partkey) || ' ' ||
		(SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid)
	FROM pg_dist_partition p WHERE logicalrelid = 'user_metadata.user_metadata'::regclass")"
check "the rules and history settings are reference tables, the history co-located with the store by user_id" \
	"user_metadata.document_rules n ; user_metadata.history_settings n ; user_metadata.user_metadata_history h user_id true" \
	"$(co -c "SELECT string_agg(p.logicalrelid::text || ' ' || p.partmethod::text || ' ' || CASE WHEN p.partmethod = 'h' THEN
		column_to_column_name(p.logicalrelid, p.partkey) || ' ' || (p.colocationid = s.colocationid) ELSE ';' END, ' ' ORDER BY 1)
	FROM pg_dist_partition p, pg_dist_partition s WHERE s.logicalrelid = 'user_metadata.user_metadata'::regclass
		AND p.logicalrelid::text LIKE 'user_metadata.%' AND p.logicalrelid <> s.logicalrelid")"
check "the history keeps its policy, and what was recorded before" "current_user_only|1" \
	"$(co -c "SELECT string_agg(policyname, ',') FROM pg_policies WHERE tablename = 'user_metadata_history'")|$(co -c \
		"SELECT count(*) FROM user_metadata.user_metadata_history('pre', 'kept')")"
check "the rules set before are read back" '{"keys": {"n": "string"}}' \
	"$(co -c "SELECT user_metadata.get_document_rules('ruled')")"

# race_rules LABEL NODE DB APP USER: rules for APP set on NODE while a
# writer there commits a document of USER (quoted, its shard on NODE, the
# app without rules) that they break: the check must see it (a snapshot
# taken after the lock, also of the node's own shards), or the writer must
# meet the rules
race_rules() {
	local label=$1 node=$2 r=$4 u=$5 writer rules
	local -a node_sql=(psql -X -q -At -h 127.0.0.1 -p "${port[$node]}" -U postgres -d "$3")
	PGAPPNAME=um_race "${node_sql[@]}" -c BEGIN \
		-c "SELECT user_metadata.set_user_metadata($u, '{\"n\": \"five\"}', '$r')" \
		-c 'SELECT pg_sleep(2)' -c COMMIT >/dev/null 2>&1 &
	writer=$!
	for _ in $(seq 100); do		# until the writer has written and sleeps
		[ "$("${node_sql[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'um_race'
			AND query = 'SELECT pg_sleep(2)'")" = 1 ] && break
		sleep 0.1
	done
	rules=$("${node_sql[@]}" -c "SELECT user_metadata.set_document_rules('$r', '{\"keys\": {\"n\": \"number\"}}')" \
		-c '\echo :LAST_ERROR_SQLSTATE' 2>>"$work/errors.log" | tail -1)
	wait "$writer"
	check "$label: rules set on $node while a writer there commits a document they break: 23514, the rules not stored" \
		"23514|" "$rules|$("${node_sql[@]}" -c "SELECT user_metadata.get_document_rules('$r')")"
}

# rules_and_history LABEL PREFIX: document rules (app PREFIX_r) and change
# history (app PREFIX_k) set through the coordinator, for new users
# PREFIX.. on w1 and on w2
rules_and_history() {
	local label=$1 r=$2_r k=$2_k u1 u2 at
	u1=$(users_on w1 1 "$2") u2=$(users_on w2 1 "$2")
	co -c "SELECT user_metadata.set_document_rules('$r', '{\"keys\": {\"n\": \"string\"}}')" \
		-c "SELECT user_metadata.set_user_metadata($u1, '{\"n\": \"a\"}', '$r')" \
		-c "SELECT user_metadata.set_user_metadata($u2, '{\"n\": \"b\"}', '$r')" >/dev/null
	check "$label: a write that the app's rules refuse, on either worker: 23514, the documents unchanged" \
		'23514|23514|{"n": "a"} {"n": "b"}' \
		"$(state_of co "SELECT user_metadata.update_user_metadata($u1, '{\"n\": 1}', '$r')")|$(state_of co \
			"SELECT user_metadata.set_user_metadata($u2, '{\"n\": []}', '$r')")|$(co -c \
			"SELECT user_metadata.get_user_metadata($u1, '$r')") $(co -c "SELECT user_metadata.get_user_metadata($u2, '$r')")"
	check "$label: a write that follows them is stored" '{"m": 1, "n": "c"}' \
		"$(co -c "SELECT user_metadata.update_user_metadata($u1, '{\"n\": \"c\", \"m\": 1}', '$r')")"
	check "$label: a bulk write over both workers with one document the rules refuse: 23514 naming its user, nothing written" \
		"The document of user \"${u2//\'/}\" in app \"$r\" has key \"n\" of type number; the app's rule \"keys\" allows string.|{\"m\": 1, \"n\": \"c\"} {\"n\": \"b\"}" \
		"$(co -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY[$u1, $u2], ARRAY['{\"n\": \"z\"}', '{\"n\": 2}']::jsonb[], '$r')" 2>&1 |
			sed -n 's/^DETAIL:  //p')|$(co -c "SELECT user_metadata.get_user_metadata($u1, '$r')") $(co -c \
			"SELECT user_metadata.get_user_metadata($u2, '$r')")"
	check "$label: rules that a stored document breaks: 23514 naming its user, the rules unchanged" \
		"23514|It is the document of user \"${u1//\'/}\".|{\"keys\": {\"n\": \"string\"}}" \
		"$(state_of co "SELECT user_metadata.set_document_rules('$r', '{\"max_keys\": 1}')")|$(co -c \
			"SELECT user_metadata.set_document_rules('$r', '{\"max_keys\": 1}')" 2>&1 |
			sed -n 's/^DETAIL:  \(It is the document of user "[^"]*"\.\).*/\1/p')|$(co -c \
			"SELECT user_metadata.get_document_rules('$r')")"
	check "$label: set_document_rules in REPEATABLE READ on the distributed store: 0A000" 0A000 \
		"$(state_of co 'BEGIN ISOLATION LEVEL REPEATABLE READ' "SELECT user_metadata.set_document_rules('$r', '{}')")"
	check "$label: rules removed with NULL: the write refused before is stored" '{"m": 1, "n": 1}' \
		"$(co -c "SELECT user_metadata.set_document_rules('$r', NULL)" >/dev/null && co -c \
			"SELECT user_metadata.update_user_metadata($u1, '{\"n\": 1}', '$r')")"

	race_rules "$label" w1 postgres "$r" "$u1"
	co -c "SELECT user_metadata.set_document_rules('$r', NULL)" >/dev/null

	co -c "SELECT user_metadata.set_history('$k', true)" -c "SELECT user_metadata.set_user_metadata($u1, '{\"a\": 1}', '$k')" \
		-c "SELECT user_metadata.update_user_metadata($u1, '{\"b\": 2}', '$k')" \
		-c "SELECT user_metadata.update_user_metadata($u1, '{\"a\": null}', '$k')" \
		-c "SELECT user_metadata.update_user_metadata($u2, '{\"c\": 3}', '$k')" >/dev/null
	# without delegation the worker runs a statement, not the call: no patch
	check "$label: every write recorded, oldest first, with its document (and patch when delegated)" \
		"$([ "$label" = delegated ] && echo '- {"a": 1} | {"b": 2} {"a": 1, "b": 2} | {"a": null} {"b": 2}' ||
			echo '- {"a": 1} | - {"a": 1, "b": 2} | - {"b": 2}')" \
		"$(co -c "SELECT string_agg(coalesce(patch::text, '-') || ' ' || metadata::text, ' | ')
			FROM user_metadata.user_metadata_history($u1, '$k')")"
	at=$(co -c "SELECT changed_at FROM user_metadata.user_metadata_history($u1, '$k') OFFSET 1 LIMIT 1")
	check "$label: get_user_metadata_as_of the second write" '{"a": 1, "b": 2}' \
		"$(co -c "SELECT user_metadata.get_user_metadata_as_of($u1, '$at', '$k')")"
	co -c "SELECT count(user_metadata.update_user_metadata($u1, jsonb_build_object('i', i), '$k')) FROM generate_series(1, 17) i" \
		-c "SELECT user_metadata.set_history('$k', true, keep_count => 1)" >/dev/null
	check "$label: prune_history keeps the newest change, a whole document as every row written by a statement on the worker: 19 of 20 rows pruned" "19|1" \
		"$(co -c "SELECT user_metadata.prune_history('$k')")|$(co -c \
			"SELECT count(*) FROM user_metadata.user_metadata_history($u1, '$k')")"
	check "$label: forget_user removes the document and its history" "t|{}|0" \
		"$(co -c "SELECT user_metadata.forget_user($u2, '$k')")|$(co -c \
			"SELECT user_metadata.get_user_metadata($u2, '$k')")|$(co -c \
			"SELECT count(*) FROM user_metadata.user_metadata_history($u2, '$k')")"
}
check "the rules set before are enforced on the workers: 23514" 23514 \
	"$(state_of co "SELECT user_metadata.set_user_metadata('pre', '{\"n\": 1}', 'ruled')")"
rules_and_history "no delegation" rh
check "without delegate no function is distributed" 0 \
	"$(co -c "SELECT count(*) FROM pg_dist_object WHERE distribution_argument_index IS NOT NULL")"

# test/proxy/calls.sql: every call of the API, errors included
calls=$(grep -c '^\\echo :LAST_ERROR_SQLSTATE' "$UM_ROOT/test/proxy/calls.sql")
compare_calls() {		# compare_calls LABEL: calls.sql through the coordinator against one node
	co -c 'TRUNCATE user_metadata.user_metadata' >/dev/null
	psql -X -a -h 127.0.0.1 -p "${port[co]}" -U postgres -d postgres -f "$UM_ROOT/test/proxy/calls.sql" \
		>"$work/citus.out" 2>&1
	check "calls.sql through the coordinator, $1: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/citus.out")"
	# documented difference: an error from a shard names the shard's table
	sed -i -E 's/relation "user_metadata_[0-9]+"/relation "user_metadata"/' "$work/citus.out"
	if diff -u "$work/single.out" "$work/citus.out" >&2; then
		check_status 0 "calls.sql, $1: results, errors, SQLSTATEs, details and hints identical on one node and through the coordinator (shard names aside)"
	else
		check_status 1 "calls.sql, $1: output differs between one node and the coordinator (diff on stderr)"
	fi
}
psql -X -a -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_single -f "$UM_ROOT/test/proxy/calls.sql" >"$work/single.out" 2>&1
check "calls.sql on one node: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/single.out")"
compare_calls "no delegation"

# A store distributed by 1.3, updated to 1.4 (database um_upgrade): Citus
# refuses the history trigger inside the update's script, and the new CHECK
# constraints would reach the workers before their functions, so the
# constraints, the rules and the history wait for distribute_on_citus to run
# again, and the rules and the history refuse until then
in_db() {				# in_db DB NODE PSQL-ARGS...: as on, in database DB
	local db=$1 node=$2
	shift 2
	rel_sql -h 127.0.0.1 -p "${port[$node]}" -U postgres -d "$db" "$@"
}
citus_db() {			# citus_db DB: database DB on co, w1 and w2 with Citus, the workers added
	local node
	for node in co w1 w2; do
		on "$node" -c "CREATE DATABASE $1" >/dev/null && in_db "$1" "$node" -c 'CREATE EXTENSION citus' >/dev/null
	done
	in_db "$1" co -c "SELECT citus_set_coordinator_host('127.0.0.1', ${port[co]})" \
		-c "SELECT citus_add_node('127.0.0.1', ${port[w1]})" -c "SELECT citus_add_node('127.0.0.1', ${port[w2]})" >/dev/null
}
up() { in_db um_upgrade "$@"; }
citus_db um_upgrade
up co -c "CREATE EXTENSION user_metadata VERSION '1.3'" \
	-c 'SELECT user_metadata.distribute_on_citus(4)' -c "SELECT user_metadata.set_user_metadata('up1', '{\"a\": 1}', 'k')" >/dev/null
check "a store distributed under 1.3: ALTER EXTENSION user_metadata UPDATE reaches 1.4 on every node" "1.4 1.4 1.4" \
	"$(up co -c 'ALTER EXTENSION user_metadata UPDATE' >/dev/null 2>>"$work/errors.log"; for node in co w1 w2; do
		up "$node" -c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata'"; done | paste -sd ' ')"
check "... then set_document_rules and set_history(true) refuse (55000) until distribute_on_citus runs again" "55000|55000" \
	"$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_upgrade \
		-c "SELECT user_metadata.set_document_rules('k', '{\"max_keys\": 1}')" -c '\echo :LAST_ERROR_SQLSTATE' \
		-c "SELECT user_metadata.set_history('k', true)" -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null | paste -sd '|')"
check "... after it, both work on the workers: a write the rules refuse (23514), one they allow recorded with its document" \
	'23514|- {"a": 1, "b": 2}' \
	"$(up co -c 'SELECT user_metadata.distribute_on_citus(4)' -c "SELECT user_metadata.set_document_rules('k', '{\"max_keys\": 2}')" \
		-c "SELECT user_metadata.set_history('k', true)" >/dev/null && psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres \
		-d um_upgrade -c "SELECT user_metadata.update_user_metadata('up1', '{\"b\": 2, \"c\": 3}', 'k')" \
		-c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null)|$(up co -c "SELECT user_metadata.update_user_metadata('up1', '{\"b\": 2}', 'k')" \
		-c "SELECT string_agg(coalesce(patch::text, '-') || ' ' || metadata, ' | ') FROM user_metadata.user_metadata_history('up1', 'k')" |
		tail -1)"
check "... and the store's table and shards on every node have 1.4's CHECK constraints, one call each, which refuse a 513-byte id (23514)" \
	"t t t|23514" \
	"$(for node in co w1 w2; do up "$node" -c "SELECT count(*) > 0 AND bool_and(pg_get_constraintdef(c.oid)
			~ '^CHECK \(user_metadata\.(ids_valid\(app_id, user_id\)|metadata_is_object\(metadata\))\)$')
		FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
		WHERE c.contype = 'c' AND r.relnamespace = 'user_metadata'::regnamespace AND r.relname ~ '^user_metadata(_[0-9]+)?$'"
	done | paste -sd ' ')|$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_upgrade \
		-c "SELECT user_metadata.update_user_metadata(repeat('x', 513), '{}', 'k')" -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null)"
race_rules "a store distributed under 1.3, updated" w1 um_upgrade race "$(users_on w1 1 race um_upgrade)"

# A coordinator that holds shards (database um_coshards): distribute_on_citus
# copies rows into the coordinator's own shards too, and records none of
# that copy as history; a statement on those shards runs in the caller's
# backend, so its history keeps the patch, and the rules check reads them
cs() { in_db um_coshards "$@"; }
citus_db um_coshards
cs co -c "SELECT citus_set_node_property('127.0.0.1', ${port[co]}, 'shouldhaveshards', true)" -c 'CREATE EXTENSION user_metadata' \
	-c "SELECT user_metadata.set_history('c', true)" \
	-c "SELECT count(user_metadata.update_user_metadata('c' || i, jsonb_build_object('n', i), 'c')) FROM generate_series(1, 40) i" \
	-c 'SELECT user_metadata.distribute_on_citus(6)' >/dev/null 2>>"$work/errors.log"
check "a coordinator holding shards: some of the store's shards are on it, and the history holds each write once" "t|40 40" \
	"$(cs co -c "SELECT count(*) > 0 FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
		WHERE n.nodeport = ${port[co]} AND p.shardid IN (SELECT shardid FROM pg_dist_shard
			WHERE logicalrelid = 'user_metadata.user_metadata'::regclass)")|$(cs co -c \
		"SELECT count(*) || ' ' || count(DISTINCT user_id) FROM user_metadata.user_metadata_history")"
uc=$(users_on co 1 c um_coshards)
check "... a write of a user on the coordinator's shard recorded once, with its patch" \
	"{\"n\": ${uc//[^0-9]/}} {\"n\": ${uc//[^0-9]/}} | {\"m\": 1} {\"m\": 1, \"n\": ${uc//[^0-9]/}}" \
	"$(cs co -c "SELECT user_metadata.update_user_metadata($uc, '{\"m\": 1}', 'c')" >/dev/null && cs co -c \
		"SELECT string_agg(coalesce(patch::text, '-') || ' ' || metadata, ' | ') FROM user_metadata.user_metadata_history($uc, 'c')")"
check "... rules that its document breaks refused (23514), a write the rules refuse there too" "23514|23514" \
	"$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres -d um_coshards \
		-c "SELECT user_metadata.set_document_rules('c', '{\"keys\": {\"m\": \"string\"}}')" -c '\echo :LAST_ERROR_SQLSTATE' \
		-c "SELECT user_metadata.set_document_rules('c', '{\"keys\": {\"m\": \"number\"}}')" \
		-c "SELECT user_metadata.update_user_metadata($uc, '{\"m\": \"x\"}', 'c')" -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null |
		sed '/^$/d' | paste -sd '|')"
race_rules "a coordinator holding shards" co um_coshards race "$(users_on co 1 race um_coshards)"

#
# 2. Delegation
#
um_log "restarting the coordinator with user_metadata preloaded"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$co_DIR/data" -l "$co_DIR/server.log" -w -t 60 restart \
	-o "-c listen_addresses=127.0.0.1 -p ${port[co]} -k $co_DIR -c fsync=off -c shared_preload_libraries=citus,user_metadata $opts" \
	>/dev/null
# The guard looks once per backend (and per change of pg_proc) whether its
# database has Citus; without Citus it then checks no call
guard_messages() {		# guard_messages DATABASE: the guard's DEBUG1 lines over three statements
	psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U postgres -d "$1" -c 'SET client_min_messages = debug1' \
		-c 'SELECT 1' -c "SELECT user_metadata.get_user_metadata('g')" -c 'SELECT 3' 2>&1 >/dev/null |
		sed -n 's/^DEBUG:  user_metadata: the Citus guard is \(.*\) in this database$/\1/p' | paste -sd ' '
}
check "preloaded, in a database without Citus: the guard finds it off once, then checks nothing" off \
	"$(guard_messages um_single)"
check "preloaded, in the database with Citus: the guard finds it on once" on "$(guard_messages postgres)"
check "loaded, not preloaded (the main cluster): no guard" 0 \
	"$(PGOPTIONS='-c client_min_messages=debug1' rel_sql -d postgres -c "LOAD 'user_metadata'" \
		-c 'SELECT 2' 2>&1 >/dev/null | grep -c 'Citus guard' || true)"
co -c "INSERT INTO user_metadata.admin_scopes VALUES ('um_backend', 'billing')"
check "delegation with admin scopes only on the coordinator: 55000 (a delegated call checks the worker's)" 55000 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(8, delegate => true)')"
co -c "SELECT count(*) FROM run_command_on_workers(\$\$INSERT INTO user_metadata.admin_scopes VALUES ('um_backend', 'billing')\$\$)" >/dev/null
check "distribute_on_citus(8, delegate => true) with the same scopes on every node" 00000 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(8, delegate => true)')"
check "distribute_on_citus again: nothing to do, no error" 00000 \
	"$(state_of co 'SELECT user_metadata.distribute_on_citus(8, delegate => true)')"
check "the per-user functions of user_metadata.per_user_functions(), each user_id text first" \
	"clear_user_metadata delete_user_metadata_key forget_user get_user_metadata get_user_metadata_as_of set_user_metadata update_user_metadata user_metadata_history" \
	"$(co -c "SELECT string_agg(p.proname, ' ' ORDER BY p.proname) FROM user_metadata.per_user_functions() f JOIN pg_proc p ON p.oid = f
		WHERE p.proargnames[1] = 'user_id' AND p.proargtypes[0] = 'text'::regtype")"
check "exactly the per-user functions are distributed by user_id, force-delegated, co-located with the store" \
	"$(co -c "SELECT string_agg(f || ' 0 true true', ', ' ORDER BY 1) FROM user_metadata.per_user_functions() f")" \
	"$(co -c "SELECT string_agg(objid::regprocedure || ' ' || distribution_argument_index || ' ' || force_delegation
		|| ' ' || (colocationid = (SELECT colocationid FROM pg_dist_partition
								   WHERE logicalrelid = 'user_metadata.user_metadata'::regclass)), ', ' ORDER BY 1)
	FROM pg_dist_object WHERE classid = 'pg_proc'::regclass AND distribution_argument_index IS NOT NULL")"
compare_calls "delegated"
rules_and_history "delegated" dh
check "a NULL user id folded from an expression, bound to a prepared statement or folded from one: 22004, the server keeps running" \
	"22004|22004|22004|22004|1" "$(state_of co "SELECT user_metadata.get_user_metadata(NULLIF('a', 'a'))")|$(state_of co \
	"PREPARE g(text) AS SELECT user_metadata.get_user_metadata(\$1)" 'EXECUTE g(NULL)' 'EXECUTE g(NULL)' 'EXECUTE g(NULL)' \
	'EXECUTE g(NULL)' 'EXECUTE g(NULL)' 'EXECUTE g(NULL)' 'EXECUTE g(NULL)')|$(state_of co \
	"PREPARE n(text) AS SELECT user_metadata.get_user_metadata(NULLIF(\$1, ''))" "EXECUTE n('')" "EXECUTE n('')" \
	"EXECUTE n('')" "EXECUTE n('')" "EXECUTE n('')" "EXECUTE n('')" "EXECUTE n('')")|$(state_of co \
	"PREPARE u(text) AS SELECT * FROM user_metadata.update_user_metadata(\$1, '{}')" BEGIN 'EXECUTE u(NULL)')|$(co -c 'SELECT 1')"
check "a call outside a transaction block is delegated: the worker runs the call itself" 1 \
	"$(co -c 'SET citus.log_remote_commands = on' -c "SELECT user_metadata.update_user_metadata('deleg', '{\"a\": 1}')" \
	2>&1 | grep -c "issuing SELECT user_metadata.update_user_metadata('deleg'")"
check "a call inside a transaction block is delegated too (force_delegation), no INSERT from the coordinator" 1 \
	"$(co -c 'SET citus.log_remote_commands = on' -c BEGIN -c "SELECT user_metadata.update_user_metadata('deleg', '{\"b\": 1}')" \
	-c COMMIT 2>&1 | grep -cE "issuing (SELECT user_metadata.update_user_metadata\('deleg'|INSERT)")"
co -c 'GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) TO um_backend' >/dev/null
check "a delegated call checks the caller's per-app admin scope on the worker: its app passes, another is 42501" "00000|42501" \
	"$(state_of co 'SET ROLE um_backend' "SELECT user_metadata.update_user_metadata('deleg', '{}', 'billing')")|$(state_of co \
	'SET ROLE um_backend' "SELECT user_metadata.update_user_metadata('deleg', '{}')")"
co -c "SELECT count(*) FROM run_command_on_all_nodes('DELETE FROM user_metadata.admin_scopes')" >/dev/null

#
# 3. Transactions
#
co -c "SELECT user_metadata.set_user_metadata('tx', '{\"kept\": true}')" >/dev/null
check "BEGIN; update_user_metadata; ROLLBACK leaves the document unchanged" '{"kept": true}' \
	"$(co -c BEGIN -c "SELECT user_metadata.update_user_metadata('tx', '{\"a\": 1}')" -c ROLLBACK \
	-c "SELECT user_metadata.get_user_metadata('tx')" | tail -1)"
check "BEGIN; clear_user_metadata; ROLLBACK keeps the document" '{"kept": true}' \
	"$(co -c BEGIN -c "SELECT user_metadata.clear_user_metadata('tx')" -c ROLLBACK \
	-c "SELECT user_metadata.get_user_metadata('tx')" | tail -1)"
co -c 'CREATE TABLE app_orders (user_id text NOT NULL, order_id int NOT NULL, PRIMARY KEY (user_id, order_id))' \
	-c "SELECT create_distributed_table('app_orders', 'user_id', colocate_with := 'user_metadata.user_metadata')" >/dev/null
both() {				# both: the tx user's document and order ids (two queries: see README on nesting)
	echo "$(co -c "SELECT user_metadata.get_user_metadata('tx')")" \
		"$(co -c "SELECT coalesce(string_agg(order_id::text, ',' ORDER BY order_id), '-') FROM app_orders WHERE user_id = 'tx'")"
}
co -c 'SET citus.log_remote_commands = on' -c BEGIN -c "SELECT user_metadata.update_user_metadata('tx', '{\"orders\": 1}')" \
	-c "INSERT INTO app_orders VALUES ('tx', 1)" -c COMMIT >/dev/null 2>"$work/colocated.log"
check "a merge and a write to a co-located app table commit together" '{"kept": true, "orders": 1} 1' "$(both)"
check "... on one worker, in one local transaction (no two-phase commit)" 0 \
	"$(grep -c 'PREPARE TRANSACTION' "$work/colocated.log")"
co -c BEGIN -c "INSERT INTO app_orders VALUES ('tx', 2)" -c "SELECT user_metadata.update_user_metadata('tx', '{\"orders\": 2}')" \
	-c ROLLBACK >/dev/null
check "a merge and an app write roll back together" '{"kept": true, "orders": 1} 1' "$(both)"
check "a merge that fails (22023) takes the app write of its transaction with it" '22023|{"kept": true, "orders": 1} 1' \
	"$(state_of co BEGIN "INSERT INTO app_orders VALUES ('tx', 3)" \
	"SELECT user_metadata.update_user_metadata('tx', '[3]')" COMMIT)|$(both)"
co -c BEGIN -c "SELECT user_metadata.update_user_metadata('tx', '{\"two\": 1}')" \
	-c "SELECT user_metadata.update_user_metadata(u, '{\"two\": 1}') FROM unnest(ARRAY[$(users_on w1 1 two),$(users_on w2 1 two)]) u" \
	-c ROLLBACK >/dev/null
check "a transaction over users on both workers rolls back on both" 0 \
	"$(co -c "SELECT count(*) FROM user_metadata.user_metadata WHERE metadata ? 'two'")"

#
# 4. Concurrency through the coordinator
#
clients=8
per_client=100
for user in hot fresh; do
	[ "$user" = hot ] && co -c "SELECT user_metadata.set_user_metadata('hot', '{\"base\": true}')" >/dev/null
	# the fresh user's calls run in transaction blocks (force-delegated), the hot one's without
	if [ "$user" = hot ]; then begin='' commit=''; else begin='BEGIN;' commit='COMMIT;'; fi
	cat >"$work/add_key.sql" <<SQL
\set n :n + 1
$begin
SELECT user_metadata.update_user_metadata('$user', jsonb_build_object('c' || :client_id || '_' || :n, :n));
$commit
SQL
	"$PGBIN/pgbench" -n -h 127.0.0.1 -p "${port[co]}" -U postgres -c $clients -j 2 -t $per_client -D n=0 \
		-f "$work/add_key.sql" postgres >"$work/pgbench_$user.log" 2>&1 || cat "$work/pgbench_$user.log" >&2
	check "$clients x $per_client concurrent updates of the $user user through the coordinator: all committed" $((clients * per_client)) \
		"$(pgbench_processed "$work/pgbench_$user.log")"
	check "$clients x $per_client concurrent updates of the $user user: no key lost" 0 \
		"$(co -c "SELECT count(*) FROM generate_series(0, $clients - 1) c, generate_series(1, $per_client) n
		WHERE NOT user_metadata.get_user_metadata('$user') ? ('c' || c || '_' || n)")"
done
check "the hot user's earlier keys survive" true "$(co -c "SELECT user_metadata.get_user_metadata('hot') -> 'base'")"

#
# 5. Row-level security through the coordinator
#
# The documented set-up: client privileges, LOGIN (Citus connects to the
# workers as the role), SET LOCAL propagated to the workers.
co -c 'GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO app_client' \
	-c 'GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO app_client' \
	-c 'GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO app_client' \
	-c 'GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) TO um_backend' \
	-c "ALTER DATABASE postgres SET citus.propagate_set_commands = 'local'" \
	-c "SELECT user_metadata.set_user_metadata(u, jsonb_build_object('own', u)) FROM unnest(ARRAY['alice_rls', 'bob_rls']) u" \
	>/dev/null
try() {					# try ROLE SETUP STATEMENT: the statement's rows, or its SQLSTATE; rolled back
	local out
	out=$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U "$1" -d postgres -c BEGIN -c "$2" -c "$3" \
		-c '\echo :LAST_ERROR_SQLSTATE' -c ROLLBACK 2>>"$work/errors.log")
	if [ "$(tail -1 <<<"$out")" = 00000 ]; then sed '$d' <<<"$out" | paste -sd ';'; else echo "ERROR $(tail -1 <<<"$out")"; fi
}
as_alice="SET LOCAL user_metadata.user_id = 'alice_rls'"
while IFS='|' read -r role setup statement want; do
	[ -n "$role" ] || continue
	check "RLS through the coordinator: $role, $statement" "$want" "$(try "$role" "$setup" "$statement")"
done <<EOF
app_client|$as_alice|SELECT user_metadata.custom_user_data()|{"own": "alice_rls"}
app_client|$as_alice|CALL user_metadata.write_custom_user_data('{"k": 1}')|{"k": 1, "own": "alice_rls"}
app_client|$as_alice|SELECT string_agg(user_id, ',') FROM user_metadata.user_metadata|alice_rls
app_client|$as_alice|SELECT count(*) FROM user_metadata.user_metadata WHERE user_id = 'bob_rls'|0
app_client|$as_alice|WITH u AS (UPDATE user_metadata.user_metadata SET metadata = '{}' WHERE user_id = 'bob_rls' RETURNING 1) SELECT count(*) FROM u|0
app_client|$as_alice|WITH d AS (DELETE FROM user_metadata.user_metadata WHERE user_id = 'bob_rls' RETURNING 1) SELECT count(*) FROM d|0
app_client|$as_alice|INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('bob_rls', '{}')|ERROR 42501
app_client|$as_alice|INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('carol_rls', '{}')|ERROR 42501
app_client|$as_alice|UPDATE user_metadata.user_metadata SET user_id = 'carol_rls' WHERE user_id = 'alice_rls'|ERROR 0A000
app_client|$as_alice|SELECT user_metadata.get_user_metadata('alice_rls')|ERROR 42501
app_client|$as_alice|SELECT user_metadata.update_user_metadata('bob_rls', '{}')|ERROR 42501
app_client|SET LOCAL client_min_messages = warning|SELECT user_metadata.custom_user_data()|ERROR 28000
app_client|SELECT set_config('user_metadata.user_id', 'alice_rls', true)|SELECT user_metadata.custom_user_data()|ERROR 28000
app_client|SET LOCAL citus.propagate_set_commands = 'none'|$as_alice; SELECT user_metadata.custom_user_data()|ERROR 28000
um_stranger|$as_alice|SELECT user_metadata.custom_user_data()|ERROR 42501
um_stranger|$as_alice|SELECT count(*) FROM user_metadata.user_metadata|ERROR 42501
um_stranger|$as_alice|SELECT user_metadata.update_user_metadata('alice_rls', '{}')|ERROR 42501
um_backend|SET LOCAL client_min_messages = warning|SELECT user_metadata.update_user_metadata('bob_rls', '{"b": 1}')|{"b": 1, "own": "bob_rls"}
um_backend|SET LOCAL client_min_messages = warning|SELECT user_metadata.get_user_metadata('bob_rls')|ERROR 42501
EOF
check "RLS matrix: every attempt rolled back or refused, alice's and bob's documents unchanged, no carol" '{"own": "alice_rls"} {"own": "bob_rls"}' \
	"$(co -c "SELECT string_agg(metadata::text, ' ' ORDER BY user_id) FROM user_metadata.user_metadata
	WHERE user_id IN ('alice_rls', 'bob_rls', 'carol_rls')")"
check "a backend role granted update_user_metadata: the delegated call runs on the worker with its rights" '{"b": 1, "own": "bob_rls"}' \
	"$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U um_backend -d postgres \
	-c "SELECT user_metadata.update_user_metadata('bob_rls', '{\"b\": 1}')" 2>&1)"

# change history on for app public from here on, the rebalance included
co -c "SELECT user_metadata.set_history('public', true)" -c 'GRANT SELECT ON user_metadata.user_metadata_history TO app_client' \
	-c "SELECT user_metadata.update_user_metadata('bob_rls', '{\"e\": 1}')" >/dev/null
psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U app_client -d postgres -c BEGIN -c "$as_alice" \
	-c "UPDATE user_metadata.user_metadata SET metadata = metadata || '{\"d\": 1}' WHERE user_id = 'alice_rls'" -c COMMIT
check "history on the workers: a client's direct write recorded with its role and user id, no patch" \
	'app_client alice_rls - {"d": 1, "own": "alice_rls"}' \
	"$(co -c "SELECT changed_by || ' ' || changed_by_user_id || ' ' || coalesce(patch::text, '-') || ' ' || metadata
		FROM user_metadata.user_metadata_history('alice_rls')")"
check "history on the workers: a client reads only its own rows (row-level security on the shards)" alice_rls \
	"$(psql -X -q -At -h 127.0.0.1 -p "${port[co]}" -U app_client -d postgres -c BEGIN -c "$as_alice" \
		-c "SELECT string_agg(DISTINCT user_id, ',') FROM user_metadata.user_metadata_history" -c COMMIT 2>&1)"

#
# 6. merge_trigger on a distributed table; change notifications
#
co -c 'CREATE TABLE profiles (user_id text PRIMARY KEY, settings jsonb)' \
	-c "SELECT create_distributed_table('profiles', 'user_id', colocate_with := 'user_metadata.user_metadata')" \
	-c 'SET citus.enable_unsafe_triggers = on' \
	-c "CREATE TRIGGER profiles_merge BEFORE INSERT OR UPDATE ON profiles
		FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('settings')" >/dev/null
check "merge_trigger on a distributed table merges inserts, updates and upserts on the worker" '{"font": "mono", "size": 12}' \
	"$(co -c "INSERT INTO profiles VALUES ('p1', '{\"theme\": \"dark\", \"gone\": null}')" \
	-c "UPDATE profiles SET settings = '{\"font\": \"mono\", \"theme\": null}' WHERE user_id = 'p1'" \
	-c "INSERT INTO profiles VALUES ('p1', '{\"size\": 12}') ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings" \
	-c "SELECT settings FROM profiles WHERE user_id = 'p1'")"
check "merge_trigger on a distributed table: a non-object is refused with 22023" \
	'22023|{"font": "mono", "size": 12}' "$(state_of co "UPDATE profiles SET settings = '[1]' WHERE user_id = 'p1'")|$(co -c "SELECT settings FROM profiles")"

n_node=$(node_of n1)
cat >"$work/write_n1.sh" <<SH
psql -X -q -At -h 127.0.0.1 -p ${port[co]} -U postgres -d postgres -c BEGIN -c 'SET LOCAL user_metadata.notify = on' \\
	-c "SELECT user_metadata.update_user_metadata('n1', '{\\"x\\": 1}')" -c COMMIT >/dev/null
SH
heard() {				# heard NODE: notifications a listener on NODE receives for one write of n1
	on "$1" -c 'LISTEN user_metadata' -c "\\! bash $work/write_n1.sh" -c 'SELECT 1' 2>&1 |
		grep -c 'Asynchronous notification "user_metadata" with payload "{"app_id": "public", "user_id": "n1"}"'
}
check "a change notification is sent on the worker holding the user (listener there hears it once)" 1 "$(heard "$n_node")"
check "... and not on the coordinator" 0 "$(heard co)"
check "ALTER DATABASE ... SET user_metadata.notify on the coordinator reaches the workers" "on on" \
	"$(co -c 'ALTER DATABASE postgres SET user_metadata.notify = on' >/dev/null
	   for n in w1 w2; do on "$n" -c 'SHOW user_metadata.notify'; done | paste -sd ' ')"
co -c 'ALTER DATABASE postgres RESET user_metadata.notify' >/dev/null
a_user=$(users_on w1 1 nt)
b_user=$(users_on w2 1 nt)
check "with notify on, a transaction writing users on two workers fails at COMMIT (0A000) and stores nothing" "0A000|0" \
	"$(state_of co BEGIN 'SET LOCAL user_metadata.notify = on' \
	"SELECT user_metadata.update_user_metadata($a_user, '{\"y\": 1}')" \
	"SELECT user_metadata.update_user_metadata($b_user, '{\"y\": 1}')" COMMIT)|$(co -c "SELECT count(*)
	FROM user_metadata.user_metadata WHERE user_id IN ($a_user, $b_user)")"
check "with notify off the same transaction commits (two-phase)" 00000 \
	"$(state_of co BEGIN "SELECT user_metadata.update_user_metadata($a_user, '{\"y\": 1}')" \
	"SELECT user_metadata.update_user_metadata($b_user, '{\"y\": 1}')" COMMIT)"

#
# 7. A third worker and a rebalance while writes run
#
rb_users=200
co -c "SELECT count(user_metadata.set_user_metadata('rb' || i, jsonb_build_object('n', i))) FROM generate_series(1, $rb_users) i" >/dev/null
cat >"$work/rebalance_writes.sql" <<SQL
\set n :n + 1
SELECT user_metadata.update_user_metadata('rb' || (1 + (:client_id * 997 + :n) % $rb_users), jsonb_build_object('c' || :client_id || '_' || :n, :n));
SQL
co -c 'CREATE TABLE rb_before AS SELECT app_id, user_id, metadata, created_at FROM user_metadata.user_metadata' >/dev/null
rb_clients=4
rb_per_client=600
"$PGBIN/pgbench" -n -h 127.0.0.1 -p "${port[co]}" -U postgres -c $rb_clients -j 2 -t $rb_per_client -D n=0 \
	-f "$work/rebalance_writes.sql" postgres >"$work/pgbench_rebalance.log" 2>&1 &
writer=$!
started=$SECONDS
co -c "SELECT citus_add_node('127.0.0.1', ${port[w3]})" >/dev/null &&
	co -c "SELECT rebalance_table_shards(shard_transfer_mode := 'force_logical')" >"$work/rebalance.log" 2>&1
rc=$?
rebalance_s=$((SECONDS - started))
wait "$writer"
check "citus_add_node and rebalance_table_shards (logical replication) while pgbench writes ($rebalance_s s)" 0 "$rc"
um_log "rebalance: $rebalance_s s; writes $(grep -E '^(latency average|tps)' "$work/pgbench_rebalance.log" | paste -sd ' ')"
check "the new worker holds shards of the store" 1 \
	"$(co -c "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
	JOIN pg_dist_shard s USING (shardid) WHERE n.nodeport = ${port[w3]}
	AND s.logicalrelid = 'user_metadata.user_metadata'::regclass" | awk '{ print ($1 > 0) }')"
check "every write made during the rebalance committed ($((rb_clients * rb_per_client)))" $((rb_clients * rb_per_client)) \
	"$(pgbench_processed "$work/pgbench_rebalance.log")"
check "after the rebalance: as many rows as before, none duplicated" \
	"$(co -c "SELECT count(*) || ' ' || count(*) FROM rb_before")" \
	"$(co -c "SELECT count(*) || ' ' || count(DISTINCT (app_id, user_id)) FROM user_metadata.user_metadata")"
check "after the rebalance: no key written during it lost" 0 \
	"$(co -c "SELECT count(*) FROM generate_series(0, $rb_clients - 1) c, generate_series(1, $rb_per_client) n
	WHERE NOT user_metadata.get_user_metadata('rb' || (1 + (c * 997 + n) % $rb_users)) ? ('c' || c || '_' || n)")"
check "after the rebalance: each user's history holds every write, in order (its shard moved with the store's)" 0 \
	"$(co -c "WITH w AS (SELECT 1 + (c * 997 + n) % $rb_users AS i, count(*) AS writes
			FROM generate_series(0, $rb_clients - 1) c, generate_series(1, $rb_per_client) n GROUP BY 1)
		SELECT count(*) FROM w WHERE (SELECT count(*) FROM user_metadata.user_metadata_history('rb' || w.i)) <> w.writes + 1
			OR EXISTS (SELECT FROM (SELECT h.metadata, lag(h.metadata) OVER (ORDER BY h.o) AS before
					FROM user_metadata.user_metadata_history('rb' || w.i) WITH ORDINALITY
						AS h (changed_at, changed_by, patch, metadata, changed_by_user_id, o)) x
				WHERE NOT x.metadata @> x.before)")"
check "after the rebalance: every earlier document and created_at kept" 0 \
	"$(co -c "SELECT count(*) FROM rb_before b JOIN user_metadata.user_metadata m USING (app_id, user_id)
	WHERE m.created_at <> b.created_at OR NOT m.metadata @> b.metadata")"
# the moved shards' old copies are dropped by deferred clean-up; do it now,
# again while a copy is still locked (it is skipped then), for up to 30 s
total_rows=$(co -c "SELECT count(*) FROM user_metadata.user_metadata")
all_shard_rows() { echo $(($(for n in w1 w2 w3; do shard_rows "$n"; done | paste -sd +))); }
shard_rows() {			# shard_rows NODE: rows in the store's shards on NODE (not through Citus)
	on "$1" <<'SQL'
SET citus.override_table_visibility = off;
SELECT 'SELECT count(*) FROM (' || coalesce(string_agg(format('SELECT FROM user_metadata.%I', relname), ' UNION ALL '),
	'SELECT WHERE false') || ') s'
FROM pg_class WHERE relnamespace = 'user_metadata'::regnamespace AND relkind = 'r'
	AND relname ~ '^user_metadata_[0-9]+$' \gexec
SQL
}
for _ in $(seq 60); do
	co -c 'CALL citus_cleanup_orphaned_resources()' >/dev/null
	[ "$(all_shard_rows)" = "$total_rows" ] && break
	sleep 0.5
done
check "the workers' shards hold each row once (rows in the shards of w1, w2, w3 add up to the total)" \
	"$total_rows" "$(all_shard_rows)"
w3_user=$(users_on w3 1 rb)
check "calls for a user moved to the new worker are delegated there" 1 \
	"$(co -c 'SET citus.log_remote_commands = on' -c BEGIN -c "SELECT user_metadata.update_user_metadata($w3_user, '{\"w3\": 1}')" \
	-c COMMIT 2>&1 | grep -c "on server postgres@127.0.0.1:${port[w3]}" | awk '{ print ($1 > 0) }')"

#
# 8. A worker stopped, then started again
#
down_users=$(users_on w2 20 rb)
up_users=$(users_on w1 10 rb),$(users_on w3 10 rb)
co -c 'CREATE TABLE outage_before AS SELECT app_id, user_id, metadata FROM user_metadata.user_metadata' >/dev/null
um_log "stopping worker w2"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$w2_DIR/data" -m fast -w stop >/dev/null
outage() {				# outage LABEL STATEMENT-FORMAT USERS: SQLSTATEs of STATEMENT for each user, counted
	co -c 'SET client_min_messages = error' -c "CREATE OR REPLACE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS \$\$
		BEGIN EXECUTE call; RETURN '00000'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END \$\$" \
		-c "SELECT string_agg(s || 'x' || n, ' ' ORDER BY s) FROM (SELECT s, count(*) n FROM (
			SELECT pg_temp.try(format('$2', u)) s FROM unnest(ARRAY[$3]) u) t GROUP BY s) c"
}
check "w2 down: reads of 20 of its users fail with 08006" "08006x20" \
	"$(outage r 'SELECT user_metadata.get_user_metadata(%L)' "$down_users")"
check "w2 down: writes to 20 of its users fail with 08006" "08006x20" \
	"$(outage w "SELECT user_metadata.update_user_metadata(%L, ''{\"outage\": true}'')" "$down_users")"
check "w2 down: reads of 20 users on w1 and w3 work" "00000x20" \
	"$(outage r 'SELECT user_metadata.get_user_metadata(%L)' "$up_users")"
check "w2 down: writes to 20 users on w1 and w3 work" "00000x20" \
	"$(outage w "SELECT user_metadata.update_user_metadata(%L, ''{\"outage\": true}'')" "$up_users")"
check "w2 down: find_users, which needs every shard, fails with 08006" 08006 "$(state_of co "SELECT user_metadata.find_users('{}')")"
check "w2 down: a bulk read of users on w1 and w3 works (only their shards are asked); with w2's users, 08006" "00000|08006" \
	"$(state_of co "SELECT count(*) FROM user_metadata.get_user_metadata_bulk(ARRAY[$up_users])")|$(state_of co \
	"SELECT count(*) FROM user_metadata.get_user_metadata_bulk(ARRAY[$up_users, $down_users])")"
um_log "starting worker w2"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$w2_DIR/data" -l "$w2_DIR/server.log" -w -t 60 restart >/dev/null 2>&1
check "w2 back: its users can be written again" "00000x20" \
	"$(outage r "SELECT user_metadata.update_user_metadata(%L, ''{\"back\": true}'')" "$down_users")"
check "w2 back: nothing lost or added; only the outage writes to w1/w3 users and the later writes changed documents" 0 \
	"$(co -c "SELECT count(*) FROM outage_before b FULL JOIN user_metadata.user_metadata m USING (app_id, user_id)
	WHERE b.metadata IS NULL OR m.metadata IS NULL OR m.metadata - 'outage' - 'back' <> b.metadata
		OR (m.metadata ? 'outage') <> (app_id = 'public' AND user_id IN ($up_users))
		OR (m.metadata ? 'back') <> (app_id = 'public' AND user_id IN ($down_users))")"
check "w2 back: find_users works again" 00000 "$(state_of co "SELECT count(*) FROM user_metadata.find_users('{}')")"

checks_done
