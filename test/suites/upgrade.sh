#!/usr/bin/env bash
# test/suites/upgrade.sh: extension updates and dump/restore, in databases of
# the main cluster (PGHOST, PGPORT).
#
# For every version FROM that the scripts at the top of the tree can install
# (user_metadata--V.sql, or an older one plus user_metadata--A--V.sql: the
# list comes from the file names) other than the default version TO:
# (a) a database created at FROM and written through FROM's functions is
#     updated to TO: its rows stay byte-identical, its schema equals a fresh
#     install's, the functions work on the old rows, and the whole pg_regress
#     suite and the pgTAP files pass on copies of it;
# (b) pg_dump -Fc of that database, pg_restore into a new one: same version,
#     same schema, every row identical, the functions work.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"
export PGUSER=${PGUSER:-postgres}

TO=$(rel_sql -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'user_metadata'")
# every version a released script's name mentions, oldest first, but TO
mapfile -t FROMS < <(for f in "$UM_ROOT"/user_metadata--*.sql; do
	basename "$f" .sql | sed -e 's/^user_metadata--//' -e 's/--/\n/'
done | sort -uV | grep -vxF "$TO")
work=$UM_TMP/upgrade
mkdir -p "$work"
fresh=um_up_fresh		# created at $TO
# per path, with the version in the name: um_up_old_1_0 created at 1.0 and
# updated to $TO, um_up_restored_1_0 its pg_restore, um_up_regress_1_0 and
# um_up_pgtap_1_0 copies of it for pg_regress and pgTAP
databases() {
	local from
	echo $fresh
	for from in "${FROMS[@]}"; do
		echo um_up_{old,restored,regress,pgtap}_"${from//[^0-9a-z]/_}"
	done
}
drop_databases() {
	local db
	for db in $(databases); do
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db"
	done
}
trap 'drop_databases; psql -X -q -d postgres -c "DROP ROLE IF EXISTS um_up_admin"; um_stop_clusters' EXIT
drop_databases
rel_sql -d postgres -c 'DROP ROLE IF EXISTS um_up_admin' -c 'CREATE ROLE um_up_admin'
check "upgrade: the tree has versions to update from to the default version $TO (${FROMS[*]})" yes \
	"$([ ${#FROMS[@]} -gt 0 ] && echo yes || echo no)"

# schema DB: every object as pg_dump --binary-upgrade writes it (extension
# members too, in full, with owners, privileges and comments), less the OIDs,
# xids and LSNs that differ between databases; then the extension's version
# and configuration tables by name
schema() {
	"$PGBIN/pg_dump" --schema-only --binary-upgrade -d "$1" | sed -E \
		-e '/^\\(un)?restrict /d' -e '/binary_upgrade_set_next_/d' \
		-e '/^SET relfrozenxid = /d' -e "/^WHERE oid = '[0-9]+';$/d" \
		-e "s/(binary_upgrade_create_empty_extension\(.*), '\{[0-9,]*\}', /\1, '{oids}', /"
	rel_sql -d "$1" -c "SELECT extversion, extconfig::regclass[], extcondition FROM pg_extension WHERE extname = 'user_metadata'"
}

version() {
	rel_sql -d "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata'"
}

# works DB: a merge into an old row, reads, a containment search and the
# current user's document, each "t" when right (writes to alice)
works() {
	rel_sql -d "$1" <<'SQL'
SELECT user_metadata.update_user_metadata('alice', '{"checked":true,"n":null}') = '{"theme":"dark","checked":true}';
SELECT user_metadata.get_user_metadata('alice') = '{"theme":"dark","checked":true}';
SELECT array(SELECT user_metadata.find_users('{"plan":"pro"}', 'app0'))
	 = array(SELECT 'user' || i FROM generate_series(21, 300, 21) i ORDER BY 1);
SELECT user_metadata.jsonb_merge('{"a":1,"b":2}', '{"b":null}') = '{"a":1}';
BEGIN;
SET LOCAL user_metadata.user_id = 'alice';
SELECT user_metadata.custom_user_data() = '{"theme":"dark","checked":true}';
COMMIT;
SQL
}
works_ok=$'t\nt\nt\nt\nt'

rel_sql -d postgres -c "CREATE DATABASE $fresh"
rel_sql -d $fresh -c 'CREATE EXTENSION user_metadata'
schema $fresh >"$work/schema.fresh"
tests=$(make -s --no-print-directory -C "$UM_ROOT" -f Makefile -f - print-regress <<<'print-regress: ; @echo $(REGRESS)')

# upgrade_path FROM: (a) and (b) for one version
upgrade_path() {
	local FROM=$1 rc db setting test file
	local v=${1//[^0-9a-z]/_}
	local old=um_up_old_$v restored=um_up_restored_$v regress=um_up_regress_$v pgtap=um_up_pgtap_$v
	local work=$work/$v
	mkdir -p "$work"

	# (a) update
	rel_sql -d postgres -c "CREATE DATABASE $old"
	rel_sql -d $old -c "CREATE EXTENSION user_metadata VERSION '$FROM'"
	check "upgrade $FROM -> $TO: CREATE EXTENSION user_metadata VERSION '$FROM'" "$FROM" \
		"$(version $old)"
	# Rows in several apps through the $FROM functions: merges, a replace, a
	# clear, a TOASTed document, non-ASCII and quoted ids, the longest ids
	rel_sql -d $old >/dev/null <<'SQL'
SELECT user_metadata.update_user_metadata('alice', '{"theme":"dark","n":1,"todo":["a"]}');
SELECT user_metadata.update_user_metadata('alice', '{"n":2,"todo":null}');
SELECT user_metadata.set_user_metadata('bob', '{"plan":"pro","x":null}', 'billing');
SELECT user_metadata.update_user_metadata('dave', '{"x":1}', 'billing');
SELECT user_metadata.clear_user_metadata('dave', 'billing');
SELECT user_metadata.update_user_metadata('carol', jsonb_build_object('essay', repeat('ab', 100000)), 'docs');
SELECT user_metadata.update_user_metadata('żółw 🐢', '{"ünï":"cödé","arr":[1,{"x":null}],"num":1.50}', 'app "quoted"');
SELECT user_metadata.update_user_metadata(repeat('u', 512), '{"longest ids":true}', repeat('a', 512));
SELECT count(user_metadata.update_user_metadata('user' || i,
	jsonb_build_object('i', i, 'plan', CASE WHEN i % 7 = 0 THEN 'pro' END), 'app' || i % 3))
FROM generate_series(1, 300) i;
SQL
	rows $old >"$work/before"

	# This library under $FROM's functions, before the update: a role granted
	# the single read, not a superuser, reads through 1.0's and 1.1's SECURITY
	# DEFINER functions and is refused by 1.2's invoker ones (fail closed)
	local expected='{"n": 2, "theme": "dark"}'
	[ "$FROM" = 1.2 ] && expected=42501
	rel_sql -d $old -c 'GRANT USAGE ON SCHEMA user_metadata TO um_up_admin' \
		-c 'GRANT EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) TO um_up_admin'
	check "upgrade $FROM -> $TO: before the update, a granted role that is not a superuser gets $expected" "$expected" \
		"$(psql -X -q -At -d $old -c 'SET ROLE um_up_admin' -c "SELECT user_metadata.get_user_metadata('alice')" \
			-c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null | grep -v '^00000$' | tail -1)"
	rel_sql -d $old -c 'REVOKE USAGE ON SCHEMA user_metadata FROM um_up_admin' \
		-c 'REVOKE EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) FROM um_up_admin'

	rc=0
	rel_sql -d $old -c "ALTER EXTENSION user_metadata UPDATE TO '$TO'" || rc=$?
	check_status "$([ $rc -eq 0 ] && [ "$(version $old)" = "$TO" ]; echo $?)" \
		"upgrade $FROM -> $TO: ALTER EXTENSION user_metadata UPDATE TO '$TO' from '$FROM'"
	rows $old >"$work/after"
	check_status "$(cmp -s "$work/before" "$work/after"; echo $?)" \
		"upgrade $FROM -> $TO: all $(wc -l <"$work/before") rows in $(cut -f1 "$work/before" | sort -u | wc -l) apps byte-identical after the update (documents, created_at, updated_at)"

	schema $old >"$work/schema.updated"
	diff "$work/../schema.fresh" "$work/schema.updated" >&2 && rc=0 || rc=$?
	check_status $rc "upgrade $FROM -> $TO: the schema updated from '$FROM' equals a fresh install of '$TO' (pg_dump --binary-upgrade of every object)"
	check "upgrade $FROM -> $TO: the functions work on the rows written by '$FROM' (merge, reads, GIN search, custom_user_data)" "$works_ok" \
		"$(works $old)"

	# (b) dump and restore, after the writes above
	rows $old >"$work/dumped"
	rc=0
	"$PGBIN/pg_dump" -Fc -d $old -f "$work/dump" &&
		rel_sql -d postgres -c "CREATE DATABASE $restored TEMPLATE template0" &&
		"$PGBIN/pg_restore" --exit-on-error -d $restored "$work/dump" || rc=$?
	check_status $rc "dump after $FROM -> $TO: pg_dump -Fc and pg_restore into a new database"
	check "dump after $FROM -> $TO: the restored extension is at version '$TO'" "$TO" \
		"$(version $restored)"
	schema $restored >"$work/schema.restored"
	diff "$work/schema.updated" "$work/schema.restored" >&2 && rc=0 || rc=$?
	check_status $rc "dump after $FROM -> $TO: the restored schema equals the dumped one"
	rows $restored >"$work/restored"
	check_status "$(cmp -s "$work/dumped" "$work/restored"; echo $?)" \
		"dump after $FROM -> $TO: all $(wc -l <"$work/dumped") rows restored identical (app_id, user_id, document bytes, created_at, updated_at)"
	check "dump after $FROM -> $TO: the functions work on the restored database" "$works_ok" \
		"$(works $restored)"

	# The regression files and pgTAP plans expect an empty store: copies of the
	# updated database, its rows deleted, the way pg_regress would set one up
	for db in $regress $pgtap; do
		rel_sql -d postgres -c "CREATE DATABASE $db TEMPLATE $old"
		rel_sql -d $db -c 'DELETE FROM user_metadata.user_metadata'
	done
	for setting in "lc_messages TO 'C'" "lc_monetary TO 'C'" "lc_numeric TO 'C'" "lc_time TO 'C'" \
		"bytea_output TO 'hex'" "timezone_abbreviations TO 'Default'"; do
		rel_sql -d postgres -c "ALTER DATABASE $regress SET $setting"
	done

	rc=0
	"$("$PGBIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress" --use-existing --dbname=$regress \
		--bindir="$PGBIN" --inputdir="$UM_ROOT" --outputdir="$work/regress" $tests >"$work/regress.log" 2>&1 || rc=$?
	for test in $tests; do
		check_status "$(pg_regress_results "$work/regress.log" | grep -qx "ok $test"; echo $?)" \
			"upgrade $FROM -> $TO: pg_regress $test passes on the updated database"
	done
	[ $rc -eq 0 ] || { cat "$work/regress.log"; head -100 "$work/regress/regression.diffs"; } >&2 || true

	rel_sql -d $pgtap -c 'CREATE EXTENSION pgtap'
	rc=0
	(cd "$UM_ROOT" && pg_prove -d $pgtap test/pgtap/*.sql) >"$work/pg_prove.log" 2>&1 || rc=$?
	for file in "$UM_ROOT"/test/pgtap/*.sql; do
		file=test/pgtap/$(basename "$file")
		check_status "$(grep -qE "^$file \.+ ok$" "$work/pg_prove.log"; echo $?)" \
			"upgrade $FROM -> $TO: pgTAP $file passes on the updated database"
	done
	[ $rc -eq 0 ] || cat "$work/pg_prove.log" >&2
}

for from in "${FROMS[@]}"; do
	upgrade_path "$from"
done
checks_done
