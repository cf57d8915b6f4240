#!/usr/bin/env bash
# test/suites/pg_upgrade.sh: pg_upgrade of a PostgreSQL 15 cluster that holds
# user_metadata data to the server under test (16, 17 or 18).
#
# The old cluster runs on a private copy of Debian's 15 with the extension
# built for it (um_make_sandbox: the system's 15 is only read).  It has two
# databases: one at the default version, written through its functions
# (merges, a clear, bulk writes, a TOASTed document, non-ASCII ids, several
# apps, an admin scope, a role's grant), and one left at 1.1.  After
# pg_upgrade --check and pg_upgrade (--link would not show a copy fault):
# every row is byte-identical, the extensions keep their versions, amcheck
# passes on the table's indexes, the functions work on the old rows, the 1.1
# database updates to the default version, and the scope still confines.
# Skipped when the server under test is 15 itself.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"

if [ "$UM_PG_MAJOR" -le 15 ]; then
	check_skip "pg_upgrade from 15" "the server under test is PostgreSQL $UM_PG_MAJOR: nothing older to upgrade from"
	checks_done
fi
um_install_packages postgresql-15 postgresql-server-dev-15
work=$UM_TMP/pg_upgrade
old_sb=$work/pg15
old_bin=$old_sb/usr/lib/postgresql/15/bin
new_bin=$PGBIN
mkdir -p "$work" && chown postgres: "$work"
as_pg() { runuser -u postgres -- "$@"; }

# the extension for 15, built and installed into the private copy
(
	UM_SANDBOX=$old_sb PGBIN=$old_bin UM_PGBIN_REAL=/usr/lib/postgresql/15/bin UM_PG_MAJOR=15
	um_make_sandbox "$old_sb/build" &&
		make -C "$old_sb/build" -s PG_CONFIG="$old_bin/pg_config" >/dev/null &&
		make -C "$old_sb/build" -s PG_CONFIG="$old_bin/pg_config" install >/dev/null
) || { echo "not ok - pg_upgrade: build the extension for a copy of PostgreSQL 15"; exit 1; }

