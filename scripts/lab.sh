#!/usr/bin/env bash
# A two-host lab on this machine: zerotouch-dhcpd with its default configuration in one
# network namespace, a real ISC dhclient (DHCPv4, then DHCPv6) in another, joined by a
# veth pair. Shows the
# reply the client got, the server's log and the lease in its database, then removes
# the lab. Needs root; installs isc-dhcp-client and sqlite3 if they are missing.
#
# usage: sudo scripts/lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
p=ztlab$$
srv="${p}srv"; cli="${p}cli"
work=$(mktemp -d)
server_pid=""

cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns pids "$cli" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v dhclient >/dev/null || ! command -v sqlite3 >/dev/null; then
  echo "== installing isc-dhcp-client and sqlite3 from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq isc-dhcp-client sqlite3 iproute2 >/dev/null
fi
# A first release build takes several minutes on a small machine: cargo shows its
# progress (one line a crate) rather than nothing.
echo "== building zerotouch-dhcpd (release; the first build takes a few minutes)"
# pipefail: a failed build fails the lab, with cargo's error lines shown.
cargo build --release --bin zerotouch-dhcpd 2>&1 | grep --line-buffered -E "^ *(Compiling|Finished)|^error|^ *-->"

# The default configuration serves 198.18.0.0/24 on eth0; here the interface is the
# lab's veth end and the database lives in a temporary directory.
target/release/zerotouch-dhcpd default-config \
  | sed -e "s/\"eth0\"/\"${p}s\"/" -e "s|/var/lib/zerotouch/leases.sqlite|$work/leases.sqlite|" > "$work/dhcpd.toml"
target/release/zerotouch-dhcpd check --config "$work/dhcpd.toml"

ip netns add "$srv"; ip netns add "$cli"
# No duplicate address detection, so IPv6 addresses (link-local ones too) work at once.
for ns in "$srv" "$cli"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add "${p}s" type veth peer name "${p}c"
ip link set "${p}s" netns "$srv"; ip link set "${p}c" netns "$cli"
ip -n "$srv" addr add 198.18.0.1/24 dev "${p}s"
ip -n "$srv" addr add 2001:db8::1/64 dev "${p}s" nodad
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$srv" link set "${p}s" up; ip -n "$cli" link set "${p}c" up

ip netns exec "$srv" target/release/zerotouch-dhcpd --config "$work/dhcpd.toml" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q "DHCPv6 serving" "$work/server.log" && break; sleep 0.1; done

# A dhclient script that only records what the server sent (the stock one would
# rewrite this host's resolv.conf).
cat > "$work/record" <<'SH'
#!/bin/sh
[ "$reason" = BOUND ] && env | grep -E '^new_' | sort > "$(dirname "$0")/reply"
exit 0
SH
chmod +x "$work/record"
echo "== dhclient in namespace $cli"
ip netns exec "$cli" timeout 30 dhclient -4 -1 -v -sf "$work/record" -lf "$work/dhclient.leases" -pf /dev/null "${p}c" 2>&1 | grep -E "DHCP|bound"
echo "== what the server sent (dhclient's view)"
cat "$work/reply"
echo "== dhclient -6 (an address and a delegated prefix) in namespace $cli"
touch "$work/dhclient6.leases"
ip netns exec "$cli" timeout 30 dhclient -6 -1 -N -P -v -sf "$work/record" -lf "$work/dhclient6.leases" -pf /dev/null "${p}c" 2>&1 | grep -E "Reply|Advertise|IAADDR|IAPREFIX|Bound"
echo "== server log"
cat "$work/server.log"
echo "== lease database ($work/leases.sqlite)"
sqlite3 -header -column "$work/leases.sqlite" "SELECT address, hw_address, state, datetime(expires, 'unixepoch') AS expires FROM leases4"
sqlite3 -header -column "$work/leases.sqlite" "SELECT resource, type, duid, state, datetime(expires, 'unixepoch') AS expires FROM leases6"
