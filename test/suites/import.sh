#!/usr/bin/env bash
# test/suites/import.sh: moving in.  In databases of the main cluster
# (PGHOST, PGPORT):
# (a) Atlas App Services: generated mongoexport files (test/import/
#     make_fixtures.py: every Extended JSON type, nesting, duplicate users
#     with string and ObjectId ids, bad lines) in relaxed and canonical
#     lines, --jsonArray and --pretty, imported with
#     user_metadata_import_atlas: a bad line imports nothing and is reported
#     with its number; --skip-bad imports the rest with Atlas's duplicate
#     rule; get_user_metadata returns the expected documents in every
#     format; re-running is safe; the conflict rules and --id-field.
# (b) SuperTokens: a table with SuperTokens' exact schema under a prefixed
#     name, imported with import_supertokens, with bad rows, each conflict
#     rule and re-runs; then, as README says, SuperTokens' table from a dump
#     of its database restored into a schema of another database.
# (c) Bulk writes: whole-call atomicity, duplicates in order.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"
export PGUSER=${PGUSER:-postgres}
db=um_import
restored=um_import_restored
st_source=um_import_supertokens
work=$UM_TMP/import
mkdir -p "$work"
chmod 755 "$work"
import_atlas=$PGBIN/user_metadata_import_atlas

drop_databases() {
	local d
	for d in $db $restored $st_source; do
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d"
	done
}
trap 'drop_databases; um_stop_clusters' EXIT
drop_databases
psql -X -q -d postgres -c "CREATE DATABASE $db"
sql() { rel_sql -d $db "$@"; }
sql -c 'CREATE EXTENSION user_metadata'

python3 "$UM_ROOT/test/import/make_fixtures.py" "$work"
sql -c 'CREATE TABLE expected (user_id text PRIMARY KEY, document jsonb)'
sql -c "\\copy expected FROM '$work/expected.tsv'"
read -r bad_lines <<<"$(sed -n 's/^bad //p' "$work/lines.txt")"
read -r duplicates <<<"$(sed -n 's/^duplicates //p' "$work/lines.txt")"

# documents APP: every expected user whose stored document differs, and
# every stored user not expected ("" when all match)
mismatches() {
	sql -c "SELECT string_agg(coalesce(e.user_id, s.user_id), ' ' ORDER BY 1)
			FROM (SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id = '$1') s
			FULL JOIN expected e ON e.user_id = s.user_id
			WHERE s.metadata IS DISTINCT FROM e.document OR s.metadata::text IS DISTINCT FROM e.document::text"
}
count() { sql -c "SELECT count(*) FROM user_metadata.user_metadata WHERE app_id = '$1'"; }

# (a) Atlas
set +e
"$import_atlas" "$work/relaxed.json" --app relaxed -- -d $db >"$work/abort.out" 2>"$work/abort.err"
rc=$?
set -e
check "atlas: a file with bad lines exits 1" 1 "$rc"
check "atlas: a file with bad lines imports nothing" 0 "$(count relaxed)"
missing=""
for line in $bad_lines; do
	grep -q "line $line[ :]" "$work/abort.err" || missing+=" $line"
done
check "atlas: the error names every bad line ($bad_lines)" "" "$missing"
check "atlas: the error counts the bad lines and says nothing was imported" \
	1 \
	"$(grep -c 'ERROR:  5 bad rows in the import; nothing was imported' "$work/abort.err")"

for format in relaxed canonical; do
	"$import_atlas" "$work/$format.json" --app $format --skip-bad -- -d $db >"$work/$format.out"
	check "atlas $format: get_user_metadata gives the expected document of every user" "" "$(mismatches $format)"
	check "atlas $format: the summary counts imported, duplicate and bad lines" \
		"5 imported, 0 kept, 4 duplicates, 5 bad" \
		"$(sed -n 's/^\t\tsummary\t//p' "$work/$format.out")"
	got=$(awk -F'\t' '$3 == "bad" {printf "%s ", $1}' "$work/$format.out")
	check "atlas $format: --skip-bad reports each bad line by number" "$bad_lines" "${got% }"
	got=$(awk -F'\t' '$3 == "duplicate" {n = split($4, w, " "); printf "%s:%s ", $1, w[n]}' "$work/$format.out")
	check "atlas $format: duplicates reported with the line that won (first inserted, string id before ObjectId)" "$duplicates" "${got% }"
done
for user in 64b7f0c2a1b2c3d4e5f60001 64b7f0c2a1b2c3d4e5f60002 64b7f0c2a1b2c3d4e5f60003 alice dave; do
	check "atlas: get_user_metadata('$user') is the expected document" \
		t \
		"$(sql -c "SELECT user_metadata.get_user_metadata('$user', 'relaxed') = document FROM expected WHERE user_id = '$user'")"
done

