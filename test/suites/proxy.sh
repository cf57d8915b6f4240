#!/usr/bin/env bash
# test/suites/proxy.sh: user_metadata_proxy, the store's API routed with
# PL/Proxy.  Instance A (127.0.0.1, a free port) holds partitions um_p0 and
# um_p1, the proxy database um_proxy and um_direct, a single store to
# compare with; instance B holds um_p2 and um_p3.  Checks that
#   0. the proxy installs only where it is safe: not next to user_metadata,
#      not in a schema user_metadata or plproxy another role could have
#      filled (each attack tried by a non-superuser database owner before a
#      superuser installs; the squatter's functions never run), nothing is
#      SECURITY DEFINER but run_as_owner, every store function has a proxy
#      twin, and every released version updates to the default one with
#      the schema of a fresh install;
#   1. the store's own regression files (less the sections marked "not
#      through the proxy") and test/proxy/calls.sql give identical output
#      directly and through the proxy;
#   2. a role scoped to one app gets 42501 for another on every admin
#      function, from the proxy, before any partition is asked;
#   3. 10 000 users spread evenly over 4 partitions, each row on its hash's only;
#   4. resharding to 8 partitions (um_p4, um_p5 on B; um_p6, um_p7 on A) with
#      user_metadata_reshard (bin/, as installed) loses and duplicates nothing;
#   5. with B stopped, B's users fail with a connection error while A's keep
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
state_of() {			# state_of PORT DATABASE STATEMENT: its SQLSTATE, 00000 if it passed; messages to $work/DATABASE.log
	psql -X -q -At -p "$1" -d "$2" -c "$3" -c '\echo :LAST_ERROR_SQLSTATE' 2>>"$work/$2.log" | tail -1
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
			 user_metadata.get_user_metadata_bulk(ARRAY(SELECT 'user' || i FROM generate_series(1, $users) i), app)
				WITH ORDINALITY AS r (user_id, metadata, ord)"
}

# PL/Proxy: Debian's package for 15, else one installed for this server
if [ "$UM_PG_MAJOR" = 15 ]; then
	um_install_packages postgresql-15-plproxy
elif [ ! -f "$("$PGBIN/pg_config" --sharedir)/extension/plproxy.control" ]; then
	check_skip proxy "PL/Proxy is not installed for PostgreSQL $UM_PG_MAJOR (Debian 12 packages it for 15 only)"
	exit 0
fi
export PGHOST=127.0.0.1 PGUSER=postgres
um_start_cluster A tcp
um_start_cluster B tcp
um_log "instance A on port $A_PORT, B on port $B_PORT"
declare -A port=([um_direct]=$A_PORT [um_p0]=$A_PORT [um_p1]=$A_PORT [um_p2]=$B_PORT [um_p3]=$B_PORT
				 [um_p4]=$B_PORT [um_p5]=$B_PORT [um_p6]=$A_PORT [um_p7]=$A_PORT)
for db in um_direct um_p0 um_p1 um_p2 um_p3 um_p4 um_p5 um_p6 um_p7; do
	sql "${port[$db]}" postgres -c "CREATE DATABASE $db"
	sql "${port[$db]}" "$db" -c 'CREATE EXTENSION user_metadata'
done
cluster_options="p0 'host=127.0.0.1 port=$A_PORT dbname=um_p0', p1 'host=127.0.0.1 port=$A_PORT dbname=um_p1',
	p2 'host=127.0.0.1 port=$B_PORT dbname=um_p2', p3 'host=127.0.0.1 port=$B_PORT dbname=um_p3'"
sql "$A_PORT" postgres -c 'CREATE DATABASE um_proxy'
sql "$A_PORT" um_proxy -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION user_metadata_proxy CASCADE' \
	-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS ($cluster_options)" \
	-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"

#
# 0. Installation, rights, the API's twins
#
check "user_metadata_proxy refuses a database that has user_metadata (55000)" 55000 \
	"$(state_of "$A_PORT" um_direct 'CREATE EXTENSION user_metadata_proxy CASCADE')"
check "the proxy's one SECURITY DEFINER function is run_as_owner, with its search path: the API checks its real caller first" \
	"user_metadata.run_as_owner {\"search_path=pg_catalog, pg_temp\"} false" \
	"$(sql "$A_PORT" um_proxy -c "SELECT string_agg(oid::regproc || ' ' || proconfig::text || ' '
		|| has_function_privilege('public', oid, 'EXECUTE'), ', ') FROM pg_proc WHERE prosecdef
		AND pronamespace IN ('user_metadata'::regnamespace, 'user_metadata_remote'::regnamespace)")"
