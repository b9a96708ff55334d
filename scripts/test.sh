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
packages=(iproute2 isc-dhcp-client isc-dhcp-relay isc-dhcp-server udhcpc kea-admin kea-dhcp4-server kea-dhcp6-server tcpdump sqlite3 procps gcc libc6-dev curl openssl)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if (( ${#missing[@]} )); then
  apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# Debian's packages may have started a server anyway (or a previous run left one):
# nothing but the tests' own may hold the DHCP ports.
pkill -x kea-dhcp4 2>/dev/null || true
pkill -x kea-dhcp6 2>/dev/null || true
pkill -x dhcpd 2>/dev/null || true
pkill -x dhcrelay 2>/dev/null || true

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
cargo test --workspace 2>&1 | tee /tmp/zerotouch-test.log | grep -E "^(test result|running|test .*FAILED|failures:|---- )" || true
grep -q "test result: FAILED" /tmp/zerotouch-test.log && { echo "tests failed; full output in /tmp/zerotouch-test.log" >&2; exit 1; }
grep -q "^error" /tmp/zerotouch-test.log && { grep -A20 "^error" /tmp/zerotouch-test.log >&2; exit 1; }
echo "== lab script"
scripts/lab.sh > /tmp/zerotouch-lab.log 2>&1 || { cat /tmp/zerotouch-lab.log >&2; exit 1; }
grep -q "bound to 198.18.0.1" /tmp/zerotouch-lab.log || { cat /tmp/zerotouch-lab.log >&2; echo "lab: no lease" >&2; exit 1; }
passed=$(grep -h "^test result" /tmp/zerotouch-test.log | awk '{s+=$4} END{print s+0}')
failed=$(grep -h "^test result" /tmp/zerotouch-test.log | awk '{s+=$6} END{print s+0}')
echo "lab: passed"
echo "$passed passed, $failed failed"
