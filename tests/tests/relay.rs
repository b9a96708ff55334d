//! zerotouch-relay between real clients and zerotouch-dhcpd, in three namespaces:
//!
//!   cli [c] ── [r1] relay [r2] ── [s] srv
//!   198.19.0.0/24, 2001:db8:2::/64    198.18.0.0/24, 2001:db8:1::/64
//!
//! DHCPv4: the relay's option 82 circuit-id (its interface name, from a template)
//! selects the server's host reservation; DHCPv6: the client gets an address of the
//! relay's link. Both from one relay process configured in TOML.

mod common;

use std::time::Duration;

use common::{DHCLIENT_SCRIPT, write_script};
use zerotouch_tests::{Daemon, Lab, binary, leases, require_tools};

fn topology() -> (Lab, String, String, String) {
    Lab::relayed()
}

/// zerotouch-relay from dhcrelay-style flags: DHCPv4 on `downstream` with option 82
/// (`-a`: circuit-id the interface name, remote-id its hardware address).
fn start_relay_with_flags(lab: &Lab, relay_ns: &str, downstream: &str) -> Daemon {
    let bin = binary("zerotouch-relay");
    let mut flags = Daemon::spawn(
        "zerotouch-relay",
        relay_ns,
        &[
            bin.to_str().unwrap(),
            "-4",
            "-i",
            downstream,
            "-a",
            "198.18.0.1",
        ],
        &lab.path("relay-flags.log"),
    );
    flags.wait_for_log("relaying", Duration::from_secs(10));
    flags
}

fn start_relay(lab: &Lab, relay_ns: &str, config: &str) -> Daemon {
    let cfg = lab.write("relay.toml", config);
    let bin = binary("zerotouch-relay");
    let mut d = Daemon::spawn(
        "zerotouch-relay",
        relay_ns,
        &[
            bin.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--log-level",
            "debug",
        ],
        &lab.path("relay.log"),
    );
    d.wait_for_log("relaying", Duration::from_secs(10));
    d
}

