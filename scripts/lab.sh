#!/usr/bin/env bash
# The SZTP lab (docs/lab.md): a provisioning network in network namespaces — a device
# segment, a segment router running zerotouch-relay, a server running zerotouch-dhcpd
# with the sztp, dns, syslog and bootstrap plugins, and an rsyslog collector — and
# devices that bootstrap through it (zerotouch-agent), each step shown as a timeline.
# Needs root; installs isc-dhcp-client and rsyslog (without starting rsyslog's service)
# if they are missing; removes everything it made when it ends, also on Ctrl-C.
#
# usage: sudo scripts/lab.sh [--devices N] [--fail CASE|all] [--timeline] [--json]
#        (scripts/lab.sh --help for every option)
set -euo pipefail
cd "$(dirname "$0")/.."

# --help changes nothing: no install, no build.
for a in "$@"; do
  case $a in -h|--help)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    if [[ -x target/release/zerotouch-lab ]]; then echo; target/release/zerotouch-lab --help; fi
    exit 0 ;;
  esac
done

missing=()
command -v dhclient >/dev/null || missing+=(isc-dhcp-client)
command -v rsyslogd >/dev/null || missing+=(rsyslog)
command -v ip >/dev/null || missing+=(iproute2)
if (( ${#missing[@]} )); then
  echo "== installing ${missing[*]} from Debian (services not started)"
  apt-get update -qq
  # policy-rc.d exit 101: rsyslog's system service is not started; the lab starts its
  # own rsyslogd with its own configuration. An operator's own policy-rc.d is kept.
  policy=/usr/sbin/policy-rc.d; saved=""
  if [[ -e $policy ]]; then saved=$(mktemp); cp -p "$policy" "$saved"; fi
  trap 'if [[ -n $saved ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi' EXIT
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}" >/dev/null
  if [[ -n $saved ]]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
  trap - EXIT
fi

# A first release build takes several minutes on a small machine: cargo shows its
# progress (one line a crate) rather than nothing. pipefail: a failed build fails the
# lab, with cargo's error lines shown.
echo "== building zerotouch-dhcpd, zerotouch-relay, zerotouch-agent and zerotouch-lab (release; the first build takes a few minutes)" >&2
cargo build --release -p zerotouch-dhcpd -p zerotouch-relay -p zerotouch-agent -p zerotouch-lab 2>&1 \
  | grep --line-buffered -E "^ *(Compiling|Finished)|^error|^ *-->" >&2

exec target/release/zerotouch-lab "$@"
