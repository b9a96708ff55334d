//! Two zerotouch-dhcpd servers on one link and one PostgreSQL database (started by the
//! test): under perfdhcp, with one of them killed (SIGKILL) mid-run, and with the
//! database stopped for 10 s mid-run, no address is acknowledged to two clients and
//! every ACK on the wire, from either server, has its lease in the database; service
//! resumes by itself. A dhclient whose server dies gets its address again from the
//! other, which learnt of the lease as it was committed.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zerotouch_proto::v4::MessageType;
use zerotouch_tests::postgres::Postgres;
use zerotouch_tests::{Daemon, Lab, binary, pcap, require_tools};

const A: &str = "198.18.0.1";
const B: &str = "198.18.0.3";

/// Namespaces `srva` (198.18.0.1) and `srvb` (198.18.0.3) linked to a bridge
/// `<prefix>c` in `cli`, the clients' link.
fn two_servers() -> (Lab, String, String) {
    two_servers_with(false)
}

/// The same, with 2001:db8:1::1 and 2001:db8:1::3 when `v6` (duplicate address
/// detection off, the bridge's link-local address ready).
fn two_servers_with(v6: bool) -> (Lab, String, String) {
    let mut lab = Lab::empty();
    let (a, b, cli) = (lab.ns("srva"), lab.ns("srvb"), lab.ns("cli"));
    if v6 {
        for ns in [&a, &b, &cli] {
            lab.no_dad(ns);
        }
    }
    lab.link(&a, "a", &cli, "pa");
    lab.link(&b, "b", &cli, "pb");
    let bridge = lab.ifname("c");
    for args in [
        vec!["link", "add", &bridge, "type", "bridge"],
        vec!["link", "set", &lab.ifname("pa"), "master", &bridge],
        vec!["link", "set", &lab.ifname("pb"), "master", &bridge],
        vec!["link", "set", &bridge, "up"],
    ] {
        let (code, out) = lab.run(&cli, &[&["ip"][..], &args].concat(), Duration::from_secs(5));
        assert_eq!(code, 0, "ip {args:?}: {out}");
    }
    lab.addr(&a, "a", &format!("{A}/15"));
    lab.addr(&b, "b", &format!("{B}/15"));
    if v6 {
        lab.addr6(&a, "a", "2001:db8:1::1/64");
        lab.addr6(&b, "b", "2001:db8:1::3/64");
        lab.wait_link_local(&cli, "c");
    }
    (lab, a, b)
}

/// Server `name`'s configuration: leases in the database of `url`, the pool shared
/// with the other.
fn config(lab: &Lab, url: &str, name: &str, interface: &str) -> PathBuf {
    lab.write(
        &format!("{name}.toml"),
        &format!(
            r#"[log]
level = "info"
[leases]
postgresql = {{ url = "{url}", server_name = "{name}", upgrade_schema = true }}
[dhcp4]
interfaces = ["{interface}"]
authoritative = true
lease_time = 4000
[[dhcp4.subnet]]
subnet = "198.18.0.0/15"
[[dhcp4.subnet.pool]]
range = "198.18.1.0 - 198.19.255.254"
"#
        ),
    )
}

fn start(lab: &Lab, ns: &str, cfg: &std::path::Path, log: &str) -> Daemon {
    let bin = binary("zerotouch-dhcpd");
    let mut d = Daemon::spawn(
        "zerotouch-dhcpd",
        ns,
        &[bin.to_str().unwrap(), "--config", cfg.to_str().unwrap()],
        &lab.path(log),
    );
    d.wait_for_log("DHCPv4 serving", Duration::from_secs(30));
    d
}

/// Unix time now, in seconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// What a run under load saw: the ACKs of each server on the wire, the servers' logs
/// and perfdhcp's report.
struct Run {
    acks: [Vec<(f64, zerotouch_proto::v4::Message)>; 2],
    logs: [String; 2],
    perfdhcp: String,
}

