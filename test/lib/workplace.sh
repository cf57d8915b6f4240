# test/lib/workplace.sh: the workplace's build scripts (PostgreSQL 16 to 18,
# Citus), in the clone's ../shared, else in /work/shared: a CI clone may sit
# anywhere, and a suite that finds neither says it is skipped.
#
# um_shared_script REL: prints the path of shared/REL; status 1 when neither has it.
um_shared_script() {
	local dir
	for dir in "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared" /work/shared; do
		[ -f "$dir/$1" ] && { echo "$dir/$1"; return 0; }
	done
	return 1
}
