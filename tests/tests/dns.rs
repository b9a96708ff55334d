//! The `dns` plugin answers `dig` from another namespace, over UDP and TCP:
//! `_sztp._tcp` SRV with its target's addresses in the additional section, a device's
//! TXT record (too large for UDP: truncated there, whole over TCP), DNS-SD browsing,
//! NXDOMAIN with the SOA, REFUSED outside its zones, and records that follow a SIGHUP;
//! leased clients' names; rate limiting; malformed input counted by reason.

mod common;

use std::time::Duration;

use common::{UDHCPC_SCRIPT, write_script};
use zerotouch_tests::{Daemon, Lab, leases, require_tools};

/// `dig` in the client's namespace, asking the server: its output.
fn dig(lab: &Lab, args: &[&str]) -> String {
    dig_in(lab, &lab.cli(), args)
}

/// `dig` in namespace `ns`, asking the server: its output.
fn dig_in(lab: &Lab, ns: &str, args: &[&str]) -> String {
    dig_at(lab, ns, "198.18.0.1", args)
}

/// `dig` in namespace `ns`, asking `server` on port 5353: its output.
fn dig_at(lab: &Lab, ns: &str, server: &str, args: &[&str]) -> String {
    let at = format!("@{server}");
    let mut all = vec!["dig", &at, "-p", "5353", "+time=2", "+tries=1", "+norec"];
    all.extend_from_slice(args);
    let (code, out) = lab.run(ns, &all, Duration::from_secs(10));
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

/// A client that gets a lease with a host name (udhcpc sends option 12) has that name
/// in the lease zone, and its address's reverse name points back at it; after it
/// releases the lease, the name is gone. `advertise` tells it of this DNS server.
#[test]
fn a_leased_client_has_a_name_while_its_lease_lasts() {
    require_tools(&["ip", "dig", "udhcpc"]);
    let lab = Lab::two_hosts();
    let mac = "02:00:00:00:19:07";
    lab.set_mac(&lab.cli(), "c", mac);
    let dns = r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5353"]
[[plugin.settings.zone]]
name = "lan.example"
ttl = 60
lease_names = true
nameservers = [{ name = "ns1.lan.example", addresses = ["198.18.0.1"] }]
[[plugin.settings.zone]]
name = "0.18.198.in-addr.arpa"
nameservers = [{ name = "ns1.lan.example" }]
"#;
    // Every client of [dhcp4] is told of this DNS server and its domain.
    let cfg = lab.basic_config("plugin.dns = { advertise = true }", "", dns);
    let server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");
    // Asked from the server's namespace: the client's address is the lease itself.
    let ask = |args: &[&str]| dig_in(&lab, &lab.srv(), args);
    assert!(ask(&["dev7.lan.example", "A"]).contains("status: NXDOMAIN"));

    let ifc = lab.ifname("c");
    // The script configures the address: the RELEASE leaves from it.
    let script = write_script(lab.dir.path(), "udhcpc-script", UDHCPC_SCRIPT);
    let mut client = Daemon::spawn(
        "udhcpc",
        &lab.cli(),
        &[
            "udhcpc",
            "-f",
            "-R",
            "-t",
            "5",
            "-T",
            "1",
            "-i",
            &ifc,
            "-s",
            &script,
            "-x",
            "hostname:dev7",
        ],
        &lab.path("udhcpc.log"),
    );
    let db = lab.path("leases.sqlite");
    let bound = leases::wait_for(&db, mac, Duration::from_secs(30), "active", |r| {
        r.state == "active"
    });
    // The name comes with the lease change, just after the commit.
    let start = std::time::Instant::now();
    let mut got = String::new();
    while start.elapsed() < Duration::from_secs(5) {
        got = ask(&["+short", "dev7.lan.example", "A"]);
        if got.trim() == bound.address {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(got.trim(), bound.address);
    // The client's script has configured the address (the RELEASE leaves from it).
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(lab.path("udhcpc-events.log"))
        .unwrap_or_default()
        .contains(&format!("bound ip={}", bound.address))
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the client's script never ran: {}\n{}",
            client.log_text(),
            std::fs::read_to_string(lab.path("udhcpc-events.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let events = std::fs::read_to_string(lab.path("udhcpc-events.log")).unwrap_or_default();
    assert!(
        events.contains("dns=198.18.0.1 "),
        "option 6 advertises this server: {events}"
    );
    let reverse = ask(&["+short", "-x", &bound.address]);
    assert_eq!(reverse.trim(), "dev7.lan.example.");

    // -R: udhcpc releases its lease when it exits, and the name goes with it.
    client.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let start = std::time::Instant::now();
    while leases::for_hw(&db, mac).is_none_or(|r| r.state != "released") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not released: {}\n{}",
            client.log_text(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let start = std::time::Instant::now();
    while !ask(&["dev7.lan.example", "A"]).contains("status: NXDOMAIN") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the name outlived its lease"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ask(&["-x", &bound.address]).contains("status: NXDOMAIN"));
}

/// A lab whose server serves `ns1.sztp.example` with `rate_limit`, and `more` plugins.
fn serving_ns1(rate_limit: &str, more: &str) -> (Lab, Daemon) {
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let dns = format!(
        r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5353"]
rate_limit = {rate_limit}
[[plugin.settings.zone]]
name = "sztp.example"
nameservers = [{{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }}]
{more}"#
    );
    let cfg = lab.basic_config("", "", &dns);
    let server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");
    (lab, server)
}

/// A DNS query for `name` (A, class IN) with transaction id `id`, in wire format.
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A flood of queries from one source over UDP gets its allowance of answers, every
/// second answer past it truncated (TC, so a real client retries over TCP) and the rest
/// dropped, counted; over TCP the same client is answered.
#[test]
fn a_flood_from_one_source_is_rate_limited_and_tcp_still_answers() {
    require_tools(&["ip", "dig"]);
    let (lab, mut server) = serving_ns1("{ responses_per_second = 20, slip = 2 }", "");
    let (answered, truncated) = lab.in_ns(&lab.cli(), || {
        let sock = std::net::UdpSocket::bind("198.18.0.2:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        for id in 0..200u16 {
            sock.send_to(&query(id, "ns1.sztp.example"), "198.18.0.1:5353")
                .unwrap();
        }
        let (mut answered, mut truncated) = (0, 0);
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            // The TC bit, and the answer count.
            let tc = n > 3 && buf[2] & 0x02 != 0;
            let ancount = u16::from_be_bytes([buf[6], buf[7]]);
            if tc {
                truncated += 1;
            } else if ancount > 0 {
                answered += 1;
            }
        }
        (answered, truncated)
    });
    assert!(
        (20..=40).contains(&answered),
        "{answered} answered, {truncated} truncated"
    );
    assert!(
        truncated >= 50,
        "{answered} answered, {truncated} truncated"
    );
    assert!(answered + truncated < 200, "some were dropped");
    let tcp = dig(&lab, &["+tcp", "+short", "ns1.sztp.example", "A"]);
    assert_eq!(tcp.trim(), "198.18.0.1");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let log = server.log_text();
    let stopped = log
        .lines()
        .find(|l| l.contains("dns: stopped"))
        .unwrap_or_default();
    assert!(
        stopped.contains("rate_limited_dropped=") && !stopped.contains("rate_limited_dropped=0"),
        "{log}"
    );
}

/// A message with header `flags` (QR, opcode ...), `questions` questions counted in the
/// header and `body` after it.
fn message(id: u16, flags: u16, questions: u16, body: &[u8]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&questions.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(body);
    m
}

/// The malformed messages of the storm, each with the counter it must raise and
/// whether it is answered (FORMERR) or dropped.
fn malformed() -> Vec<(&'static str, Vec<u8>, bool)> {
    let a_in = [0u8, 1, 0, 1];
    // A name that points at itself: a compression loop.
    let mut looped = vec![0xc0, 12];
    looped.extend_from_slice(&a_in);
    // A label length of 64 is no label type (the top bits 01 are reserved).
    let mut long_label = vec![64];
    long_label.extend_from_slice(&[b'a'; 64]);
    long_label.push(0);
    long_label.extend_from_slice(&a_in);
    // Five labels of 63 octets: 320 octets, over the 255 a name may have.
    let mut long_name = Vec::new();
    for _ in 0..5 {
        long_name.push(63);
        long_name.extend_from_slice(&[b'b'; 63]);
    }
    long_name.push(0);
    long_name.extend_from_slice(&a_in);
    // A name cut short.
    let cut = [4, b's', b'z'];
    let mut one = vec![3, b'n', b's', b'1', 4, b's', b'z', b't', b'p', 7];
    one.extend_from_slice(b"example");
    one.push(0);
    one.extend_from_slice(&a_in);
    let two = [one.clone(), one.clone()].concat();
    vec![
        ("bad_short_header", vec![0, 1, 0, 0, 0], false),
        ("bad_not_a_query", message(2, 0x8400, 1, &one), false),
        ("bad_compression_pointer", message(3, 0, 1, &looped), true),
        ("bad_label", message(4, 0, 1, &long_label), true),
        ("bad_name_too_long", message(5, 0, 1, &long_name), true),
        ("bad_truncated", message(6, 0, 1, &cut), true),
        ("bad_question_count", message(7, 0, 0, &[]), true),
        ("bad_question_count", message(8, 0, 2, &two), true),
    ]
}

/// A storm of malformed queries over UDP and TCP, and TCP clients that hold connections
/// (a frame longer than any query, a slow-loris client, more connections than allowed):
/// each is FORMERR or dropped and counted by its reason, and the server keeps answering.
#[test]
fn a_malformed_query_storm_is_counted_by_reason_and_the_server_keeps_answering() {
    require_tools(&["ip", "dig", "curl"]);
    let metrics = r#"
[[plugin]]
name = "metrics"
[plugin.settings]
listen = "127.0.0.1:9267"
"#;
    let (lab, mut server) = serving_ns1("{ responses_per_second = 0 }", metrics);
    const ROUNDS: usize = 50;
    let formerr = lab.in_ns(&lab.cli(), || {
        use std::io::{Read, Write};
        let sock = std::net::UdpSocket::bind("198.18.0.2:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut formerr = 0;
        let mut buf = [0u8; 1500];
        for _ in 0..ROUNDS {
            for (_, m, _) in malformed() {
                sock.send_to(&m, "198.18.0.1:5353").unwrap();
            }
            // Each round's answers read before the next, so no socket buffer overflows
            // on the way and every count is exact.
            while let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n >= 12 && buf[3] & 0x0f == 1 {
                    formerr += 1;
                }
            }
        }
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            if n >= 12 && buf[3] & 0x0f == 1 {
                formerr += 1;
            }
        }
        let server: std::net::SocketAddr = "198.18.0.1:5353".parse().unwrap();
        let connect = || std::net::TcpStream::connect(server).unwrap();
        // The same messages framed over one TCP connection: FORMERR or nothing, and
        // the connection stays open for the next.
        let mut tcp = connect();
        for (_, m, _) in malformed() {
            tcp.write_all(&(m.len() as u16).to_be_bytes()).unwrap();
            tcp.write_all(&m).unwrap();
        }
        // A frame longer than any query: the connection is closed.
        let mut big = connect();
        big.write_all(&[0xff, 0xff, 0, 1]).unwrap();
        big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            big.read(&mut buf).unwrap_or(0),
            0,
            "the oversize frame's connection stays open"
        );
        // A slow-loris client: half a frame, then nothing. Closed after the frame time.
        let mut slow = connect();
        slow.write_all(&[0, 40, 0, 9]).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(slow.read(&mut buf).unwrap_or(0), 0);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the slow client was held {:?}",
            started.elapsed()
        );
        // Sixteen connections from one address are allowed (the pipelining one is
        // still open): the seventeenth is closed.
        let held: Vec<_> = (0..15).map(|_| connect()).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut over = connect();
        over.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            over.read(&mut buf).unwrap_or(0),
            0,
            "a 17th connection was kept"
        );
        drop(held);
        // The pipelined malformed messages got their FORMERRs, in order.
        tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut ids = Vec::new();
        let mut len = [0u8; 2];
        while tcp.read_exact(&mut len).is_ok() {
            let mut answer = vec![0u8; u16::from_be_bytes(len).into()];
            tcp.read_exact(&mut answer).unwrap();
            assert_eq!(answer[3] & 0x0f, 1, "not FORMERR: {answer:?}");
            ids.push(u16::from_be_bytes([answer[0], answer[1]]));
        }
        assert_eq!(ids, [3, 4, 5, 6, 7, 8]);
        formerr
    });
    let answered = malformed().iter().filter(|(_, _, a)| *a).count();
    assert_eq!(formerr, ROUNDS * answered);
    // Still serving, over both transports.
    assert_eq!(
        dig(&lab, &["+short", "ns1.sztp.example", "A"]).trim(),
        "198.18.0.1"
    );
    assert_eq!(
        dig(&lab, &["+tcp", "+short", "ns1.sztp.example", "A"]).trim(),
        "198.18.0.1"
    );
    let (code, metrics) = lab.run(
        &lab.srv(),
        &[
            "curl",
            "-sS",
            "--max-time",
            "5",
            "http://127.0.0.1:9267/metrics",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "{metrics}");
    let count = |name: &str| -> u64 {
        let key = format!("zerotouch_events_total{{event=\"plugin_dns_{name}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .parse()
            .unwrap()
    };
    // Each kind, once per round over UDP and once over TCP.
    for (name, _, _) in malformed() {
        let sent = malformed().iter().filter(|(n, _, _)| *n == name).count() as u64;
        assert_eq!(count(name), sent * (ROUNDS as u64 + 1), "{name}");
    }
    assert_eq!(count("bad_tcp_frame_too_large"), 1);
    assert_eq!(count("bad_tcp_too_slow"), 1);
    assert_eq!(count("bad_tcp_connection_limit"), 1);
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    assert!(
        server.log_text().contains("bad_tcp_too_slow=1"),
        "{}",
        server.log_text()
    );
}

/// The TXT records of `dig +short` output, one per line, each the octets of its
/// character-strings joined (dig writes `\DDD` for an octet it cannot print, and `\"`).
fn txt_records(short: &str) -> Vec<Vec<u8>> {
    short
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut out = Vec::new();
            let (mut quoted, mut bytes) = (false, line.bytes().peekable());
            while let Some(b) = bytes.next() {
                match b {
                    b'"' => quoted = !quoted,
                    b'\\' if quoted => {
                        let next: Vec<u8> = (0..3)
                            .map_while(|_| bytes.next_if(u8::is_ascii_digit))
                            .collect();
                        match next.len() {
                            3 => out.push(std::str::from_utf8(&next).unwrap().parse().unwrap()),
                            0 => out.extend(bytes.next()),
                            _ => panic!("a short \\DDD escape in {line}"),
                        }
                    }
                    _ if quoted => out.push(b),
                    _ => {}
                }
            }
            out
        })
        .collect()
}

/// A device's TXT record with `bootstrap_devices`: the bootstrap plugin's own artifacts
/// for it. Over 4 KB, so truncated over UDP; over TCP, `ci` verifies with `openssl cms`
/// against the owner CA and holds the onboarding information, `ov` against the voucher
/// CA; a device with redirect information and no voucher gets `ci` alone, unsigned; a
/// device the server does not list has no record.
#[test]
fn a_devices_txt_record_is_the_bootstrap_servers_signed_artifacts() {
    require_tools(&["ip", "dig", "openssl"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = lab.path("pki");
    common::pki_lab(&pki, "198.18.0.1", &["SN-1"]);
    // A configuration large enough that the record passes 4 KB.
    let interfaces: String = (0..60)
        .map(|i| format!("<interface><name>ge-0/0/{i}</name><enabled>true</enabled></interface>"))
        .collect();
    lab.write(
        "config.xml",
        &format!("<config><hostname>edge-1</hostname>{interfaces}</config>"),
    );
    let plugins = common::signing_bootstrap_plugin(
        r#"[[plugin.settings.device]]
serial = "SN-1"
response = "onboard"
[[plugin.settings.device]]
serial = "SN-2"
response = "redirect"
[[plugin.settings.device]]
serial = "SN-4"
response = "onboard"
[[plugin.settings.response]]
name = "onboard"
match = { serial = "none-*" }
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "config.xml"
[[plugin.settings.response]]
name = "redirect"
match = { serial = "none-*" }
redirect = [{ address = "bs2.sztp.example", port = 8443 }]

[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5353"]
[[plugin.settings.zone]]
name = "sztp.example"
bootstrap_devices = true
nameservers = [{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }]
"#,
    );
    let cfg = lab.basic_config("", "", &plugins);
    let _server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");

    // Over UDP it does not fit: truncated.
    let udp = dig(&lab, &["+ignore", "SN-1._sztp.sztp.example", "TXT"]);
    assert!(udp.contains("flags: qr aa tc"), "{udp}");
    // Over TCP: three records, ci, oc and ov.
    let tcp = dig(&lab, &["+tcp", "+short", "SN-1._sztp.sztp.example", "TXT"]);
    assert!(tcp.len() > 4096 * 2, "the record is under 4 KB: {tcp}");
    let mut artifacts = std::collections::HashMap::new();
    for record in txt_records(&tcp) {
        let at = record.iter().position(|&b| b == b'=').expect("key=value");
        let key = String::from_utf8(record[..at].to_vec()).unwrap();
        artifacts.insert(key, record[at + 1..].to_vec());
    }
    let mut keys: Vec<_> = artifacts.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["ci", "oc", "ov"]);
    let total: usize = artifacts.values().map(Vec::len).sum();
    assert!(total > 4096, "{total} octets");
    let verify = |name: &str, ca: &str| -> String {
        let content = common::openssl_cms_verify(&lab, &artifacts[name], &pki.join(ca), name);
        String::from_utf8(content).unwrap()
    };
    let conveyed = verify("ci", "owner-ca.pem");
    assert!(conveyed.contains("onboarding-information"), "{conveyed}");
    assert!(conveyed.contains("configuration"), "{conveyed}");
    let voucher = verify("ov", "voucher-ca.pem");
    assert!(voucher.contains("\"serial-number\":\"SN-1\""), "{voucher}");
    assert_eq!(
        artifacts["ov"],
        std::fs::read(pki.join("vouchers/SN-1.vcj")).unwrap()
    );
    let o = std::process::Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-noout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&artifacts["oc"])?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("subject="),
        "the owner certificate artifact holds no certificate"
    );

    // Redirect information without a voucher: ci alone, unsigned.
    let redirect = txt_records(&dig(
        &lab,
        &["+tcp", "+short", "SN-2._sztp.sztp.example", "TXT"],
    ));
    assert_eq!(redirect.len(), 1);
    assert!(redirect[0].starts_with(b"ci="));
    assert!(
        String::from_utf8_lossy(&redirect[0]).contains("bs2.sztp.example"),
        "{redirect:?}"
    );
    // Onboarding information is never unsigned, a device not listed has nothing.
    for serial in ["SN-4", "SN-3"] {
        let out = dig(&lab, &[&format!("{serial}._sztp.sztp.example"), "TXT"]);
        assert!(out.contains("status: NXDOMAIN"), "{serial}: {out}");
    }
}

/// A DHCPv6 client that sends its name in the Client FQDN option (39) has an AAAA
/// record and a reverse name under `ip6.arpa` while it holds its address; released,
/// they are gone. Its delegated prefix gets no name.
#[test]
fn a_dhcpv6_clients_fqdn_names_its_address_while_it_holds_it() {
    require_tools(&["ip", "dig", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let dns = r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["127.0.0.1:5353"]
[[plugin.settings.zone]]
name = "lan.example"
lease_names = true
nameservers = [{ name = "ns1.lan.example" }]
[[plugin.settings.zone]]
name = "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
nameservers = [{ name = "ns1.lan.example" }]
"#;
    let cfg = lab.basic_config6("", dns);
    let _server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");
    let ask = |args: &[&str]| dig_at(&lab, &lab.srv(), "127.0.0.1", args);
    assert!(ask(&["dev6.lan.example", "AAAA"]).contains("status: NXDOMAIN"));

    let conf = "send fqdn.fqdn \"dev6.lan.example.\";\n";
    let (code, out, leases) = lab.dhclient6_once("named6", conf, &["-P", "-N"]);
    assert_eq!(code, 0, "{out}");
    let address = leases
        .split_whitespace()
        .skip_while(|w| *w != "iaaddr")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {leases}"))
        .to_string();
    let start = std::time::Instant::now();
    let mut aaaa = String::new();
    while !aaaa.contains(&address) && start.elapsed() < Duration::from_secs(5) {
        aaaa = ask(&["+short", "dev6.lan.example", "AAAA"]);
    }
    assert_eq!(aaaa.trim(), address, "{}", lab.path("server.log").display());
    let ptr = ask(&["+short", "-x", &address]);
    assert_eq!(ptr.trim(), "dev6.lan.example.");

    // Released: the names go.
    let conf_path = lab.path("named6.conf");
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "dhclient",
            "-6",
            "-r",
            "-cf",
            conf_path.to_str().unwrap(),
            "-lf",
            lab.path("named6.leases").to_str().unwrap(),
            "-pf",
            lab.path("named6.leases.pid").to_str().unwrap(),
            "-sf",
            lab.path("named6-script").to_str().unwrap(),
            &lab.ifname("c"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{out}");
    let start = std::time::Instant::now();
    while !ask(&["dev6.lan.example", "AAAA"]).contains("status: NXDOMAIN") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the name outlived its lease"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ask(&["-x", &address]).contains("status: NXDOMAIN"));
}

/// Forwarding: a name outside the zones, asked by a client `forward.clients` lists, is
/// answered by the upstream server (here a second instance of the plugin, serving
/// another zone) over UDP and over TCP, past a first upstream that does not answer; a
/// client not listed is refused, and so is every client without `forward`.
#[test]
fn names_outside_the_zones_are_forwarded_for_the_clients_listed() {
    require_tools(&["ip", "dig"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let dns = r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5353"]
forward = { servers = ["198.18.0.1:5399", "198.18.0.1:5354"], clients = ["198.18.0.2/32"], timeout = 1 }
[[plugin.settings.zone]]
name = "sztp.example"
nameservers = [{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }]

[[plugin]]
name = "dns"
instance = "upstream"
[plugin.settings]
listen = ["198.18.0.1:5354"]
[[plugin.settings.zone]]
name = "corp.example"
nameservers = [{ name = "ns1.corp.example", addresses = ["198.18.0.7"] }]
"#;
    let cfg = lab.basic_config("", "", dns);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");
    let udp = dig(&lab, &["ns1.corp.example", "A"]);
    assert!(udp.contains("status: NOERROR"), "{udp}");
    assert!(
        words(&udp).contains("ns1.corp.example. 300 IN A 198.18.0.7"),
        "{udp}"
    );
    let tcp = dig(&lab, &["+tcp", "+short", "ns1.corp.example", "A"]);
    assert_eq!(tcp.trim(), "198.18.0.7");
    // Its own zone is still its own.
    assert_eq!(
        dig(&lab, &["+short", "ns1.sztp.example", "A"]).trim(),
        "198.18.0.1"
    );
    // From the server's own address, which `clients` does not list: refused.
    let other = dig_in(&lab, &lab.srv(), &["ns1.corp.example", "A"]);
    assert!(other.contains("status: REFUSED"), "{other}");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let log = server.log_text();
    let stopped = log
        .lines()
        .find(|l| l.contains("dns: stopped") && l.contains("forwarded="))
        .unwrap_or_default();
    assert!(
        stopped.contains("forwarded=2") && stopped.contains("forward_refused=1"),
        "{log}"
    );
}
