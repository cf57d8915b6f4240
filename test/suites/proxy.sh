#!/usr/bin/env bash
# test/suites/proxy.sh: user_metadata_proxy, the store's API routed with
# PL/Proxy.  Instance A (127.0.0.1, a free port) holds partitions um_p0 and um_p1,
# the proxy database um_proxy and um_direct, a single store to compare with;
# instance B (another free port) holds um_p2 and um_p3.  Checks that
#   1. test/proxy/calls.sql gives identical output directly and through the proxy;
#   2. 10 000 users spread evenly over 4 partitions, each row on its hash's only;
#   3. resharding to 8 partitions (um_p4, um_p5 on B; um_p6, um_p7 on A) with
#      test/proxy/reshard.sh loses and duplicates nothing;
#   4. with B stopped, B's users fail with a connection error while A's keep
#      working, and once B is back everything works and nothing is lost.
# Prints TAP lines; logs to stderr.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/tap.sh"
here=$UM_ROOT/test/proxy
work=$UM_TMP/proxy
mkdir -p "$work"

sql() {					# sql PORT DATABASE ARGS...: unaligned, stops at the first error
	local port=$1 db=$2
	shift 2
	psql -X -q -At -v ON_ERROR_STOP=1 -p "$port" -d "$db" "$@"
}
state_of() {			# state_of PORT DATABASE STATEMENT: its SQLSTATE, 00000 if it passed
	psql -X -q -At -p "$1" -d "$2" -c "$3" -c '\echo :LAST_ERROR_SQLSTATE' 2>>"$work/errors.log" | tail -1
}
# on one partition: rows, and rows whose home under MASK is another partition
rows() { sql "${port[$1]}" "$1" -c "SELECT count(*) FROM user_metadata.user_metadata ${2:-}"; }
misplaced() { rows "$1" "WHERE (hashtext(user_id) & $2) <> ${1#um_p}"; }
# every row of the given partitions, all columns, sorted: equal before and after a move
all_rows() {
	local db
	for db in "$@"; do
		sql "${port[$db]}" "$db" -c "COPY (SELECT app_id, user_id, metadata, extract(epoch FROM created_at),
									 extract(epoch FROM updated_at) FROM user_metadata.user_metadata) TO STDOUT"
	done | LC_ALL=C sort
}
# every test user through the proxy's bulk read, in order, both apps
through_proxy() {
	sql "$A_PORT" um_proxy -c "SELECT md5(string_agg(r.user_id || r.metadata::text, ',' ORDER BY app, ord))
		FROM unnest(ARRAY['public', 'billing']) AS app,
			 user_metadata.get_user_metadata(ARRAY(SELECT 'user' || i FROM generate_series(1, $users) i), app)
				WITH ORDINALITY AS r (user_id, metadata, ord)"
}

um_install_packages postgresql-15-plproxy
export PGHOST=127.0.0.1 PGUSER=postgres
um_start_cluster A tcp
um_start_cluster B tcp
declare -A port=([um_direct]=$A_PORT [um_p0]=$A_PORT [um_p1]=$A_PORT [um_p2]=$B_PORT [um_p3]=$B_PORT
				 [um_p4]=$B_PORT [um_p5]=$B_PORT [um_p6]=$A_PORT [um_p7]=$A_PORT)
for db in um_direct um_p0 um_p1 um_p2 um_p3 um_p4 um_p5 um_p6 um_p7; do
	sql "${port[$db]}" postgres -c "CREATE DATABASE $db"
	sql "${port[$db]}" "$db" -c 'CREATE EXTENSION user_metadata'
done
sql "$A_PORT" postgres -c 'CREATE DATABASE um_proxy'
sql "$A_PORT" um_proxy -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION user_metadata_proxy CASCADE' \
	-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS (
			p0 'host=127.0.0.1 port=$A_PORT dbname=um_p0', p1 'host=127.0.0.1 port=$A_PORT dbname=um_p1',
			p2 'host=127.0.0.1 port=$B_PORT dbname=um_p2', p3 'host=127.0.0.1 port=$B_PORT dbname=um_p3')" \
	-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"

#
# 0. Installation and rights
#
check "user_metadata_proxy refuses a database that has user_metadata (55000)" 55000 \
	"$(state_of "$A_PORT" um_direct 'CREATE EXTENSION user_metadata_proxy CASCADE')"