check "every internal function but the inlined partition_hash pins its search path" \
	"user_metadata_remote.partition_hash" \
	"$(sql "$A_PORT" um_proxy -c "SELECT string_agg(oid::regproc::text, ' ') FROM pg_proc
		WHERE pronamespace = 'user_metadata_remote'::regnamespace
			AND NOT coalesce(proconfig @> '{\"search_path=pg_catalog, pg_temp\"}', false)")"
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
sql "$A_PORT" um_proxy -c 'GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO um_client'
check "and writes it with write_custom_user_data, granted that alone" '{"mine": true, "wrote": true}' \
	"$(sql "$A_PORT" um_proxy -c "SET ROLE um_client" -c "SET user_metadata.user_id = 'client'" \
		-c 'CALL user_metadata.write_custom_user_data($${"wrote": true}$$)')"
sql "$A_PORT" um_proxy -c "SELECT user_metadata.clear_user_metadata('client')" >/dev/null

# functions DB: every function of schema user_metadata but the triggers'
# (and upgrade_store_table, which makes one), the table's CHECK calls
# (ids_valid, metadata_is_object) and the store's own Citus
# distribution (distribute_on_citus and its per_user_functions, not API
# calls), with its kind, arguments (defaults included) and result
functions() {
	sql "$A_PORT" "$1" -c "SELECT prokind::text || ' ' || oid::regproc || '(' || pg_get_function_arguments(oid) || ') '
		|| coalesce(pg_get_function_result(oid), '') FROM pg_proc
		WHERE pronamespace = 'user_metadata'::regnamespace AND prorettype <> 'trigger'::regtype
		AND proname NOT IN ('distribute_on_citus', 'per_user_functions', 'upgrade_store_table', 'ids_valid',
			'metadata_is_object') ORDER BY 1"
}
functions um_direct >"$work/functions.store"
functions um_proxy >"$work/functions.proxy"
diff "$work/functions.store" "$work/functions.proxy" >&2 && rc=0 || rc=$?
check "every function of the store has a proxy twin with the same signature and defaults, and no other" \
	"0 $(wc -l <"$work/functions.store")" "$rc $(wc -l <"$work/functions.proxy")"

# scopes_table DB: user_metadata.admin_scopes as the catalogs define it
scopes_table() {
	sql "$A_PORT" "$1" -c "SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT 'column ' || attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
		FROM pg_attribute WHERE attrelid = 'user_metadata.admin_scopes'::regclass AND attnum > 0
		UNION ALL SELECT 'constraint ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'user_metadata.admin_scopes'::regclass
		UNION ALL SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
		WHERE tgrelid = 'user_metadata.admin_scopes'::regclass AND NOT tgisinternal
		UNION ALL SELECT 'comment ' || obj_description('user_metadata.admin_scopes'::regclass, 'pg_class')
		UNION ALL SELECT 'acl ' || coalesce(relacl::text, '') FROM pg_class WHERE oid = 'user_metadata.admin_scopes'::regclass
		UNION ALL SELECT 'dumped where ' || extcondition[array_position(extconfig, 'user_metadata.admin_scopes'::regclass)]
		FROM pg_extension
		WHERE 'user_metadata.admin_scopes'::regclass = ANY (extconfig)) AS definition (d)"
}
check "the proxy's table of admin scopes is the store's: columns, key, trigger, comment, rights, dumped rows" \
	"$(scopes_table um_direct)" "$(scopes_table um_proxy)"

# The attacks of issue 11: a role that owns a database, not a superuser,
# prepares schemas before a superuser installs the proxy there.  Its
# functions say who runs them in a WARNING, which no rollback takes back
# (state_of keeps it in the database's log).
sql "$A_PORT" postgres -c 'CREATE ROLE um_squatter LOGIN'
cluster_functions="
CREATE FUNCTION plproxy.get_cluster_version(cluster_name text) RETURNS integer LANGUAGE plpgsql AS
	\$\$ BEGIN RAISE WARNING 'squatter ran as %', current_user; RETURN 1; END \$\$;
CREATE FUNCTION plproxy.get_cluster_partitions(cluster_name text) RETURNS SETOF text LANGUAGE plpgsql AS
	\$\$ BEGIN RAISE WARNING 'squatter ran as %', current_user; RETURN NEXT 'dbname=um_p0'; END \$\$;
CREATE FUNCTION plproxy.get_cluster_config(cluster_name text, OUT key text, OUT val text) RETURNS SETOF record
	LANGUAGE plpgsql AS \$\$ BEGIN RAISE WARNING 'squatter ran as %', current_user; END \$\$;"
