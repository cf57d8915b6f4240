#!/usr/bin/env bash
# test/bench/import.sh: users/s of the Atlas import command against the floor.
#
# The same generated users (documents of about 1 KB in relaxed Extended
# JSON, as mongoexport writes them) are loaded two ways into one throwaway
# cluster, interleaved, REPS times each:
#   floor:  psql \copy of (user_id, document) into a plain table with the
#           store's indexes (primary key (app_id, user_id), GIN jsonb_path_ops)
#   import: user_metadata_import_atlas FILE into an empty store (\copy of the
#           lines, from_ejson, the duplicate rule, the bulk writes with the
#           table's trigger, one transaction)
# and the medians, users/s and the ratio import/floor go to a markdown file
# (default test/bench/results/import.md).
#
# Usage: test/bench/import.sh [--smoke] [--users N] [--reps N] [--out FILE]
#        [--no-build]
# --smoke: 2000 users, one repetition; proves the script works, its numbers
# mean nothing.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
command_line="test/bench/import.sh${*:+ $*}"
out=$UM_ROOT/test/bench/results/import.md
users=1000000
reps=3
build=1
while [ $# -gt 0 ]; do
	case $1 in
		--smoke) users=2000 reps=1 ;;
		--users) users=$2; shift ;;
		--reps) reps=$2; shift ;;
		--out) out=$2; shift ;;
		--no-build) build=0 ;;
		*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
	shift
done
[ "$reps" -ge 1 ] || { echo "--reps must be at least 1" >&2; exit 2; }
work=$UM_TMP/bench_import
mkdir -p "$work" "$(dirname "$out")"
chmod 755 "$work"

if [ $build -eq 1 ]; then
	um_install_packages postgresql-server-dev-15
	um_build_install
fi
UM_PG_OPTS="-c shared_buffers=1GB -c max_wal_size=8GB -c maintenance_work_mem=256MB ${UM_PG_OPTS:-}" \
	um_start_cluster bench
export PGHOST=$bench_HOST PGPORT=$bench_PORT PGUSER=postgres
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d bench "$@"; }
psql -X -q -d postgres -c 'CREATE DATABASE bench'
sql -c 'CREATE EXTENSION user_metadata'
sql <<'SQL'
CREATE TABLE floor (
	app_id		text NOT NULL DEFAULT 'public',
	user_id		text NOT NULL,
	metadata	jsonb NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (app_id, user_id)
);
CREATE INDEX floor_metadata_idx ON floor USING gin (metadata jsonb_path_ops);
SQL

um_log "generating $users users"
python3 - "$users" "$work/users.json" "$work/floor.csv" <<'PY'
import random, sys
n = int(sys.argv[1])
rnd = random.Random(20260930)
words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
with open(sys.argv[2], "w") as ejson, open(sys.argv[3], "w") as floor:
    for i in range(n):
        uid = "%024x" % (0x64b7f0000000000000000000 + i)
        user = '{"$oid":"%s"}' % uid if i % 2 else '"%s"' % uid
        tags = ",".join('"%s"' % rnd.choice(words) for _ in range(8))
        bio = " ".join(rnd.choice(words) for _ in range(95))
        doc = ('{"_id":{"$oid":"%024x"},"userId":%s,"name":"User %d","plan":"%s",'
               '"createdAt":{"$date":"2023-%02d-%02dT%02d:%02d:%02d.%03dZ"},'
               '"logins":%d,"score":%d.%02d,"preferences":{"theme":"%s","language":"%s",'
               '"notifications":{"email":%s,"sms":%s,"push":%s}},"tags":[%s],'
               '"bio":"%s"}') % (
            0x65000000000000000000000 + i, user, i, rnd.choice(["free", "pro", "team"]),
            rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59),
            rnd.randint(0, 59), rnd.randint(0, 999), rnd.randint(0, 5000), rnd.randint(0, 99),
            rnd.randint(0, 99), rnd.choice(["dark", "light"]), rnd.choice(["en", "de", "fr"]),
            rnd.choice(["true", "false"]), rnd.choice(["true", "false"]),
            rnd.choice(["true", "false"]), tags, bio)
        ejson.write(doc + "\n")
        floor.write(uid + "\x01" + doc + "\n")
PY
avg_bytes=$(( $(stat -c %s "$work/users.json") / users ))

now_ms() { date +%s%3N; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
floor_ms=()
import_ms=()
for rep in $(seq 1 "$reps"); do
	um_log "rep $rep: floor"
	sql -c 'TRUNCATE floor' -c 'CHECKPOINT'
	t0=$(now_ms)
	sql -c "\\copy floor (user_id, metadata) FROM '$work/floor.csv' WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
	floor_ms+=($(($(now_ms) - t0)))

	um_log "rep $rep: import"
	sql -c 'TRUNCATE user_metadata.user_metadata' -c 'CHECKPOINT'
	t0=$(now_ms)
	"$PGBIN/user_metadata_import_atlas" "$work/users.json" -- -d bench >"$work/report.txt"
	import_ms+=($(($(now_ms) - t0)))
	grep -q "^		summary	$users imported" "$work/report.txt" || {
		echo "unexpected import report:" >&2
		tail -3 "$work/report.txt" >&2
		exit 1
	}
done
stored=$(sql -c 'SELECT count(*) FROM user_metadata.user_metadata')

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
fm=$(median "${floor_ms[@]}")
im=$(median "${import_ms[@]}")
rate() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.0f", n * 1000 / ms}'; }
floor_rate=$(rate "$users" "$fm")
import_rate=$(rate "$users" "$im")
ratio=$(awk -v f="$fm" -v i="$im" 'BEGIN {printf "%.2f", f / i}')
pair_ratios=$(for rep in $(seq 0 $((reps - 1))); do
	awk -v f="${floor_ms[$rep]}" -v i="${import_ms[$rep]}" 'BEGIN {printf "%.2f ", f / i}'
done)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cat >"$out" <<EOF
# Import benchmark

\`$command_line\` on $(nproc) cores ($(date -u +%Y-%m-%d), PostgreSQL $(sql -c 'SHOW server_version')),
fsync off, shared_buffers 1GB.  $users lines of relaxed Extended JSON, $avg_bytes bytes each on
average (ObjectId \`_id\`, \`\$date\`, nested objects, arrays, text); user ids are half strings,
half ObjectIds, all different (the store holds $stored users after each import).  $reps
repetitions, floor and import interleaved; medians.

| load | median | lines/s | runs (ms) |
| --- | --- | --- | --- |
| floor: \`\\copy\` into a plain table, primary key + GIN jsonb_path_ops | $fm ms | $floor_rate | ${floor_ms[*]} |
| \`user_metadata_import_atlas\` | $im ms | $import_rate | ${import_ms[*]} |

Ratio import / floor (lines/s) of the medians: **$ratio** (target: at least 0.5); of each
repetition's pair: ${pair_ratios% }.  The machine is shared: load average ${load_before// /, } before
the run, ${load_after// /, } after (1, 5, 15 minutes).

The floor only copies text into jsonb; the import also converts every document with
\`from_ejson\`, checks every line, applies Atlas's duplicate rule, writes each user through the
store's upsert (its trigger normalizes and checks the size) and reports, all in one transaction.
EOF
um_log "wrote $out"
cat "$out"
