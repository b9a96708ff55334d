//! The `dns` plugin answers `dig` from another namespace, over UDP and TCP:
//! `_sztp._tcp` SRV with its target's addresses in the additional section, a device's
//! TXT record (too large for UDP: truncated there, whole over TCP), DNS-SD browsing,
//! NXDOMAIN with the SOA, REFUSED outside its zones, and records that follow a SIGHUP.

use std::time::Duration;

use zerotouch_tests::{Lab, require_tools};

/// `dig` in the client's namespace, asking the server: its output.
fn dig(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec![
        "dig",
        "@198.18.0.1",
        "-p",
        "5353",
        "+time=2",
        "+tries=1",
        "+norec",
    ];
    all.extend_from_slice(args);
    let (code, out) = lab.run(&lab.cli(), &all, Duration::from_secs(10));
    assert_eq!(code, 0, "dig {args:?}: {out}");
    out
}

/// `text` with every run of white space one space: dig aligns its columns with tabs.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn dig_gets_the_sztp_records_over_udp_and_tcp() {
    require_tools(&["ip", "dig"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    // A device's conveyed information: 5000 octets, past any UDP answer dig accepts.
    let ci: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(lab.path("sn-0001.ci"), &ci).unwrap();
    std::fs::write(lab.path("sn-0002.ci"), b"redirect").unwrap();
    let zone = |port: u16| {
        format!(
            r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5353"]
[[plugin.settings.zone]]
name = "sztp.example"
ttl = "10m"
nameservers = [{{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }}]
[[plugin.settings.zone.bootstrap_server]]
target = "bs1.sztp.example"
port = {port}
addresses = ["198.18.0.1", "2001:db8::1"]
[[plugin.settings.zone.device]]
serial = "sn-0001"
conveyed_information = "sn-0001.ci"
[[plugin.settings.zone.device]]
serial = "sn-0002"
conveyed_information = "sn-0002.ci"
"#
        )
    };
    let cfg = lab.basic_config("", "", &zone(8443));
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");

    let srv = words(&dig(&lab, &["_sztp._tcp.sztp.example", "SRV"]));
    assert!(srv.contains("status: NOERROR"), "{srv}");
    assert!(srv.contains("flags: qr aa"), "authoritative: {srv}");
    assert!(
        srv.contains("_sztp._tcp.sztp.example. 600 IN SRV 0 0 8443 bs1.sztp.example."),
        "{srv}"
    );
    assert!(srv.contains("ADDITIONAL SECTION: bs1.sztp.example. 600 IN A 198.18.0.1 bs1.sztp.example. 600 IN AAAA 2001:db8::1"), "{srv}");

    // DNS-SD browsing (RFC 6763): the service type, then its instance with the
    // instance's SRV and TXT and the target's addresses in the same answer.
    let types = dig(
        &lab,
        &["+short", "_services._dns-sd._udp.sztp.example", "PTR"],
    );
    assert_eq!(types.trim(), "_sztp._tcp.sztp.example.");
    let browse = words(&dig(&lab, &["_sztp._tcp.sztp.example", "PTR"]));
    assert!(
        browse.contains(
            "ANSWER SECTION: _sztp._tcp.sztp.example. 600 IN PTR bs1._sztp._tcp.sztp.example."
        ),
        "{browse}"
    );
    for additional in [
        "bs1._sztp._tcp.sztp.example. 600 IN SRV 0 0 8443 bs1.sztp.example.",
        "bs1._sztp._tcp.sztp.example. 600 IN TXT \"\"",
        "bs1.sztp.example. 600 IN A 198.18.0.1",
    ] {
        assert!(browse.contains(additional), "{additional}: {browse}");
    }

    let small = dig(&lab, &["+short", "sn-0002._sztp.sztp.example", "TXT"]);
    assert_eq!(small.trim(), "\"ci=redirect\"");

    // Over UDP the 5 KB record does not fit: truncated, and dig says so.
    let udp = dig(
        &lab,
        &[
            "+ignore",
            "+bufsize=1232",
            "sn-0001._sztp.sztp.example",
            "TXT",
        ],
    );
    assert!(udp.contains("flags: qr aa tc"), "{udp}");
    // Over TCP it comes whole: the strings joined are `ci=` and the file.
    let tcp = dig(
        &lab,
        &["+tcp", "+short", "sn-0001._sztp.sztp.example", "TXT"],
    );
    let joined: String = tcp
        .trim()
        .split("\" \"")
        .map(|s| s.trim_matches('"'))
        .collect();
    assert_eq!(joined.len(), 3 + ci.len(), "{tcp}");
    assert_eq!(joined.as_bytes(), [&b"ci="[..], &ci].concat());
    assert!(
        tcp.trim()
            .split("\" \"")
            .all(|s| s.trim_matches('"').len() <= 255)
    );

    let nx = words(&dig(&lab, &["nope.sztp.example", "A"]));
    assert!(
        nx.contains("status: NXDOMAIN") && nx.contains("flags: qr aa"),
        "{nx}"
    );
    assert!(
        nx.contains(
            "AUTHORITY SECTION: sztp.example. 600 IN SOA ns1.sztp.example. hostmaster.sztp.example."
        ),
        "{nx}"
    );
    let refused = dig(&lab, &["example.org", "A"]);
    assert!(refused.contains("status: REFUSED"), "{refused}");

    // SIGHUP: the zone follows the file.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("port = 8443", "port = 9443"),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    server.wait_for_log("dns: zones reloaded", Duration::from_secs(10));
    let srv = dig(&lab, &["+short", "_sztp._tcp.sztp.example", "SRV"]);
    assert_eq!(srv.trim(), "0 0 9443 bs1.sztp.example.");
}
