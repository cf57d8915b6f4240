#!/usr/bin/env bash
# test/suites/table_changes.sh: no crash, no wrong answer and no lost data
# from any change a DBA may make to user_metadata.user_metadata.
#
# A cluster of its own.  A template database holds the extension, stored
# documents, roles and import sources.  For each change of
# test/reliability/table_changes.sql, a fresh copy of it gets the change,
# then every call of test/reliability/table_calls.sql runs, each in its own
# committed transaction.  A call must either succeed with an answer that
# agrees with what the table then holds, or fail with one of the SQLSTATEs
# the documentation lists (docs/sqlstates.md; never XX000) and leave every
# row as it was.  The server log must never show a backend terminated by a
# signal.  One check per change, naming each call that broke a rule.
# Where PL/Proxy is installed, a proxy database routes to the changed
# database too, and calls through it hold to the same rules.
set -euo pipefail
source "$(dirname "$0")/../lib/suite.sh"

changes=$UM_ROOT/test/reliability/table_changes.sql
calls=$UM_ROOT/test/reliability/table_calls.sql
# what a refused call may raise: the extension's own errors and those of the
# objects the DBA added (P0001: a trigger's RAISE)
documented='09000 0A000 21000 22004 22023 2202E 22P02 23502 23505 23514 42501 42703 42804 42809 42P01 42P10 54000 55P03 57014 P0001'