install_proxy() {		# install_proxy DATABASE [VERSION]: SQLSTATE of CREATE EXTENSION
	state_of "$A_PORT" "$1" "SET client_min_messages = warning; CREATE EXTENSION user_metadata_proxy ${2:+VERSION '$2'} CASCADE"
}
call_unconfigured() {	# the call that makes PL/Proxy look for cluster user_metadata
	state_of "$A_PORT" "$1" "SELECT user_metadata.get_user_metadata('alice')"
}
ran() {					# who the squatter's functions ran as in DATABASE, or nobody
	grep -ho 'squatter ran as [a-z_]*' "$work/$1.log" 2>/dev/null | sort -u | sed 's/^squatter ran as //' |
		paste -sd ' ' | grep . || echo nobody
}
squatted() {			# squatted DATABASE SQL: a new database of um_squatter, SQL run as it
	sql "$A_PORT" postgres -c "CREATE DATABASE $1 OWNER um_squatter"
	sql "$A_PORT" "$1" -U um_squatter -c "$2"
}

squatted um_sq_plproxy "CREATE SCHEMA plproxy; $cluster_functions"
check "1.1 refuses a schema plproxy of a non-superuser (42501); the squatter's functions never ran" \
	"42501 nobody" "$(install_proxy um_sq_plproxy) $(ran um_sq_plproxy)"
check "as 1.0 did not: there, a call before server user_metadata exists runs the squatter's functions as the superuser" \
	"00000 postgres" "$(install_proxy um_sq_plproxy 1.0)$(call_unconfigured um_sq_plproxy >/dev/null) $(ran um_sq_plproxy)"
check "and updating that 1.0 to 1.1 refuses the squatted schema plproxy (42501), leaving 1.0" "42501 1.0" \
	"$(state_of "$A_PORT" um_sq_plproxy 'ALTER EXTENSION user_metadata_proxy UPDATE') $(sql "$A_PORT" um_sq_plproxy \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata_proxy'")"
sql "$A_PORT" postgres -c 'CREATE DATABASE um_sq_writable OWNER um_squatter' \
	-c 'CREATE DATABASE um_sq_function OWNER um_squatter' -c 'CREATE DATABASE um_sq_kept OWNER um_squatter'
for db in um_sq_writable um_sq_function um_sq_kept; do
	sql "$A_PORT" "$db" -c 'CREATE SCHEMA plproxy'
done
sql "$A_PORT" um_sq_writable -c 'GRANT CREATE ON SCHEMA plproxy TO um_squatter'
sql "$A_PORT" um_sq_function -c 'GRANT CREATE ON SCHEMA plproxy TO um_squatter'
sql "$A_PORT" um_sq_function -U um_squatter -c "$cluster_functions"
sql "$A_PORT" um_sq_function -c 'REVOKE CREATE ON SCHEMA plproxy FROM um_squatter'
sql "$A_PORT" um_sq_kept -c "$cluster_functions"
check "1.1 refuses a superuser's schema plproxy where another role may create (42501)" 42501 \
	"$(install_proxy um_sq_writable)"
check "1.1 refuses a superuser's schema plproxy holding another role's functions (42501); they never ran" \
	"42501 nobody" "$(install_proxy um_sq_function) $(ran um_sq_function)"
check "1.1 keeps a superuser's closed schema plproxy with a superuser's functions (PL/Proxy's own configuration)" \
	"00000 f" "$(install_proxy um_sq_kept) $(sql "$A_PORT" um_sq_kept -c "SELECT EXISTS (SELECT FROM pg_depend
		WHERE classid = 'pg_namespace'::regclass AND objid = 'plproxy'::regnamespace AND deptype = 'e')")"
sql "$A_PORT" postgres -c 'CREATE DATABASE um_sq_late OWNER um_squatter'
check "1.1 holds schema plproxy itself: created empty, closed, part of the extension" "00000 true false" \
	"$(install_proxy um_sq_late) $(sql "$A_PORT" um_sq_late -c "SELECT EXISTS (SELECT FROM pg_depend
		WHERE classid = 'pg_namespace'::regclass AND objid = 'plproxy'::regnamespace AND deptype = 'e')
		|| ' ' || has_schema_privilege('um_squatter', 'plproxy', 'CREATE')")"
check "so a squatter who comes later cannot take it (CREATE SCHEMA 42P06, a function in it 42501), and a call finds no cluster (XX000) without running theirs" \
	"42P06 42501 XX000 nobody" \
	"$(state_of "$A_PORT" um_sq_late 'SET ROLE um_squatter; CREATE SCHEMA plproxy') $(state_of "$A_PORT" um_sq_late \
		"SET ROLE um_squatter; $cluster_functions") $(call_unconfigured um_sq_late) $(ran um_sq_late)"

