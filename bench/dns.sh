#!/usr/bin/env bash
# DNS benchmark: the dns plugin of zerotouch-dhcpd against BIND 9 and Knot DNS serving
# the same zone, and a null responder (each query sent back as its own empty answer:
# the ceiling of dnsperf and the kernel), in the same run. dnsperf (Debian dnsperf)
# sends a mix of the queries SZTP devices and browsing tools make (SRV, a device TXT
# that fits UDP, A, DNS-SD PTR with its additional records) from a second network
# namespace over UDP.
#
# Each server runs pinned to one core (taskset -c 1) and dnsperf to the other (PIN=0:
# both float): BIND with one worker (-n 1), Knot with one UDP worker, zerotouch as it
# runs (its service threads share the one core). Response-rate limiting is off in all
# three (BIND's and Knot's default): one source sending at full speed is what it stops.
#
# Reports, per server, the median over REPEAT runs of
#   qps    queries per second dnsperf completes with QUEUE queries outstanding, and the
#          share it lost (not answered within 1 s)
#   cpu    the server's CPU time (user + system, /proc/PID/stat) per query at CPU_RATE
# and the ratios zerotouch/null, zerotouch/BIND, zerotouch/Knot.
#
# usage: sudo bench/dns.sh   env: SECS (10), REPEAT (3), QUEUE (200), CPU_RATE (20000),
#                                 SERVERS ("null zerotouch bind knot"), PIN (1)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
REPEAT=${REPEAT:-3}
QUEUE=${QUEUE:-200}
CPU_RATE=${CPU_RATE:-20000}
SERVERS=${SERVERS:-"null zerotouch bind knot"}
p=ztd$$
work=$(mktemp -d)
srv="${p}srv"; cli="${p}cli"

for tool in dnsperf named knotd dig ip; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install dnsperf bind9 knot bind9-dnsutils iproute2 (with a policy-rc.d that keeps their services stopped)" >&2; exit 2; }
done

source bench/common.sh

echo "building zerotouch-dhcpd and the null responder (release) ..."
cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouch-null-responder

two_hosts 198.18.0.1 198.18.0.2 24

# The device's conveyed information: 400 printable octets, so every server's zone holds
# the same TXT (cut into 255-octet strings from "ci=" on, as zerotouch cuts it).
head -c 300 /dev/urandom | base64 -w0 | head -c 400 > "$work/ci.bin"
txt="ci=$(cat "$work/ci.bin")"
txt_strings="\"${txt:0:255}\" \"${txt:255}\""

cat > "$work/sztp.example.zone" <<ZONE
\$ORIGIN sztp.example.
\$TTL 300
@ IN SOA ns1.sztp.example. hostmaster.sztp.example. 1 3600 600 86400 300
@ IN NS ns1.sztp.example.
ns1 IN A 198.18.0.1
bs1 IN A 198.18.0.1
bs2 IN A 198.18.0.3
_sztp._tcp IN SRV 0 0 8443 bs1.sztp.example.
_sztp._tcp IN SRV 1 0 8443 bs2.sztp.example.
_services._dns-sd._udp IN PTR _sztp._tcp.sztp.example.
_sztp._tcp IN PTR bs1._sztp._tcp.sztp.example.
_sztp._tcp IN PTR bs2._sztp._tcp.sztp.example.
bs1._sztp._tcp IN SRV 0 0 8443 bs1.sztp.example.
bs1._sztp._tcp IN TXT ""
bs2._sztp._tcp IN SRV 1 0 8443 bs2.sztp.example.
bs2._sztp._tcp IN TXT ""
sn-0001._sztp IN TXT $txt_strings
ZONE

{ plugin_config dns; cat <<TOML
listen = ["198.18.0.1:53"]
rate_limit = { responses_per_second = 0 }
[[plugin.settings.zone]]
name = "sztp.example"
nameservers = [{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }]
bootstrap_server = [
  { target = "bs1.sztp.example", port = 8443, priority = 0, addresses = ["198.18.0.1"] },
  { target = "bs2.sztp.example", port = 8443, priority = 1, addresses = ["198.18.0.3"] },
]
device = [{ serial = "sn-0001", conveyed_information = "$work/ci.bin" }]
TOML
} > "$work/zerotouch.toml"

mkdir -p "$work/bind" "$work/knot"
cat > "$work/named.conf" <<CONF
options {
  directory "$work/bind";
  pid-file "$work/bind/named.pid";
  listen-on port 53 { 198.18.0.1; };
  listen-on-v6 { none; };
  recursion no;
  // Answers with their additional records and without the NS in the authority
  // section, as zerotouch and Knot send them.
  minimal-responses no-auth;
  querylog no;
};
zone "sztp.example" { type primary; file "$work/sztp.example.zone"; };
CONF

cat > "$work/knot.conf" <<CONF
server:
  listen: 198.18.0.1@53
  rundir: "$work/knot"
  pidfile: "$work/knot/knot.pid"
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "$work/knot/db"
log:
  - target: stderr
    any: warning