check "every SECURITY DEFINER function of the proxy pins search_path (8 of them)" "8 0" \
	"$(sql "$A_PORT" um_proxy -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE proconfig IS NULL
		OR NOT proconfig @> '{\"search_path=pg_catalog, pg_temp\"}') FROM pg_proc WHERE prosecdef")"
check "the internals are not for PUBLIC" "false 0" \
	"$(sql "$A_PORT" um_proxy -c "SELECT has_schema_privilege('public', 'user_metadata_remote', 'USAGE') || ' ' ||
		count(*) FILTER (WHERE has_function_privilege('public', oid, 'EXECUTE'))
		FROM pg_proc WHERE pronamespace = 'user_metadata_remote'::regnamespace")"
sql "$A_PORT" um_proxy -c 'CREATE ROLE um_client' \
	-c 'GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO um_client'
check "a client role without a grant cannot call the admin API (42501)" 42501 \
	"$(state_of "$A_PORT" um_proxy "SET ROLE um_client; SELECT user_metadata.get_user_metadata('alice')")"
sql "$A_PORT" um_proxy -c "SELECT user_metadata.update_user_metadata('client', '{\"mine\": true}')" >/dev/null
check "a client role granted custom_user_data reads its document, with no right on the server" '{"mine": true}' \
	"$(sql "$A_PORT" um_proxy -c "SET ROLE um_client" -c "SET user_metadata.user_id = 'client'" \
		-c 'SELECT user_metadata.custom_user_data()')"
sql "$A_PORT" um_proxy -c "SELECT user_metadata.clear_user_metadata('client')" >/dev/null

#
# 1. The store's calls, directly and through the proxy
#
psql -X -a -p "$A_PORT" -d um_direct -f "$here/calls.sql" >"$work/direct.out" 2>&1 || true
psql -X -a -p "$A_PORT" -d um_proxy -f "$here/calls.sql" >"$work/proxy.out" 2>&1 || true
calls=$(grep -c '^\\echo :LAST_ERROR_SQLSTATE' "$here/calls.sql")
check "calls.sql fails where it should, directly: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/direct.out" || true)"
check "calls.sql fails where it should, through the proxy: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/proxy.out" || true)"
diff -u "$work/direct.out" "$work/proxy.out" >&2 && rc=0 || rc=$?
check_status $rc "calls.sql: results, errors, SQLSTATEs, details and hints identical directly and through the proxy (a diff goes to stderr)"
check "a partition's error keeps its SQLSTATE and message" \
	'22023|ERROR:  argument "user_id" must not be empty|HINT:  Users and apps are named by non-empty text ids.' \
	"$(psql -X -q -At -p "$A_PORT" -d um_proxy -v VERBOSITY=default -v SHOW_CONTEXT=never \
		-c "SELECT user_metadata.get_user_metadata('')" -c '\echo :LAST_ERROR_SQLSTATE' 2>&1 | sort | paste -sd '|')"
check "documented difference: a proxied write commits on its partition at once, ROLLBACK keeps it" '{"a": 1}|{}' \
	"$(for db in um_proxy um_direct; do
		sql "$A_PORT" "$db" -c 'BEGIN' -c "SELECT user_metadata.update_user_metadata('tx', '{\"a\": 1}')" \
			-c 'ROLLBACK' -c "SELECT user_metadata.get_user_metadata('tx')" | tail -1
	done | paste -sd '|')"

#
# 2. 10 000 users over 4 partitions
#
users=10000
um_log "writing $users users through the proxy"
sql "$A_PORT" um_proxy -c "SELECT count(*) FROM (
	SELECT user_metadata.update_user_metadata('user' || i, jsonb_build_object('n', i)) FROM generate_series(1, $users) i
	UNION ALL
	SELECT user_metadata.update_user_metadata('user' || i, jsonb_build_object('plan', 'pro', 'n', i), 'billing')
	FROM generate_series(1, $users, 10) i) AS written" >/dev/null
counts=$(for p in 0 1 2 3; do rows um_p$p "WHERE user_id LIKE 'user%' AND app_id = 'public'"; done | paste -sd ' ')
even=$(for c in $counts; do [ "$c" -ge 2250 ] && [ "$c" -le 2750 ] && echo yes || echo no; done | paste -sd ' ')
check "$users users spread over 4 partitions within 10 % of 2500 each ($counts)" "yes yes yes yes" "$even"
check "every row (any app, any user) lies on partition hashtext(user_id) & 3" "0 0 0 0" \
	"$(for p in 0 1 2 3; do misplaced um_p$p 3; done | paste -sd ' ')"
