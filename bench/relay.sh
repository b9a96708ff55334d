#!/usr/bin/env bash
# Relay benchmark: perfdhcp -6 (as clients) → a relay → the DHCPv6 null responder, in
# three network namespaces, with zerotouch-relay and ISC dhcrelay in the same run. The
# null responder answers at the ceiling of the machine, so the relay is what is
# measured: the best 4-message exchange rate with both drop ratios < 1 % (median of
# REPEAT runs per step) and the relay's CPU time per exchange at CPU_RATE. Both
# directions go through the relay (RELAY-FORW up, RELAY-REPL down).
#
# (DHCPv4 is not benchmarked this way: perfdhcp -4 always acts as a relay itself, so the
# server's replies would bypass the relay under test.)
#
# usage: sudo bench/relay.sh   env: RATES, SECS (3), REPEAT (3), CPU_RATE (4000), SERVERS, PERF_THREADS, PIN
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-"4000 8000 12000 16000 20000 22000 24000 26000 28000 30000 32000 34000 36000"}
SECS=${SECS:-3}
REPEAT=${REPEAT:-3}
CPU_RATE=${CPU_RATE:-4000}
SERVERS=${SERVERS:-"zerotouch-relay dhcrelay"}
p=ztr$$
work=$(mktemp -d)
srv="${p}srv"; rly="${p}rly"; cli="${p}cli"

for tool in perfdhcp dhcrelay ip; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install kea-admin isc-dhcp-relay iproute2" >&2; exit 2; }
done
cargo build --release --quiet --bin zerotouch-relay --bin zerotouch-null-responder
source bench/sweep.sh
# The relay namespace too goes when the run ends; so does the null responder.
null_pid=""
trap 'stop_server; [[ -n $null_pid ]] && kill $null_pid 2>/dev/null; ip netns del "$rly" 2>/dev/null; cleanup' EXIT

for ns in "$srv" "$rly" "$cli"; do
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
done
ip link add "${p}s" type veth peer name "${p}u"
ip link add "${p}d" type veth peer name "${p}c"
ip link set "${p}s" netns "$srv"; ip link set "${p}u" netns "$rly"
ip link set "${p}d" netns "$rly"; ip link set "${p}c" netns "$cli"
ip -n "$srv" addr add 2001:db8:1::1/64 dev "${p}s" nodad
ip -n "$rly" addr add 2001:db8:1::2/64 dev "${p}u" nodad
ip -n "$rly" addr add 2001:db8:2::1/64 dev "${p}d" nodad
for x in "$srv ${p}s" "$rly ${p}u" "$rly ${p}d" "$cli ${p}c"; do set -- $x; ip -n "$1" link set "$2" up; done
sleep 1
# The upstream null responder is not pinned: with the relay on one core and perfdhcp on
# the other it takes what either leaves idle, as a server on a third machine would.
ip netns exec "$srv" target/release/zerotouch-null-responder -6 "${p}s" >"$work/null.log" 2>&1 &
null_pid=$!

start_server() {
  stop_server
  case $1 in
    zerotouch-relay) "${SERVER_CPU[@]}" ip netns exec "$rly" target/release/zerotouch-relay -6 -l "${p}d" -u 2001:db8:1::1 --log-level warn >"$work/$1.log" 2>&1 & ;;
    dhcrelay) "${SERVER_CPU[@]}" ip netns exec "$rly" dhcrelay -6 -d -q -I -l "${p}d" -u "2001:db8:1::1%${p}u" >"$work/$1.log" 2>&1 & ;;
  esac
  started "$1"
}

PERF_ARGS="-6 -g ${PERF_THREADS:-single}"
sweep
echo
echo "relay            best rate (<1% drops)   CPU us/exchange at ${CPU_RATE}/s"
for s in $SERVERS; do printf '%-15s  %12s/s            %8s\n' "$s" "${BEST[$s]}" "${CPU[$s]}"; done
if [[ -n ${BEST[dhcrelay]:-} && ${BEST[dhcrelay]} != 0 ]]; then
  awk -v z="${BEST[zerotouch-relay]}" -v d="${BEST[dhcrelay]}" 'BEGIN{printf "zerotouch-relay best rate / dhcrelay best rate: %.2f\n", z/d}'
fi
if [[ -n ${CPU[dhcrelay]:-} ]]; then
  awk -v z="${CPU[zerotouch-relay]}" -v d="${CPU[dhcrelay]}" 'BEGIN{if (d>0) printf "zerotouch-relay CPU per exchange / dhcrelay: %.2f\n", z/d}'
fi
