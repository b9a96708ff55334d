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

/// A busybox udhcpc script that configures the address and records each event with
/// `vars` (`"ip=$ip opt224=$opt224"`) to `<log>` beside it.
pub(crate) fn udhcpc_recording(vars: &str, log: &str) -> String {
    format!(
        r#"#!/bin/sh
echo "$1 {vars}" >> "$(dirname "$0")/{log}"
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
esac
exit 0
"#
    )
}

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

/// `zerotouchctl` with `args` and `stdin`: what it printed; it must succeed.
pub(crate) fn zerotouchctl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(zerotouch_tests::binary("zerotouchctl"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("zerotouchctl");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "zerotouchctl {args:?}: {text}");
    text
}

/// `openssl cms -verify` of the DER CMS `der` against the CA file `ca` (the artifact
/// written to the lab's folder as `<name>.der`): the signed content.
pub(crate) fn openssl_cms_verify(
    lab: &zerotouch_tests::Lab,
    der: &[u8],
    ca: &Path,
    name: &str,
) -> Vec<u8> {
    let input = lab.path(&format!("{name}.der"));
    std::fs::write(&input, der).unwrap();
    let out = lab.path(&format!("{name}.content"));
    let o = std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-inform", "DER", "-binary", "-purpose", "any", "-in",
        ])
        .arg(&input)
        .arg("-CAfile")
        .arg(ca)
        .arg("-out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && stderr.contains("Verification successful"),
        "openssl cms -verify {name}: {stderr}"
    );
    std::fs::read(out).unwrap()
}

/// `zerotouchctl pki lab` in `dir`: a lab PKI with the TLS certificate for
/// `server_name` and an IDevID and voucher for each of `devices`.
pub(crate) fn pki_lab(dir: &Path, server_name: &str, devices: &[&str]) {
    let dir = dir.to_str().expect("a UTF-8 path");
    let mut args = vec!["pki", "lab", "--dir", dir, "--server-name", server_name];
    for d in devices {
        args.extend(["--device", d]);
    }
    zerotouchctl(&args, None);
}

/// The `bootstrap` plugin on 198.18.0.1:8443 signing with the lab PKI in `pki/`
/// (`pki_lab`): its server certificate, the manufacturer's CA for the devices' IDevIDs,
/// the owner's certificate and key, and the vouchers; reports in `bootstrap.sqlite`.
/// `tables` follows: its devices and responses.
#[allow(dead_code)]
pub(crate) fn signing_bootstrap_plugin(tables: &str) -> String {
    bootstrap_plugin("bootstrap", "198.18.0.1:8443", true, "", tables)
}

/// The `bootstrap` plugin instance `instance` on `listen` with the lab PKI in
/// `pki/`, signing with the owner's key or not, reports in `<instance>.sqlite`, more
/// `settings` (keys), then `tables`.
#[allow(dead_code)]
pub(crate) fn bootstrap_plugin(
    instance: &str,
    listen: &str,
    signing: bool,
    settings: &str,
    tables: &str,
) -> String {
    let signing = if signing {
        "[plugin.settings.signing]\nowner_certificate = \"pki/owner.pem\"\nowner_key = \"pki/owner.key\"\nvouchers_dir = \"pki/vouchers\"\n"
    } else {
        ""
    };
    format!(
        r#"
[[plugin]]
name = "bootstrap"
instance = "{instance}"
[plugin.settings]
listen = ["{listen}"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
reports_database = "{instance}.sqlite"
{settings}
{signing}{tables}"#
    )
}

/// ISC dhclient -4 in the foreground on the client's interface of `lab`, with `conf` as
/// its configuration, `DHCLIENT_SCRIPT`, and its lease file `dhclient.leases` in the
/// lab's folder: the running client and the lease file.
pub(crate) fn dhclient4(
    lab: &zerotouch_tests::Lab,
    conf: &str,
) -> (zerotouch_tests::Daemon, std::path::PathBuf) {
    let conf = lab.write("dhclient.conf", conf);
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT_SCRIPT);
    let (lf, pf) = (lab.path("dhclient.leases"), lab.path("dhclient.pid"));
    let client = zerotouch_tests::Daemon::spawn(
        "dhclient",
        &lab.cli(),
        &[
            "dhclient",
            "-4",
            "-d",
            "-v",
            "-cf",
            conf.to_str().expect("utf-8 path"),
            "-sf",
            &script,
            "-lf",
            lf.to_str().expect("utf-8 path"),
            "-pf",
            pf.to_str().expect("utf-8 path"),
            &lab.ifname("c"),
        ],
        &lab.path("dhclient.log"),
    );
    (client, lf)
}
