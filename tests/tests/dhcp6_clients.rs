//! DHCPv6 with real clients: ISC `dhclient -6` obtains, renews and releases an
//! address; `dhclient -6 -N -P` an address and a delegated prefix in one exchange; a
//! client behind ISC `dhcrelay -6` gets an address of its relay's link; perfdhcp -6
//! runs address-and-prefix exchanges without loss.

mod common;

use std::time::Duration;

use common::write_script;
use zerotouch_tests::{Daemon, Lab, leases, require_tools};

/// Records each dhclient -6 event with its variables, and configures the address.
const DHCLIENT6_SCRIPT: &str = r#"#!/bin/sh
echo "$reason ip6=$new_ip6_address/$new_ip6_prefixlen prefix=$new_ip6_prefix dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search" >> "$(dirname "$0")/dhclient6-events.log"
case "$reason" in
  BOUND6|RENEW6|REBIND6)
    if [ -n "$new_ip6_address" ]; then ip -6 addr replace "$new_ip6_address/128" dev "$interface" nodad; fi ;;
  RELEASE6|EXPIRE6|STOP6)
    if [ -n "$old_ip6_address" ]; then ip -6 addr del "$old_ip6_address/128" dev "$interface"; fi ;;
esac
exit 0
"#;

/// The client script's event log once it holds `needle` (or after 10 s, for the
/// assertion to show what it holds).
fn events_with(lab: &Lab, needle: &str) -> String {
    let path = lab.path("dhclient6-events.log");
    let start = std::time::Instant::now();
    loop {
        let events = std::fs::read_to_string(&path).unwrap_or_default();
        if events.contains(needle) || start.elapsed() > Duration::from_secs(10) {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dhclient_6_obtains_renews_and_releases_an_address() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6(
        r#"preferred_lifetime = 4
valid_lifetime = 8
options = { dns-servers = ["2001:db8:1::53"], domain-search = ["lab.example"] }"#,
        "",
    );
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let db = lab.path("leases.sqlite");
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT6_SCRIPT);
    lab.write(
        "dhclient6.conf",
        "request dhcp6.name-servers, dhcp6.domain-search;\n",
    );
    let conf = lab.path("dhclient6.conf");
    // In the foreground (-d) so that it renews: T1 is 2 s with these lifetimes.
    let mut args = lab.dhclient6_args(&["-d", "-cf", conf.to_str().unwrap()], "c6.leases", &script);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = Daemon::spawn("dhclient", &lab.cli(), &argv, &lab.path("dhclient.log"));
    client.wait_for_log("Bound to lease", Duration::from_secs(30));
    let bound = leases::wait_for6(&db, Duration::from_secs(5), "active", |r| {
        r.kind == "na" && r.state == "active"
    });
    assert_eq!(bound.resource, "2001:db8:1::100/128");
    // dhclient may log its lease before its script has written the event.
    let events = events_with(&lab, "BOUND6");
    assert!(
        events.contains("BOUND6 ip6=2001:db8:1::100/128")
            && events.contains("dns=2001:db8:1::53 search=lab.example."),
        "{events}"
    );
    let (_, addrs) = lab.run(
        &lab.cli(),
        &["ip", "-6", "addr", "show", "dev", &lab.ifname("c")],
        Duration::from_secs(5),
    );
    assert!(addrs.contains("2001:db8:1::100/128"), "{addrs}");
    // T1 passes: the client renews, the lease is extended.
    server_wait(
        &server,
        "RENEW -> REPLY 2001:db8:1::100",
        Duration::from_secs(15),
    );
    let renewed = leases::wait_for6(&db, Duration::from_secs(5), "extended", |r| {
        r.resource == bound.resource && r.expires > bound.expires
    });
    assert_eq!(renewed.state, "active");
    drop(client);
    // Release with the lease file the daemon kept.
    args.retain(|a| a != "-d");
    let release_at = args.iter().position(|a| a == "-v").unwrap();
    args.insert(release_at, "-r".into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &argv, Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
    leases::wait_for6(&db, Duration::from_secs(5), "released", |r| {
        r.resource == bound.resource && r.state == "released"
    });
    server_wait(&server, "RELEASE -> REPLY Success", Duration::from_secs(5));
}

fn server_wait(server: &Daemon, needle: &str, timeout: Duration) {
    let start = std::time::Instant::now();
    while !server.log_text().contains(needle) {
        assert!(
            start.elapsed() < timeout,
            "no {needle:?} in the server log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dhclient_6_gets_an_address_and_a_delegated_prefix_in_one_exchange() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6("", "");
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let db = lab.path("leases.sqlite");
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT6_SCRIPT);
    let args = lab.dhclient6_args(&["-1", "-N", "-P"], "pd.leases", &script);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &argv, Duration::from_secs(40));
    assert_eq!(code, 0, "{out}");
    let pd = leases::wait_for6(&db, Duration::from_secs(5), "delegated", |r| {
        r.kind == "pd" && r.state == "active"
    });
    assert_eq!(pd.resource, "2001:db8:100::/56");
    let na = leases::wait_for6(&db, Duration::from_secs(5), "address", |r| {
        r.kind == "na" && r.state == "active"
    });
    assert_eq!(na.duid, pd.duid, "both IAs are the one client's");
    let events = events_with(&lab, "prefix=");
    assert!(events.contains("prefix=2001:db8:100::/56"), "{events}");
    assert!(
        server
            .log_text()
            .contains("REQUEST -> REPLY 2001:db8:1::100 2001:db8:100::/56"),
        "{}",
        server.log_text()
    );
}

#[test]
fn a_client_behind_dhcrelay_6_gets_an_address_of_its_relays_link() {
    require_tools(&["ip", "dhclient", "dhcrelay"]);
    //   cli [c] ── [r1] relay [r2] ── [s] srv
    //   2001:db8:2::/64        2001:db8:1::/64
    let (lab, _srv, relay, cli) = Lab::relayed();
    let cfg = lab.basic_config6(
        "",
        r#"
[[dhcp6.subnet]]
subnet = "2001:db8:2::/64"
options = { dns-servers = ["2001:db8:2::53"] }
[[dhcp6.subnet.pool]]
range = "2001:db8:2::10 - 2001:db8:2::20"
"#,
    );
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let db = lab.path("leases.sqlite");
    // -I: the relay adds an interface-id, which the server must echo for the relay to
    // forward the reply.
    let lower = lab.ifname("r1");
    let upper = format!("2001:db8:1::1%{}", lab.ifname("r2"));
    let mut dhcrelay = Daemon::spawn(
        "dhcrelay",
        &relay,
        &["dhcrelay", "-6", "-d", "-I", "-l", &lower, "-u", &upper],
        &lab.path("dhcrelay.log"),
    );
    dhcrelay.wait_for_log("Sending on", Duration::from_secs(10));
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT6_SCRIPT);
    let args = lab.dhclient6_args(&["-1"], "relayed.leases", &script);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&cli, &argv, Duration::from_secs(40));
    assert_eq!(
        code,
        0,
        "{out}\n{}\n{}",
        dhcrelay.log_text(),
        server.log_text()
    );
    let lease = leases::wait_for6(&db, Duration::from_secs(5), "relayed", |r| {
        r.state == "active"
    });
    assert_eq!(lease.resource, "2001:db8:2::10/128");
    assert!(
        server.log_text().contains("relays=1"),
        "{}",
        server.log_text()
    );
}