#[test]
fn zerotouch_relay_carries_dhcpv4_with_option_82_and_dhcpv6_to_zerotouch_dhcpd() {
    require_tools(&["ip", "dhclient"]);
    let (lab, _srv, relay, cli) = topology();
    let circuit = lab.ifname("r1");
    let text = format!(
        r#"[leases]
database = "{db}"

[dhcp4]
interfaces = ["{s}"]
authoritative = true
[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
[[dhcp4.subnet]]
subnet = "198.19.0.0/24"
options = {{ routers = ["198.19.0.1"] }}
[[dhcp4.subnet.pool]]
range = "198.19.0.10 - 198.19.0.20"
[[dhcp4.host]]
circuit_id = "{circuit}"
address = "198.19.0.77"

[dhcp6]
interfaces = ["{s}"]
[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"
interface = "{s}"
[[dhcp6.subnet]]
subnet = "2001:db8:2::/64"
[[dhcp6.subnet.pool]]
range = "2001:db8:2::10 - 2001:db8:2::20"
"#,
        db = lab.path("leases.sqlite").display(),
        s = lab.ifname("s"),
    );
    let cfg = lab.write("dhcpd.toml", &text);
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let mut relay_d = start_relay(
        &lab,
        &relay,
        &format!(
            r#"[relay4]
[[relay4.downstream]]
interface = "{circuit}"
servers = ["198.18.0.1"]
agent_info = {{ circuit_id = "{{interface}}", remote_id = "{{relay_mac}}", policy = "replace" }}

[relay6]
[[relay6.downstream]]
interface = "{circuit}"
servers = ["2001:db8:1::1"]
"#
        ),
    );
    relay_d.wait_for_log("DHCPv6 relaying", Duration::from_secs(5));

    // DHCPv4: the circuit-id the relay adds names the reservation.
    assert_eq!(
        dhclient4(&lab, &cli, 0, 0x10),
        "198.19.0.77",
        "{}\n{}",
        relay_d.log_text(),
        server.log_text()
    );
    let db = lab.path("leases.sqlite");
    let rows = leases::all(&db);
    assert!(
        rows.iter()
            .any(|r| r.address == "198.19.0.77" && r.state == "active"),
        "{rows:?}"
    );
    let events = std::fs::read_to_string(lab.path("dhclient-events.log")).unwrap();
    assert!(
        events.contains("BOUND ip=198.19.0.77") && events.contains("routers=198.19.0.1"),
        "{events}"
    );

    // DHCPv6 through the same relay process.
    let (code, out, lease_file) = lab.dhclient6_once("dhclient6", "", &[]);
    assert_eq!(
        code,
        0,
        "{out}\n{}\n{}",
        relay_d.log_text(),
        server.log_text()
    );
    assert!(lease_file.contains("iaaddr 2001:db8:2::10"), "{lease_file}");
    assert!(server.log_text().contains("relays=1"));

    relay_d.signal(libc::SIGUSR1);
    relay_d.wait_for_log("counters:", Duration::from_secs(5));
    let log = relay_d.log_text();
    let counters = log.lines().rfind(|l| l.contains("counters:")).unwrap();
    for c in [
        format!("{circuit}.forwarded="),
        format!("{circuit}.delivered="),
    ] {
        assert!(counters.contains(&c), "{c} missing in {counters}");
    }
}

/// Run `n` of dhclient -4 as device `device` (its MAC); the address it was given.
fn dhclient4(lab: &Lab, cli: &str, n: u32, device: u8) -> String {
    dhclient4_with(lab, cli, n, device, "").0
}

/// `dhclient4` with `conf` as dhclient.conf; the address and the lease file.
fn dhclient4_with(lab: &Lab, cli: &str, n: u32, device: u8, conf: &str) -> (String, String) {
    dhclient4_on(lab, cli, "c", n, device, conf)
}

/// `dhclient4_with` on the client's interface `suffix`.
fn dhclient4_on(
    lab: &Lab,
    cli: &str,
    suffix: &str,
    n: u32,
    device: u8,
    conf: &str,
) -> (String, String) {
    lab.set_mac(cli, suffix, &format!("02:00:00:00:05:{device:02x}"));
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT_SCRIPT);
    let lf = lab.path(&format!("dhclient4-{n}.leases"));
    let cf = lab.write(&format!("dhclient4-{n}.conf"), conf);
    let (code, out) = lab.run(
        cli,
        &[
            "dhclient",
            "-4",
            "-1",
            "-v",
            "-cf",
            cf.to_str().unwrap(),
            "-sf",
            &script,
            "-lf",
            lf.to_str().unwrap(),
            "-pf",
            "/dev/null",
            &lab.ifname(suffix),
        ],
        Duration::from_secs(40),
    );
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(&lf).unwrap();
    let addr = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("fixed-address "))
        .unwrap_or_else(|| panic!("no address in {text}"));
    let _ = lab.run(
        cli,
        &["ip", "-4", "addr", "flush", "dev", &lab.ifname(suffix)],
        Duration::from_secs(5),
    );
    (addr.trim_end_matches(';').to_string(), text)
}

