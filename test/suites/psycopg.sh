#!/usr/bin/env bash
# test/suites/psycopg.sh: a real Python client, psycopg 3 (Debian package
# python3-psycopg, installed by test/run), against a database of the main
# cluster with the extension.  Prints test/python's TAP lines.
set -euo pipefail
db=um_psycopg
cleanup() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >&2
}
cleanup
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" >&2
psql -X -q -v ON_ERROR_STOP=1 -d $db -c 'CREATE EXTENSION user_metadata' >&2
UM_DSN="dbname=$db" /usr/bin/python3 "$(dirname "$0")/../python/test_drivers.py"
