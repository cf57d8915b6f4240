#!/usr/bin/env bash
# test/suites/readme.sh: the documentation's SQL examples run as written, and
# the README's function reference is complete.
#
# Every ```sql block of README.md runs, in order, with psql -v
# ON_ERROR_STOP=1, in one fresh database (no extension: the README's Install
# block creates it); then the blocks of each docs/*.md page, in order, each
# page in a fresh database of its own, in which the suite creates the
# extension first unless the page's first block does.  All on a cluster of
# the suite's own, as a superuser; each block is one TAP line.  A block whose
# first line is "-- (not run by test/suites/readme.sh: REASON)" is skipped
# with that reason (README, Development).
#
# Last, in a fresh database with the extension: every function of schema
# user_metadata (pg_proc, trigger functions aside) has a row in the README's
# reference table, matched on its name and argument types.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/tap.sh"
work=$UM_TMP/readme
mkdir -p "$work"

um_start_cluster readme
export PGHOST=$readme_HOST PGPORT=$readme_PORT PGUSER=postgres

# extract_blocks PAGE DIR: DIR/blockNN.sql for each ```sql block of PAGE
# (indented ones in lists too; other fenced blocks are passed over), and a
# line "NN LINE SECTION" for each in DIR/blocks.txt
extract_blocks() {
	mkdir -p "$2"
	: >"$2/blocks.txt"
	awk -v dir="$2" '
		/^[[:space:]]*```/ {
			if (open) { open = 0; close(file); next }
			if (other) { other = 0; next }
			if ($0 !~ /^[[:space:]]*```sql[[:space:]]*$/) { other = 1; next }
			open = 1; n++; file = sprintf("%s/block%02d.sql", dir, n)
			printf "" >file
			printf "%02d %d %s\n", n, NR + 1, section >(dir "/blocks.txt")
			next
		}
		open { print >file; next }
		other { next }
		/^##? / { section = $0; sub(/^##? /, "", section) }
	' "$1"
}

# run_blocks NAME DIR DATABASE: run DIR's blocks in DATABASE, one TAP line each
run_blocks() {
	local name=$1 dir=$2 db=$3 n line section block what reason rc
	while read -r n line section; do
		block=$dir/block$n.sql
		what="$name block $n (line $line, $section)"
		reason=$(sed -n '1s/^[[:space:]]*-- (not run by test\/suites\/readme\.sh: \(.*\))$/\1/p' "$block")
		if [ -n "$reason" ]; then
			check_skip "$what runs" "$reason"
			continue
		fi
		rc=0
		psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$block" >"$block.out" 2>&1 || rc=$?
		check_status $rc "$what runs as written"
		[ $rc -eq 0 ] || { echo "== $what:"; cat "$block.out"; } >&2
	done <"$dir/blocks.txt"
}

# README.md: one database, the Install block creates the extension
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE um_readme'
extract_blocks "$UM_ROOT/README.md" "$work/README"
check "README.md has SQL examples" yes "$([ -s "$work/README/blocks.txt" ] && echo yes || echo no)"
run_blocks README.md "$work/README" um_readme

# docs/*.md: a database per page
i=0
for page in "$UM_ROOT"/docs/*.md; do
	name=docs/$(basename "$page")
	dir=$work/docs_$(basename "$page" .md)
	extract_blocks "$page" "$dir"
	[ -s "$dir/blocks.txt" ] || continue
	i=$((i + 1))
	db=um_docs_$i
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
	if ! grep -qiE '^[[:space:]]*CREATE EXTENSION( IF NOT EXISTS)? "?user_metadata"?( |;|$)' "$dir/block01.sql"; then
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION user_metadata'
	fi
	run_blocks "$name" "$dir" "$db"
done

# The reference table: one row per function, "name(type, type)" from the
# first cell's signature (parameter names, modes and defaults dropped)
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE um_reference'
psql -X -q -v ON_ERROR_STOP=1 -d um_reference -c 'CREATE EXTENSION user_metadata'
psql -X -At -v ON_ERROR_STOP=1 -d um_reference -c "
	SELECT p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')'
	FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'user_metadata'::regnamespace
	  AND p.prorettype <> 'trigger'::regtype
	ORDER BY 1" | LC_ALL=C sort >"$work/functions.installed"
awk '
	/^### / { inref = ($0 == "### Function reference") ; next }
	/^## / { inref = 0 }
	inref && /^\| `[a-z_]+\(/ {
		sig = $0
		sub(/^\| `/, "", sig); sub(/`.*/, "", sig)
		name = sig; sub(/\(.*/, "", name)
		args = sig; sub(/^[^(]*\(/, "", args); sub(/\)$/, "", args)
		n = split(args, a, /, /)
		out = ""
		for (i = 1; i <= n; i++) {
			t = a[i]
			sub(/ DEFAULT .*/, "", t)
			sub(/^(IN|OUT|INOUT|VARIADIC) /, "", t)
			if (t ~ / /) sub(/^[^ ]+ /, "", t)
			out = out (i > 1 ? ", " : "") t
		}
		print name "(" out ")"
	}
' "$UM_ROOT/README.md" | LC_ALL=C sort >"$work/functions.documented"
check "README.md's function reference has rows" yes \
	"$([ -s "$work/functions.documented" ] && echo yes || echo no)"
check "every function has a row in the README's reference table (a fresh install, trigger functions aside)" "" \
	"$(LC_ALL=C comm -23 "$work/functions.installed" "$work/functions.documented")"
checks_done