/// A downstream interface that does not exist when the relay starts is relayed for
/// once it appears, a new address on it becomes its giaddr, and it is relayed for again
/// after it disappears and comes back: all without a restart.
#[test]
fn interfaces_that_appear_or_change_address_after_start_are_picked_up() {
    require_tools(&["ip", "dhclient"]);
    let (lab, srv, relay, cli) = topology();
    let _server = server_v4_with(
        &lab,
        r#"[[dhcp4.subnet]]
subnet = "198.19.1.0/24"
[[dhcp4.subnet.pool]]
range = "198.19.1.10 - 198.19.1.20"
[[dhcp4.subnet]]
subnet = "198.19.2.0/24"
[[dhcp4.subnet.pool]]
range = "198.19.2.10 - 198.19.2.20"
"#,
    );
    lab.route(&srv, "198.19.1.0/24", "198.18.0.2");
    lab.route(&srv, "198.19.2.0/24", "198.18.0.2");
    let r3 = lab.ifname("r3");
    let relay_d = start_relay(
        &lab,
        &relay,
        &format!(
            "[relay4]\n[[relay4.downstream]]\ninterface = \"{r3}\"\nservers = [\"198.18.0.1\"]\n"
        ),
    );
    // Client number `n` behind r3 gets a lease from the subnet starting with `prefix`.
    let leased_in = |n: u8, prefix: &str| {
        let (address, _) = dhclient4_on(&lab, &cli, "c3", n.into(), n, "");
        assert!(
            address.starts_with(prefix),
            "{address}\n{}",
            relay_d.log_text()
        );
    };
    // The interface appears after the relay started.
    lab.link(&relay, "r3", &cli, "c3");
    lab.addr(&relay, "r3", "198.19.1.1/24");
    leased_in(1, "198.19.1.");
    // Its address changes: the new one is the giaddr after the periodic re-read.
    let _ = lab.run(
        &relay,
        &["ip", "-4", "addr", "flush", "dev", &r3],
        Duration::from_secs(5),
    );
    lab.addr(&relay, "r3", "198.19.2.1/24");
    std::thread::sleep(Duration::from_secs(11));
    leased_in(2, "198.19.2.");
    // It disappears and comes back (a new ifindex): relayed for again.
    let _ = lab.run(&relay, &["ip", "link", "del", &r3], Duration::from_secs(5));
    lab.link(&relay, "r3", &cli, "c3");
    lab.addr(&relay, "r3", "198.19.1.1/24");
    leased_in(3, "198.19.1.");
}

fn server_v4(lab: &Lab) -> Daemon {
    let circuit = lab.ifname("r1");
    server_v4_with(
        lab,
        &format!(
            r#"[[dhcp4.subnet]]
subnet = "198.19.0.0/24"
[[dhcp4.subnet.pool]]
range = "198.19.0.10 - 198.19.0.20"
[[dhcp4.host]]
circuit_id = "{circuit}"
address = "198.19.0.77"
"#
        ),
    )
}