"$import_atlas" "$work/array.json" --app array -- -d $db >"$work/array.out"
check "atlas --jsonArray (detected): the same documents" "" "$(mismatches array)"
"$import_atlas" "$work/pretty.json" --json-array --app pretty -- -d $db >"$work/pretty.out"
check "atlas --jsonArray --pretty, canonical: the same documents" "" "$(mismatches pretty)"
check "atlas --jsonArray: duplicates reported by element number" \
	"2 3 5 7 " \
	"$(awk -F'\t' '$3 == "duplicate" {printf "%s ", $1}' "$work/pretty.out")"
printf '[{"userId": "x"}, {"userId": ' >"$work/broken.json"
set +e
"$import_atlas" "$work/broken.json" --app broken -- -d $db >/dev/null 2>"$work/broken.err"
rc=$?
set -e
check "atlas --jsonArray: a broken array imports nothing" "1:0" "$rc:$(count broken)"

before=$(sql -c "SELECT md5(string_agg(user_id || metadata::text, ',' ORDER BY user_id)) FROM user_metadata.user_metadata WHERE app_id = 'relaxed'")
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad -- -d $db >"$work/rerun.out"
after=$(sql -c "SELECT md5(string_agg(user_id || metadata::text, ',' ORDER BY user_id)) FROM user_metadata.user_metadata WHERE app_id = 'relaxed'")
check "atlas: re-running the import leaves the same documents" "$before" "$after"
check "atlas: re-running adds no user" 5 "$(count relaxed)"

sql -c "SELECT user_metadata.set_user_metadata('alice', '{\"local\": true}', 'relaxed')" >/dev/null
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad --on-conflict keep -- -d $db >"$work/keep.out"
check "atlas --on-conflict keep: an existing document stays" \
	'{"local": true}' \
	"$(sql -c "SELECT user_metadata.get_user_metadata('alice', 'relaxed')")"
check "atlas --on-conflict keep: the summary counts the kept users" \
	"0 imported, 5 kept, 4 duplicates, 5 bad" \
	"$(sed -n 's/^\t\tsummary\t//p' "$work/keep.out")"
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad --on-conflict merge -- -d $db >/dev/null
check "atlas --on-conflict merge: the import is merged at the root into the existing document" \
	t \
	"$(sql -c "SELECT user_metadata.get_user_metadata('alice', 'relaxed') = document || '{\"local\": true}' FROM expected WHERE user_id = 'alice'")"
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad -- -d $db >/dev/null
check "atlas --on-conflict replace (default): the imported document replaces the existing one" "" "$(mismatches relaxed)"

printf '%s\n' '{"ownerId": {"$oid": "64b7f0c2a1b2c3d4e5f6abcd"}, "n": {"$numberLong": "1"}}' |
	"$import_atlas" - --app owners --id-field ownerId -- -d $db >/dev/null
check "atlas --id-field and standard input: the user id from another field" \
	'{"n": 1, "ownerId": "64b7f0c2a1b2c3d4e5f6abcd"}' \
	"$(sql -c "SELECT user_metadata.get_user_metadata('64b7f0c2a1b2c3d4e5f6abcd', 'owners')")"

# (b) SuperTokens: their table, under a configured prefix, in its own schema
st_table="CREATE TABLE public.user_metadata (
	app_id VARCHAR(64) DEFAULT 'public',
	user_id VARCHAR(128),
	user_metadata TEXT,
	PRIMARY KEY (app_id, user_id)
)"
st_rows="INSERT INTO public.user_metadata VALUES
	('public', 'st-1', '{\"preferences\": {\"theme\": \"dark\"}, \"notifications\": {\"email\": true}, \"todos\": [\"use-text-notifs\"]}'),
	('public', 'st-2', '{\"a\": 1, \"gone\": null, \"nested\": {\"keep\": null}}'),
	('public', 'st-3', '{}'),
	('app2', 'st-1', '{\"plan\": \"pro\"}'),
	('public', 'st-bad-1', '[1, 2]'),
	('public', 'st-bad-2', '{\"unterminated\": '),
	('public', 'st-bad-3', '\"just a string\"'),
	('public', 'st-bad-4', NULL)"
# in the same database, under a configured prefix, in a schema of its own
sql -c 'CREATE SCHEMA supertokens' -c "${st_table/public.user_metadata/supertokens.st_user_metadata}" \
	-c "${st_rows/public.user_metadata/supertokens.st_user_metadata}"
set +e
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata')" >/dev/null 2>"$work/st_abort.err"
rc=$?
set -e
check "supertokens: bad rows import nothing by default" \
	"1:0" \
	"$rc:$(sql -c "SELECT count(*) FROM user_metadata.user_metadata WHERE user_id LIKE 'st-%'")"
