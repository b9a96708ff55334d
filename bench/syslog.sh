#!/usr/bin/env bash
# Syslog relay benchmark: the syslog plugin of zerotouch-dhcpd against rsyslog relaying
# the same messages, and a null relay (UDP in, octet counted TCP out, nothing parsed or
# kept: the ceiling of the load generator, the kernel and the collector), in the same
# run.
#
# A device namespace sends numbered RFC 5424 messages of SIZE octets over UDP
# (zerotouch-syslog-load send) to the relay on 198.18.0.1:514, which forwards them to
# a counting collector on 127.0.0.1 (zerotouch-syslog-load collect) over TCP (octet
# counting) or RELP (each message acknowledged). Both relays keep what they took on
# disk until the collector has it: zerotouch with its spool (every message written,
# fsynced every 50 ms), rsyslog with a disk-assisted action queue (memory first,
# spilled to disk when full, saved at shutdown). rsyslog's imudp has one thread.
#
# The relay runs pinned to one core (taskset -c 1), the sender and the collector to the
# other (PIN=0: all float). Reports, per relay and transport, the median over REPEAT
# runs of
#   max    SAT_RATE * SECS messages offered at SAT_RATE a second (the sender reaches
#          what one core can send, about 250 000 a second here: "sent/s"): how many
#          a second reach the collector (first to last arrival), and how many never
#          do within IDLE seconds of quiet (what the relay could not take was
#          dropped by its UDP socket)
#   cpu    the relay's CPU time (user + system) per message at CPU_RATE a second, where
#          every message must arrive once and in order
# and the ratios zerotouch/rsyslog and zerotouch/null.
#
# usage: sudo bench/syslog.sh   env: SECS (5), REPEAT (3), SAT_RATE (300000),
#                                    CPU_RATE (20000), SIZE (200), IDLE (10),
#                                    MODES ("tcp relp"), RELAYS ("null zerotouch rsyslog"),
#                                    PIN (1)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-5}
REPEAT=${REPEAT:-3}
SAT_RATE=${SAT_RATE:-300000}
CPU_RATE=${CPU_RATE:-20000}
SIZE=${SIZE:-200}
IDLE=${IDLE:-10}
MODES=${MODES:-"tcp relp"}
RELAYS=${RELAYS:-"null zerotouch rsyslog"}
p=zts$$
work=$(mktemp -d)
srv="${p}srv"; cli="${p}cli"

for tool in rsyslogd ip ss; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install rsyslog rsyslog-relp iproute2 (with a policy-rc.d that keeps its service stopped)" >&2; exit 2; }
done
[[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so || -n $(find /usr/lib -name omrelp.so 2>/dev/null | head -1) ]] || { echo "missing rsyslog's omrelp: apt-get install rsyslog-relp" >&2; exit 2; }

source bench/common.sh

echo "building zerotouch-dhcpd and zerotouch-syslog-load (release) ..."
cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouch-syslog-load
load=target/release/zerotouch-syslog-load

two_hosts 198.18.0.1 198.18.0.2 24

collector_pid=""
stop_collector() {
  if [[ -n $collector_pid ]]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
  collector_pid=""
}
trap 'stop_collector; cleanup' EXIT

port_of() { [[ $1 == relp ]] && echo 10516 || echo 10514; }

# The relays' configurations for transport $1.
configure() {
  local mode=$1 port
  port=$(port_of "$mode")
  { plugin_config syslog; cat <<TOML
listen = ["198.18.0.1:514"]
messages_per_second = 0
spool_dir = "$work/spool"
collector = [{ address = "127.0.0.1:$port", transport = "$mode" }]
TOML
  } > "$work/zerotouch.toml"
  local action
  if [[ $mode == relp ]]; then
    action="type=\"omrelp\" target=\"127.0.0.1\" port=\"$port\""
  else
    action="type=\"omfwd\" target=\"127.0.0.1\" port=\"$port\" protocol=\"tcp\" TCP_Framing=\"octet-counted\""
  fi
  cat > "$work/rsyslog.conf" <<CONF
global(workDirectory="$work/rsyslog")
module(load="imudp" threads="1")
$( [[ $mode == relp ]] && echo 'module(load="omrelp")' )
input(type="imudp" address="198.18.0.1" port="514" ruleset="relay" rcvbufSize="8m")
ruleset(name="relay") {
  action($action template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.filename="relay" queue.size="100000"
         queue.saveOnShutdown="on" action.resumeRetryCount="-1")
}
CONF
}