squatted um_sq_schema "CREATE SCHEMA user_metadata;
	CREATE FUNCTION user_metadata.jsonb_merge(stored text, patch jsonb) RETURNS jsonb LANGUAGE plpgsql AS
		\$\$ BEGIN RAISE WARNING 'squatter ran as %', current_user; RETURN patch; END \$\$"
squatted um_sq_empty 'CREATE SCHEMA user_metadata'
squatted um_sq_remote 'CREATE SCHEMA user_metadata_remote'
sql "$A_PORT" postgres -c 'CREATE DATABASE um_sq_open' -c 'CREATE DATABASE um_sq_restored'
sql "$A_PORT" um_sq_open -c 'CREATE SCHEMA user_metadata' -c 'GRANT CREATE ON SCHEMA user_metadata TO PUBLIC'
sql "$A_PORT" um_sq_restored -c 'CREATE SCHEMA user_metadata'
check "1.1 refuses a schema user_metadata it did not create (42P06): a squatter's with a function, a squatter's empty one, a superuser's open to all" \
	"42P06 42P06 42P06 nobody" \
	"$(install_proxy um_sq_schema) $(install_proxy um_sq_empty) $(install_proxy um_sq_open) $(ran um_sq_schema)"
check "1.1 refuses a schema user_metadata_remote it did not create (42P06)" 42P06 "$(install_proxy um_sq_remote)"
check "1.1 accepts an empty schema user_metadata of a superuser that nobody else may create in (as pg_restore leaves it)" \
	00000 "$(install_proxy um_sq_restored)"
for db in um_sq_plproxy um_sq_writable um_sq_function um_sq_kept um_sq_late um_sq_schema um_sq_empty um_sq_remote \
	um_sq_open um_sq_restored; do
	sql "$A_PORT" postgres -c "DROP DATABASE $db"
done

# Updating from every released version: the schema equals a fresh install's (pg_dump
# --binary-upgrade of every object, extension members included in full),
# grants on the API are kept, and the updated proxy works.
schema() {
	"$PGBIN/pg_dump" -h 127.0.0.1 -p "$A_PORT" --schema-only --binary-upgrade -d "$1" | sed -E \
		-e '/^\\(un)?restrict /d' -e '/binary_upgrade_set_next_/d' \
		-e '/^SET relfrozenxid = /d' -e "/^WHERE oid = '[0-9]+';$/d" \
		-e "s/(binary_upgrade_create_empty_extension\(.*), '\{[0-9,]*\}', /\1, '{oids}', /"
}
grant_and_serve() {		# the same grant and server in either database
	sql "$A_PORT" "$1" -c 'GRANT EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) TO um_client' \
		-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS ($cluster_options)" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"
}
proxy_to=$(sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$UM_ROOT/user_metadata_proxy.control")
sql "$A_PORT" postgres -c 'CREATE DATABASE um_proxy_fresh'
install_proxy um_proxy_fresh >/dev/null
grant_and_serve um_proxy_fresh
schema um_proxy_fresh >"$work/schema.fresh"
# every version a released proxy script names, but the default
for from in $(for f in "$UM_ROOT"/user_metadata_proxy--*.sql; do
	basename "$f" .sql | sed -e 's/^user_metadata_proxy--//' -e 's/--/\n/'
done | sort -uV | grep -vxF "$proxy_to"); do
	sql "$A_PORT" postgres -c 'CREATE DATABASE um_proxy_old'
	check "CREATE EXTENSION user_metadata_proxy VERSION '$from'" 00000 "$(install_proxy um_proxy_old "$from")"
	grant_and_serve um_proxy_old
	check "ALTER EXTENSION user_metadata_proxy UPDATE from $from to $proxy_to" "00000 $proxy_to" \
		"$(state_of "$A_PORT" um_proxy_old 'ALTER EXTENSION user_metadata_proxy UPDATE') $(sql "$A_PORT" um_proxy_old \
			-c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata_proxy'")"
	schema um_proxy_old >"$work/schema.updated"
	diff "$work/schema.fresh" "$work/schema.updated" >&2 && rc=0 || rc=$?
	check "the proxy updated from $from equals a fresh $proxy_to install, grants included ($(wc -l <"$work/schema.fresh") lines of pg_dump --binary-upgrade)" \
		0 "$rc"
	check "the proxy updated from $from serves the role granted before, with no right on the internals" '{}' \
		"$(sql "$A_PORT" um_proxy_old -c 'SET ROLE um_client' -c "SELECT user_metadata.get_user_metadata('nobody')")"
	sql "$A_PORT" postgres -c 'DROP DATABASE um_proxy_old'
done
sql "$A_PORT" postgres -c 'DROP DATABASE um_proxy_fresh'