/// zerotouch-dhcpd in `srv` on its link's subnet, with `more` (subnets, hosts) for the
/// relayed links.
fn server_v4_with(lab: &Lab, more: &str) -> Daemon {
    let text = format!(
        r#"[leases]
database = "{db}"
[dhcp4]
interfaces = ["{s}"]
authoritative = true
[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
{more}"#,
        db = lab.path("leases.sqlite").display(),
        s = lab.ifname("s"),
    );
    let cfg = lab.write("dhcpd.toml", &text);
    lab.start_dhcpd(&cfg, "server.log")
}

#[test]
fn sighup_applies_a_new_relay_configuration_and_flags_work_without_a_file() {
    require_tools(&["ip", "dhclient"]);
    let (lab, _srv, relay, cli) = topology();
    let _server = server_v4(&lab);
    let r1 = lab.ifname("r1");
    let config = |circuit: &str| {
        format!(
            "[relay4]\n[[relay4.downstream]]\ninterface = \"{r1}\"\nservers = [\"198.18.0.1\"]\nagent_info = {{ circuit_id = \"{circuit}\" }}\n"
        )
    };
    let mut relay_d = start_relay(&lab, &relay, &config("no-such-port"));
    let first = dhclient4(&lab, &cli, 1, 1);
    assert!(first.starts_with("198.19.0.1"), "a pool address: {first}");
    // The circuit-id now names the reserved port: after SIGHUP, without a restart.
    lab.write("relay.toml", &config("{interface}"));
    relay_d.signal(libc::SIGHUP);
    relay_d.wait_for_log("configuration reloaded", Duration::from_secs(5));
    assert_eq!(
        dhclient4(&lab, &cli, 2, 2),
        "198.19.0.77",
        "{}\n{}",
        relay_d.log_text(),
        std::fs::read_to_string(lab.path("server.log")).unwrap_or_default()
    );
    // A bad file is refused and the running configuration kept.
    lab.write("relay.toml", "[relay4]\nbogus = 1\n");
    relay_d.signal(libc::SIGHUP);
    relay_d.wait_for_log("keeping the running configuration", Duration::from_secs(5));
    // The same device on the port: its reserved address again.
    assert_eq!(dhclient4(&lab, &cli, 3, 2), "198.19.0.77");
    drop(relay_d);

    // dhcrelay-style flags: -a puts the interface name in the circuit-id.
    let _flags = start_relay_with_flags(&lab, &relay, &r1);
    assert_eq!(dhclient4(&lab, &cli, 4, 2), "198.19.0.77");
}

/// The remote-id the relay adds is its interface's hardware address as 6 raw octets
/// (as switches send it), so the server's `remote_id = "hex:…"` reservation matches it:
/// from a TOML `{relay_mac}` template and from dhcrelay-style `-a`.
#[test]
fn a_remote_id_reservation_matches_the_relays_hardware_address_end_to_end() {
    require_tools(&["ip", "dhclient"]);
    let (lab, _srv, relay, cli) = topology();
    let (mac, mac2) = ("02:00:5e:10:00:01", "02:00:5e:10:00:02");
    lab.set_mac(&relay, "r1", mac);
    let _server = server_v4_with(
        &lab,
        &format!(
            "[[dhcp4.subnet]]\nsubnet = \"198.19.0.0/24\"\n[[dhcp4.subnet.pool]]\nrange = \"198.19.0.10 - 198.19.0.20\"\n\
             [[dhcp4.host]]\nremote_id = \"hex:{mac}\"\naddress = \"198.19.0.88\"\n\
             [[dhcp4.host]]\nremote_id = \"hex:{mac2}\"\naddress = \"198.19.0.89\"\n"
        ),
    );
    let r1 = lab.ifname("r1");
    let relay_d = start_relay(
        &lab,
        &relay,
        &format!(
            "[relay4]\n[[relay4.downstream]]\ninterface = \"{r1}\"\nservers = [\"198.18.0.1\"]\nagent_info = {{ remote_id = \"{{relay_mac}}\" }}\n"
        ),
    );
    assert_eq!(
        dhclient4(&lab, &cli, 1, 1),
        "198.19.0.88",
        "{}\n{}",
        relay_d.log_text(),
        std::fs::read_to_string(lab.path("server.log")).unwrap_or_default()
    );
    // Logs redirected to a file carry no terminal colour codes.
    for log in [
        relay_d.log_text(),
        std::fs::read_to_string(lab.path("server.log")).unwrap(),
    ] {
        assert!(log.contains("INFO") && !log.contains('\x1b'), "{log:?}");
    }
    drop(relay_d);
    // Another relay port (another hardware address), another device: -a's remote-id.
    lab.set_mac(&relay, "r1", mac2);
    let _flags = start_relay_with_flags(&lab, &relay, &r1);
    assert_eq!(dhclient4(&lab, &cli, 2, 2), "198.19.0.89");
}

/// Kea in `srv` serving the relay's link in both families.
fn start_kea(lab: &Lab, srv: &str) -> (Daemon, Daemon) {
    let s = lab.ifname("s");
    std::fs::create_dir_all("/run/kea").ok();
    std::fs::create_dir_all("/var/lib/kea").ok();
    let kea4 = lab.write(
        "kea4.json",
        &format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{s}"]}},
  "lease-database": {{"type": "memfile", "persist": true, "name": "{db}"}},
  "subnet4": [{{"id": 1, "subnet": "198.19.0.0/24", "pools": [{{"pool": "198.19.0.50 - 198.19.0.60"}}],
    "option-data": [{{"name": "routers", "data": "198.19.0.1"}}]}}]}}}}"#,
            db = lab.path("kea4.csv").display()
        ),
    );
    let kea6 = lab.write(
        "kea6.json",
        &format!(
            // Kea listens on a unicast address (where relays send) only when told.
            r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": ["{s}/2001:db8:1::1"]}},
  "lease-database": {{"type": "memfile", "persist": true, "name": "{db}"}},
  "subnet6": [{{"id": 1, "subnet": "2001:db8:2::/64", "pools": [{{"pool": "2001:db8:2::50 - 2001:db8:2::60"}}]}}]}}}}"#,
            db = lab.path("kea6.csv").display()
        ),
    );
    let mut k4 = Daemon::spawn(
        "kea-dhcp4",
        srv,
        &["kea-dhcp4", "-c", kea4.to_str().unwrap()],
        &lab.path("kea4.log"),
    );
    let mut k6 = Daemon::spawn(
        "kea-dhcp6",
        srv,
        &["kea-dhcp6", "-c", kea6.to_str().unwrap()],
        &lab.path("kea6.log"),
    );
    k4.wait_for_log("DHCP4_STARTED", Duration::from_secs(20));
    k6.wait_for_log("DHCP6_STARTED", Duration::from_secs(20));
    (k4, k6)
}

