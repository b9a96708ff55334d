//! Pieces shared by the integration test files.
#![allow(dead_code)]

use std::path::Path;

/// A dhclient script that only configures the interface (the stock one would rewrite
/// the host's /etc/resolv.conf) and records each event with its variables.
pub(crate) const DHCLIENT_SCRIPT: &str = r#"#!/bin/sh
echo "$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers dns=$new_domain_name_servers lease=$new_dhcp_lease_time" >> "$(dirname "$0")/dhclient-events.log"
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ "$old_ip_address" != "$new_ip_address" ]; then ip -4 addr flush dev "$interface"; fi
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    if [ -n "$new_routers" ]; then ip route replace default via "${new_routers%% *}" dev "$interface"; fi ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"#;

/// The same for busybox udhcpc.
pub(crate) const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns lease=$lease" >> "$(dirname "$0")/udhcpc-events.log"
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr replace "$ip/$subnet" dev "$interface"
    if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi ;;
esac
exit 0
"#;

pub(crate) fn write_script(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p.to_string_lossy().into_owned()
}
