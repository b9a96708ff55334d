#!/usr/bin/env bash
# DHCPv6 benchmark: zerotouch-dhcpd against ISC Kea (kea-dhcp6) and the stateless null
# responder (zerotouch-null-responder -6), in the same run, on the same pools, with
# perfdhcp -6 in a second network namespace. Every exchange is SOLICIT, ADVERTISE,
# REQUEST, REPLY for an address and a delegated prefix (-e address-and-prefix; LEASE
# overrides). Each server is restarted with empty lease state before every
# measurement. zerotouch runs as "zerotouch" (synchronous = "full": each REPLY after
# its bindings are fsynced) and "zt-normal" (synchronous = "normal", like Kea's memfile,
# which never fsyncs). Reports, per server, the best rate with both drop ratios < 1 %
# and the server's CPU time per exchange at CPU_RATE, and the ratios zerotouch/null
# (rate) and zerotouch/Kea (CPU). Medians of REPEAT runs.
#
# usage: sudo bench/dhcp6.sh   env: RATES, SECS (3), REPEAT (3), CPU_RATE (4000), SERVERS, PERF_THREADS, PIN, LEASE
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-"4000 8000 12000 16000 20000 22000 24000 26000 28000 30000 32000 34000 36000"}
SECS=${SECS:-3}
REPEAT=${REPEAT:-3}
CPU_RATE=${CPU_RATE:-4000}
SERVERS=${SERVERS:-"null zerotouch zt-normal kea"}
LEASE=${LEASE:-address-and-prefix}
p=ztb6$$
work=$(mktemp -d)
srv="${p}srv"; cli="${p}cli"

for tool in perfdhcp kea-dhcp6 ip; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install kea-admin kea-dhcp6-server iproute2" >&2; exit 2; }
done
cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouch-null-responder
source bench/sweep.sh

ip netns add "$srv"; ip netns add "$cli"
for ns in "$srv" "$cli"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add "${p}s" type veth peer name "${p}c"
ip link set "${p}s" netns "$srv"; ip link set "${p}c" netns "$cli"
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$srv" addr add 2001:db8:1::1/64 dev "${p}s" nodad
ip -n "$srv" link set "${p}s" up; ip -n "$cli" link set "${p}c" up
mkdir -p /run/kea /var/run/kea /var/lib/kea
sleep 1

sed -e "s|@INTERFACE@|${p}s|g" -e "s|@DATABASE@|$work/leases.sqlite|" bench/zerotouch6.toml > "$work/zerotouch.toml"
sed 's/synchronous = "full"/synchronous = "normal"/' "$work/zerotouch.toml" > "$work/zt-normal.toml"
cat > "$work/kea6.json" <<JSON
{"Dhcp6": {"interfaces-config": {"interfaces": ["${p}s"]},
  "lease-database": {"type": "memfile", "persist": true, "name": "$work/leases6.csv", "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "${p}s",
    "pools": [{"pool": "2001:db8:1::1000 - 2001:db8:1::ffff:ffff"}],
    "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 33, "delegated-len": 56}],
    "option-data": [{"code": 136, "data": "001c68747470733a2f2f6273312e6578616d706c652e636f6d3a38303830", "csv-format": false, "always-send": true}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "WARN", "output_options": [{"output": "$work/kea6.log"}]}]}}
JSON

start_server() {
  stop_server
  rm -f "$work"/leases.sqlite* "$work"/leases6.csv*
  case $1 in
    null) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-null-responder -6 "${p}s" >"$work/null.log" 2>&1 & ;;
    zerotouch|zt-normal) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-dhcpd --config "$work/$1.toml" >"$work/$1.log" 2>&1 & ;;
    kea) "${SERVER_CPU[@]}" ip netns exec "$srv" kea-dhcp6 -c "$work/kea6.json" >"$work/kea.out" 2>&1 & ;;
  esac
  started "$1"
}

PERF_ARGS="-6 -g ${PERF_THREADS:-single} -e $LEASE"
sweep
report "zerotouch zt-normal"
