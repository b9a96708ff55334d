//! Starting the server: one server per lease database and per port (a second
//! zerotouch-dhcpd started beside a running one exits 2 naming the process that holds
//! the database or the port, and the first one keeps serving), and a served interface
//! that no subnet matches is reported at start, and its clients' drops at info.

use std::time::Duration;

use zerotouch_tests::{Daemon, Lab, binary, leases, require_tools};

/// busybox udhcpc in the client namespace: `tries` DISCOVERs a second apart, then its
/// exit code (0: it got a lease) and output.
fn udhcpc_once(lab: &Lab, tries: u32) -> (i32, String) {
    let tries = tries.to_string();
    let args = [
        "udhcpc",
        "-f",
        "-q",
        "-n",
        "-t",
        &tries,
        "-T",
        "1",
        "-s",
        "/bin/true",
        "-i",
    ];
    let ifc = lab.ifname("c");
    let argv: Vec<&str> = args.iter().copied().chain([ifc.as_str()]).collect();
    lab.run(&lab.cli(), &argv, Duration::from_secs(20))
}

#[test]
fn a_second_server_on_the_same_database_or_port_refuses_to_start() {
    require_tools(&["ip", "udhcpc"]);
    let lab = Lab::two_hosts();
    let srv = lab.srv();
    let first_cfg = lab.basic_config("", "", "");
    let mut first = lab.start_dhcpd(&first_cfg, "first.log");
    let bin = binary("zerotouch-dhcpd");
    let start_second = |cfg: &std::path::Path, log: &str| {
        let mut d = Daemon::spawn(
            "second zerotouch-dhcpd",
            &srv,
            &[bin.to_str().unwrap(), "--config", cfg.to_str().unwrap()],
            &lab.path(log),
        );
        let code = d.wait_exit(Duration::from_secs(20));
        (code, d.log_text())
    };
    let holder = format!("pid {} (zerotouch-dhcpd)", first.pid());

    // The same file: the same database and the same port.
    let (code, log) = start_second(&first_cfg, "same.log");
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains(&format!(
            "lease database {} is in use by {holder}",
            lab.path("leases.sqlite").display()
        )),
        "{log}"
    );

    // Another database, the same port.
    let other = std::fs::read_to_string(&first_cfg)
        .unwrap()
        .replace("leases.sqlite", "other.sqlite");
    let other_cfg = lab.write("other.toml", &other);
    let (code, log) = start_second(&other_cfg, "port.log");
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains(&format!(
            "cannot bind UDP port 67: port 67 is in use by {holder}"
        )),
        "{log}"
    );

    // The first server still serves, alone.
    let (code, out) = udhcpc_once(&lab, 3);
    assert_eq!(code, 0, "{out}");
    assert_eq!(leases::all(&lab.path("leases.sqlite")).len(), 1);
    assert!(
        !lab.path("other.sqlite").exists(),
        "the refused server made no database"
    );
    assert_eq!(
        first.stop_with(libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );

    // A stopped (or killed) server's lock file does not block the next start.
    let mut again = lab.start_dhcpd(&first_cfg, "again.log");
    assert_eq!(
        again.stop_with(libc::SIGKILL, Duration::from_secs(10)),
        None
    );
    let mut after_kill = lab.start_dhcpd(&first_cfg, "after-kill.log");
    assert_eq!(
        after_kill.stop_with(libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}

#[test]
fn an_interface_no_subnet_matches_is_reported_at_start_and_its_drops_at_info() {
    require_tools(&["ip", "udhcpc"]);
    let lab = Lab::two_hosts();
    let ifs = lab.ifname("s");
    // The server's link is 198.18.0.0/24; the only subnet is elsewhere (relayed).
    let text = |relayed_only: &str| {
        format!(
            "[leases]\ndatabase = \"{}\"\n[dhcp4]\ninterfaces = [\"{ifs}\"]\n{relayed_only}\n\
             [[dhcp4.subnet]]\nsubnet = \"198.19.0.0/24\"\n[[dhcp4.subnet.pool]]\nrange = \"198.19.0.10 - 198.19.0.20\"\n",
            lab.path("leases.sqlite").display()
        )
    };
    let cfg = lab.write("unmatched.toml", &text(""));
    let mut server = lab.start_dhcpd(&cfg, "unmatched.log");
    let warning = "DHCPv4: no subnet matches this interface (none names it, none holds one of its addresses): clients on its link get no answer";
    assert!(server.log_text().contains(warning), "{}", server.log_text());
    assert!(
        server.log_text().contains(&format!("interface={ifs}")),
        "{}",
        server.log_text()
    );
    let (code, _) = udhcpc_once(&lab, 2);
    assert_ne!(code, 0, "no lease on an unmatched link");
    server.wait_for_log("reason=\"no_subnet\"", Duration::from_secs(5));
    let log = server.log_text();
    assert!(
        log.lines().any(
            |l| l.contains(" INFO ") && l.contains("no reply: no subnet for the client's link")
        ),
        "{log}"
    );
    // Routine checkpoints stay out of an info log.
    assert!(!log.contains("lease database checkpoint"), "{log}");
    assert_eq!(
        server.stop_with(libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );

    // Meant for relayed clients only: no warning.
    let cfg = lab.write(
        "relayed.toml",
        &text(&format!("relayed_only = [\"{ifs}\"]")),
    );
    let mut server = lab.start_dhcpd(&cfg, "relayed.log");
    assert!(
        !server.log_text().contains("no subnet matches"),
        "{}",
        server.log_text()
    );
    assert_eq!(
        server.stop_with(libc::SIGTERM, Duration::from_secs(10)),
        Some(0)
    );
}