check "each user's row exists once: $users public and $((users / 10)) billing rows in all" "$users $((users / 10))" \
	"$(for app in public billing; do
		echo $(($(for p in 0 1 2 3; do rows um_p$p "WHERE user_id LIKE 'user%' AND app_id = '$app'"; done | paste -sd +)))
	done | paste -sd ' ')"
check "one bulk read through the proxy returns all $users users, in order, with their documents" "$users" \
	"$(sql "$A_PORT" um_proxy -c "SELECT count(*) FROM user_metadata.get_user_metadata(
		ARRAY(SELECT 'user' || i FROM generate_series(1, $users) i)) WITH ORDINALITY AS r (user_id, metadata, ord)
		WHERE user_id = 'user' || ord AND metadata = jsonb_build_object('n', ord)")"

#
# 3. Resharding 4 -> 8
#
old=(um_p0 um_p1 um_p2 um_p3)
new=(um_p4 um_p5 um_p6 um_p7)
new_conninfo=()
for db in "${new[@]}"; do new_conninfo+=("host=127.0.0.1 port=${port[$db]} dbname=$db"); done
all_rows "${old[@]}" >"$work/rows_before"
api_before=$(through_proxy)
sql "${port[um_p4]}" um_p4 -c "INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('squatter', '{}')"
refusal=$(bash "$here/reshard.sh" "host=127.0.0.1 port=$A_PORT dbname=um_proxy" "${new_conninfo[@]}" 2>&1 || true)
check "reshard.sh refuses a new partition that is not empty, and changes nothing" \
	"reshard: new partition 4 is not empty|4" \
	"$(tail -1 <<<"$refusal")|$(sql "$A_PORT" um_proxy -c "SELECT cardinality(srvoptions) FROM pg_foreign_server")"
sql "${port[um_p4]}" um_p4 -c 'TRUNCATE user_metadata.user_metadata'

# As in the README: the proxy may connect as a role that is no superuser,
# granted the admin API on each partition; reshard.sh must grant it on the new ones
api="user_metadata.get_user_metadata(text, text), user_metadata.get_user_metadata(text[], text),
	user_metadata.update_user_metadata(text, jsonb, text), user_metadata.set_user_metadata(text, jsonb, text),
	user_metadata.clear_user_metadata(text, text), user_metadata.find_users(jsonb, text)"
for p in "$A_PORT" "$B_PORT"; do sql "$p" postgres -c 'CREATE ROLE um_partition LOGIN' -c 'CREATE ROLE um_scoped'; done
for db in "${old[@]}"; do
	sql "${port[$db]}" "$db" -c "GRANT EXECUTE ON FUNCTION $api TO um_partition" \
		-c "INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped', 'app_a'), ('um_scoped', '$db')"
done

um_log "resharding to 8 partitions"
started=$SECONDS
bash "$here/reshard.sh" "host=127.0.0.1 port=$A_PORT dbname=um_proxy" "${new_conninfo[@]}" && rc=0 || rc=$?
check "reshard.sh 4 -> 8 succeeds ($((SECONDS - started)) s)" 0 "$rc"
check "server user_metadata lists 8 partitions, the new ones last" \
	"$(for i in 0 1 2 3 4 5 6 7; do printf 'p%d=host=127.0.0.1 port=%s dbname=um_p%d\n' $i "${port[um_p$i]}" $i; done)" \
	"$(sql "$A_PORT" um_proxy -c "SELECT option_name || '=' || option_value
		FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server)) ORDER BY substr(option_name, 2)::int")"
all_rows "${old[@]}" "${new[@]}" >"$work/rows_after"
check "no row lost, none duplicated, none changed: $(wc -l <"$work/rows_before") rows, created_at and updated_at kept" \
	"$(md5sum <"$work/rows_before")" "$(md5sum <"$work/rows_after")"
check "every row lies on partition hashtext(user_id) & 7" "0 0 0 0 0 0 0 0" \
	"$(for db in "${old[@]}" "${new[@]}"; do misplaced "$db" 7; done | paste -sd ' ')"
