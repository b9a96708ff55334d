#!/usr/bin/env bash
# Fleet bootstrap time (docs/performance.md#sztp-fleet-bootstrap): the SZTP lab
# (docs/lab.md) with 50, 200 and 1000 devices bootstrapping at once through relay, DHCP,
# DNS, two bootstrap servers, a certificate request each and syslog; three runs of each
# size (one of 1000), release builds. Prints each run's summary: the fleet's wall time,
# each device's time at the percentiles split into address and agent, and the CPU
# seconds of the agents and of each service.
#
# usage: sudo bench/fleet.sh [SIZE...]     (default: 50 200 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
(( ${#sizes[@]} )) || sizes=(50 200 1000)
echo "== building (release)" >&2
cargo build --release -p zerotouch-dhcpd -p zerotouch-relay -p zerotouch-agent -p zerotouch-lab 2>&1 \
  | grep --line-buffered -E "^ *(Compiling|Finished)|^error|^ *-->" >&2
echo "== $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
for n in "${sizes[@]}"; do
  runs=3; (( n >= 1000 )) && runs=1
  for r in $(seq "$runs"); do
    echo "== $n devices, run $r of $runs"
    target/release/zerotouch-lab --devices "$n" | sed -n '/^== [0-9]* device(s), /,$p'
  done
done
