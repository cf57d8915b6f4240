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
source "$(dirname "$0")/../reliability/lib.sh"
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
tap_is "$rc" 1 "atlas: a file with bad lines exits 1"
tap_is "$(count relaxed)" 0 "atlas: a file with bad lines imports nothing"
missing=""
for line in $bad_lines; do
	grep -q "line $line[ :]" "$work/abort.err" || missing+=" $line"
done
tap_is "$missing" "" "atlas: the error names every bad line ($bad_lines)"
tap_is "$(grep -c 'ERROR:  5 bad rows in the import; nothing was imported' "$work/abort.err")" 1 \
	"atlas: the error counts the bad lines and says nothing was imported"

for format in relaxed canonical; do
	"$import_atlas" "$work/$format.json" --app $format --skip-bad -- -d $db >"$work/$format.out"
	tap_is "$(mismatches $format)" "" "atlas $format: get_user_metadata gives the expected document of every user"
	tap_is "$(sed -n 's/^\t\tsummary\t//p' "$work/$format.out")" \
		"5 imported, 0 kept, 4 duplicates, 5 bad" "atlas $format: the summary counts imported, duplicate and bad lines"
	got=$(awk -F'\t' '$3 == "bad" {printf "%s ", $1}' "$work/$format.out")
	tap_is "${got% }" "$bad_lines" "atlas $format: --skip-bad reports each bad line by number"
	got=$(awk -F'\t' '$3 == "duplicate" {n = split($4, w, " "); printf "%s:%s ", $1, w[n]}' "$work/$format.out")
	tap_is "${got% }" "$duplicates" "atlas $format: duplicates reported with the line that won (first inserted, string id before ObjectId)"
done
for user in 64b7f0c2a1b2c3d4e5f60001 64b7f0c2a1b2c3d4e5f60002 64b7f0c2a1b2c3d4e5f60003 alice dave; do
	tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('$user', 'relaxed') = document FROM expected WHERE user_id = '$user'")" \
		t "atlas: get_user_metadata('$user') is the expected document"
done

"$import_atlas" "$work/array.json" --app array -- -d $db >"$work/array.out"
tap_is "$(mismatches array)" "" "atlas --jsonArray (detected): the same documents"
"$import_atlas" "$work/pretty.json" --json-array --app pretty -- -d $db >"$work/pretty.out"
tap_is "$(mismatches pretty)" "" "atlas --jsonArray --pretty, canonical: the same documents"
tap_is "$(awk -F'\t' '$3 == "duplicate" {printf "%s ", $1}' "$work/pretty.out")" "2 3 5 7 " \
	"atlas --jsonArray: duplicates reported by element number"
printf '[{"userId": "x"}, {"userId": ' >"$work/broken.json"
set +e
"$import_atlas" "$work/broken.json" --app broken -- -d $db >/dev/null 2>"$work/broken.err"
rc=$?
set -e
tap_is "$rc:$(count broken)" "1:0" "atlas --jsonArray: a broken array imports nothing"

before=$(sql -c "SELECT md5(string_agg(user_id || metadata::text, ',' ORDER BY user_id)) FROM user_metadata.user_metadata WHERE app_id = 'relaxed'")
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad -- -d $db >"$work/rerun.out"
after=$(sql -c "SELECT md5(string_agg(user_id || metadata::text, ',' ORDER BY user_id)) FROM user_metadata.user_metadata WHERE app_id = 'relaxed'")
tap_is "$after" "$before" "atlas: re-running the import leaves the same documents"
tap_is "$(count relaxed)" 5 "atlas: re-running adds no user"

sql -c "SELECT user_metadata.set_user_metadata('alice', '{\"local\": true}', 'relaxed')" >/dev/null
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad --on-conflict keep -- -d $db >"$work/keep.out"
tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('alice', 'relaxed')")" '{"local": true}' \
	"atlas --on-conflict keep: an existing document stays"
tap_is "$(sed -n 's/^\t\tsummary\t//p' "$work/keep.out")" "0 imported, 5 kept, 4 duplicates, 5 bad" \
	"atlas --on-conflict keep: the summary counts the kept users"
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad --on-conflict merge -- -d $db >/dev/null
tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('alice', 'relaxed') = document || '{\"local\": true}' FROM expected WHERE user_id = 'alice'")" \
	t "atlas --on-conflict merge: the import is merged at the root into the existing document"
"$import_atlas" "$work/relaxed.json" --app relaxed --skip-bad -- -d $db >/dev/null
tap_is "$(mismatches relaxed)" "" "atlas --on-conflict replace (default): the imported document replaces the existing one"

printf '%s\n' '{"ownerId": {"$oid": "64b7f0c2a1b2c3d4e5f6abcd"}, "n": {"$numberLong": "1"}}' |
	"$import_atlas" - --app owners --id-field ownerId -- -d $db >/dev/null
tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('64b7f0c2a1b2c3d4e5f6abcd', 'owners')")" \
	'{"n": 1, "ownerId": "64b7f0c2a1b2c3d4e5f6abcd"}' "atlas --id-field and standard input: the user id from another field"

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
tap_is "$rc:$(sql -c "SELECT count(*) FROM user_metadata.user_metadata WHERE user_id LIKE 'st-%'")" "1:0" \
	"supertokens: bad rows import nothing by default"
tap_is "$(grep -c 'st-bad-1.*st-bad-2.*st-bad-3.*st-bad-4' "$work/st_abort.err")" 1 "supertokens: the error names every bad row"
tap_is "$(sql -c "SELECT string_agg(user_id || '/' || outcome, ' ' ORDER BY user_id) FROM user_metadata.import_supertokens('supertokens.st_user_metadata', skip_bad => true) WHERE outcome <> 'summary'")" \
	"st-bad-1/bad st-bad-2/bad st-bad-3/bad st-bad-4/bad" "supertokens: skip_bad reports every bad row"
st_docs() {
	rel_sql -d "${1:-$db}" -c "SELECT string_agg(app_id || '/' || user_id || '=' || metadata::text, ' ' ORDER BY app_id, user_id)
						   FROM user_metadata.user_metadata WHERE user_id LIKE 'st-%'"
}
want='app2/st-1={"plan": "pro"} public/st-1={"todos": ["use-text-notifs"], "preferences": {"theme": "dark"}, "notifications": {"email": true}} public/st-2={"a": 1, "nested": {"keep": null}} public/st-3={}'
tap_is "$(st_docs)" "$want" "supertokens: every good row stored under its app, root nulls removed"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', skip_bad => true)" >/dev/null
tap_is "$(st_docs)" "$want" "supertokens: re-running is safe"
sql -c "SELECT user_metadata.set_user_metadata('st-1', '{\"local\": 1}')" >/dev/null
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'keep', true)" >/dev/null
tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('st-1')")" '{"local": 1}' "supertokens keep: the stored document stays"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'merge', true)" >/dev/null
tap_is "$(sql -c "SELECT user_metadata.get_user_metadata('st-1')")" \
	'{"local": 1, "todos": ["use-text-notifs"], "preferences": {"theme": "dark"}, "notifications": {"email": true}}' \
	"supertokens merge: root-level merge into the stored document"
sql -c "SELECT * FROM user_metadata.import_supertokens('supertokens.st_user_metadata', 'replace', true)" >/dev/null
tap_is "$(st_docs)" "$want" "supertokens replace: the imported documents replace the stored ones"

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
tap_is "$(st_docs $restored)" "$want" "supertokens: the same documents from a dump restored into a schema"
rel_sql -d $restored -c 'DROP SCHEMA supertokens CASCADE'

# (c) bulk writes
sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b1', 'b2'], ARRAY['{\"v\": 1}', '{\"v\": 1}']::jsonb[], 'bulk')" >/dev/null
set +e
sql -c "SELECT user_metadata.update_user_metadata_bulk(ARRAY['b1', 'b2', 'b3'], ARRAY['{\"v\": 2}', '{\"v\": 2}', '[]']::jsonb[], 'bulk')" 2>/dev/null
sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b1', 'b2', 'b3'], ARRAY['{\"v\": 3}', '{\"v\": 3}', '{\"x\": \"'||repeat('x', 2000000)||'\"}']::jsonb[], 'bulk')" 2>/dev/null
set -e
tap_is "$(sql -c "SELECT string_agg(user_id || '=' || metadata::text, ' ' ORDER BY user_id) FROM user_metadata.user_metadata WHERE app_id = 'bulk'")" \
	'b1={"v": 1} b2={"v": 1}' "bulk: a bad element or an oversized document undoes the whole call"
tap_is "$(sql -c "SELECT user_metadata.update_user_metadata_bulk(ARRAY['b1', 'b1', 'b1'], ARRAY['{\"a\": 1}', '{\"a\": null, \"b\": 2}', '{\"c\": 3}']::jsonb[], 'bulk')" \
		-c "SELECT user_metadata.get_user_metadata('b1', 'bulk')")" $'3\n{"b": 2, "c": 3, "v": 1}' \
	"bulk update: a repeated id is merged in order, root nulls of a patch remove keys"
tap_is "$(sql -c "SELECT user_metadata.set_user_metadata_bulk(ARRAY['b2', 'b2'], ARRAY['{\"first\": 1}', '{\"second\": 2}']::jsonb[], 'bulk')" \
		-c "SELECT user_metadata.get_user_metadata('b2', 'bulk')")" $'2\n{"second": 2}' \
	"bulk set: a repeated id is written in order, the last document stays"

rel_done