cleanup() {
	local bin data
	for bin in "$old_bin" "$new_bin"; do
		for data in "$work/old" "$work/new"; do
			[ -f "$data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
		done
	done
	um_stop_clusters
}
trap cleanup EXIT

export PGHOST=$work PGPORT=5432 PGUSER=postgres
# start BIN DATA: the cluster on a unix socket in $work only
start() {
	as_pg "$1/pg_ctl" -D "$2" -l "$2.log" -w -t 60 \
		-o "-c listen_addresses='' -p $PGPORT -k $work -c fsync=off" start >/dev/null
}
# pg_upgrade needs the same data page checksums on both sides: 18's initdb
# turns them on by default, 15's does not
checksums=
[[ $("$new_bin/initdb" --help) == *--no-data-checksums* ]] && checksums=--no-data-checksums
as_pg "$old_bin/initdb" -D "$work/old" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$work/initdb_old.log"
as_pg "$new_bin/initdb" -D "$work/new" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
	$checksums >"$work/initdb_new.log"

start "$old_bin" "$work/old"
rel_sql -d postgres -c 'CREATE DATABASE um_pgup' -c 'CREATE DATABASE um_pgup_11' -c 'CREATE ROLE um_pgup_scoped'
rel_sql -d um_pgup_11 -c "CREATE EXTENSION user_metadata VERSION '1.1'" \
	-c "SELECT user_metadata.update_user_metadata('old' || i, jsonb_build_object('i', i)) FROM generate_series(1, 50) i" >/dev/null
rel_sql -d um_pgup >/dev/null <<'SQL'
CREATE EXTENSION user_metadata;
SELECT user_metadata.update_user_metadata('alice', '{"theme":"dark","n":1,"todo":["a"]}');
SELECT user_metadata.update_user_metadata('alice', '{"n":2,"todo":null}');
SELECT user_metadata.set_user_metadata('bob', '{"plan":"pro","x":null}', 'billing');
SELECT user_metadata.update_user_metadata('dave', '{"x":1}', 'billing');
SELECT user_metadata.clear_user_metadata('dave', 'billing');
SELECT user_metadata.update_user_metadata('carol', jsonb_build_object('essay', repeat('ab', 100000)), 'docs');
SELECT user_metadata.update_user_metadata('żółw 🐢', '{"ünï":"cödé","arr":[1,{"x":null}],"num":1.50}', 'app "quoted"');
SELECT count(user_metadata.update_user_metadata('user' || i,
	jsonb_build_object('i', i, 'plan', CASE WHEN i % 7 = 0 THEN 'pro' END), 'app' || i % 3))
FROM generate_series(1, 3000) i;
SELECT count(*) FROM user_metadata.set_user_metadata_bulk(
	ARRAY(SELECT 'bulk' || i FROM generate_series(1, 500) i),
	ARRAY(SELECT jsonb_build_object('n', i, 'deep', jsonb_build_object('a', ARRAY[i, -i])) FROM generate_series(1, 500) i),
	'bulk');
INSERT INTO user_metadata.admin_scopes VALUES ('um_pgup_scoped', 'billing');
GRANT EXECUTE ON FUNCTION user_metadata.get_user_metadata(text, text) TO um_pgup_scoped;
SQL
rows um_pgup >"$work/before"
rows um_pgup_11 >"$work/before_11"
# Debian 12's PostgreSQL 15.20 stores an attribute option pg_attver on every
# column it creates; no other server knows it, and pg_restore of the schema
# fails on it ('unrecognized parameter "pg_attver"') for any user table, with
# or without this extension.  It is removed from user relations first.
for db in postgres um_pgup um_pgup_11; do
	rel_sql -d $db -c "UPDATE pg_catalog.pg_attribute SET attoptions = NULLIF(ARRAY(SELECT o FROM unnest(attoptions) o
		WHERE o NOT LIKE 'pg\_attver=%'), '{}') WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\_attver=%'" >/dev/null
done
as_pg "$old_bin/pg_ctl" -D "$work/old" -m fast -w stop >/dev/null

# pg_upgrade writes its logs into the new data directory and the current one
rc=0
(cd "$work" && as_pg "$new_bin/pg_upgrade" --check -b "$old_bin" -B "$new_bin" -d "$work/old" -D "$work/new" \
	-U postgres -s "$work" -p 5432 -P 5433) >"$work/check.log" 2>&1 || rc=$?
check_status $rc "pg_upgrade --check from 15 to $UM_PG_MAJOR: the clusters are compatible, user_metadata.so loads"
[ $rc -eq 0 ] || tail -30 "$work/check.log" >&2
rc=0
(cd "$work" && as_pg "$new_bin/pg_upgrade" -b "$old_bin" -B "$new_bin" -d "$work/old" -D "$work/new" \
	-U postgres -s "$work" -p 5432 -P 5433) >"$work/upgrade.log" 2>&1 || rc=$?
check_status $rc "pg_upgrade from 15 to $UM_PG_MAJOR of a cluster with two user_metadata databases"
[ $rc -eq 0 ] || { tail -30 "$work/upgrade.log"; find "$work/new" -name '*.log' -path '*pg_upgrade_output.d*' -exec tail -n 20 {} +; } >&2

start "$new_bin" "$work/new"
check "after pg_upgrade to $UM_PG_MAJOR: the server is $UM_PG_MAJOR" "$UM_PG_MAJOR" \
	"$(rel_sql -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")"
rows um_pgup >"$work/after"
check_status "$(cmp -s "$work/before" "$work/after"; echo $?)" \
	"after pg_upgrade to $UM_PG_MAJOR: all $(wc -l <"$work/before") rows in $(cut -f1 "$work/before" | sort -u | wc -l) apps byte-identical (documents, created_at, updated_at)"