/// Two servers on the database of `url`, under perfdhcp through the bridge for
/// `seconds` at `rate`, with the ACKs on the wire captured; `meanwhile` runs while
/// perfdhcp does (given the servers, a and b).
fn under_load(url: &str, rate: u32, seconds: u32, meanwhile: impl FnOnce(&mut [Daemon; 2])) -> Run {
    let (lab, a, b) = two_servers();
    let mut servers = [
        start(&lab, &a, &config(&lab, url, "a", &lab.ifname("a")), "a.log"),
        start(&lab, &b, &config(&lab, url, "b", &lab.ifname("b")), "b.log"),
    ];
    lab.addr(&lab.cli(), "c", "198.18.0.2/15");
    let capture = lab.path("wire.pcap");
    let mut tcpdump = pcap::capture_dhcp4(
        &lab.cli(),
        &lab.ifname("c"),
        &capture,
        &lab.path("tcpdump.log"),
    );
    // perfdhcp as a relay (giaddr: its address): its broadcasts reach both servers;
    // -u: it checks that no two of its clients get one address.
    let (rate, seconds) = (rate.to_string(), seconds.to_string());
    let mut perfdhcp = Daemon::spawn(
        "perfdhcp",
        &lab.cli(),
        &[
            "perfdhcp",
            "-4",
            "-u",
            "-l",
            &lab.ifname("c"),
            "-r",
            &rate,
            "-R",
            "100000000",
            "-p",
            &seconds,
        ],
        &lab.path("perfdhcp.log"),
    );
    meanwhile(&mut servers);
    perfdhcp.wait_exit(Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(500));
    tcpdump.stop_with(libc::SIGINT, Duration::from_secs(10));
    for s in &mut servers {
        if s.pid() != 0 {
            s.stop_with(libc::SIGTERM, Duration::from_secs(10));
        }
    }
    let wire = std::fs::read(&capture).expect("capture");
    let acks = |server: &str| -> Vec<(f64, zerotouch_proto::v4::Message)> {
        pcap::dhcp_from(&wire, server.parse::<Ipv4Addr>().unwrap())
            .into_iter()
            .filter(|(_, m)| m.message_type() == Some(MessageType::Ack))
            .collect()
    };
    Run {
        acks: [acks(A), acks(B)],
        logs: [servers[0].log_text(), servers[1].log_text()],
        perfdhcp: std::fs::read_to_string(lab.path("perfdhcp.log")).unwrap_or_default(),
    }
}

impl Run {
    /// Every ACK on the wire, from either server, has its lease for that client in
    /// `pg`, and no address was acknowledged to two clients (by the capture, and by
    /// perfdhcp's own uniqueness check).
    fn every_ack_is_stored_and_unique(&self, pg: &Postgres) {
        // Among the ACKs: an offer the client did not take is made again to the next
        // client, so OFFERs repeat addresses by design.
        let acks = self
            .perfdhcp
            .split("Statistics for: REQUEST-ACK")
            .nth(1)
            .and_then(|s| s.lines().find(|l| l.starts_with("non unique addresses:")));
        assert_eq!(
            acks.map(str::trim_end),
            Some("non unique addresses: 0"),
            "{}",
            self.perfdhcp
        );
        let rows: HashMap<String, String> = pg
            .psql("SELECT host(address), encode(hw_address, 'hex') FROM lease4")
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(a, h)| (a.to_string(), h.to_string()))
            .collect();
        let mut holder: HashMap<String, String> = HashMap::new();
        for (_, ack) in self.acks.iter().flatten() {
            let addr = ack.yiaddr.to_string();
            let hw = hex::encode(ack.hwaddr());
            let row = rows.get(&addr).unwrap_or_else(|| {
                panic!("ACK for {addr} to {hw} on the wire, but no lease in the database")
            });
            assert_eq!(
                row, &hw,
                "lease {addr} belongs to another client than an ACK said"
            );
            if let Some(prev) = holder.insert(addr.clone(), hw.clone()) {
                assert_eq!(prev, hw, "{addr} was acknowledged to two clients");
            }
        }
    }

    /// ACKs of either server between `from` and `to` (Unix seconds).
    fn acks_between(&self, from: f64, to: f64) -> usize {
        self.acks
            .iter()
            .flatten()
            .filter(|(t, _)| (from..to).contains(t))
            .count()
    }

    fn counters(&self, server: usize) -> &str {
        self.logs[server]
            .lines()
            .rfind(|l| l.contains("counters"))
            .unwrap_or("")
    }
}

