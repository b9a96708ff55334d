#!/usr/bin/env bash
# Installs what the tests need and runs every test: formatting, lints, unit tests,
# integration tests with real clients in network namespaces, and the lab script.
# Needs root (network namespaces). Safe to run twice in a row.
#
# usage: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Test peers from Debian, installed without starting their system services: the
# tests start each peer themselves, with their own configuration.
packages=(iproute2 isc-dhcp-client isc-dhcp-relay isc-dhcp-server udhcpc kea-admin kea-dhcp4-server kea-dhcp6-server tcpdump sqlite3 procps gcc libc6-dev curl openssl bind9-dnsutils avahi-daemon avahi-utils dbus-daemon rsyslog rsyslog-relp rsyslog-gnutls postgresql)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done

# Logs of this run live here and go with it: nothing is left in /tmp.
work=$(mktemp -d /tmp/zerotouch-test.XXXXXX)
# An operator's own policy-rc.d (if any) is put back as it was.
saved_policy=""
restore_policy() {
  if [[ -n "$saved_policy" ]]; then mv -f "$saved_policy" /usr/sbin/policy-rc.d; saved_policy=""
  elif [[ -e "$work/policy-ours" ]]; then rm -f /usr/sbin/policy-rc.d "$work/policy-ours"; fi
}
trap 'restore_policy; rm -rf "$work"' EXIT

if (( ${#missing[@]} )); then
  apt-get update -qq
  # policy-rc.d exit 101: the packages' services are not started (the tests start
  # each peer themselves, with their own configuration, and end it by PID).
  if [[ -e /usr/sbin/policy-rc.d ]]; then saved_policy="$work/policy-rc.d.saved"; cp -p /usr/sbin/policy-rc.d "$saved_policy"; fi
  : > "$work/policy-ours"
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  # --no-remove: never take away a package of the host (another syslog daemon, say)
  # to make room for a test peer; the install stops instead, and says why.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}" >/dev/null
  restore_policy
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --quiet --workspace --all-targets -- -D warnings
echo "== no aws-lc-rs in the dependency tree (rustls uses ring)"
if cargo tree --workspace -i aws-lc-rs >/dev/null 2>&1; then echo "aws-lc-rs is in the tree" >&2; exit 1; fi
echo "== the server builds without its built-in plugins (cargo features)"
cargo check --quiet -p zerotouch-dhcpd --no-default-features
echo "== build"
cargo build --quiet --workspace --all-targets
echo "== tests"
log="$work/test.log"
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" | grep -E "^(test result|running|test .*FAILED|failures:|---- )" || true
grep -q "test result: FAILED" "$log" && { echo "tests failed; the failures:" >&2; sed -n '/^failures:/,/^test result/p' "$log" >&2; exit 1; }
grep -q "^error" "$log" && { grep -A20 "^error" "$log" >&2; exit 1; }
echo "== lab script (the README's first command, with every failure case)"
scripts/lab.sh --fail all > "$work/lab.log" 2>&1 || { cat "$work/lab.log" >&2; exit 1; }
grep -q "every device went as expected" "$work/lab.log" || { cat "$work/lab.log" >&2; echo "lab: a device went otherwise than expected" >&2; exit 1; }
passed=$(grep -h "^test result" "$log" | awk '{s+=$4} END{print s+0}')
failed=$(grep -h "^test result" "$log" | awk '{s+=$6} END{print s+0}')
echo "lab: passed"
echo "$passed passed, $failed failed"