#
# 1. The store's calls, directly and through the proxy
#
# The store's regression files without their sections (a run of comment
# lines and what follows up to the next) headed "-- not through the proxy",
# then the proxy's own calls
{
	for file in store custom_user_data; do
		awk '/^--/ { if (!header) skip = 0; header = 1; if (/^-- not through the proxy/) skip = 1 }
			 !/^--/ { header = 0 }
			 !skip' "$UM_ROOT/sql/$file.sql"
	done
	cat "$here/calls.sql"
} >"$work/calls.sql"
for db in um_direct um_proxy; do
	psql -X -a -v SHOW_CONTEXT=never -p "$A_PORT" -d $db -f "$work/calls.sql" >"$work/$db.out" 2>&1 || true
done
calls=$(grep -c '^\\echo :LAST_ERROR_SQLSTATE' "$work/calls.sql")
check "the calls fail where they should, directly: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/um_direct.out" || true)"
check "the calls fail where they should, through the proxy: $calls errors" "$calls" "$(grep -c 'ERROR:' "$work/um_proxy.out" || true)"
diff -u "$work/um_direct.out" "$work/um_proxy.out" >&2 && rc=0 || rc=$?
check_status $rc "$(grep -c '^SELECT\|^CALL' "$work/calls.sql") calls of sql/store.sql, sql/custom_user_data.sql and test/proxy/calls.sql: results, errors, SQLSTATEs, details and hints identical directly and through the proxy (a diff goes to stderr)"
check "a partition's error keeps its SQLSTATE and message" \
	'22023|ERROR:  argument "user_id" must not be empty|HINT:  Users and apps are named by non-empty text ids.' \
	"$(psql -X -q -At -p "$A_PORT" -d um_proxy -v VERBOSITY=default -v SHOW_CONTEXT=never \
		-c "SELECT user_metadata.get_user_metadata('')" -c '\echo :LAST_ERROR_SQLSTATE' 2>&1 | sort | paste -sd '|')"
check "documented difference: a proxied write commits on its partition at once, ROLLBACK keeps it" '{"a": 1}|{}' \
	"$(for db in um_proxy um_direct; do
		sql "$A_PORT" "$db" -c 'BEGIN' -c "SELECT user_metadata.update_user_metadata('tx', '{\"a\": 1}')" \
			-c 'ROLLBACK' -c "SELECT user_metadata.get_user_metadata('tx')" | tail -1
	done | paste -sd '|')"

# An import that the document rules refuse in part, its users on several
# partitions (not in calls.sql: Citus refuses rules).  Without skip_bad:
# 23514 both ways; directly nothing is imported, through the proxy the
# partitions that took their share keep it (which ones is PL/Proxy's
# timing), but never a refused document.  With skip_bad: the same bad rows
# and the same documents both ways.
for db in um_direct um_proxy; do
	sql "$A_PORT" "$db" >"$work/ruled_import.$db" 2>&1 <<'SQL' || true
SELECT user_metadata.set_document_rules('ruled', '{"keys": {"plan": "string"}}');
CREATE TABLE ruled_lines AS SELECT i AS line, jsonb_build_object('userId', 'r' || i,
	'plan', CASE WHEN i % 4 = 0 THEN to_jsonb(i) ELSE to_jsonb('p' || i) END)::text AS document
FROM generate_series(1, 12) i;
CREATE VIEW ruled_stored AS SELECT 'stored ' || count(*) FILTER (WHERE metadata <> '{}') || ' refused '
	|| count(*) FILTER (WHERE metadata->>'plan' NOT LIKE 'p%') AS counts
FROM user_metadata.get_user_metadata_bulk(ARRAY(SELECT 'r' || i FROM generate_series(1, 12) i), 'ruled');
\set ON_ERROR_STOP off
SELECT * FROM user_metadata.import_atlas_custom_user_data('ruled_lines', 'ruled');
\echo state :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP on
SELECT counts FROM ruled_stored;
SELECT format('skip_bad|%s|%s|%s|%s', line, user_id, outcome, detail)
FROM user_metadata.import_atlas_custom_user_data('ruled_lines', 'ruled', skip_bad => true) WHERE outcome <> 'imported';
SELECT 'after skip_bad ' || counts FROM ruled_stored;
SELECT user_metadata.set_document_rules('ruled', NULL);
DROP VIEW ruled_stored;
DROP TABLE ruled_lines;
SQL
done
check "an import without skip_bad that the rules refuse: 23514 directly, nothing stored" "state 23514|stored 0 refused 0" \
	"$(grep -E '^(state|stored) ' "$work/ruled_import.um_direct" | paste -sd '|')"
