# Shared by the benchmarks (sourced, not run): where the server and the load generator
# run, the server process and its CPU time, medians, and two network namespaces joined
# by a veth pair. The caller sets srv, cli, p (a unique prefix) and work (a temporary
# folder, removed at exit).

# The load generator and the server under test each get one of the machine's two cores
# (PIN=0: both float), as if they ran on two machines: unpinned, the server's threads,
# the load generator and the kernel's work for both share two cores, and the results
# measure the scheduler's choices as much as the server. Servers start through
# SERVER_CPU, load generators through CLIENT_CPU.
if [[ ${PIN:-1} == 1 ]]; then
  SERVER_CPU=(taskset -c 1); CLIENT_CPU=(taskset -c 0)
else
  SERVER_CPU=(); CLIENT_CPU=()
fi

server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
cleanup() {
  stop_server
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The server's CPU time so far (user + system, all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# Namespaces $srv and $cli joined by ${p}s (in $srv) and ${p}c (in $cli), up, with
# IPv4 addresses SERVER/PREFIX and CLIENT/PREFIX when given.
two_hosts() {
  ip netns add "$srv"; ip netns add "$cli"
  ip link add "${p}s" type veth peer name "${p}c"
  ip link set "${p}s" netns "$srv"; ip link set "${p}c" netns "$cli"
  for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
  if [[ $# == 3 ]]; then
    ip -n "$srv" addr add "$1/$3" dev "${p}s"; ip -n "$cli" addr add "$2/$3" dev "${p}c"
  fi
  ip -n "$srv" link set "${p}s" up; ip -n "$cli" link set "${p}c" up
}

# The head of a zerotouch-dhcpd configuration that serves only plugin $1: the lease
# database in $work, warnings only, and the plugin's settings table opened (the caller
# writes its keys after it).
plugin_config() {
  cat <<TOML
[leases]
database = "$work/leases.sqlite"
[log]
level = "warn"

[[plugin]]
name = "$1"
[plugin.settings]
TOML
}

# Kea's DHCPv4 configuration for the pool and options of bench/zerotouch.toml, serving
# interface $1 (memfile in $work, warnings only), on standard output.
kea4_config() {
  cat <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["$1"]},
  "lease-database": {"type": "memfile", "persist": true, "name": "$work/leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 4000,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}],
    "option-data": [{"name": "routers", "data": "198.18.0.1"},
                    {"code": 143, "data": "001c68747470733a2f2f6273312e6578616d706c652e636f6d3a38303830", "csv-format": false}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "$work/kea4.log"}]}]}}
JSON
}