counts=$(for db in "${old[@]}" "${new[@]}"; do rows "$db" "WHERE user_id LIKE 'user%' AND app_id = 'public'"; done |
	paste -sd ' ')
check "$users users over 8 partitions within 10 % of 1250 each ($counts)" "yes yes yes yes yes yes yes yes" \
	"$(for c in $counts; do [ "$c" -ge 1125 ] && [ "$c" -le 1375 ] && echo yes || echo no; done | paste -sd ' ')"
check "every user reads the same document through the proxy before and after" "$api_before" "$(through_proxy)"
check "reshard.sh gives each new partition the privileges of its old one" \
	"$(for db in "${old[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(oid::regprocedure || ' ' || proacl::text, ',' ORDER BY oid::regprocedure::text) FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace"; done)" \
	"$(for db in "${new[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(oid::regprocedure || ' ' || proacl::text, ',' ORDER BY oid::regprocedure::text) FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace"; done)"
check "reshard.sh gives each new partition the admin scopes of its old one" \
	"$(for db in "${old[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(role || ' ' || app_id, ',' ORDER BY app_id) FROM user_metadata.admin_scopes"; done)" \
	"$(for db in "${new[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(role || ' ' || app_id, ',' ORDER BY app_id) FROM user_metadata.admin_scopes"; done)"
moved=$(sql "$A_PORT" um_proxy -c "SELECT 'user' || i FROM generate_series(1, $users) i WHERE hashtext('user' || i) & 7 >= 4 LIMIT 1")
sql "$A_PORT" um_proxy -c "ALTER USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (SET user 'um_partition')" \
	-c "GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) TO um_client"
check "after reshard.sh, the application role writes a moved user through the proxy, no grant made by hand" t \
	"$(sql "$A_PORT" um_proxy -c 'SET ROLE um_client' \
		-c "SELECT user_metadata.update_user_metadata('$moved', '{\"moved\": true}') ? 'moved'" 2>&1)"
sql "$A_PORT" um_proxy -c "ALTER USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (SET user 'postgres')" \
	-c "REVOKE EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) FROM um_client"
sql "$A_PORT" um_proxy -c "SELECT user_metadata.update_user_metadata('$moved', '{\"moved\": null}')" >/dev/null

#
# 4. Instance B down, then back
#
b_users=$(sql "$A_PORT" um_proxy -c "SELECT string_agg(quote_literal('user' || i), ',') FROM (SELECT i
	FROM generate_series(1, $users) i WHERE hashtext('user' || i) & 7 IN (2, 3, 4, 5) LIMIT 40) AS b")
a_users=$(sql "$A_PORT" um_proxy -c "SELECT string_agg(quote_literal('user' || i), ',') FROM (SELECT i
	FROM generate_series(1, $users) i WHERE hashtext('user' || i) & 7 IN (0, 1, 6, 7) LIMIT 40) AS a")
all_rows "${old[@]}" "${new[@]}" >"$work/rows_before_outage"
# One session from before the outage to after it, as a pooled proxy
# connection lives: it must recover by itself.  try() gives SQLSTATE and
# message; um_stop_cluster and pg_ctl restart (with the options the cluster
# was started with, from postmaster.opts) run from inside it.
{ echo "PGBIN=$PGBIN"; declare -f um_stop_cluster; echo "um_stop_cluster '$B_DIR'"; } >"$work/stop_b.sh"
um_log "stopping instance B"
sql "$A_PORT" um_proxy >"$work/outage.out" 2>>"$work/errors.log" <<SQL
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
	EXECUTE call;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || regexp_replace(SQLERRM, '\s+', ' ', 'g');
END \$\$;
SELECT 'warm|' || count(*) FROM user_metadata.find_users('{}');
\! bash "$work/stop_b.sh"
SELECT 'b_read|' || pg_temp.try(format('SELECT user_metadata.get_user_metadata(%L)', u)) FROM unnest(ARRAY[$b_users]) u;
SELECT 'b_write|' || pg_temp.try(format('SELECT user_metadata.update_user_metadata(%L, %L)', u, '{"outage": true}'))
FROM unnest(ARRAY[$b_users]) u;
SELECT 'a_read|' || pg_temp.try(format('SELECT 1/(user_metadata.get_user_metadata(%L) ? %L)::int', u, 'n'))
FROM unnest(ARRAY[$a_users]) u;
SELECT 'a_write|' || pg_temp.try(format('SELECT user_metadata.update_user_metadata(%L, %L)', u, '{"outage": true}'))
FROM unnest(ARRAY[$a_users]) u;
SELECT 'a_bulk|' || pg_temp.try(format('SELECT 1/(count(*) = 40)::int FROM user_metadata.get_user_metadata(%L::text[])',
									   ARRAY[$a_users]));
SELECT 'b_bulk|' || pg_temp.try(format('SELECT user_metadata.get_user_metadata(%L::text[])', ARRAY[$a_users] || ARRAY[$b_users]));
SELECT 'find|' || pg_temp.try('SELECT user_metadata.find_users(''{}'')');
\! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$B_DIR/data" -l "$B_DIR/server.log" -w -t 60 restart >/dev/null 2>&1
SELECT 'back_read|' || pg_temp.try(format('SELECT 1/(user_metadata.get_user_metadata(%L) ? %L)::int', u, 'n'))
FROM unnest(ARRAY[$b_users]) u;
SELECT 'back_find|' || pg_temp.try('SELECT user_metadata.find_users(''{}'')');
SQL
outcome() {				# outcome STEP [PATTERN]: how many results of STEP (matching PATTERN)
	sed -n "s/^$1|//p" "$work/outage.out" | grep -cE "${2:-.}" || true
}
for step in b_read b_write a_read a_write a_bulk b_bulk find back_read back_find; do
	um_log "outage $step: $(sed -n "s/^$step|//p" "$work/outage.out" | sed -E 's/\[um_p[0-9]+\]/[um_pN]/' |
		sort | uniq -c | paste -sd ';')"
done
# PL/Proxy's own words; the first call on a connection open when B went down
# finds it closed, later ones find B refusing
down="^08006 PL/Proxy function user_metadata_remote\.[a-z_]+\([0-9]\): \[um_p[2-5]\] \
(PQconnectPoll: connection to server at \"127\.0\.0\.1\", port $B_PORT failed: Connection refused|\
PQconsumeInput: server closed the connection unexpectedly)"
check "B down: reads of 40 of B's users fail with 08006, the connection refused or lost" 40 "$(outcome b_read "$down")"
check "B down: writes to 40 of B's users fail with 08006, the connection refused" 40 "$(outcome b_write "${down%%|*})")"
check "B down: reads of 40 of A's users still work" 40 "$(outcome a_read '^ok$')"
check "B down: writes to 40 of A's users still work" 40 "$(outcome a_write '^ok$')"
check "B down: a bulk read of A's users works; with B's users too it fails with 08006" "1 1" \
	"$(outcome a_bulk '^ok$') $(outcome b_bulk "$down")"
check "B down: find_users, which asks every partition, fails with 08006" 1 "$(outcome find "$down")"
check "B back: the session from before the outage reads B's 40 users again" 40 "$(outcome back_read '^ok$')"
check "B back: and find_users works again in that session" 1 "$(outcome back_find '^ok$')"
all_rows "${old[@]}" "${new[@]}" >"$work/rows_after_outage"
changed() { LC_ALL=C comm "$1" "$work/rows_before_outage" "$work/rows_after_outage"; }
check "B back: no row lost or added, and only the 40 written during the outage changed" \
	"$(wc -l <"$work/rows_before_outage") 40 40 40" \
	"$(wc -l <"$work/rows_after_outage") $(changed -23 | wc -l) $(changed -13 | wc -l) $(changed -13 | grep -c '"outage": true')"
check "B back: the writes to A's users made during the outage are there, none to B's" "40 0" \
	"$(sql "$A_PORT" um_proxy -c "SELECT count(*) FILTER (WHERE u = ANY (ARRAY[$a_users])) || ' ' ||
		count(*) FILTER (WHERE u = ANY (ARRAY[$b_users])) FROM user_metadata.find_users('{\"outage\": true}') u")"
check "B back: a new session updates B's users, keeping their documents" 40 \
	"$(sql "$A_PORT" um_proxy -c "SELECT count(*) FROM unnest(ARRAY[$b_users]) u
		WHERE user_metadata.update_user_metadata(u, '{\"back\": true}') ?& ARRAY['n', 'back']")"
checks_done
