#!/usr/bin/env bash
# DHCPv4 on PostgreSQL: zerotouch-dhcpd with its leases on PostgreSQL, one server and
# two servers sharing the database (active-active on one link), beside the embedded
# default (SQLite, synchronous = "full"), ISC Kea with memfile and the null responder,
# in the same run, on the same pool, with perfdhcp as in bench/dhcp4.sh.
#
# The link is a bridge in the client's namespace with two server namespaces on it
# (198.18.0.1 and 198.18.0.3): perfdhcp's broadcasts reach every server there, and a
# single server runs in the first. PostgreSQL (Debian's, started here with initdb and
# pg_ctl on a Unix socket in a temporary folder, fsync and synchronous_commit on, its
# defaults) runs with the servers on core 1; its tables are emptied before every run.
#
# Reports, per server, the best rate (< 1 % drops) and the CPU per exchange at
# CPU_RATE: for the PostgreSQL runs, the zerotouch-dhcpd processes and every process
# of the PostgreSQL server together.
#
# usage: sudo bench/postgres.sh   env: RATES, SECS (3), REPEAT (3), CPU_RATE (8000),
#                                      SERVERS, PERF_THREADS (single), PIN (1)
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
RATES=${RATES:-"2500 5000 10000 15000 20000 25000 30000"}
SECS=${SECS:-3}
REPEAT=${REPEAT:-3}
CPU_RATE=${CPU_RATE:-8000}
SERVERS=${SERVERS:-"null zerotouch zt-pg zt-pg2 kea"}
p=ztp$$
work=$(mktemp -d)
chmod 755 "$work"
srv="${p}sa"; srvb="${p}sb"; cli="${p}cli"
pgdir="$work/pg"

for tool in perfdhcp kea-dhcp4 ip runuser; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install kea-admin kea-dhcp4-server iproute2 postgresql" >&2; exit 2; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $pgbin/initdb ]] || { echo "missing PostgreSQL: apt-get install postgresql" >&2; exit 2; }
echo "building (release)..."
cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouch-null-responder
source bench/sweep.sh

# Cleanup: the bench's own (servers, namespaces, folder), PostgreSQL first.
server_pid2=""
stop_server() {
  local pid
  for pid in $server_pid $server_pid2; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  server_pid=""; server_pid2=""
}
cleanup() {
  stop_server
  if [[ -f $pgdir/data/postmaster.pid ]]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  for ns in "$srv" "$srvb" "$cli"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The topology: ${p}c is a bridge in $cli with the ports of both server namespaces.
ip netns add "$srv"; ip netns add "$srvb"; ip netns add "$cli"
for ns in "$srv" "$srvb" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$cli" link add "${p}c" type bridge
for side in a b; do
  ns=$([[ $side == a ]] && echo "$srv" || echo "$srvb")
  ip link add "${p}$side" type veth peer name "${p}p$side"
  ip link set "${p}$side" netns "$ns"; ip link set "${p}p$side" netns "$cli"
  ip -n "$cli" link set "${p}p$side" master "${p}c"
  ip -n "$cli" link set "${p}p$side" up; ip -n "$ns" link set "${p}$side" up
done
ip -n "$cli" link set "${p}c" up
ip -n "$srv" addr add 198.18.0.1/15 dev "${p}a"
ip -n "$srvb" addr add 198.18.0.3/15 dev "${p}b"
ip -n "$cli" addr add 198.18.0.2/15 dev "${p}c"
mkdir -p /run/kea /var/run/kea /var/lib/kea

# PostgreSQL of this run, with the servers on core 1.
mkdir -p "$pgdir"; chown postgres "$pgdir"
echo "starting PostgreSQL in $pgdir..."
runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U zerotouch --no-sync -E UTF8 >"$work/initdb.log" 2>&1
"${SERVER_CPU[@]}" runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
  -o "-k $pgdir -c listen_addresses='' -p 5432" start >/dev/null
psql_() { "$pgbin/psql" -h "$pgdir" -p 5432 -U zerotouch -d postgres -Atq -c "$1"; }
url="host=$pgdir port=5432 user=zerotouch dbname=postgres"


# The server side's CPU time: the servers and, for the PostgreSQL runs, every process
# of the PostgreSQL server (the postmaster and its children).
PG_RUN=0
pg_ticks() {
  local pm
  pm=$(head -1 "$pgdir/data/postmaster.pid")
  awk -v pm="$pm" '($4 == pm || $1 == pm) {t += $14 + $15} END {print t + 0}' /proc/[0-9]*/stat 2>/dev/null
}
cpu_ticks() {
  local t=0 pid
  for pid in $server_pid $server_pid2; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  if [[ $PG_RUN == 1 ]]; then t=$((t + $(pg_ticks))); fi
  echo "$t"
}

sed -e "s|@INTERFACE@|${p}a|" -e "s|@DATABASE@|$work/leases.sqlite|" bench/zerotouch.toml > "$work/zerotouch.toml"
for side in a b; do
  sed -e "s|@INTERFACE@|${p}$side|" \
      -e "s|^database = .*|postgresql = { url = \"$url\", server_name = \"$side\", upgrade_schema = true }|" \
      -e '/^synchronous/d' bench/zerotouch.toml > "$work/pg-$side.toml"
done
kea4_config "${p}a" > "$work/kea4.json"

zt() { "${SERVER_CPU[@]}" ip netns exec "$1" target/release/zerotouch-dhcpd --config "$2" >>"$3" 2>&1 & }
start_server() {
  stop_server
  rm -f "$work"/leases.sqlite* "$work"/leases4.csv*
  PG_RUN=0
  if [[ $1 == zt-pg* ]]; then
    PG_RUN=1
    psql_ "SELECT 1 FROM pg_tables WHERE tablename = 'lease4'" | grep -q 1 &&
      psql_ "TRUNCATE lease4, lease6, address_claim"
  fi
  case $1 in
    null) "${SERVER_CPU[@]}" ip netns exec "$srv" target/release/zerotouch-null-responder 198.18.0.1 >"$work/null.log" 2>&1 & ;;
    zerotouch) zt "$srv" "$work/zerotouch.toml" "$work/zerotouch.log" ;;
    zt-pg) zt "$srv" "$work/pg-a.toml" "$work/zt-pg.log" ;;
    zt-pg2)
      zt "$srvb" "$work/pg-b.toml" "$work/zt-pg2-b.log"
      server_pid2=$!
      sleep 0.5
      zt "$srv" "$work/pg-a.toml" "$work/zt-pg2.log" ;;
    kea) "${SERVER_CPU[@]}" ip netns exec "$srv" kea-dhcp4 -c "$work/kea4.json" >"$work/kea.out" 2>&1 & ;;
  esac
  started "$1"
  # The PostgreSQL servers claim their first address blocks before they serve.
  if [[ $1 == zt-pg* ]]; then sleep 0.5; fi
}

PERF_ARGS="-4 -g ${PERF_THREADS:-single}"
sweep
report "zerotouch zt-pg zt-pg2"
for z in zt-pg zt-pg2; do
  if [[ -n ${BEST[$z]:-} && -n ${BEST[zerotouch]:-} && ${BEST[zerotouch]} != 0 ]]; then
    awk -v a="${BEST[$z]}" -v b="${BEST[zerotouch]}" -v name="$z" 'BEGIN{printf "%s best rate / zerotouch (embedded) best rate: %.2f\n", name, a/b}'
  fi
done
