//! Relayed DHCPv4: a real client behind ISC dhcrelay gets its address from the subnet
//! of the relay's giaddr, and the option 82 circuit-id the relay adds selects a host
//! reservation.
//!
//!   cli [c] ── [r1] relay [r2] ── [s] srv
//!   198.19.0.0/24    198.18.0.0/24

mod common;

use std::time::Duration;

use common::{DHCLIENT_SCRIPT, write_script};
use zerotouch_tests::{Daemon, Lab, leases, require_tools};

#[test]
fn relayed_client_gets_an_address_of_the_giaddr_subnet_and_its_circuit_id_reservation() {
    require_tools(&["ip", "dhclient", "dhcrelay"]);
    let (lab, _srv, relay, cli) = Lab::relayed();

    let db = lab.path("leases.sqlite");
    let circuit = lab.ifname("r1");
    let cfg = lab.basic_config(
        "",
        "",
        &format!(
            r#"
[[dhcp4.subnet]]
subnet = "198.19.0.0/24"
options = {{ routers = ["198.19.0.1"], domain-name-servers = ["198.19.0.53"] }}
[[dhcp4.subnet.pool]]
range = "198.19.0.10 - 198.19.0.20"

# The switch port the relay names in option 82 gets a fixed address.
[[dhcp4.host]]
circuit_id = "{circuit}"
address = "198.19.0.77"
"#
        ),
    );
    let server = lab.start_dhcpd(&cfg, "server.log");
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT_SCRIPT);
    let ifc = lab.ifname("c");

    // One client run behind a fresh dhcrelay: a new MAC, the relay with `extra` flags.
    let relay_ns = relay.clone();
    let run_client = |n: u32, mac: &str, extra: &[&str]| -> (Daemon, leases::Row) {
        lab.set_mac(&cli, "c", mac);
        let up = lab.ifname("r2");
        let mut args = vec!["dhcrelay", "-4", "-d"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-id", &circuit, "-iu", &up, "198.18.0.1"]);
        let mut dhcrelay = Daemon::spawn(
            "dhcrelay",
            &relay_ns,
            &args,
            &lab.path(&format!("dhcrelay{n}.log")),
        );
        dhcrelay.wait_for_log("Sending on", Duration::from_secs(10));
        let lf = lab.path(&format!("dhclient{n}.leases"));
        let dhclient = [
            "dhclient",
            "-4",
            "-1",
            "-v",
            "-sf",
            &script,
            "-lf",
            lf.to_str().unwrap(),
            "-pf",
            "/dev/null",
            &ifc,
        ];
        let (code, out) = lab.run(&cli, &dhclient, Duration::from_secs(40));
        assert_eq!(code, 0, "{out}");
        let lease = leases::wait_for(&db, mac, Duration::from_secs(5), "active", |r| {
            r.state == "active"
        });
        (dhcrelay, lease)
    };

    // Without option 82: an address from the pool of the giaddr's subnet.
    let (dhcrelay, lease) = run_client(1, "02:00:00:00:03:01", &[]);
    let last: u8 = lease
        .address
        .strip_prefix("198.19.0.")
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("{} is not in 198.19.0.0/24", lease.address));
    assert!((10..=20).contains(&last), "{}", lease.address);
    let events = std::fs::read_to_string(lab.path("dhclient-events.log")).unwrap();
    assert!(
        events.contains("routers=198.19.0.1 dns=198.19.0.53"),
        "{events}"
    );
    drop(dhcrelay);

    // With option 82 (-a: circuit-id = the relay's interface name): the reservation.
    let (dhcrelay, reserved) = run_client(2, "02:00:00:00:03:02", &["-a"]);
    assert_eq!(reserved.address, "198.19.0.77");
    // dhcrelay forwards a reply only when the echoed option 82 is its own (it strips it).
    assert!(
        !dhcrelay.log_text().contains("discarding"),
        "{}",
        dhcrelay.log_text()
    );
    assert!(server.log_text().contains("DISCOVER -> OFFER 198.19.0.77"));
}