rows um_pgup_11 >"$work/after_11"
check_status "$(cmp -s "$work/before_11" "$work/after_11"; echo $?)" \
	"after pg_upgrade to $UM_PG_MAJOR: the 1.1 database's $(wc -l <"$work/before_11") rows byte-identical"
default=$(rel_sql -d um_pgup -c "SELECT default_version FROM pg_available_extensions WHERE name = 'user_metadata'")
check "after pg_upgrade to $UM_PG_MAJOR: the extensions keep their versions" "$default 1.1" \
	"$(rel_sql -d um_pgup -c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata'") $(
		rel_sql -d um_pgup_11 -c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata'")"
check "after pg_upgrade to $UM_PG_MAJOR: amcheck passes on every index of the store" ok \
	"$(rel_sql -d um_pgup -c 'CREATE EXTENSION amcheck' -c "SELECT count(bt_index_check(i.indexrelid, true)) >= 0
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		WHERE i.indrelid = 'user_metadata.user_metadata'::regclass AND a.amname = 'btree'" >/dev/null && echo ok)"
check "after pg_upgrade to $UM_PG_MAJOR: merge, replace, clear, reads, bulk read, GIN search and custom_user_data work on the old rows" \
	$'t\nt\nt\nt\nt\nt\nt\nt\nt' "$(rel_sql -d um_pgup <<'SQL'
SELECT user_metadata.update_user_metadata('alice', '{"checked":true,"n":null}') = '{"theme":"dark","checked":true}';
SELECT user_metadata.get_user_metadata('carol', 'docs') -> 'essay' = to_jsonb(repeat('ab', 100000));
SELECT user_metadata.get_user_metadata('żółw 🐢', 'app "quoted"') = '{"ünï":"cödé","arr":[1,{"x":null}],"num":1.50}';
SELECT user_metadata.set_user_metadata('bob', '{"plan":"free"}', 'billing') = '{"plan":"free"}';
SELECT user_metadata.clear_user_metadata('user1', 'app1');
-- a STABLE read in the clear's own statement would still see the row
SELECT user_metadata.get_user_metadata('user1', 'app1') = '{}';
SELECT array_agg(metadata -> 'n' ORDER BY ord) = ARRAY['1', '250', '500']::jsonb[]
  FROM user_metadata.get_user_metadata_bulk(ARRAY['bulk1', 'bulk250', 'bulk500'], 'bulk') WITH ORDINALITY AS r (user_id, metadata, ord);
SELECT array(SELECT user_metadata.find_users('{"plan":"pro"}', 'app0')) = array(SELECT 'user' || i FROM generate_series(21, 3000, 21) i ORDER BY 1);
BEGIN;
SET LOCAL user_metadata.user_id = 'alice';
SELECT user_metadata.custom_user_data() = '{"theme":"dark","checked":true}';
COMMIT;
SQL
)"
check "after pg_upgrade to $UM_PG_MAJOR: the admin scope still confines its role (billing yes, another app 42501)" "00000 42501" \
	"$(printf '%s\n' 'SET ROLE um_pgup_scoped;' "SELECT user_metadata.get_user_metadata('bob', 'billing');" '\echo :SQLSTATE' \
		"SELECT user_metadata.get_user_metadata('alice');" '\echo :SQLSTATE' |
		psql -X -q -At -d um_pgup -f - 2>/dev/null | grep -E '^[0-9A-Z]{5}$' | paste -sd' ')"
rc=0
rel_sql -d um_pgup_11 -c 'ALTER EXTENSION user_metadata UPDATE' || rc=$?
check "after pg_upgrade to $UM_PG_MAJOR: the 1.1 database updates to $default and reads its rows" "$rc $default t" \
	"0 $(rel_sql -d um_pgup_11 -c "SELECT extversion FROM pg_extension WHERE extname = 'user_metadata'") $(
		rel_sql -d um_pgup_11 -c "SELECT user_metadata.update_user_metadata('old7', '{\"j\":1}') = '{\"i\":7,\"j\":1}'")"
checks_done