#[test]
fn perfdhcp_6_address_and_prefix_exchanges_complete_without_loss() {
    require_tools(&["ip", "perfdhcp"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6("", "");
    let _server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let iface = lab.ifname("c");
    // 300 four-message exchanges (SOLICIT, ADVERTISE, REQUEST, REPLY) at 100 per second,
    // each asking for an address and a prefix.
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "perfdhcp",
            "-6",
            "-l",
            &iface,
            "-r",
            "100",
            "-n",
            "300",
            "-R",
            "300",
            "-e",
            "address-and-prefix",
        ],
        Duration::from_secs(60),
    );
    // perfdhcp exits 3 when anything was dropped; the last exchange or two can be
    // counted as dropped because perfdhcp stops waiting when it has sent its last.
    assert!(code == 0 || code == 3, "perfdhcp failed:\n{out}");
    let stats = |section: &str, key: &str| -> u64 {
        let at = out
            .find(section)
            .unwrap_or_else(|| panic!("no {section} in:\n{out}"));
        out[at..]
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} after {section} in:\n{out}"))
    };
    assert_eq!(stats("SOLICIT-ADVERTISE", "sent packets"), 300, "{out}");
    for section in ["SOLICIT-ADVERTISE", "REQUEST-REPLY"] {
        assert!(stats(section, "drops") <= 3, "more than 1 % lost:\n{out}");
        assert_eq!(stats(section, "rejected leases"), 0, "{out}");
        assert_eq!(stats(section, "non unique addresses"), 0, "{out}");
    }
    let replies = stats("REQUEST-REPLY", "received packets") as usize;
    let db = lab.path("leases.sqlite");
    let rows = leases::all6(&db);
    let active = |kind: &str| {
        rows.iter()
            .filter(|r| r.kind == kind && r.state == "active")
            .count()
    };
    assert!(
        active("na") >= replies && active("pd") >= replies,
        "each REPLY stands for a stored address and prefix: {replies} replies, {} addresses, {} prefixes",
        active("na"),
        active("pd")
    );
}