#[test]
fn two_servers_never_acknowledge_one_address_to_two_clients_even_when_one_is_killed() {
    require_tools(&["ip", "perfdhcp", "tcpdump", "runuser"]);
    let pg = Postgres::start();
    let mut killed_at = 0.0;
    let run = under_load(&pg.url(), 600, 8, |servers| {
        std::thread::sleep(Duration::from_secs(3));
        servers[0].stop_with(libc::SIGKILL, Duration::from_secs(5));
        killed_at = now();
    });
    let [from_a, from_b] = &run.acks;
    let b_after = from_b.iter().filter(|(t, _)| *t > killed_at + 0.5).count();
    eprintln!(
        "ACKs from a: {}, from b: {} ({b_after} after a was killed); b: {}",
        from_a.len(),
        from_b.len(),
        run.counters(1)
    );
    assert!(
        from_a.len() > 200 && from_b.len() > 200 && b_after > 200,
        "ACKs from a: {}, from b: {} ({b_after} after a was killed)\n{}\n{}",
        from_a.len(),
        from_b.len(),
        run.perfdhcp,
        run.logs[1]
    );
    run.every_ack_is_stored_and_unique(&pg);
}

/// PostgreSQL stopped for 10 s mid-run: no ACK leaves without its commit, new leases
/// pause, and both servers resume by themselves when it is back.
#[test]
fn the_database_stopped_for_ten_seconds_loses_nothing_acknowledged_and_service_resumes() {
    require_tools(&["ip", "perfdhcp", "tcpdump", "runuser"]);
    let pg = Postgres::start();
    let (mut stopped, mut resumed) = (0.0, 0.0);
    let run = under_load(&pg.url(), 300, 22, |_| {
        std::thread::sleep(Duration::from_secs(4));
        pg.stop();
        stopped = now();
        std::thread::sleep(Duration::from_secs(10));
        pg.resume();
        resumed = now();
    });
    let (before, during, after) = (
        run.acks_between(0.0, stopped),
        run.acks_between(stopped + 1.0, resumed),
        run.acks_between(resumed + 2.0, f64::MAX),
    );
    eprintln!(
        "ACKs before the stop: {before}, while stopped: {during}, after: {after}; a: {}; b: {}",
        run.counters(0),
        run.counters(1)
    );
    assert!(
        before > 300 && during == 0 && after > 300,
        "ACKs before the stop: {before}, while stopped: {during}, after: {after}\n{}\n{}",
        run.perfdhcp,
        run.logs[0]
    );
    for log in &run.logs {
        assert!(log.contains("new leases paused"), "{log}");
        assert!(log.contains("written again"), "{log}");
        assert!(log.contains("store_unavailable="), "{log}");
    }
    run.every_ack_is_stored_and_unique(&pg);
}

/// A primary with a synchronous standby: the primary crashes mid-run and the standby is
/// promoted; both servers find it (several hosts, `target_session_attrs=read-write`)
/// and carry on, and every ACK on the wire is on the promoted standby.
#[test]
fn after_a_failover_to_a_synchronous_standby_no_acknowledged_lease_is_lost() {
    require_tools(&["ip", "perfdhcp", "tcpdump", "runuser"]);
    let primary = Postgres::start_primary();
    let standby = primary.standby();
    let url = format!(
        "host={},{} port=5432,5432 user=zerotouch dbname=postgres target_session_attrs=read-write",
        primary.socket_dir().display(),
        standby.socket_dir().display()
    );
    let (mut crashed, mut promoted) = (0.0, 0.0);
    let run = under_load(&url, 300, 20, |_| {
        std::thread::sleep(Duration::from_secs(5));
        primary.crash();
        crashed = now();
        std::thread::sleep(Duration::from_secs(2));
        standby.promote();
        promoted = now();
    });
    let (before, after) = (
        run.acks_between(0.0, crashed),
        run.acks_between(promoted + 2.0, f64::MAX),
    );
    eprintln!(
        "ACKs before the crash: {before}, after the promotion: {after}; a: {}; b: {}",
        run.counters(0),
        run.counters(1)
    );
    assert!(
        before > 300 && after > 300,
        "ACKs before the crash: {before}, after the promotion: {after}\n{}\n{}",
        run.perfdhcp,
        run.logs[0]
    );
    run.every_ack_is_stored_and_unique(&standby);
}

