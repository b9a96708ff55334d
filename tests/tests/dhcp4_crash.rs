//! Durability: under perfdhcp load the server is killed with SIGKILL and restarted;
//! every ACK captured on the wire has its lease in the database, and no address was
//! acknowledged to two clients. Both `synchronous` modes guarantee this: "full" fsyncs
//! each commit (power loss too), "normal" leaves the WAL write to the page cache, which
//! a killed process cannot lose.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zerotouch_proto::v4::MessageType;
use zerotouch_tests::{Daemon, Lab, leases, pcap, require_tools};

#[test]
fn every_ack_on_the_wire_survives_kill_9_with_synchronous_full() {
    ack_survives_kill_9("full");
}

#[test]
fn every_ack_on_the_wire_survives_kill_9_with_synchronous_normal() {
    ack_survives_kill_9("normal");
}

fn ack_survives_kill_9(synchronous: &str) {
    require_tools(&["ip", "perfdhcp", "tcpdump"]);
    let mut lab = Lab::empty();
    let (srv, cli) = (lab.ns("srv"), lab.ns("cli"));
    lab.link(&srv, "s", &cli, "c");
    lab.addr(&srv, "s", "198.18.0.1/15");
    lab.addr(&cli, "c", "198.18.0.2/15");
    let db = lab.path("leases.sqlite");
    let cfg = lab.write(
        "dhcpd.toml",
        &format!(
            "[log]\nlevel = \"warn\"\n[leases]\ndatabase = \"{}\"\nsynchronous = \"{synchronous}\"\n[dhcp4]\ninterfaces = [\"{}\"]\nauthoritative = true\nlease_time = 4000\n[[dhcp4.subnet]]\nsubnet = \"198.18.0.0/15\"\n[[dhcp4.subnet.pool]]\nrange = \"198.18.1.0 - 198.19.255.254\"\n",
            db.display(),
            lab.ifname("s")
        ),
    );
    let bin = zerotouch_tests::binary("zerotouch-dhcpd");
    let start_server = |name: &str| {
        let mut d = Daemon::spawn(
            "zerotouch-dhcpd",
            &srv,
            &[
                bin.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
                "--log-level",
                "info",
            ],
            &lab.path(name),
        );
        d.wait_for_log("DHCPv4 serving", Duration::from_secs(20));
        d
    };
    let mut server = start_server("server1.log");

    let capture = lab.path("wire.pcap");
    let mut tcpdump =
        pcap::capture_dhcp4(&cli, &lab.ifname("c"), &capture, &lab.path("tcpdump.log"));

    // perfdhcp with -l acts as a relay (giaddr = its address) and expects replies on 67.
    let mut perfdhcp = Daemon::spawn(
        "perfdhcp",
        &cli,
        &[
            "perfdhcp",
            "-4",
            "-l",
            &lab.ifname("c"),
            "-r",
            "1500",
            "-R",
            "100000000",
            "-p",
            "8",
        ],
        &lab.path("perfdhcp.log"),
    );
    std::thread::sleep(Duration::from_millis(3000));
    server.stop_with(libc::SIGKILL, Duration::from_secs(5));
    let killed_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    std::thread::sleep(Duration::from_millis(300));
    let mut server = start_server("server2.log");
    perfdhcp.wait_exit(Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    tcpdump.stop_with(libc::SIGINT, Duration::from_secs(10));

    let wire = std::fs::read(&capture).expect("capture");
    let acks: Vec<_> = pcap::dhcp_from(&wire, "198.18.0.1".parse().unwrap())
        .into_iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Ack))
        .collect();
    let before = acks.iter().filter(|(t, _)| *t < killed_at).count();
    let after = acks.len() - before;
    assert!(
        before > 500 && after > 500,
        "ACKs before the kill: {before}, after the restart: {after}\n{}",
        lab.path("perfdhcp.log").display()
    );

    // Stop cleanly so everything queued is committed, then read the database.
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let rows: HashMap<String, leases::Row> = leases::all(&db)
        .into_iter()
        .map(|r| (r.address.clone(), r))
        .collect();
    let mut holder: HashMap<String, String> = HashMap::new();
    for (_, ack) in &acks {
        let addr = ack.yiaddr.to_string();
        let hw = zerotouch_proto::hex::colon(ack.hwaddr());
        let row = rows.get(&addr).unwrap_or_else(|| {
            panic!("ACK for {addr} to {hw} on the wire, but no lease in the database")
        });
        assert_eq!(
            row.hw_address, hw,
            "lease {addr} belongs to another client than the ACK said"
        );
        if let Some(prev) = holder.insert(addr.clone(), hw.clone()) {
            assert_eq!(prev, hw, "{addr} was acknowledged to two clients");
        }
    }
}