zone:
  - domain: sztp.example
    file: "$work/sztp.example.zone"
    semantic-checks: off
CONF

printf '%s\n' "_sztp._tcp.sztp.example SRV" "sn-0001._sztp.sztp.example TXT" \
  "bs1.sztp.example A" "_sztp._tcp.sztp.example PTR" > "$work/queries.txt"

start_server() {
  stop_server
  case $1 in
    null) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-null-responder --dns 53 >"$work/null.log" 2>&1 & ;;
    zerotouch) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-dhcpd --config "$work/zerotouch.toml" >"$work/zerotouch.log" 2>&1 & ;;
    bind) "${SERVER_CPU[@]}" ip netns exec "$srv" named -g -n 1 -c "$work/named.conf" >"$work/bind.log" 2>&1 & ;;
    knot) "${SERVER_CPU[@]}" ip netns exec "$srv" knotd -c "$work/knot.conf" >"$work/knot.log" 2>&1 & ;;
  esac
  server_pid=$!
  # Up when it answers (the null responder answers anything).
  for _ in $(seq 50); do
    if ip netns exec "$cli" dig @198.18.0.1 +time=1 +tries=1 +norec bs1.sztp.example A >/dev/null 2>&1; then return; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

# Every server answers every query of the mix, with the same records.
echo "answers (size in octets) per server:"
for s in $SERVERS; do
  [[ $s == null ]] && continue
  start_server "$s"
  while read -r name type; do
    size=$(ip netns exec "$cli" dig @198.18.0.1 +norec +time=2 +tries=1 "$name" "$type" | awk '/MSG SIZE/{print $NF}')
    count=$(ip netns exec "$cli" dig @198.18.0.1 +norec +time=2 +tries=1 "$name" "$type" | awk '/^;; flags/{print}' | sed 's/.*ANSWER: \([0-9]*\), AUTHORITY: \([0-9]*\), ADDITIONAL: \([0-9]*\)/an=\1 ns=\2 ar=\3/')
    printf '  %-10s %-32s %-4s %5s  %s\n' "$s" "$name" "$type" "$size" "$count"
    [[ -n $size ]] || { echo "$s does not answer $name $type" >&2; exit 1; }
  done < "$work/queries.txt"
done
stop_server

# dnsperf for SECS with ARGS: prints "qps lost%"
perf() {
  local out
  out=$(timeout $((SECS + 30)) "${CLIENT_CPU[@]}" ip netns exec "$cli" dnsperf -s 198.18.0.1 -p 53 -d "$work/queries.txt" -l "$SECS" -t 1 "$@" 2>&1 || true)
  awk '/Queries per second:/{q=$4} /Queries lost:/{gsub("[()%]","",$4); l=$4} END{printf "%s %s\n", q+0, (l=="")?100:l}' <<<"$out"
}

declare -A QPS LOST CPU
for _ in $(seq "$REPEAT"); do
  # The servers take turns in each round: a busy minute of this shared machine falls
  # on all of them.
  for s in $SERVERS; do
    start_server "$s"
    read -r q l <<<"$(perf -q "$QUEUE")"
    QPS[$s]+="$q "; LOST[$s]+="$l "
    printf '%-10s max: %10.0f queries/s, lost %s%%\n' "$s" "$q" "$l"
    c0=$(cpu_ticks)
    read -r q l <<<"$(perf -Q "$CPU_RATE" -q "$QUEUE")"
    c1=$(cpu_ticks)
    c=$(awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" -v q="$q" -v s="$SECS" 'BEGIN{n=q*s; printf "%.2f", (n>0)? c/t*1e6/n : 0}')
    CPU[$s]+="$c "
    printf '%-10s at %s/s: %s us of CPU per query (answered %.0f/s, lost %s%%)\n' "$s" "$CPU_RATE" "$c" "$q" "$l"
  done
done
stop_server

echo
echo "server      queries/s (median)  lost   CPU us/query at ${CPU_RATE}/s"
declare -A BEST CPUM
for s in $SERVERS; do
  BEST[$s]=$(median <<<"${QPS[$s]}"); CPUM[$s]=$(median <<<"${CPU[$s]}")
  printf '%-10s  %14.0f    %5s%%   %8s\n' "$s" "${BEST[$s]}" "$(median <<<"${LOST[$s]}")" "${CPUM[$s]}"
done
for peer in null bind knot; do
  [[ -n ${BEST[zerotouch]:-} && -n ${BEST[$peer]:-} ]] || continue
  awk -v z="${BEST[zerotouch]}" -v n="${BEST[$peer]}" -v name="$peer" 'BEGIN{if (n>0) printf "zerotouch queries/s / %s: %.2f\n", name, z/n}'
  [[ $peer == null ]] && continue
  awk -v z="${CPUM[zerotouch]}" -v n="${CPUM[$peer]}" -v name="$peer" 'BEGIN{if (n>0) printf "zerotouch CPU per query / %s: %.2f\n", name, z/n}'
done