/// DHCPv6 the same way: two servers under perfdhcp -6 asking for an address and a
/// prefix in every exchange, with perfdhcp's uniqueness check; every address and
/// prefix a REPLY gave is stored, none twice.
#[test]
fn two_dhcpv6_servers_never_give_one_address_or_prefix_to_two_clients() {
    require_tools(&["ip", "perfdhcp", "runuser"]);
    let pg = Postgres::start();
    let (lab, a, b) = two_servers_with(true);
    let config6 = |name: &str| {
        let iface = lab.ifname(name);
        lab.write(
            &format!("{name}6.toml"),
            &format!(
                r#"[log]
level = "info"
[leases]
postgresql = {{ url = "{}", server_name = "{name}", upgrade_schema = true }}
[dhcp6]
interfaces = ["{iface}"]
[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"
interface = "{iface}"
[[dhcp6.subnet.pool]]
range = "2001:db8:1::100 - 2001:db8:1::ffff"
[[dhcp6.subnet.pd_pool]]
prefix = "2001:db8:100::/40"
delegated_length = 56
"#,
                pg.url()
            ),
        )
    };
    let bin = binary("zerotouch-dhcpd");
    let mut servers = Vec::new();
    for (ns, name) in [(&a, "a"), (&b, "b")] {
        let cfg = config6(name);
        let mut d = Daemon::spawn(
            "zerotouch-dhcpd",
            ns,
            &[bin.to_str().unwrap(), "--config", cfg.to_str().unwrap()],
            &lab.path(&format!("{name}.log")),
        );
        d.wait_for_log("DHCPv6 serving", Duration::from_secs(30));
        servers.push(d);
    }
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "perfdhcp",
            "-6",
            "-u",
            "-l",
            &lab.ifname("c"),
            "-r",
            "200",
            "-n",
            "2000",
            "-R",
            "2000",
            "-e",
            "address-and-prefix",
        ],
        Duration::from_secs(120),
    );
    for s in &mut servers {
        s.stop_with(libc::SIGTERM, Duration::from_secs(10));
    }
    assert!(code == 0 || code == 3, "perfdhcp failed:\n{out}");
    let stats = |key: &str| -> u64 {
        let at = out.find("REQUEST-REPLY").expect("REQUEST-REPLY stats");
        out[at..]
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
    };
    let replies = stats("received packets");
    assert!(replies >= 1900, "{out}");
    assert_eq!(stats("non unique addresses"), 0, "{out}");
    assert_eq!(stats("rejected leases"), 0, "{out}");
    let count = |kind: &str| -> u64 {
        pg.psql(&format!(
            "SELECT count(*) FROM lease6 WHERE type = '{kind}' AND state = 'active'"
        ))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
    };
    assert!(
        count("na") >= replies && count("pd") >= replies,
        "each REPLY stands for a stored address and prefix: {replies} replies, {} addresses, {} prefixes",
        count("na"),
        count("pd")
    );
    // Both servers answered: each stored some of them.
    for log in servers.iter().map(Daemon::log_text) {
        assert!(log.contains("tx6_reply="), "{log}");
    }
}

#[test]
fn a_client_whose_server_dies_gets_its_address_again_from_the_other() {
    require_tools(&["ip", "dhclient", "runuser"]);
    let pg = Postgres::start();
    let (lab, a, b) = two_servers();
    let mut servers = [
        Some(start(
            &lab,
            &a,
            &config(&lab, &pg.url(), "a", &lab.ifname("a")),
            "a.log",
        )),
        Some(start(
            &lab,
            &b,
            &config(&lab, &pg.url(), "b", &lab.ifname("b")),
            "b.log",
        )),
    ];
    let lease = |lf: &std::path::Path, from: Option<&str>| -> Option<String> {
        let text = std::fs::read_to_string(lf).unwrap_or_default();
        let last = text.rsplit("lease {").next()?;
        let address = last
            .lines()
            .find_map(|l| l.trim().strip_prefix("fixed-address "))?
            .trim_end_matches(';')
            .to_string();
        let server = last
            .lines()
            .find_map(|l| l.trim().strip_prefix("option dhcp-server-identifier "))?
            .trim_end_matches(';');
        from.is_none_or(|f| f == server)
            .then(|| format!("{address} {server}"))
    };
    let wait = |lf: &std::path::Path, from: Option<&str>, client: &Daemon| -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = lease(lf, from) {
                return l;
            }
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "no lease from {from:?}: {}",
                client.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    let (mut client, lf) = common::dhclient4(&lab, "");
    let first = wait(&lf, None, &client);
    let (address, server) = first.split_once(' ').unwrap();
    client.stop_with(libc::SIGKILL, Duration::from_secs(5));
    // The server that gave the lease dies; the other answers the client's next
    // request for its address (INIT-REBOOT) from the lease it learnt of.
    let (dead, other) = if server == A { (0, B) } else { (1, A) };
    servers[dead]
        .take()
        .unwrap()
        .stop_with(libc::SIGKILL, Duration::from_secs(5));
    let (client, lf) = common::dhclient4(&lab, "");
    let again = wait(&lf, Some(other), &client);
    assert_eq!(again, format!("{address} {other}"), "{}", client.log_text());
    drop(servers);
}
