//! The `sztp` plugin with real clients: ISC dhclient configured with
//! `option sztp-redirect code 143 = string;` and busybox udhcpc with `-O 143` each store
//! the exact option 143 bytes the configuration describes; `zerotouch-dhcpd sztp`
//! encodes and decodes payloads.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::write_script;
use zerotouch_tests::{Daemon, Lab, binary, check_config, require_tools};

/// RFC 8572 §8.3 list of the two URIs below, as hex.
const PAYLOAD_HEX: &str = "001968747470733a2f2f737a7470312e6578616d706c652e636f6d\
001a68747470733a2f2f5b323030313a6462383a3a355d3a38343433";

fn config(lab: &Lab) -> std::path::PathBuf {
    lab.basic_config(
        "",
        "[dhcp4.subnet.plugin.sztp]\nuris = [\"https://sztp1.example.com\", \"https://[2001:db8::5]:8443\"]",
        "\n[[plugin]]\nname = \"sztp\"\n",
    )
}

#[test]
fn udhcpc_asking_for_143_stores_the_exact_list() {
    require_tools(&["ip", "udhcpc"]);
    let lab = Lab::two_hosts();
    let _server = lab.start_dhcpd(&config(&lab), "server.log");
    let script = write_script(
        lab.dir.path(),
        "udhcpc-script",
        "#!/bin/sh\necho \"$1 opt143=$opt143\" >> \"$(dirname \"$0\")/events.log\"\nexit 0\n",
    );
    let ifc = lab.ifname("c");
    let mut c = Daemon::spawn(
        "udhcpc",
        &lab.cli(),
        &[
            "udhcpc", "-f", "-q", "-n", "-t", "3", "-T", "1", "-O", "143", "-i", &ifc, "-s",
            &script,
        ],
        &lab.path("udhcpc.log"),
    );
    assert_eq!(
        c.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        c.log_text()
    );
    let events = std::fs::read_to_string(lab.path("events.log")).unwrap_or_default();
    assert!(
        events.contains(&format!("bound opt143={PAYLOAD_HEX}")),
        "{events}"
    );
}

#[test]
fn dhclient_with_a_string_option_143_stores_the_exact_list() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts();
    let _server = lab.start_dhcpd(&config(&lab), "server.log");
    let (mut client, lf) = common::dhclient4(
        &lab,
        "option sztp-redirect code 143 = string;\nrequest subnet-mask, routers, sztp-redirect;\n",
    );
    // dhclient writes a string option with octets it cannot print as colon-separated hex.
    let expected: Vec<String> = hex::decode(PAYLOAD_HEX)
        .unwrap()
        .iter()
        .map(|b| format!("{b:x}"))
        .collect();
    let expected = format!("option sztp-redirect {};", expected.join(":"));
    let start = Instant::now();
    loop {
        let leases = std::fs::read_to_string(&lf).unwrap_or_default();
        if leases.contains(&expected) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "lease file:\n{leases}\nexpected {expected}\n{}",
            client.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    client.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

#[test]
fn the_sztp_tool_encodes_and_decodes() {
    let out = Command::new(binary("zerotouch-dhcpd"))
        .args([
            "sztp",
            "encode",
            "https://sztp1.example.com",
            "https://[2001:db8::5]:8443",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("payload (55 octets): {PAYLOAD_HEX}")),
        "{text}"
    );
    let out = Command::new(binary("zerotouch-dhcpd"))
        .args(["sztp", "decode", PAYLOAD_HEX])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("1: https://[2001:db8::5]:8443  (host [2001:db8::5], port 8443)")
    );
    let out = Command::new(binary("zerotouch-dhcpd"))
        .args(["sztp", "encode", "https://bs.example/restconf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has a path"));
}

#[test]
fn check_reports_bad_uris_by_line_and_warns_about_option_67() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dhcpd.toml");
    let base = r#"[dhcp4]
interfaces = ["eth0"]

[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
options = { bootfile-name = "boot.py" }
plugin.sztp = { uris = ["https://bs.example"] }

[[dhcp4.class]]
name = "opi"
match = { option = 60, exact = "OPI" }
[dhcp4.class.plugin.sztp]
uris = ["https://bs.example:8080/restconf"]

[[plugin]]
name = "sztp"
"#;
    std::fs::write(&cfg, base).unwrap();
    let check = || {
        let out = check_config("zerotouch-dhcpd", &cfg);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check();
    assert_eq!(code, Some(1), "{err}");
    let f = cfg.display();
    assert!(
        err.contains(&format!("{f}:13:9: dhcp4.class[0].plugin.sztp.uris[0]: sztp: \"https://bs.example:8080/restconf\" has a path")),
        "{err}"
    );
    std::fs::write(&cfg, base.replace("/restconf", "")).unwrap();
    let (code, err) = check();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("warning: {f}:7:15: dhcp4.subnet[0].plugin.sztp: sztp: this scope also sets a boot file name")),
        "{err}"
    );
}

/// dhclient -6 with option 136 declared: asked for in the ORO, the REPLY carries the
/// exact list; not asked for, it does not.
#[test]
fn dhclient_6_gets_option_136_only_when_its_oro_asks_for_it() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6(
        "[dhcp6.plugin.sztp]\nuris = [\"https://sztp1.example.com\", \"https://[2001:db8::5]:8443\"]",
        "\n[[plugin]]\nname = \"sztp\"\n",
    );
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let expected: Vec<String> = hex::decode(PAYLOAD_HEX)
        .unwrap()
        .iter()
        .map(|b| format!("{b:x}"))
        .collect();
    let expected = format!("option dhcp6.sztp-redirect {};", expected.join(":"));
    for (n, request) in [(1, true), (2, false)] {
        let mut conf = "option dhcp6.sztp-redirect code 136 = string;\n".to_string();
        if request {
            conf.push_str("also request dhcp6.sztp-redirect;\n");
        }
        let (code, out, leases) = lab.dhclient6_once(&format!("dhclient6-{n}"), &conf, &[]);
        assert_eq!(code, 0, "{out}\n{}", server.log_text());
        assert_eq!(
            leases.contains(&expected),
            request,
            "asked for 136: {request}; lease file:\n{leases}"
        );
    }
}