check "supertokens: the error names every bad row" 1 "$(grep -c 'st-bad-1.*st-bad-2.*st-bad-3.*st-bad-4' "$work/st_abort.err")"
check "supertokens: skip_bad reports every bad row" \
	"st-bad-1/bad st-bad-2/bad st-bad-3/bad st-bad-4/bad" \
	"$(sql -c "SELECT string_agg(user_id || '/' || outcome, ' ' ORDER BY user_id) FROM user_metadata.import_supertokens('supertokens.st_user_metadata', skip_bad => true) WHERE outcome <> 'summary'")"
st_docs() {
	rel_sql -d "${1:-$db}" -c "SELECT string_agg(app_id || '/' || user_id || '=' || metadata::text, ' ' ORDER BY app_id, user_id)
						   FROM user_metadata.user_metadata WHERE user_id LIKE 'st-%'"
}
want='app2/st-1={"plan": "pro"} public/st-1={"todos": ["use-text-notifs"], "preferences": {"theme": "dark"}, "notifications": {"email": true}} public/st-2={"a": 1, "nested": {"keep": null}} public/st-3={}'
check "supertokens: every good row stored under its app, root nulls removed" "$want" "$(st_docs)"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', skip_bad => true)" >/dev/null
check "supertokens: re-running is safe" "$want" "$(st_docs)"
sql -c "SELECT user_metadata.set_user_metadata('st-1', '{\"local\": 1}')" >/dev/null
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'keep', true)" >/dev/null
check "supertokens keep: the stored document stays" '{"local": 1}' "$(sql -c "SELECT user_metadata.get_user_metadata('st-1')")"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'merge', true)" >/dev/null
check "supertokens merge: root-level merge into the stored document" \
	'{"local": 1, "todos": ["use-text-notifs"], "preferences": {"theme": "dark"}, "notifications": {"email": true}}' \
	"$(sql -c "SELECT user_metadata.get_user_metadata('st-1')")"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'replace', true)" >/dev/null
check "supertokens replace: the imported documents replace the stored ones" "$want" "$(st_docs)"

# from a dump, as README says: SuperTokens' own table public.user_metadata in
# its database, restored into schema supertokens of another one
psql -X -q -d postgres -c "CREATE DATABASE $st_source" -c "CREATE DATABASE $restored"
rel_sql -d $st_source -c "$st_table" -c "$st_rows"
"$PGBIN/pg_dump" -Fc -d $st_source -t public.user_metadata -f "$work/supertokens.dump"
rel_sql -d $restored -c 'CREATE EXTENSION user_metadata' -c 'CREATE SCHEMA supertokens'
"$PGBIN/pg_restore" --no-owner -f - -t user_metadata "$work/supertokens.dump" |
	sed -E 's/^(CREATE TABLE|COPY|ALTER TABLE ONLY|ALTER TABLE) public\.user_metadata/\1 supertokens.user_metadata/' |
	rel_sql -d $restored >/dev/null
rel_sql -d $restored -c "SELECT * FROM user_metadata.import_supertokens('supertokens.user_metadata', skip_bad => true)" >/dev/null
check "supertokens: the same documents from a dump restored into a schema" "$want" "$(st_docs $restored)"
rel_sql -d $restored -c 'DROP SCHEMA supertokens CASCADE'

# (c) bulk writes
sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b1', 'b2'], ARRAY['{\"v\": 1}', '{\"v\": 1}']::jsonb[], 'bulk')" >/dev/null
set +e
sql -c "SELECT user_metadata.update_user_metadata_bulk(ARRAY['b1', 'b2', 'b3'], ARRAY['{\"v\": 2}', '{\"v\": 2}', '[]']::jsonb[], 'bulk')" 2>/dev/null
sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b1', 'b2', 'b3'], ARRAY['{\"v\": 3}', '{\"v\": 3}', '{\"x\": \"'||repeat('x', 2000000)||'\"}']::jsonb[], 'bulk')" 2>/dev/null
set -e
check "bulk: a bad element or an oversized document undoes the whole call" \
	'b1={"v": 1} b2={"v": 1}' \
	"$(sql -c "SELECT string_agg(user_id || '=' || metadata::text, ' ' ORDER BY user_id) FROM user_metadata.user_metadata WHERE app_id = 'bulk'")"
check "bulk update: a repeated id is merged in order, root nulls of a patch remove keys" \
	$'3\n{"b": 2, "c": 3, "v": 1}' \
	"$(sql -c "SELECT user_metadata.update_user_metadata_bulk(ARRAY['b1', 'b1', 'b1'], ARRAY['{\"a\": 1}', '{\"a\": null, \"b\": 2}', '{\"c\": 3}']::jsonb[], 'bulk')" \
		-c "SELECT user_metadata.get_user_metadata('b1', 'bulk')")"
check "bulk set: a repeated id is written in order, the last document stays" \
	$'2\n{"second": 2}' \
	"$(sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b2', 'b2'], ARRAY['{\"first\": 1}', '{\"second\": 2}']::jsonb[], 'bulk')" \
		-c "SELECT user_metadata.get_user_metadata('b2', 'bulk')")"

checks_done
