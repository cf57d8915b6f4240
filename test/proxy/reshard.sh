#!/usr/bin/env bash
# test/proxy/reshard.sh: grow the PL/Proxy cluster of user_metadata_proxy from
# N to 2N partitions.
#
# Usage: test/proxy/reshard.sh PROXY NEW_0 ... NEW_N-1
#   PROXY   connection string of the proxy database
#   NEW_i   connection string of an empty database with user_metadata
#           installed (same version as the others): partition N+i
# Every connection, to the proxy and to the partitions named in server
# user_metadata's options, is made with libpq's defaults (PGUSER, .pgpass,
# PGSSLMODE...) as a role that bypasses row-level security on the partitions
# and may ALTER the server on the proxy: in practice a superuser.
#
# With mask 2N-1, partition i keeps the rows with hashtext(user_id) & (2N-1)
# = i and sends those with N+i to the new partition N+i.  In this order:
#   1. check the old partitions hold only their rows and the new ones nothing
#   2. give each new partition the privileges its old one has on schema
#      user_metadata, its tables and its functions (GRANT what the old one
#      grants, REVOKE what it does not) and its per-app admin scopes (rows of
#      user_metadata.admin_scopes), so that the role the proxy connects as
#      may do there what it may do on the old one; the roles they name must
#      exist on the new partition's server
#   3. copy each partition's leaving rows to its new partition (COPY, binary)
#   4. compare count and checksum of every copied set on both sides
#   5. switch: add p<N>..p<2N-1> to server user_metadata in one ALTER SERVER;
#      each proxy session routes by the new options from its next call
#   6. delete the copied rows from the old partitions
#   7. check every partition holds exactly its own rows
# Reads keep working throughout: before the switch rows are read at their
# old home, after it at their new one, and the old copies go only after.
# WRITES MUST BE STOPPED from step 3 until step 6 ends: a write to a leaving
# user then would be lost.  Step 4 fails the run, before the switch, if rows
# changed while they were copied.  Copies and deletes run with
# session_replication_role = replica: a move fires no triggers, so it sends no
# change notifications and copies rows exactly as they are stored.
#
# If the run fails before the switch, nothing has changed for callers:
# empty the new partitions and run it again.  If it fails after the switch,
# run it again with the same arguments: it sees the switch done and redoes
# steps 2, 6 and 7 only.
set -euo pipefail

if [ $# -lt 2 ]; then
	sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
proxy=$1
shift
new=("$@")

die() { echo "reshard: $*" >&2; exit 1; }
log() { echo "reshard: $*" >&2; }
q() {					# q CONNINFO SQL: one value or row, unaligned
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
move() {				# move CONNINFO SQL: as q, firing no triggers
	PGOPTIONS="${PGOPTIONS:-} -c session_replication_role=replica" q "$@"
}
cols='app_id, user_id, metadata, created_at, updated_at'
rows_of() {				# rows_of MASK PARTITION: the rows whose home it is
	echo "FROM user_metadata.user_metadata WHERE (pg_catalog.hashtext(user_id) & $1) = $2"
}
digest() {				# digest CONNINFO MASK PARTITION: count and checksum of those rows
	q "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(concat_ws(' ', quote_literal(app_id),
				quote_literal(user_id), metadata, extract(epoch FROM created_at), extract(epoch FROM updated_at)),
				',' ORDER BY app_id COLLATE \"C\", user_id COLLATE \"C\")), '') $(rows_of "$2" "$3")"
}
misplaced() {			# misplaced CONNINFO MASK PARTITION: rows that live elsewhere
	q "$1" "SELECT count(*) FROM user_metadata.user_metadata
			WHERE (pg_catalog.hashtext(user_id) & $2) <> $3"
}

# privileges CONNINFO: one line per privilege on schema user_metadata, its
# tables and its routines, the owner's own left out: KIND OBJECT PRIVILEGE
# GRANTEE [WITH GRANT OPTION], sorted; a NULL ACL is its default
privileges() {
	q "$1" "SELECT format(E'%s\\t%s\\t%s\\t%s\\t%s', kind, object, a.privilege_type,
			CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END,
			CASE WHEN a.is_grantable THEN 'WITH GRANT OPTION' ELSE '' END)
		FROM (SELECT 'SCHEMA', n.oid::regnamespace::text, n.nspowner, coalesce(n.nspacl, acldefault('n', n.nspowner))
			  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'user_metadata'
			  UNION ALL
			  SELECT 'TABLE', c.oid::regclass::text, c.relowner, coalesce(c.relacl, acldefault('r', c.relowner))
			  FROM pg_catalog.pg_class c
			  WHERE c.relnamespace = 'user_metadata'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
			  UNION ALL
			  SELECT 'ROUTINE', p.oid::regprocedure::text, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
			  FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'user_metadata'::regnamespace)
			  AS o (kind, object, owner, acl),
			 pg_catalog.aclexplode(o.acl) a LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
		WHERE a.grantee <> o.owner ORDER BY 1" | LC_ALL=C sort
}
# copy_access FROM TO: make TO's privileges (above) and per-app admin scopes
# (table user_metadata.admin_scopes, from 1.2 on) those of FROM, in one transaction
copy_access() {
	local from to scopes
	from=$(privileges "$1") && to=$(privileges "$2") &&
		scopes=$(q "$1" "SELECT pg_catalog.to_regclass('user_metadata.admin_scopes') IS NOT NULL") || return 1
	{
		LC_ALL=C comm -13 <(echo "$from") <(echo "$to") |
			awk -F'\t' 'NF { printf "REVOKE %s ON %s %s FROM %s;\n", $3, $1, $2, $4 }'
		LC_ALL=C comm -23 <(echo "$from") <(echo "$to") |
			awk -F'\t' 'NF { printf "GRANT %s ON %s %s TO %s %s;\n", $3, $1, $2, $4, $5 }'
		if [ "$scopes" = t ]; then
			echo 'DELETE FROM user_metadata.admin_scopes;'
			echo 'COPY user_metadata.admin_scopes (role, app_id) FROM STDIN;'
			psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'COPY user_metadata.admin_scopes (role, app_id) TO STDOUT'
			echo '\.'
		fi
	} | psql -X -q -v ON_ERROR_STOP=1 -1 -d "$2"
}

