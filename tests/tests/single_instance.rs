//! One server per lease database and per port: a second zerotouch-dhcpd started beside
//! a running one exits 2 naming the process that holds the database or the port, and
//! the first one keeps serving.

use std::time::Duration;

use zerotouch_tests::{Daemon, Lab, binary, leases, require_tools};

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
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "udhcpc",
            "-f",
            "-q",
            "-n",
            "-t",
            "3",
            "-T",
            "1",
            "-s",
            "/bin/true",
            "-i",
            &lab.ifname("c"),
        ],
        Duration::from_secs(20),
    );
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
