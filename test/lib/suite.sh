# test/lib/suite.sh: what the suites of test/suites share beyond tap.sh:
# test/lib/cluster.sh and tap.sh sourced, psql and row helpers.
#
# Source it from a suite; end the suite with checks_done (test/lib/tap.sh).

source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

# rel_sql [PSQL ARGS...]: psql that stops at the first error, unaligned output
rel_sql() {
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

# rel_states DB FIRST STATEMENT...: one psql session in DB that runs the SQL
# FIRST (such as a SET ROLE), then each STATEMENT; the SQLSTATE of each SQL
# statement, 00000 if none (psql meta-commands such as \! run between them
# and report nothing)
rel_states() {
	local db=$1 first=$2 s
	shift 2
	for s in "$@"; do
		case $s in
			\\*) printf '%s\n' "$s" ;;
			*) printf '%s;\n%s\n' "$s" '\echo :SQLSTATE' ;;
		esac
	done |
		psql -X -q -At -d "$db" -c "$first" -f - 2>/dev/null | grep -E '^[0-9A-Z]{5}$' | paste -sd' '
}

# rows DB [PSQL ARGS...]: every row of the store with the exact bytes of its
# document (md5 through a binary-coercible cast that is rolled back), in key
# order (test/suites/upgrade.sh, pg_upgrade.sh)
rows() {
	rel_sql -d "$@" <<'SQL'
BEGIN;
CREATE CAST (jsonb AS bytea) WITHOUT FUNCTION;
COPY (SELECT app_id, user_id, metadata, md5(metadata::bytea), created_at, updated_at
	  FROM user_metadata.user_metadata ORDER BY app_id, user_id) TO STDOUT;
ROLLBACK;
SQL
}
