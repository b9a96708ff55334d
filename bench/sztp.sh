#!/usr/bin/env bash
# Embedded SZTP bootstrap server benchmark: get-bootstrapping-data requests per second
# from zerotouch-sztp-load (C concurrent clients, rustls) in a second network namespace,
# with a full mutual-TLS handshake per request (resumption off: each device connects
# once) and over kept-alive connections; unsigned onboarding information, and signed
# (owner signature + voucher + owner certificate) for devices that prefer signed data.
# Also reports the server's CPU time (user + system, /proc/PID/stat) per request.
#
# usage: sudo bench/sztp.sh   env: SECS (10), CLIENTS (32), REPEAT (3),
#        ONLY (a regular expression: run only the modes whose label matches),
#        SERVER_BIN (another zerotouch-dhcpd build to measure, for A/B comparisons)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
CLIENTS=${CLIENTS:-32}
REPEAT=${REPEAT:-3}
p=ztz$$
work=$(mktemp -d)
srv="${p}srv"; cli="${p}cli"
source bench/common.sh

cargo build --release --quiet --bin zerotouch-dhcpd --bin zerotouchctl --bin zerotouch-sztp-load
two_hosts 198.18.0.1 198.18.0.2 24

target/release/zerotouchctl pki lab --dir "$work/pki" --server-name 198.18.0.1 --device SN-1 --device SN-2 >/dev/null
# SN-2 also has a secret (HTTP Basic), hashed as in production (PBKDF2, 100 000 iterations).
secret=$(printf 's3cret\n' | target/release/zerotouchctl hash-secret)
mkdir -p "$work/files"
head -c 2048 /dev/urandom | base64 > "$work/files/config.txt"
cat > "$work/dhcpd.toml" <<TOML
[leases]
database = "$work/leases.sqlite"
[log]
level = "warn"
[dhcp4]
interfaces = ["${p}s"]
[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
[[dhcp4.subnet.pool]]
range = "198.18.0.100 - 198.18.0.150"

[[plugin]]
name = "bootstrap"
[plugin.settings]
listen = ["198.18.0.1:8443"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
reports_database = "bootstrap.sqlite"
[plugin.settings.signing]
owner_certificate = "pki/owner.pem"
owner_key = "pki/owner.key"
vouchers_dir = "pki/vouchers"
[[plugin.settings.device]]
serial = "SN-1"
[[plugin.settings.device]]
serial = "SN-2"
secret = "$secret"
[[plugin.settings.response]]
name = "onboard"
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "files/config.txt"
[plugin.settings.response.onboarding.boot_image]
os_name = "acme-os"
os_version = "2.1"
download_uri = ["https://198.18.0.1:8443/images/acme-os-2.1.img"]
sha256 = "$(printf 'ab%.0s' {1..32})"

# The same device on an instance without a limit on failed authentications: every wrong
# secret pays PBKDF2, as every Basic request did before verified secrets were remembered.
[[plugin]]
name = "bootstrap"
instance = "unlimited"
[plugin.settings]
listen = ["198.18.0.1:8444"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
reports_database = "unlimited.sqlite"
auth_failures_per_minute = 0
[[plugin.settings.device]]
serial = "SN-2"
secret = "$secret"
response = "onboard"
[[plugin.settings.response]]
name = "onboard"
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "files/config.txt"
TOML
ip netns exec "$srv" "${SERVER_BIN:-target/release/zerotouch-dhcpd}" --config "$work/dhcpd.toml" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do ip netns exec "$srv" ss -ltn | grep -q ':8443' && break; sleep 0.1; done
hz=$(getconf CLK_TCK)

run() { # label, extra flags
  [[ -n ${ONLY:-} && ! $1 =~ $ONLY ]] && return 0
  local rates=() cpus=()
  for _ in $(seq "$REPEAT"); do
    local t0 out n t1
    t0=$(cpu_ticks)
    out=$(ip netns exec "$cli" target/release/zerotouch-sztp-load --server "${SERVER:-198.18.0.1:8443}" \
      --ca "$work/pki/server-ca.pem" --cert "$work/pki/devices/${DEVICE:-SN-1}.pem" --key "$work/pki/devices/${DEVICE:-SN-1}.key" \
      --clients "$CLIENTS" --seconds "$SECS" "${@:2}")
    t1=$(cpu_ticks)
    n=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")
    grep -q 'failed=0 ' <<<"$out" || echo "  $1: $out" >&2
    rates+=("$(sed -E 's/.*rate=([0-9]+).*/\1/' <<<"$out")")
    cpus+=("$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$hz" 'BEGIN{printf "%.0f", n ? d / hz * 1e6 / n : 0}')")
  done
  local rate cpu
  rate=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%-34s %8s req/s %8s us CPU/request   (runs: %s)\n' "$1" "$rate" "$cpu" "${rates[*]}"
}

echo "clients=$CLIENTS seconds=$SECS repeat=$REPEAT (medians)"
run "keep-alive, unsigned"
run "keep-alive, signed"                 --signed
run "new connection, unsigned"           --new-connection
run "new connection, signed"             --new-connection --signed
# HTTP Basic (device SN-2): its secret is checked with PBKDF2 once, then remembered.
DEVICE=SN-2 run "keep-alive, certificate + secret"    --basic SN-2:s3cret
DEVICE=SN-2 run "new connection, certificate + secret" --new-connection --basic SN-2:s3cret
# Wrong secrets: without a limit each one pays PBKDF2 (what every Basic request cost
# before secrets were remembered); with the default limit (10 a minute per address; the
# first 10 get 401, counted as failed) answered 429 at once. Last: the limit then holds
# this address for a minute.
SERVER=198.18.0.1:8444 DEVICE=SN-2 run "keep-alive, wrong secret, no limit" --basic SN-2:wrong --expect 401
DEVICE=SN-2 run "keep-alive, wrong secret, limited"   --basic SN-2:wrong --expect 429