/// How dhclient writes a string option whose octets it cannot print: hex, no padding.
fn dhclient_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The relay runs the `sztp` plugin on replies of a server that knows nothing of SZTP
/// (Kea, configured without option 143/136): devices of a class (option 60 "ACME…")
/// get option 143 without asking, others only when they ask; a DHCPv6 client that asks
/// gets option 136 inside the relayed REPLY.
#[test]
fn zerotouch_relay_adds_sztp_redirect_options_to_replies_of_another_server() {
    require_tools(&["ip", "dhclient", "kea-dhcp4", "kea-dhcp6"]);
    let (lab, srv, relay, cli) = topology();
    let r1 = lab.ifname("r1");
    let mut relay_d = start_relay(
        &lab,
        &relay,
        &format!(
            r#"[[plugin]]
name = "sztp"
settings = {{ uris = ["https://bootstrap.example.net"] }}

[relay4]
[[relay4.downstream]]
interface = "{r1}"
servers = ["198.18.0.1"]

[[relay4.class]]
name = "acme"
match = {{ option = 60, prefix = "ACME" }}
plugin.sztp = {{ always = true }}

[relay6]
[[relay6.downstream]]
interface = "{r1}"
servers = ["2001:db8:1::1"]
plugin.sztp = {{ uris = ["https://bs6.example.net"] }}
"#
        ),
    );
    relay_d.wait_for_log("DHCPv6 relaying", Duration::from_secs(5));
    let (_k4, k6) = start_kea(&lab, &srv);
    let list = |uri: &str| [&(uri.len() as u16).to_be_bytes()[..], uri.as_bytes()].concat();
    let option143 = format!(
        "option sztp-redirect {};",
        dhclient_hex(&list("https://bootstrap.example.net"))
    );
    let declare = "option sztp-redirect code 143 = string;
";
    let (_, acme) = dhclient4_with(
        &lab,
        &cli,
        1,
        1,
        &format!("{declare}send vendor-class-identifier \"ACME-SW-9\";\n"),
    );
    assert!(acme.contains(&option143), "{acme}\n{}", relay_d.log_text());
    assert!(
        acme.contains("fixed-address 198.19.0.5"),
        "Kea's address: {acme}"
    );
    let (_, other) = dhclient4_with(&lab, &cli, 2, 2, declare);
    assert!(!other.contains("sztp-redirect"), "{other}");
    let (_, asking) = dhclient4_with(
        &lab,
        &cli,
        3,
        3,
        &format!("{declare}also request sztp-redirect;\n"),
    );
    assert!(asking.contains(&option143), "{asking}");

    let conf6 =
        "option dhcp6.sztp-redirect code 136 = string;\nalso request dhcp6.sztp-redirect;\n";
    let (code, out, leases) = lab.dhclient6_once("sztp-dhclient6", conf6, &[]);
    assert_eq!(code, 0, "{out}\n{}\n{}", relay_d.log_text(), k6.log_text());
    let option136 = format!(
        "option dhcp6.sztp-redirect {};",
        dhclient_hex(&list("https://bs6.example.net"))
    );
    assert!(leases.contains(&option136), "{leases}");
    assert!(
        leases.contains("iaaddr 2001:db8:2::5"),
        "Kea's address: {leases}"
    );
    relay_d.signal(libc::SIGUSR1);
    relay_d.wait_for_log("plugin_sztp_calls", Duration::from_secs(5));
}