start_relay() {
  local relay=$1 mode=$2
  stop_server
  case $relay in
    null) "${SERVER_CPU[@]}" ip netns exec "$srv" "$load" relay --listen 198.18.0.1:514 --to "127.0.0.1:$(port_of "$mode")" >"$work/null.log" 2>&1 & ;;
    zerotouch) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-dhcpd --config "$work/zerotouch.toml" >"$work/zerotouch.log" 2>&1 & ;;
    rsyslog) "${SERVER_CPU[@]}" ip netns exec "$srv" rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslog/pid" >"$work/rsyslog.log" 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 50); do
    if [[ -n $(ip netns exec "$srv" ss -Hlun 'sport = :514') ]]; then return; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$relay did not start" >&2; cat "$work/$relay.log" >&2; exit 1
}

# One run of RELAY over MODE at RATE: "delivered/s missing twice out_of_order cpu_us
# sent/s"
run() {
  local relay=$1 mode=$2 rate=$3 count relp=() c0 c1 out
  count=$((rate * SECS))
  [[ $mode == relp ]] && relp=(--relp)
  stop_collector
  # Each run from nothing: no spool, no saved queue of the run before.
  rm -rf "$work/spool" "$work/rsyslog"; mkdir -p "$work/rsyslog"
  "${CLIENT_CPU[@]}" ip netns exec "$srv" "$load" collect --listen "127.0.0.1:$(port_of "$mode")" "${relp[@]}" --count "$count" --idle "$IDLE" >"$work/collect.out" 2>&1 &
  collector_pid=$!
  sleep 0.3
  start_relay "$relay" "$mode"
  sleep 0.5
  c0=$(cpu_ticks)
  "${CLIENT_CPU[@]}" ip netns exec "$cli" "$load" send --to 198.18.0.1:514 --count "$count" --rate "$rate" --size "$SIZE" >"$work/send.out"
  wait "$collector_pid" || true
  collector_pid=""
  c1=$(cpu_ticks)
  stop_server
  out=$(cat "$work/collect.out")
  sent=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' "$work/send.out")
  awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" -v sent="${sent:-0}" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { n = v["received"]; printf "%.0f %d %d %d %.2f %d\n", v["rate"], v["missing"], v["twice"], v["out_of_order"], (n > 0) ? c / t * 1e6 / n : 0, sent }' <<<"$out"
}

declare -A MAX MISS CPU SENT
for _ in $(seq "$REPEAT"); do
  for mode in $MODES; do
    configure "$mode"
    for relay in $RELAYS; do
      [[ $relay == null && $mode == relp ]] && continue
      read -r r m _ _ _ sent <<<"$(run "$relay" "$mode" "$SAT_RATE")"
      MAX[$relay.$mode]+="$r "; MISS[$relay.$mode]+="$m "; SENT[$relay.$mode]+="$sent "
      printf '%-9s %-4s offered %s/s (sent %s/s): delivered %8.0f/s, missing %s\n' "$relay" "$mode" "$SAT_RATE" "$sent" "$r" "$m"
      read -r r m t o c _ <<<"$(run "$relay" "$mode" "$CPU_RATE")"
      CPU[$relay.$mode]+="$c "
      printf '%-9s %-4s at %s/s: %s us of CPU per message; missing %s, twice %s, out of order %s\n' "$relay" "$mode" "$CPU_RATE" "$c" "$m" "$t" "$o"
      if [[ $m != 0 || $t != 0 || $o != 0 ]]; then
        echo "  $relay over $mode lost, repeated or reordered messages at $CPU_RATE/s" >&2
      fi
    done
  done
done

echo
echo "relay     via   sent/s   delivered/s (median)  missing of $((SAT_RATE * SECS))  CPU us/message at ${CPU_RATE}/s"
for mode in $MODES; do
  for relay in $RELAYS; do
    [[ -n ${MAX[$relay.$mode]:-} ]] || continue
    printf '%-9s %-4s  %7s  %14.0f        %10s            %8s\n' "$relay" "$mode" "$(median <<<"${SENT[$relay.$mode]}")" \
      "$(median <<<"${MAX[$relay.$mode]}")" "$(median <<<"${MISS[$relay.$mode]}")" "$(median <<<"${CPU[$relay.$mode]}")"
  done
  for peer in rsyslog null; do
    [[ -n ${MAX[zerotouch.$mode]:-} && -n ${MAX[$peer.$mode]:-} ]] || continue
    awk -v z="$(median <<<"${MAX[zerotouch.$mode]}")" -v n="$(median <<<"${MAX[$peer.$mode]}")" -v zc="$(median <<<"${CPU[zerotouch.$mode]}")" -v nc="$(median <<<"${CPU[$peer.$mode]}")" -v name="$peer" -v mode="$mode" \
      'BEGIN{ if (n > 0) printf "zerotouch/%s over %s: rate %.2f, CPU per message %.2f\n", name, mode, z/n, (nc > 0) ? zc/nc : 0 }'
  done
done