# grant_new: step 2, also when finishing an earlier run
grant_new() {
	log "2. granting on partitions $n..$mask what partitions 0..$((n - 1)) grant, with their admin scopes"
	for ((i = 0; i < n; i++)); do
		copy_access "${old[i]}" "${new[i]}" ||
			die "could not give partition $((n + i)) the privileges and admin scopes of partition $i (does every role they name exist on its server?)"
	done
}

mapfile -t parts < <(q "$proxy" "SELECT option_value
	FROM pg_catalog.pg_options_to_table((SELECT srvoptions FROM pg_catalog.pg_foreign_server
										 WHERE srvname = 'user_metadata'))
	WHERE option_name ~ '^p[0-9]+\$' ORDER BY substr(option_name, 2)::int")
[ ${#parts[@]} -gt 0 ] || die "the proxy has no server user_metadata with partitions p0, p1, ..."

n=${#new[@]}
switched=false
if [ ${#parts[@]} -eq $((2 * n)) ] && [ "${parts[*]:n}" = "${new[*]}" ]; then
	log "server user_metadata already lists the new partitions: finishing an earlier run"
	switched=true
elif [ ${#parts[@]} -ne "$n" ]; then
	die "server user_metadata has ${#parts[@]} partitions; give that many new ones, not $n"
fi
old=("${parts[@]:0:n}")
mask=$((2 * n - 1))

if ! $switched; then
	log "1. checking $n old and $n new partitions"
	for db in "${old[@]}" "${new[@]}"; do
		[ "$(q "$db" "SELECT NOT row_security_active('user_metadata.user_metadata')")" = t ] ||
			die "row-level security applies to this role on $db: the copy would miss rows"
	done
	for ((i = 0; i < n; i++)); do
		[ "$(misplaced "${old[i]}" $((n - 1)) $i)" = 0 ] ||
			die "partition $i holds rows of other partitions; fix the layout first"
		[ "$(q "${new[i]}" "SELECT count(*) FROM user_metadata.user_metadata")" = 0 ] ||
			die "new partition $((n + i)) is not empty"
	done

	grant_new

	log "3. copying rows to partitions $n..$mask"
	for ((i = 0; i < n; i++)); do
		q "${old[i]}" "COPY (SELECT $cols $(rows_of $mask $((n + i)))) TO STDOUT (FORMAT binary)" |
			move "${new[i]}" "COPY user_metadata.user_metadata ($cols) FROM STDIN (FORMAT binary)"
	done

	log "4. comparing the copies"
	for ((i = 0; i < n; i++)); do
		before=$(digest "${old[i]}" $mask $((n + i)))
		after=$(digest "${new[i]}" $mask $((n + i)))
		[ "$before" = "$after" ] ||
			die "partition $i changed while it was copied ($before, copy $after): were writes stopped?"
		log "   partition $i -> $((n + i)): ${before%% *} rows"
	done

	log "5. switching server user_metadata to $((2 * n)) partitions"
	adds=()
	conninfos=()
	for ((i = 0; i < n; i++)); do
		adds+=("ADD p$((n + i)) :'new$i'")
		conninfos+=(-v "new$i=${new[i]}")
	done
	psql -X -q -v ON_ERROR_STOP=1 -d "$proxy" "${conninfos[@]}" \
		<<<"ALTER SERVER user_metadata OPTIONS ($(IFS=,; echo "${adds[*]}"));"
fi

$switched && grant_new
log "6. deleting the moved rows from partitions 0..$((n - 1))"
for ((i = 0; i < n; i++)); do
	move "${old[i]}" "DELETE $(rows_of $mask $((n + i)))"
done

log "7. checking every partition holds exactly its own rows"
all=("${old[@]}" "${new[@]}")
for ((i = 0; i < 2 * n; i++)); do
	[ "$(misplaced "${all[i]}" $mask $i)" = 0 ] || die "partition $i holds rows of other partitions"
done
log "done: $((2 * n)) partitions"