UM_PG_OPTS="-c log_error_verbosity=terse -c log_min_error_statement=panic -c restart_after_crash=on"
um_start_cluster changes
export PGHOST=$changes_HOST PGPORT=$changes_PORT PGUSER=postgres PGDATABASE=postgres
rel_sql <<'SQL'
CREATE ROLE um_tc_client;
CREATE ROLE um_tc_admin;
CREATE ROLE um_tc_owner;
CREATE DATABASE um_tc_template;
SQL
rel_sql -d um_tc_template >/dev/null <<'SQL'
CREATE EXTENSION user_metadata;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_tc_client;
GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO um_tc_client;
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO um_tc_client;
GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) TO um_tc_admin;
SELECT user_metadata.set_user_metadata('u' || i, jsonb_build_object('k', 1, 'i', i, 'theme', 'dark'))
FROM generate_series(1, 4) i;
-- a row's document, whatever became of the columns' types: a JSON value
-- as it is, text parsed as JSON if it is JSON
CREATE FUNCTION public.document(row_json jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF jsonb_typeof(row_json -> 'metadata') = 'string' THEN
		RETURN (row_json ->> 'metadata')::jsonb;
	END IF;
	RETURN row_json -> 'metadata';
EXCEPTION WHEN invalid_text_representation THEN
	RETURN row_json -> 'metadata';
END $$;
CREATE FUNCTION public.stored(id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT public.document(to_jsonb(t)) FROM user_metadata.user_metadata t
	WHERE to_jsonb(t) ->> 'app_id' = 'public' AND to_jsonb(t) ->> 'user_id' = id
$$;
CREATE TABLE public.atlas_lines (line bigint, document text);
INSERT INTO public.atlas_lines VALUES
	(1, '{"userId": "a1", "plan": "pro"}'),
	(2, '{"userId": "a2", "n": {"$numberLong": "7"}}');
CREATE TABLE public.supertokens_rows (app_id text, user_id text, user_metadata text);
INSERT INTO public.supertokens_rows VALUES ('public', 'st1', '{"plan": "free"}');
CREATE TABLE public.prefs (id int PRIMARY KEY, settings jsonb);
CREATE TRIGGER prefs_merge BEFORE INSERT OR UPDATE ON public.prefs
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('settings');
INSERT INTO public.prefs VALUES (1, '{"a": 1}');
SQL

# A proxy whose one partition is the changed database of the moment
proxy=no
if [ "$(rel_sql -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'plproxy'")" = 1 ]; then
	proxy=yes
	rel_sql -c 'CREATE DATABASE um_tc_proxy'
	rel_sql -d um_tc_proxy -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION user_metadata_proxy CASCADE' \
		-c "CREATE SERVER user_metadata FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'host=$PGHOST port=$PGPORT dbname=postgres')" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER user_metadata OPTIONS (user 'postgres')"
fi
proxy_calls=(
	"update_user_metadata through the proxy|SELECT user_metadata.update_user_metadata('u1', '{\"p\": 1}')|SELECT :'ret'::jsonb = public.stored('u1')"
	"get_user_metadata through the proxy|SELECT user_metadata.get_user_metadata('u1')|SELECT :'ret'::jsonb = coalesce(public.stored('u1'), '{}')"
	"set_user_metadata_bulk through the proxy|SELECT user_metadata.set_user_metadata_bulk(ARRAY['u1', 'p2'], ARRAY['{\"q\": 1}', '{\"q\": 2}']::jsonb[])|SELECT :'ret' = '2' AND public.stored('p2') IS NOT NULL"
)
# proxy_round DB: problems+= for each proxy call that broke a rule
proxy_round() {
	local db=$1 entry what call verify sum0 sum1 out state right
	for entry in "${proxy_calls[@]}"; do
		IFS='|' read -r what call verify <<<"$entry"
		sum0=$(rel_sql -d "$db" -c "${checksum% \\gset}" 2>/dev/null) || sum0=unreadable
		state=00000
		# A proxy-side statement_timeout, as docs/proxy.md advises: PL/Proxy
		# 2.x waits forever for a SPLIT call that a partition's own
		# statement_timeout canceled (change "statement_timeout hit in a
		# slow trigger")
		if ! out=$(PGOPTIONS='-c statement_timeout=10s' timeout 60 \
			psql -X -q -At -d um_tc_proxy -v VERBOSITY=sqlstate -c "$call" 2>&1); then
			state=$(grep -oE '^ERROR: +[0-9A-Z]{5}' <<<"$out" | grep -oE '[0-9A-Z]{5}$' || echo none)
		fi
		sum1=$(rel_sql -d "$db" -c "${checksum% \\gset}" 2>/dev/null) || sum1=unreadable
		if [ "$state" = 00000 ]; then
			right=$(rel_sql -d "$db" -v ret="$out" <<<"$verify;" 2>/dev/null) || right=error
			[ "$right" = t ] || problems+=("$what: succeeded with a wrong answer (right=$right)")
		elif [[ " $documented " != *" $state "* ]]; then
			problems+=("$what: SQLSTATE $state is not a documented one ($out)")
		elif [ "$sum0" != "$sum1" ]; then
			problems+=("$what: failed with $state but changed the stored data")
		fi
	done
}

# Every row of the table, whatever its columns, as one checksum
checksum="SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM user_metadata.user_metadata t \\gset"
# The calls as one psql script printing "result N STATE RIGHT BEFORE AFTER"
script=$changes_DIR/calls.psql
names=$changes_DIR/call_names
awk -v checksum="$checksum" -v names="$names" '
	function close_entry() {
		if (n == 0) return
		print "\\echo result " n " :state :right :before :sum"
	}
	/^--! / {
		close_entry()
		n++
		what = $0
		sub(/^--! /, "", what)
		print n "\t" what > names
		print "\\set right none"
		print "\\set pre none"
		print "\\set ret none"
		print "\\unset sum"
		print checksum
		print "\\set before :sum"
		next
	}
	/^--\? call/ {
		print "BEGIN;"
		next
	}
	/^--\? check/ {
		print "\\set state :SQLSTATE"
		print "COMMIT;"
		print "\\unset sum"
		print checksum
		next
	}
	n > 0 { print }
	END { close_entry() }' "$calls" >"$script"
ncalls=$(wc -l <"$names")
[ $proxy = no ] || ncalls=$((ncalls + ${#proxy_calls[@]}))

# crashes: lines of the server log that report one
crashes() {
	grep -cE 'terminated by signal|server process .* was terminated|reinitializing' "$changes_DIR/server.log" || true
}
wait_ready() {
	local i
	for i in $(seq 1 60); do
		pg_isready -q -h "$PGHOST" -p "$PGPORT" && rel_sql -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

# split the changes into one file per entry
mkdir -p "$changes_DIR/changes"
awk -v dir="$changes_DIR/changes" '
	/^--! / { n++; f = sprintf("%s/%03d.sql", dir, n); what = $0; sub(/^--! /, "", what); print what > (dir "/" sprintf("%03d", n) ".name") }
	n > 0 { print > f }' "$changes"

started=$(rel_sql -c 'SELECT pg_postmaster_start_time()')
for file in "$changes_DIR"/changes/*.sql; do
	n=$(basename "$file" .sql)
	# UM_TC_ONLY=N: that change alone, when looking into one
	[ -z "${UM_TC_ONLY:-}" ] || [ "$n" = "$UM_TC_ONLY" ] || continue
	what=$(cat "$changes_DIR/changes/$n.name")
	db=um_tc_$n
	before_crashes=$(crashes)
	rel_sql -c "CREATE DATABASE $db TEMPLATE um_tc_template"
	if ! out=$(rel_sql -d "$db" -v db="$db" -f "$file" 2>&1); then
		check_status 1 "table change $n, $what: the change applies"
		tap_diag error "$out"
		PGOPTIONS='-c client_min_messages=warning' rel_sql -c "DROP DATABASE $db" || true
		continue
	fi
	holder=
	if [[ $what == *'[hold]'* ]]; then
		psql -X -q -d "$db" -c "BEGIN; LOCK TABLE user_metadata.user_metadata IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" \
			>/dev/null 2>&1 &
		holder=$!
		for _ in $(seq 1 50); do
			[ "$(rel_sql -d "$db" -c "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'user_metadata.user_metadata'::regclass AND granted")" = 1 ] && break
			sleep 0.1
		done
	fi
	results=$(psql -X -q -At -d "$db" -o /dev/null -v VERBOSITY=terse -f "$script" 2>/dev/null) || true
	if [ -n "$holder" ]; then
		rel_sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE 'BEGIN; LOCK TABLE%'" >/dev/null
		wait "$holder" || true
	fi
	wait_ready || um_log "server not ready after change $n"
	problems=()
	if [ $proxy = yes ]; then
		rel_sql -d um_tc_proxy -c "ALTER SERVER user_metadata OPTIONS (SET p0 'host=$PGHOST port=$PGPORT dbname=$db')"
		proxy_round "$db"
	fi
	declare -A state=() right=() before=() after=()
	while read -r kind i s r b a; do
		[ "$kind" = result ] || continue
		state[$i]=$s right[$i]=$r before[$i]=$b after[$i]=$a
	done <<<"$results"
	while IFS=$'\t' read -r i call; do
		s=${state[$i]:-none}
		if [ "$s" = 00000 ]; then
			[ "${right[$i]}" = t ] || problems+=("$call: succeeded with a wrong answer (right=${right[$i]})")
		elif [ "$s" = none ]; then
			problems+=("$call: did not run (the session died)")
		elif [[ " $documented " != *" $s "* ]]; then
			problems+=("$call: SQLSTATE $s is not a documented one")
		elif [ "${before[$i]}" != "${after[$i]}" ]; then
			problems+=("$call: failed with $s but changed the stored data")
		fi
	done <"$names"
	unset state right before after
	[ "$(crashes)" = "$before_crashes" ] || problems+=("the server log reports a crash")
	if [ ${#problems[@]} -eq 0 ]; then
		check_status 0 "table change $n, $what: $ncalls calls right or refused with a documented SQLSTATE, data kept"
	else
		check_status 1 "table change $n, $what: $ncalls calls right or refused with a documented SQLSTATE, data kept"
		for p in "${problems[@]}"; do tap_diag problem "$p"; done
	fi
	# WITH (FORCE): the proxy keeps its connection to the partition open
	PGOPTIONS='-c client_min_messages=warning' rel_sql -c "DROP DATABASE $db WITH (FORCE)" || true
done
[ $proxy = yes ] || check_skip "table changes: calls through the proxy" "PL/Proxy is not installed for this server"

check "table changes: the server never restarted (pg_postmaster_start_time unchanged)" "$started" \
	"$(rel_sql -c 'SELECT pg_postmaster_start_time()')"
checks_done
