//! Real DHCPv4 clients (ISC dhclient, busybox udhcpc) obtain, renew and release leases
//! from zerotouch-dhcpd across a veth link.

mod common;

use std::time::Duration;

use common::{DHCLIENT_SCRIPT, UDHCPC_SCRIPT, write_script};
use zerotouch_tests::{Daemon, Lab, leases, require_tools};

fn server_config(lab: &Lab, lease_time: u32) -> std::path::PathBuf {
    lab.basic_config(
        &format!(
            r#"# Short leases so that the clients renew (at T1 = lease/2) while the test watches.
lease_time = {lease_time}

[dhcp4.options]
domain-name-servers = ["198.18.0.53", "198.18.0.54"]
domain-name = "lab.example"
"#
        ),
        r#"options = { routers = ["198.18.0.1"] }"#,
        "",
    )
}

#[test]
fn dhclient_obtains_renews_reboots_and_releases() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts();
    let (cli, ifc) = (lab.cli(), lab.ifname("c"));
    let mac = "02:00:00:00:01:01";
    lab.set_mac(&cli, "c", mac);
    let db = lab.path("leases.sqlite");
    let server = lab.start_dhcpd(&server_config(&lab, 8), "server.log");
    let script = write_script(lab.dir.path(), "dhclient-script", DHCLIENT_SCRIPT);
    let (lf, pf) = (lab.path("dhclient.leases"), lab.path("dhclient.pid"));
    let (lf, pf) = (lf.to_str().unwrap(), pf.to_str().unwrap());
    let args = [
        "dhclient", "-4", "-d", "-v", "-sf", &script, "-lf", lf, "-pf", pf, &ifc,
    ];

    // Obtain: DISCOVER, OFFER, REQUEST, ACK; the lease is in the database.
    let mut client = Daemon::spawn("dhclient", &cli, &args, &lab.path("dhclient1.log"));
    let bound = leases::wait_for(&db, mac, Duration::from_secs(30), "active", |r| {
        r.state == "active"
    });
    client.wait_for_log(
        &format!("bound to {}", bound.address),
        Duration::from_secs(10),
    );
    assert_eq!(
        lab.ipv4_of(&cli, "c"),
        vec![format!("{}/24", bound.address)]
    );
    let events = std::fs::read_to_string(lab.path("dhclient-events.log")).unwrap();
    assert!(
        events.contains(&format!(
            "BOUND ip={} mask=255.255.255.0 routers=198.18.0.1 dns=198.18.0.53 198.18.0.54 lease=8",
            bound.address
        )),
        "{events}"
    );

    // Renew at T1 (4 s): a unicast REQUEST from the bound address extends the lease.
    let renewed = leases::wait_for(&db, mac, Duration::from_secs(20), "renewed", |r| {
        r.expires > bound.expires
    });
    assert_eq!(renewed.address, bound.address);
    assert!(
        server.log_text().contains(&format!(
            "REQUEST (RenewingOrRebinding) -> ACK {}",
            bound.address
        )),
        "{}",
        server.log_text()
    );

    // Reboot: a new dhclient with the same lease file asks for its address (INIT-REBOOT).
    client.stop_with(libc::SIGKILL, Duration::from_secs(5));
    let mut client = Daemon::spawn("dhclient", &cli, &args, &lab.path("dhclient2.log"));
    client.wait_for_log(
        &format!("bound to {}", bound.address),
        Duration::from_secs(30),
    );
    assert!(
        server
            .log_text()
            .contains(&format!("REQUEST (InitReboot) -> ACK {}", bound.address)),
        "{}",
        server.log_text()
    );

    // Release: `dhclient -r` stops the running client, which sends DHCPRELEASE.
    let (code, out) = lab.run(
        &cli,
        &[
            "dhclient", "-4", "-r", "-v", "-sf", &script, "-lf", lf, "-pf", pf, &ifc,
        ],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{out}");
    let released = leases::wait_for(&db, mac, Duration::from_secs(10), "released", |r| {
        r.state == "released"
    });
    assert_eq!(released.address, bound.address);
    drop(client);
}

#[test]
fn udhcpc_obtains_renews_and_releases_with_a_client_identifier() {
    require_tools(&["ip", "udhcpc"]);
    let lab = Lab::two_hosts();
    let (cli, ifc) = (lab.cli(), lab.ifname("c"));
    let mac = "02:00:00:00:02:02";
    lab.set_mac(&cli, "c", mac);
    let db = lab.path("leases.sqlite");
    let server = lab.start_dhcpd(&server_config(&lab, 8), "server.log");
    let script = write_script(lab.dir.path(), "udhcpc-script", UDHCPC_SCRIPT);

    let mut client = Daemon::spawn(
        "udhcpc",
        &cli,
        &[
            "udhcpc", "-f", "-R", "-t", "5", "-T", "1", "-i", &ifc, "-s", &script,
        ],
        &lab.path("udhcpc.log"),
    );
    let bound = leases::wait_for(&db, mac, Duration::from_secs(30), "active", |r| {
        r.state == "active"
    });
    // udhcpc sends option 61 (type 1 + MAC): the lease is keyed by it.
    assert_eq!(bound.client_id.as_deref(), Some("01:02:00:00:00:02:02"));
    let events = || std::fs::read_to_string(lab.path("udhcpc-events.log")).unwrap_or_default();
    let start = std::time::Instant::now();
    while !events().contains(&format!(
        "bound ip={} subnet=255.255.255.0 router=198.18.0.1",
        bound.address
    )) {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", events());
        std::thread::sleep(Duration::from_millis(100));
    }

    let renewed = leases::wait_for(&db, mac, Duration::from_secs(20), "renewed", |r| {
        r.expires > bound.expires
    });
    assert_eq!(renewed.address, bound.address);
    // The lease is durable before its ACK leaves, so the client's script runs a little
    // after the database shows the renewal.
    let start = std::time::Instant::now();
    while !events().contains(&format!("renew ip={}", bound.address)) {
        assert!(start.elapsed() < Duration::from_secs(5), "{}", events());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log_text().contains(&format!(
        "REQUEST (RenewingOrRebinding) -> ACK {}",
        bound.address
    )));

    // -R: udhcpc releases its lease when it exits.
    client.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let released = leases::wait_for(&db, mac, Duration::from_secs(10), "released", |r| {
        r.state == "released"
    });
    assert_eq!(released.address, bound.address);

    // A returning client gets its old address back while it is free.
    let mut again = Daemon::spawn(
        "udhcpc",
        &cli,
        &[
            "udhcpc", "-f", "-q", "-t", "5", "-T", "1", "-i", &ifc, "-s", &script,
        ],
        &lab.path("udhcpc2.log"),
    );
    assert_eq!(
        again.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        again.log_text()
    );
    let back = leases::wait_for(&db, mac, Duration::from_secs(10), "active again", |r| {
        r.state == "active"
    });
    assert_eq!(back.address, bound.address);
}
