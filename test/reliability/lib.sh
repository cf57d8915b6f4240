# test/reliability/lib.sh: what the reliability suites (test/suites/crash.sh,
# upgrade.sh, hostile.sh) share: test/lib/cluster.sh, TAP lines, psql.
#
# Source it from a suite; end the suite with checks_done (test/lib/tap.sh).

source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"

# rel_sql [PSQL ARGS...]: psql that stops at the first error, unaligned output
rel_sql() {
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}
