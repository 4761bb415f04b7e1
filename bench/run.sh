#!/bin/sh
# bench/run.sh — run Foothold's ingest benchmarks and print a table.
#
#   bench/run.sh [N]          N repetitions per benchmark (default 3)
#   BENCH=Regexp bench/run.sh only the matching benchmarks
#   FOOTHOLD_BENCH_BIN=/path/foothold bench/run.sh   measure a given binary
#
# The first run generates the large NTFS image (root, /dev/fuse, ntfs-3g;
# ~40 s) and unpacks the corpus $MFT/$J into ~/.cache/foothold-bench;
# BenchmarkMovement builds the 10M-event synthetic case there once (minutes).
set -eu
cd "$(dirname "$0")/.."
N=${1:-3}
BENCH=${BENCH:-.}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -tags sqlite_fts5 -run '^$' -bench "$BENCH" -benchtime="${N}x" -timeout 60m ./bench | tee "$out" >&2
echo
echo "Foothold bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, N=$N (medians where noted)"
# Each benchmark line is: name iterations value unit value unit ...
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	printf "\n%s\n", name
	for (i = 3; i < NF; i += 2) {
		if ($(i+1) == "ns/op" || $(i+1) == "MB/s" && name !~ /^Parse/) continue
		printf "  %-24s %14s\n", $(i+1), $i
	}
}
/^(FAIL|---|ok|PASS)/ && !/^--- BENCH/ { print }
' "$out"