/// Other servers behind zerotouch-relay: ISC dhcpd (DHCPv4) and Kea (DHCPv4 and
/// DHCPv6) serve clients on the relay's link from the relay's giaddr and link-address.
#[test]
fn zerotouch_relay_serves_clients_of_isc_dhcpd_and_kea() {
    require_tools(&["ip", "dhclient", "dhcpd", "kea-dhcp4", "kea-dhcp6"]);
    let (lab, srv, relay, cli) = topology();
    let r1 = lab.ifname("r1");
    let mut relay_d = start_relay(
        &lab,
        &relay,
        &format!(
            "[relay4]\n[[relay4.downstream]]\ninterface = \"{r1}\"\nservers = [\"198.18.0.1\"]\n\
             agent_info = {{ circuit_id = \"{{interface}}\" }}\n\
             [relay6]\n[[relay6.downstream]]\ninterface = \"{r1}\"\nservers = [\"2001:db8:1::1\"]\n"
        ),
    );
    relay_d.wait_for_log("DHCPv6 relaying", Duration::from_secs(5));
    let s = lab.ifname("s");

    // ISC dhcpd.
    let conf = lab.write(
        "dhcpd.conf",
        "authoritative;\nsubnet 198.18.0.0 netmask 255.255.255.0 {}\n\
         subnet 198.19.0.0 netmask 255.255.255.0 { range 198.19.0.30 198.19.0.40; option routers 198.19.0.1; }\n",
    );
    let leases_file = lab.path("dhcpd.leases");
    std::fs::write(&leases_file, "").unwrap();
    let mut isc = Daemon::spawn(
        "dhcpd",
        &srv,
        &[
            "dhcpd",
            "-4",
            "-f",
            "-d",
            "-cf",
            conf.to_str().unwrap(),
            "-lf",
            leases_file.to_str().unwrap(),
            "-pf",
            lab.path("dhcpd.pid").to_str().unwrap(),
            &s,
        ],
        &lab.path("dhcpd.log"),
    );
    isc.wait_for_log("Sending on", Duration::from_secs(10));
    let from_isc = dhclient4(&lab, &cli, 1, 1);
    let last: u8 = from_isc.rsplit('.').next().unwrap().parse().unwrap();
    assert!(
        from_isc.starts_with("198.19.0.") && (30..=40).contains(&last),
        "{from_isc}\n{}",
        isc.log_text()
    );
    assert!(
        isc.log_text().contains("via 198.19.0.1"),
        "ISC dhcpd saw the relay's giaddr:\n{}",
        isc.log_text()
    );
    drop(isc);

    // Kea, both families.
    let (k4, k6) = start_kea(&lab, &srv);
    let from_kea = dhclient4(&lab, &cli, 2, 2);
    let last: u8 = from_kea.rsplit('.').next().unwrap().parse().unwrap();
    assert!(
        from_kea.starts_with("198.19.0.") && (50..=60).contains(&last),
        "{from_kea}\n{}",
        k4.log_text()
    );
    let (code, out, lease_file) = lab.dhclient6_once("kea-dhclient6", "", &[]);
    assert_eq!(code, 0, "{out}\n{}\n{}", relay_d.log_text(), k6.log_text());
    assert!(lease_file.contains("iaaddr 2001:db8:2::5"), "{lease_file}");
}
