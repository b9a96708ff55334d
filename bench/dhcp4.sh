#!/usr/bin/env bash
# DHCPv4 benchmark: zerotouch-dhcpd against ISC Kea and a stateless null responder, in
# the same run, on the same pool, with perfdhcp (Debian kea-admin) in a second network
# namespace. Each server is restarted with empty lease state before every measurement
# (so a sweep never runs out of addresses). zerotouch runs twice: "zerotouch" with
# synchronous = "full" (each ACK after its lease is fsynced: survives power loss) and
# "zt-normal" with synchronous = "normal" (each ACK after its lease is written, not
# fsynced: survives kill -9, like Kea's memfile, which never fsyncs). "zt-plugins" is
# "zerotouch" with three no-op plugins on every hook point: two built-in instances and
# one loaded from a shared object through the C ABI (bench/noop-plugin).
#
# Reports, per server:
#   best   the highest 4-way exchange rate perfdhcp achieves with both drop ratios < 1 %
#   cpu    the server's CPU time (user + system, /proc/PID/stat) per exchange at CPU_RATE
# and the ratios zerotouch/null (rate) and zerotouch/Kea (CPU).
#
# perfdhcp runs single-threaded (-g single; PERF_THREADS=multi for its default on more
# than one CPU): its multi-threaded mode adds a receiver thread that competes with the
# server under test for the second of the two cores, and the measurement becomes one of
# scheduling between the two programs (the null responder's own ceiling rises from about
# 18000 to about 25000 exchanges/s in single-threaded mode; docs/performance.md).
# Near the ceiling single runs still vary by several percent: every step runs REPEAT
# times and the medians count.
#
# perfdhcp and the server each run pinned to one of the two cores (PIN=0: both float;
# bench/sweep.sh says why).
#
# usage: sudo bench/dhcp4.sh   env: RATES, SECS (3), REPEAT (3), CPU_RATE (8000), SERVERS,
#                                   PERF_THREADS (single), PIN (1)
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-"5000 10000 15000 18000 20000 22000 24000 26000 28000 30000 32000 34000 36000 38000 40000"}
# Every exchange is a new client and each server starts empty, so a run must not ask for
# more addresses than the pool holds (130815): 3 s at up to 40000/s stays below it; at
# 8 s a server would run out of addresses above 16350/s and drop DISCOVERs for it.
SECS=${SECS:-3}
POOL=130815
REPEAT=${REPEAT:-3}
CPU_RATE=${CPU_RATE:-8000}
SERVERS=${SERVERS:-"null zerotouch zt-plugins zt-normal kea"}
p=ztb$$
work=$(mktemp -d)
srv="${p}srv"; cli="${p}cli"

for tool in perfdhcp kea-dhcp4 ip; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install kea-admin kea-dhcp4-server iproute2" >&2; exit 2; }
done
cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouch-null-responder
cargo build --release --quiet -p zerotouch-bench-noop-plugin
source bench/sweep.sh
for r in $RATES; do
  if (( r * SECS > POOL )); then
    echo "rate $r for $SECS s asks for more than the pool's $POOL addresses: lower SECS or RATES" >&2
    exit 2
  fi
done


two_hosts 198.18.0.1 198.18.0.2 15
mkdir -p /run/kea /var/run/kea /var/lib/kea

sed -e "s|@INTERFACE@|${p}s|" -e "s|@DATABASE@|$work/leases.sqlite|" bench/zerotouch.toml > "$work/zerotouch.toml"
sed 's/synchronous = "full"/synchronous = "normal"/' "$work/zerotouch.toml" > "$work/zt-normal.toml"
cp "$work/zerotouch.toml" "$work/zt-plugins.toml"
cat >> "$work/zt-plugins.toml" <<TOML

[[plugin]]
name = "noop"
instance = "noop-1"

[[plugin]]
name = "noop"
instance = "noop-2"

[[plugin]]
name = "noop"
instance = "noop-dynamic"
path = "$PWD/target/release/libzerotouch_bench_noop_plugin.so"
TOML
kea4_config "${p}s" > "$work/kea4.json"

start_server() {
  stop_server
  rm -f "$work"/leases.sqlite* "$work"/leases4.csv*
  case $1 in
    null) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-null-responder 198.18.0.1 >"$work/null.log" 2>&1 & ;;
    zerotouch|zt-normal|zt-plugins) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-dhcpd --config "$work/$1.toml" >"$work/$1.log" 2>&1 & ;;
    kea) "${SERVER_CPU[@]}" ip netns exec "$srv" kea-dhcp4 -c "$work/kea4.json" >"$work/kea.out" 2>&1 & ;;
  esac
  started "$1"
}

PERF_ARGS="-4 -g ${PERF_THREADS:-single}"
sweep
report "zerotouch zt-normal zt-plugins"
