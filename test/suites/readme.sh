#!/usr/bin/env bash
# test/suites/readme.sh: the README's SQL examples run as written.  Every
# ```sql block of README.md runs, in order, with psql -v ON_ERROR_STOP=1, in
# one fresh database (no extension: the README's Install block creates it)
# on a cluster of its own, as a superuser; each block is one TAP line.  A
# block whose first line is "-- (not run by test/suites/readme.sh: REASON)"
# is skipped with that reason (README, Development).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/tap.sh"
work=$UM_TMP/readme
mkdir -p "$work"

um_start_cluster readme
export PGHOST=$readme_HOST PGPORT=$readme_PORT PGUSER=postgres
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE um_readme'

# blockNN.sql for each block, and a line "NN LINE SECTION" in blocks.txt
awk -v dir="$work" '
	/^## / { section = substr($0, 4) }
	!open && /^```sql[[:space:]]*$/ {
		open = 1; n++; file = sprintf("%s/block%02d.sql", dir, n)
		printf "" >file
		printf "%02d %d %s\n", n, NR + 1, section >(dir "/blocks.txt")
		next
	}
	open && /^```/ { open = 0; close(file); next }
	open { print >file }
' "$UM_ROOT/README.md"
check "README.md has SQL examples" yes "$([ -s "$work/blocks.txt" ] && echo yes || echo no)"

while read -r n line section; do
	block=$work/block$n.sql
	what="README block $n (line $line, $section)"
	reason=$(sed -n '1s/^-- (not run by test\/suites\/readme\.sh: \(.*\))$/\1/p' "$block")
	if [ -n "$reason" ]; then
		check_skip "$what runs" "$reason"
		continue
	fi
	rc=0
	psql -X -v ON_ERROR_STOP=1 -d um_readme -f "$block" >"$block.out" 2>&1 || rc=$?
	check_status $rc "$what runs as written"
	[ $rc -eq 0 ] || { echo "== $what:"; cat "$block.out"; } >&2
done <"$work/blocks.txt"
checks_done
