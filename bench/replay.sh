#!/usr/bin/env bash
# User-space instructions per DHCPv4 exchange in the server's packet path (handler and
# lease store, no network), counted by valgrind's callgrind: unlike timings on a shared
# machine, the count does not move between runs, so it shows what a code change costs.
#
# With PLUGINS=1 it counts twice, without plugins and with three no-op plugin instances
# on every hook point (two built-in, one through the C ABI), and prints the ratio.
#
# usage: bench/replay.sh [EXCHANGES]     (default 20000; needs valgrind)   env: PLUGINS
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
command -v valgrind >/dev/null || { echo "missing valgrind: apt-get install valgrind" >&2; exit 2; }
cargo build --release --quiet -p zerotouch-replay -p zerotouch-bench-noop-plugin
out=$(mktemp)
trap 'rm -f "$out"' EXIT
count() {
  valgrind --tool=callgrind --callgrind-out-file="$out" target/release/zerotouch-replay "$n" "$@" 2>&1 \
    | awk -v n="$n" '/Collected/{gsub(",","",$4); printf "%.0f\n", $4/n}'
}
base=$(count)
echo "$base instructions per exchange, no plugins (the driver building and decoding packets included)"
callgrind_annotate "$out" 2>/dev/null | awk '/file:function/{f=1; getline; next} f && NF' | head -12 || true
if [[ ${PLUGINS:-0} == 1 ]]; then
  with=$(count --plugins "$PWD/target/release/libzerotouch_bench_noop_plugin.so")
  echo "$with instructions per exchange with three no-op plugins (one dynamic)"
  callgrind_annotate "$out" 2>/dev/null | awk '/file:function/{f=1; getline; next} f && NF' | head -25 || true
  awk -v a="$with" -v b="$base" 'BEGIN{printf "with plugins / without: %.3f\n", a/b}'
fi
