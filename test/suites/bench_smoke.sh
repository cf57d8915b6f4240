#!/usr/bin/env bash
# test/suites/bench_smoke.sh: the benchmark command works.  Runs
# `test/bench/run --smoke` (tiny counts, its own cluster on a free port, the
# extension test/run just installed) into a temporary
# directory and checks what it wrote: results.md with non-empty tables whose
# numbers parse, both charts, and the harness's own checks (one call per
# row, exact contenders agree).  Never asserts speed.  Prints TAP lines.
set -euo pipefail
source "$(dirname "$0")/../lib/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
md=$work/out/results.md

# A private UM_TMP: the bench command deletes its own when it ends
rc=0
env -u UM_TMP -u UM_KEEP_TMP "$root/test/bench/run" --smoke --no-build --out "$work/out" >"$work/run.log" 2>&1 || rc=$?
check_status $rc "test/bench/run --smoke exits 0"
[ $rc -eq 0 ] || tail -20 "$work/run.log" >&2

# section TITLE: the first markdown table under the heading "### TITLE..."
section() {
	awk -v t="### $1" 'index($0, t) == 1 { on = 1; next }
		on && /^\|/ { print; seen = 1; next } on && (seen || /^#/) { exit }' "$md"
}
# numeric_table TITLE: a header, a rule and at least one row; every cell
# after the first column is a number (with thousands commas, × or a sign)
numeric_table() {
	local rows
	rows=$(section "$1" | tail -n +3)
	[ -n "$rows" ] || return 1
	awk -F' \\| ' '{
		for (i = 2; i <= NF; i++) {
			cell = $i; gsub(/[|×, ]/, "", cell)
			# smoke numbers mean nothing: a cell may be missing (–), not malformed
			if (cell !~ /^-?[0-9]+(\.[0-9]+)?$/ && cell != "–") exit 1
		}
	}' <<<"$rows"
}
no_failures() { [ -s "$1" ] && ! grep -q '^number of failed transactions: [1-9]' "$@"; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

check_ok "results.md written" test -s "$md"
check_ok "results.md describes the machine" grep -q '^| CPUs (nproc) | [0-9]' "$md"
check_ok "results.md gives the command to reproduce" grep -q 'test/bench/run --smoke' "$md"
for t in "In memory: µs per call" "In memory: time per call relative to jsonb_merge" \
	"From a table: µs per call, detoasting included"; do
	check_ok "merge table '$t' has rows of numbers" numeric_table "$t"
done
check_ok "merge inputs table has 3 inputs" test "$(section Inputs | tail -n +3 | wc -l)" -eq 3
check_ok "merge memory table has rows of numbers" numeric_table "Memory: one backend, 2 KB document"
check_ok "each function contender was called once per row" \
	grep -qE '^- Evaluated once per row: .* in ([0-9]+) of \1 cases\.' "$md"
check_ok "the exact contenders agree with jsonb_merge" \
	grep -qE '^- Same result as jsonb_merge .* in ([0-9]+) of \1 cases;' "$md"
check_ok "merge.png is a PNG" is_png "$work/out/merge.png"
check_ok "upsert.png is a PNG" is_png "$work/out/upsert.png"

if grep -q 'has no `user_metadata.update_user_metadata`' "$md"; then
	check_skip "upsert table has rows of numbers" "update_user_metadata does not exist"
else
	check_ok "upsert table has rows of numbers" numeric_table "TPS, 100 users, uniform"
	check_ok "upsert ratios have rows of numbers" numeric_table "update_user_metadata relative to the others"
	check_ok "upsert CPU per transaction has rows of numbers" numeric_table "CPU per transaction"
	check_ok "pgbench logs show no failed transaction" no_failures "$work"/out/raw/pgbench_*.log
fi

# The charts draw whatever numbers a run produced, here every odd kind at
# once: series all NaN, negative or zero values, no row at all
odd=$work/odd
mkdir -p "$odd"
printf 'source\t"a"\t"b"\n"100 B"\tNaN\t-1\n"2 KB"\tNaN\t0\n' >"$odd/merge_mem.dat"
printf 'source\t"a"\t"b"\n' >"$odd/merge_table.dat"
printf 'clients\t"a"\t"b"\n2\tNaN\t-5\n' >"$odd/upsert_uniform.dat"
printf 'clients\t"a"\t"b"\n' >"$odd/upsert_hot.dat"
draws() {				# draws CHART: gnuplot succeeds and writes a PNG
	gnuplot -e "datdir='$odd'; outdir='$odd'; users='100'" "$root/test/bench/plot_$1.gp" && is_png "$odd/$1.png"
}
check_ok "plot_merge.gp draws series that are all NaN, negative or empty" draws merge
check_ok "plot_upsert.gp draws series that are all NaN, negative or empty" draws upsert
checks_done
