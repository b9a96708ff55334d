#!/usr/bin/env bash
# User-space instructions per DHCPv4 exchange in the server's packet path (handler and
# lease store, no network), counted by valgrind's callgrind: unlike timings on a shared
# machine, the count does not move between runs, so it shows what a code change costs.
#
# usage: bench/replay.sh [EXCHANGES]     (default 20000; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
command -v valgrind >/dev/null || { echo "missing valgrind: apt-get install valgrind" >&2; exit 2; }
cargo build --release --quiet -p zerotouch-replay
out=$(mktemp)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" target/release/zerotouch-replay "$n" 2>&1 \
  | awk -v n="$n" '/Collected/{gsub(",","",$4); printf "%d instructions for %d exchanges: %.0f per exchange (the driver building and decoding packets included)\n", $4, n, $4/n}'
callgrind_annotate "$out" 2>/dev/null | awk '/file:function/{f=1; getline; next} f && NF' | head -12
