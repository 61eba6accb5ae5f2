#!/usr/bin/env bash
# make demo: record the bundled example workload and show what came out.
set -euo pipefail
build=${1:-build}
out=demo-output
py=/usr/bin/python3
[ -x "$py" ] || py=python3
echo "==> $build/profkit run -o $out --force -- $py examples/workload.py --size 1 --leak"
"$build/profkit" run -o "$out" --force -- "$py" examples/workload.py --size 1 --leak
echo
echo "==> $out/samples.csv (first rows; one row per process per tick)"
head -n 4 "$out/samples.csv" | cut -c1-160
echo "==> $out/system.csv (first rows; one row per tick)"
head -n 3 "$out/system.csv"
echo "==> $build/profkit report $out"
"$build/profkit" report "$out"
echo "==> $build/profkit record -o $out/flame -- $py examples/workload.py --size 1"
if "$build/profkit" record -o "$out/flame" -- "$py" examples/workload.py --size 1; then
	echo "==> $out/flame_analysis.txt"
	cat "$out/flame_analysis.txt"
else
	echo "(profkit record needs root, or CAP_PERFMON and CAP_BPF: skipped)"
fi
echo "==> files (open $out/report.html and $out/flame.svg in a browser)"
ls -l "$out"
