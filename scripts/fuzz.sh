#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, starting from its seeds
# (tests/fuzz/seeds/<target>/) and past crashes (tests/corpus/<target>/). A crashing input is
# saved into tests/corpus/<target>/, where the unit test test_corpus replays it from then on,
# and the script exits non-zero.
#
#   CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false && ninja -C build-fuzz
#   scripts/fuzz.sh build-fuzz 60
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
}
[ $# -eq 2 ] || usage
build=$1
seconds=$2
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzzers=$build/tests/fuzz
if [ ! -d "$fuzzers" ]; then
	echo "fuzz.sh: no $fuzzers: configure $build with CC=clang -Dfuzz=true" >&2
	exit 2
fi

work=$(mktemp -d /tmp/profkit-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

failed=()
for seeds in "$root"/tests/fuzz/seeds/*/; do
	name=$(basename "$seeds")
	exe=$fuzzers/fuzz_$name
	saved=$root/tests/corpus/$name
	if [ ! -x "$exe" ]; then
		echo "FAIL $name: $exe was not built" >&2
		failed+=("$name")
		continue
	fi
	mkdir -p "$saved" "$work/$name/corpus" "$work/$name/artifacts"
	log=$work/$name/log
	# New inputs go to the first (scratch) directory only; seeds and saved crashes are
	# read, never modified.
	if "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$name/artifacts/" -print_final_stats=1 \
		"$work/$name/corpus" "$seeds" "$saved" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok   $name: ${runs:-?} runs in ${seconds}s"
	else
		echo "FAIL $name:" >&2
		grep -E 'ERROR|runtime error|check failed|SUMMARY' "$log" | head -20 >&2 || tail -20 "$log" >&2
		for input in "$work/$name/artifacts"/*; do
			[ -f "$input" ] || continue
			cp "$input" "$saved/"
			echo "     saved $saved/$(basename "$input")" >&2
		done
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz.sh: all targets ran ${seconds}s without a crash"
