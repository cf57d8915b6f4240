#!/usr/bin/env bash
# test/suites/fuzz.sh: a fixed slice of the differential fuzzer of the two
# merges (test/fuzz/run) against the test cluster, in database um_fuzz.
set -euo pipefail
exec "$(dirname "$0")/../fuzz/run" --seed 7 --cases 30000