proxy_ruled=$(grep -E '^(state|stored) ' "$work/ruled_import.um_proxy" | paste -sd '|')
[[ $proxy_ruled =~ ^state\ 23514\|stored\ [0-9]\ refused\ 0$ ]] && rc=0 || rc=1
[ $rc = 0 ] || echo "# through the proxy: $proxy_ruled" >&2
check_status $rc "documented difference: through the proxy the same import fails with 23514 too, but keeps what the accepting partitions took, never a refused document"
check "then with skip_bad, directly: the 3 refused documents are bad rows naming user, key and rule, the 9 others stored" \
	"3|after skip_bad stored 9 refused 0" \
	"$(grep -c '^skip_bad|[0-9]*|r[0-9]*|bad|.*has key "plan" of type number' "$work/ruled_import.um_direct")|$(grep '^after skip_bad' "$work/ruled_import.um_direct")"
diff <(grep -E '^(skip_bad|after skip_bad)' "$work/ruled_import.um_direct") \
	<(grep -E '^(skip_bad|after skip_bad)' "$work/ruled_import.um_proxy") >&2 && rc=0 || rc=$?
check_status $rc "and through the proxy the same bad rows, details and documents"

#
# 2. Per-app admin scopes on the proxy
#
# Every admin function (those with an input argument app_id), granted to a role
# scoped to app-a, called once for app-a and once for app-b
sql "$A_PORT" um_proxy >"$work/scopes.out" 2>>"$work/errors.log" <<'SQL'
CREATE ROLE um_app_a;
INSERT INTO user_metadata.admin_scopes VALUES ('um_app_a', 'app-a');
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
-- the lines of a mongoexport file, for the Atlas import
CREATE TEMP TABLE scoped_lines (line bigint, document text);
INSERT INTO scoped_lines VALUES (1, '{"userId": "scoped-user", "scoped": true}');
GRANT SELECT ON scoped_lines TO um_app_a;
CREATE TEMP TABLE admin_calls AS
SELECT p.oid::regprocedure AS fn, format('SELECT * FROM %s(%s)', p.oid::regproc, string_agg(
		CASE WHEN n = 'app_id' THEN '%1$L'
			 WHEN n = 'id_field' THEN '''userId'''
			 WHEN n = 'on_conflict' THEN '''replace'''
			 WHEN n = 'rules' THEN '''{"max_keys": 10}''::jsonb'
			 WHEN t = 'text'::regtype THEN '''scoped-user'''
			 WHEN t = 'text[]'::regtype THEN 'ARRAY[''scoped-user'']'
			 WHEN t = 'jsonb[]'::regtype THEN 'ARRAY[''{"scoped": true}''::jsonb]'
			 WHEN t = 'regclass'::regtype THEN '''pg_temp.scoped_lines'''
			 WHEN t = 'boolean'::regtype THEN 'false'
			 WHEN t = 'interval'::regtype THEN '''1 day''::interval'
			 WHEN t = 'integer'::regtype THEN '10'
			 WHEN t = 'timestamptz'::regtype THEN 'now()'
			 ELSE '''{"scoped": true}''::jsonb' END, ', ' ORDER BY i)) AS call
FROM pg_proc p, unnest(p.proargnames, coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargmodes)
	WITH ORDINALITY AS a (n, t, m, i)
WHERE p.pronamespace = 'user_metadata'::regnamespace AND 'app_id' = ANY (p.proargnames[1:p.pronargs])
	AND coalesce(m, 'i') IN ('i', 'b', 'v')
GROUP BY p.oid;
GRANT SELECT ON admin_calls TO um_app_a;
SELECT format('GRANT EXECUTE ON FUNCTION %s TO um_app_a', fn) FROM admin_calls \gexec
SET ROLE um_app_a;
-- by name: set and update, which leave a document, come last
SELECT app || '|' || fn || '|' || pg_temp.try(format(call, app))
FROM admin_calls, unnest(ARRAY['app-a', 'app-b']) AS app ORDER BY app, fn::text;
RESET ROLE;
SELECT 'stored|' || user_metadata.get_user_metadata('scoped-user', 'app-a')::text || ' ' ||
	   user_metadata.get_user_metadata('scoped-user', 'app-b')::text;
SQL
admin_functions=$(sql "$A_PORT" um_proxy -c "SELECT count(*) FROM pg_proc
	WHERE pronamespace = 'user_metadata'::regnamespace AND 'app_id' = ANY (proargnames[1:pronargs])")
check "a role scoped to app-a calls each of the $admin_functions admin functions for app-a" "$admin_functions" \
	"$(grep -c '^app-a|.*|ok$' "$work/scopes.out" || true)"
check "and gets 42501 from the proxy for app-b on each" "$admin_functions" \
	"$(grep -c '^app-b|.*|42501 permission denied for app "app-b"$' "$work/scopes.out" || true)"
check "set_document_rules through the proxy set the app's rules on every partition" \
	'{"max_keys": 10} {"max_keys": 10} {"max_keys": 10} {"max_keys": 10}' \
	"$(for p in 0 1 2 3; do sql "${port[um_p$p]}" um_p$p -c "SELECT user_metadata.get_document_rules('app-a')"; done | paste -sd ' ')"
# the calls that neither worked nor were refused, for the log
grep -E '^app-[ab]\|' "$work/scopes.out" | grep -vE '\|(ok|42501 permission denied for app "app-b")$' >&2 || true
check "the refused calls never reached a partition: app-b has no document, app-a has the one written" \
	'{"scoped": true} {}' "$(sed -n 's/^stored|//p' "$work/scopes.out")"

# The app is found by position, not by name: a function a DBA adds whose
# app parameter is called tenant, and the Atlas-style call, which acts for
# the session's app, are confined the same way
sql "$A_PORT" um_proxy >"$work/scopes_by_position.out" 2>>"$work/errors.log" <<'SQL'
CREATE FUNCTION user_metadata_remote.doc_of(who text, tenant text) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT user_metadata_remote.get_user_metadata(who, tenant) $$;
CREATE FUNCTION user_metadata.doc_of(who text, tenant text) RETURNS jsonb
AS '$libdir/user_metadata', 'um_proxy_call' LANGUAGE C STABLE;
REVOKE ALL ON FUNCTION user_metadata.doc_of(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_metadata.doc_of(text, text), user_metadata.custom_user_data() TO um_app_a;
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SET ROLE um_app_a;
SET user_metadata.user_id = 'scoped-user';
SELECT pg_temp.try($$SELECT user_metadata.doc_of('scoped-user', 'app-a')$$)
	|| ' ' || pg_temp.try($$SELECT user_metadata.doc_of('scoped-user', 'app-b')$$);
SET user_metadata.app_id = 'app-a';
SELECT pg_temp.try('SELECT user_metadata.custom_user_data()');
SET user_metadata.app_id = 'app-b';
SELECT pg_temp.try('SELECT user_metadata.custom_user_data()');
RESET ROLE;
DROP FUNCTION user_metadata.doc_of(text, text), user_metadata_remote.doc_of(text, text);
SQL
check "a proxy function whose app parameter is named tenant: app-a ok, app-b 42501" "ok 42501" \
	"$(sed -n 1p "$work/scopes_by_position.out")"
check "custom_user_data through the proxy for the session's app: app-a ok, app-b 42501" "ok|42501" \
	"$(sed -n '2,3p' "$work/scopes_by_position.out" | paste -sd '|')"

# pg_dump and pg_restore of the proxy: the install guards accept what
# pg_restore builds (schema user_metadata created before the extension), the
# scopes, grants, server and mapping come back, and the restored proxy works
rc=0
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$A_PORT" -Fc -d um_proxy -f "$work/proxy.dump" &&
	sql "$A_PORT" postgres -c 'CREATE DATABASE um_proxy_restored TEMPLATE template0' &&
	"$PGBIN/pg_restore" -h 127.0.0.1 -p "$A_PORT" --exit-on-error -d um_proxy_restored "$work/proxy.dump" \
		2>>"$work/errors.log" || rc=$?
check_status $rc "pg_dump -Fc of the proxy database and pg_restore into a new one"
schema um_proxy >"$work/schema.proxy"
schema um_proxy_restored >"$work/schema.restored"
diff "$work/schema.proxy" "$work/schema.restored" >&2 && rc=0 || rc=$?
check_status $rc "the restored proxy's schema equals the dumped one (pg_dump --binary-upgrade)"
check "the restored proxy keeps the scopes and confines with them" \
	"um_app_a app-a|42501" \
	"$(sql "$A_PORT" um_proxy_restored -c 'SELECT role || $$ $$ || app_id FROM user_metadata.admin_scopes')|$(state_of \
		"$A_PORT" um_proxy_restored "SET ROLE um_app_a; SELECT user_metadata.get_user_metadata('scoped-user', 'app-b')")"
check "and serves the scoped role for its app through the restored server and mapping" '{"scoped": true}' \
	"$(sql "$A_PORT" um_proxy_restored -c 'SET ROLE um_app_a' \
		-c "SELECT user_metadata.get_user_metadata('scoped-user', 'app-a')")"
sql "$A_PORT" postgres -c 'DROP DATABASE um_proxy_restored'

#
# 3. 10 000 users over 4 partitions
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
	"$(sql "$A_PORT" um_proxy -c "SELECT count(*) FROM user_metadata.get_user_metadata_bulk(
		ARRAY(SELECT 'user' || i FROM generate_series(1, $users) i)) WITH ORDINALITY AS r (user_id, metadata, ord)
		WHERE user_id = 'user' || ord AND metadata = jsonb_build_object('n', ord)")"

#
# 4. Resharding 4 -> 8
#
old=(um_p0 um_p1 um_p2 um_p3)
new=(um_p4 um_p5 um_p6 um_p7)
new_conninfo=()
for db in "${new[@]}"; do new_conninfo+=("host=127.0.0.1 port=${port[$db]} dbname=$db"); done
all_rows "${old[@]}" >"$work/rows_before"
api_before=$(through_proxy)
sql "${port[um_p4]}" um_p4 -c "INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('squatter', '{}')"
refusal=$("$PGBIN/user_metadata_reshard" "host=127.0.0.1 port=$A_PORT dbname=um_proxy" "${new_conninfo[@]}" 2>&1 || true)
check "user_metadata_reshard refuses a new partition that is not empty, and changes nothing" \
	"user_metadata_reshard: new partition 4 is not empty|4" \
	"$(tail -1 <<<"$refusal")|$(sql "$A_PORT" um_proxy -c "SELECT cardinality(srvoptions) FROM pg_foreign_server")"
sql "${port[um_p4]}" um_p4 -c 'TRUNCATE user_metadata.user_metadata'

# As in the README: the proxy may connect as a role that is no superuser,
# granted the admin API on each partition; user_metadata_reshard must grant it on the new ones
# (the admin API: the functions with an app_id argument)
api=$(sql "${port[um_p0]}" um_p0 -c "SELECT string_agg(oid::regprocedure::text, ', ') FROM pg_proc
	WHERE pronamespace = 'user_metadata'::regnamespace AND 'app_id' = ANY (proargnames[1:pronargs])")
for p in "$A_PORT" "$B_PORT"; do sql "$p" postgres -c 'CREATE ROLE um_partition LOGIN' -c 'CREATE ROLE um_scoped'; done
for db in "${old[@]}"; do
	sql "${port[$db]}" "$db" -c "GRANT EXECUTE ON FUNCTION $api TO um_partition" \
		-c "INSERT INTO user_metadata.admin_scopes VALUES ('um_scoped', 'app_a'), ('um_scoped', '$db')"
done

um_log "resharding to 8 partitions"
started=$SECONDS
"$PGBIN/user_metadata_reshard" "host=127.0.0.1 port=$A_PORT dbname=um_proxy" "${new_conninfo[@]}" && rc=0 || rc=$?
check "user_metadata_reshard 4 -> 8 succeeds ($((SECONDS - started)) s)" 0 "$rc"
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
check "user_metadata_reshard gives each new partition the privileges of its old one" \
	"$(for db in "${old[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(oid::regprocedure || ' ' || proacl::text, ',' ORDER BY oid::regprocedure::text) FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace"; done)" \
	"$(for db in "${new[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(oid::regprocedure || ' ' || proacl::text, ',' ORDER BY oid::regprocedure::text) FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace"; done)"
check "user_metadata_reshard gives each new partition the admin scopes of its old one" \
	"$(for db in "${old[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(role || ' ' || app_id, ',' ORDER BY app_id) FROM user_metadata.admin_scopes"; done)" \
	"$(for db in "${new[@]}"; do sql "${port[$db]}" "$db" -c "SELECT string_agg(role || ' ' || app_id, ',' ORDER BY app_id) FROM user_metadata.admin_scopes"; done)"
moved=$(sql "$A_PORT" um_proxy -c "SELECT 'user' || i FROM generate_series(1, $users) i WHERE hashtext('user' || i) & 7 >= 4 LIMIT 1")
sql "$A_PORT" um_proxy -c "ALTER USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (SET user 'um_partition')" \
	-c "GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) TO um_client"
check "after user_metadata_reshard, the application role writes a moved user through the proxy, no grant made by hand" t \
	"$(sql "$A_PORT" um_proxy -c 'SET ROLE um_client' \
		-c "SELECT user_metadata.update_user_metadata('$moved', '{\"moved\": true}') ? 'moved'" 2>&1)"
sql "$A_PORT" um_proxy -c "ALTER USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (SET user 'postgres')" \
	-c "REVOKE EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) FROM um_client"
sql "$A_PORT" um_proxy -c "SELECT user_metadata.update_user_metadata('$moved', '{\"moved\": null}')" >/dev/null

#
# 5. Instance B down, then back
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
SELECT 'a_bulk|' || pg_temp.try(format('SELECT 1/(count(*) = 40)::int FROM user_metadata.get_user_metadata_bulk(%L)',
									   ARRAY[$a_users]));
SELECT 'b_bulk|' || pg_temp.try(format('SELECT user_metadata.get_user_metadata_bulk(%L)', ARRAY[$a_users] || ARRAY[$b_users]));
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
