#!/usr/bin/env bash
# test/suites/packaging.sh: the files every extension user looks for.
# META.json is valid JSON of the PGXN Meta spec 1.0.0 whose `provides`
# names each control file's extension at its default_version (X.Y written
# X.Y.0), whose release version is user_metadata's; LICENSE is the
# PostgreSQL Licence; CHANGELOG.md has an entry for the default version;
# every relative link of the Markdown files names a file that git tracks
# (a benchmark report left ignored is missing from every clone).
set -euo pipefail
source "$(dirname "$0")/../lib/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

# control_version NAME: default_version of NAME.control, as a semantic version
control_version() {
	sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$root/$1.control" |
		sed -E 's/^([0-9]+\.[0-9]+)$/\1.0/'
}
# meta EXPRESSION: a value of META.json, by a python expression on m
meta() {
	python3 -c "import json, sys; m = json.load(open(sys.argv[1])); print($1)" "$root/META.json" 2>&1
}

check_ok "META.json is valid JSON" python3 -m json.tool "$root/META.json"
check "META.json follows the PGXN Meta spec 1.0.0" 1.0.0 "$(meta "m['meta-spec']['version']")"
check "META.json names the distribution user_metadata, licence postgresql" "user_metadata postgresql" \
	"$(meta "m['name'] + ' ' + m['license']")"
controls=$(cd "$root" && ls ./*.control | sed 's|^\./||; s|\.control$||' | sort | paste -sd ' ')
check "META.json provides exactly the extensions of the control files" "$controls" \
	"$(meta "' '.join(sorted(m['provides']))")"
for ext in $controls; do
	check "META.json provides $ext at its control file's default_version" "$(control_version "$ext")" \
		"$(meta "m['provides']['$ext']['version']")"
	check_ok "META.json's file for $ext exists" test -f "$root/$(meta "m['provides']['$ext']['file']")"
done
check "META.json's release version is user_metadata's" "$(control_version user_metadata)" "$(meta "m['version']")"
check_ok "LICENSE is the PostgreSQL Licence" grep -q '^PostgreSQL License$' "$root/LICENSE"
default=$(sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$root/user_metadata.control")
check_ok "CHANGELOG.md has an entry for the default version $default" grep -q "^## ${default//./\\.}\b" "$root/CHANGELOG.md"
# broken_links FILE: its relative link targets that are not tracked files
broken_links() {
	local dir target
	dir=$(dirname "$1")
	grep -oE '\]\([^)#[:space:]]+' "$1" | sed 's/^](//' | grep -vE '^[a-z]+:' | sort -u |
		while read -r target; do
			git -C "$root" ls-files --error-unmatch "$dir/$target" >/dev/null 2>&1 ||
				[ -d "$root/$dir/$target" ] || echo "$target"
		done
}
if [ -d "$root/.git" ]; then
	for md in $(cd "$root" && git ls-files '*.md'); do
		check "$md links only to files in git" "" "$(cd "$root" && broken_links "$md" | paste -sd ' ')"
	done
else
	check_skip "the Markdown links name files in git" "not a git checkout"
fi
checks_done
