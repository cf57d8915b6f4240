#!/usr/bin/env bash
# test/suites/install_guard.sh: CREATE EXTENSION user_metadata and a schema
# "user_metadata" that someone else made first, in databases of the main
# cluster (PGHOST, PGPORT).
#
# A non-superuser database owner squats the schema with a look-alike
# jsonb_merge(text, jsonb) before a superuser installs: the install must
# refuse (42P06) and the squatter's function must never run.  An empty
# squatted schema, and a superuser's schema that others may create in, are
# refused too; an empty superuser schema (what pg_restore makes) is used.
set -uo pipefail
source "$(dirname "$0")/../lib/suite.sh"
export PGUSER=${PGUSER:-postgres}
db=um_guard

drop_all() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres \
		-c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS um_squatter"
}
trap 'drop_all; um_stop_clusters' EXIT
drop_all
rel_sql -d postgres -c "CREATE ROLE um_squatter LOGIN" -c "CREATE DATABASE $db OWNER um_squatter"

# install: the SQLSTATE of CREATE EXTENSION user_metadata as the superuser, or 00000
install() {
	local state
	state=$(psql -X -q -d $db -v VERBOSITY=verbose -c 'CREATE EXTENSION user_metadata' 2>&1 |
		sed -nE 's/^ERROR: +([0-9A-Z]{5}):.*/\1/p')
	echo "${state:-00000}"
}
installed() {
	rel_sql -d $db -c "SELECT count(*) FROM pg_extension WHERE extname = 'user_metadata'"
}

# 1. the squatter's schema with a function the 1.1 store would have called
rel_sql -d $db -U um_squatter <<'SQL'
CREATE TABLE public.squatter_calls (at timestamptz);
GRANT INSERT ON public.squatter_calls TO PUBLIC;
CREATE SCHEMA user_metadata;
CREATE FUNCTION user_metadata.jsonb_merge(stored text, patch jsonb) RETURNS jsonb
LANGUAGE sql AS $$ INSERT INTO public.squatter_calls VALUES (now()) RETURNING patch $$;
SQL
check "install guard: CREATE EXTENSION refuses a schema a database owner squatted with functions (42P06)" 42P06 "$(install)"
check "install guard: nothing was installed" 0 "$(installed)"
check "install guard: the squatter's function never ran" 0 "$(rel_sql -d $db -c 'SELECT count(*) FROM public.squatter_calls')"
check "install guard: the error's hint says how to fix it" 1 "$(psql -X -q -d $db -c 'CREATE EXTENSION user_metadata' 2>&1 | grep -c 'HINT:  Drop or rename that schema')"

# 2. the same schema emptied: still the squatter's
rel_sql -d $db -U um_squatter -c 'DROP FUNCTION user_metadata.jsonb_merge(text, jsonb)'
check "install guard: an empty schema owned by a non-superuser is refused" 42P06 "$(install)"

# 3. a superuser's schema in which the squatter may create objects
rel_sql -d $db -c 'DROP SCHEMA user_metadata' -c 'CREATE SCHEMA user_metadata' \
	-c 'GRANT CREATE ON SCHEMA user_metadata TO um_squatter'
check "install guard: a superuser's schema that a non-superuser may create in is refused" 42P06 "$(install)"

# 4. a superuser's empty schema nobody else can write: used (pg_restore)
rel_sql -d $db -c 'REVOKE CREATE ON SCHEMA user_metadata FROM um_squatter'
check "install guard: an empty superuser schema (as pg_restore makes it) is used" 00000 "$(install)"
check "install guard: the extension is installed there" 1 "$(installed)"

# 5. once installed, the database owner cannot plant anything in the schema
rc=0
rel_sql -d $db -U um_squatter -c "CREATE FUNCTION user_metadata.jsonb_merge(stored text, patch jsonb) RETURNS jsonb
	LANGUAGE sql AS 'SELECT patch'" 2>/dev/null || rc=$?
check_status "$([ $rc -ne 0 ]; echo $?)" "install guard: the database owner cannot create objects in the installed schema"

# 6. a fresh install in a database nobody squatted
rel_sql -d $db -c 'DROP EXTENSION user_metadata' -c 'DROP SCHEMA user_metadata'
check "install guard: CREATE EXTENSION creates the schema when there is none" 00000 "$(install)"
checks_done
