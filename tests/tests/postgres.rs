//! The PostgreSQL lease store (`zerotouch-lease-postgres`) against a real PostgreSQL
//! started by the test (initdb and pg_ctl in a temporary folder, a Unix socket only):
//! the schema created only when asked and refused when newer; leases of both families
//! written in batches (the last change of a lease in a batch wins) and read back equal;
//! the rows as `psql` shows them; the server stopped and started again under the
//! store, which connects again; a multi-host connection string finding the server.
//! Then zerotouch-dhcpd on it: refused until `db init` makes the schema, then serving
//! ISC dhclient with the lease in PostgreSQL, the same lease after a restart, and a
//! second server on the same database refused.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use std::time::Duration;
use zerotouch_lease::{
    IaKey, IaKind, Lease4, Lease6, LeaseBackend, LeaseState, Resource, StoreError, numbered_lease,
};
use zerotouch_lease_postgres::{PgConfig, PgStore, schema};
use zerotouch_tests::postgres::Postgres;

use zerotouch_tests::{Lab, binary, require_tools};

fn lease6(i: u16, kind: IaKind) -> Lease6 {
    let (address, prefix_len) = match kind {
        IaKind::Na => (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + i), 128),
        IaKind::Pd => (Ipv6Addr::new(0x2001, 0xdb8, 0x100, i, 0, 0, 0, 0), 64),
    };
    Lease6 {
        resource: Resource {
            address,
            prefix_len,
        },
        ia: Some(IaKey {
            kind,
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, i as u8].into(),
            iaid: 7 + u32::from(i),
        }),
        kind,
        state: LeaseState::Active,
        starts: 1_700_000_000,
        preferred: 3600,
        expires: 1_700_007_200,
        hw_address: Some(vec![2, 0, 0, 0, 0, i as u8]),
        hostname: i.is_multiple_of(2).then(|| format!("host-{i}")),
    }
}

fn sorted4(mut v: Vec<Lease4>) -> Vec<Lease4> {
    v.sort_by_key(|l| l.address);
    v
}

#[test]
fn leases_of_both_families_are_kept_in_postgresql() {
    require_tools(&["runuser"]);
    let pg = Postgres::start();
    let cfg = PgConfig::new(&pg.url(), None).unwrap();

    // No schema: refused, with the command that makes it.
    let err = PgStore::open(&cfg, "a", false).unwrap_err().to_string();
    assert!(err.contains("zerotouch-dhcpd db init"), "{err}");
    let mut store = PgStore::open(&cfg, "a", true).unwrap();
    assert_eq!(
        pg.psql("SELECT max(version) FROM zerotouch_schema")
            .unwrap()
            .trim(),
        schema::VERSION.to_string()
    );
    // Opening again changes nothing.
    PgStore::open(&cfg, "a", false).unwrap();

    // DHCPv4: 2000 leases in batches of 500; in the last batch lease 7 changes twice
    // and the second change stands.
    let mut leases: Vec<Lease4> = (0..2000).map(numbered_lease).collect();
    leases[3].state = LeaseState::Declined;
    leases[3].client = None;
    leases[5].hostname = Some("edge-5".into());
    for batch in leases.chunks(500) {
        store.write4(batch).unwrap();
    }
    let mut seven = leases[7].clone();
    seven.state = LeaseState::Released;
    let mut seven_again = seven.clone();
    seven_again.expires = 4242;
    store
        .write4(&[seven, leases[8].clone(), seven_again.clone()])
        .unwrap();
    leases[7] = seven_again;
    let loaded = store.load4().unwrap();
    assert!(loaded.bad_rows.is_empty(), "{:?}", loaded.bad_rows);
    assert_eq!(sorted4(loaded.leases), sorted4(leases.clone()));
    assert_eq!(
        store.get4(leases[5].address).unwrap().as_ref(),
        Some(&leases[5])
    );
    assert_eq!(store.get4(Ipv4Addr::new(198, 18, 200, 1)).unwrap(), None);
    assert_eq!(
        pg.psql("SELECT address, state, expires FROM lease4 WHERE address = '198.18.1.7'")
            .unwrap()
            .trim(),
        "198.18.1.7|released|4242"
    );

    // DHCPv6: addresses and prefixes, a declined address with no IA.
    let mut leases6: Vec<Lease6> = (0..50)
        .map(|i| lease6(i, IaKind::Na))
        .chain((0..50).map(|i| lease6(i, IaKind::Pd)))
        .collect();
    leases6[0].state = LeaseState::Declined;
    leases6[0].ia = None;
    store.write6(&leases6).unwrap();
    let mut back = store.load6().unwrap().leases;
    back.sort_by_key(|l| (l.resource.address, l.resource.prefix_len));
    leases6.sort_by_key(|l| (l.resource.address, l.resource.prefix_len));
    assert_eq!(back, leases6);
    assert_eq!(
        store
            .get6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x101))
            .unwrap()
            .as_ref(),
        leases6
            .iter()
            .find(|l| l.resource.address.segments()[7] == 0x101)
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM lease6 WHERE type = 'pd' AND prefix_len = 64")
            .unwrap()
            .trim(),
        "50"
    );

    // The server's identity.
    assert_eq!(store.identity("duid").unwrap(), None);
    store.set_identity("duid", "00:01:00:01").unwrap();
    store.set_identity("duid", "00:01:00:02").unwrap();
    assert_eq!(
        store.identity("duid").unwrap().as_deref(),
        Some("00:01:00:02")
    );

    // The database stops: a write fails and says which database; once it is back the
    // store connects again and loses nothing.
    pg.stop();
    let mut changed = leases[9].clone();
    changed.expires = 9999;
    let err = store.write4(std::slice::from_ref(&changed)).unwrap_err();
    assert!(matches!(err, StoreError::Server { .. }), "{err}");
    assert!(err.to_string().contains("postgresql"), "{err}");
    pg.resume();
    store.write4(std::slice::from_ref(&changed)).unwrap();
    assert_eq!(store.get4(changed.address).unwrap(), Some(changed));
    assert_eq!(store.load4().unwrap().leases.len(), 2000);

    // Several hosts: the one that takes connections is found.
    let multi = PgConfig::new(
        &format!(
            "host=/nonexistent,{} port=5432,5432 user=zerotouch dbname=postgres target_session_attrs=read-write",
            pg.socket_dir().display()
        ),
        None,
    )
    .unwrap();
    let other = PgStore::open(&multi, "a", false).unwrap();
    assert_eq!(other.load4().unwrap().leases.len(), 2000);

    // A schema newer than this build: refused.
    pg.psql("INSERT INTO zerotouch_schema (version) VALUES (99)")
        .unwrap();
    let err = PgStore::open(&cfg, "a", true).unwrap_err().to_string();
    assert!(
        err.contains("schema version 99") && err.contains("newer server"),
        "{err}"
    );
}

/// Two servers on one database, at the store: a lease of an address another server's
/// client holds is refused (with the stored lease), the holder's renewal at either
/// server is written, an expiry that another server's renewal overtook is refused, a
/// released address goes to the next client; each server hears of the other's changes,
/// not of its own, and of a change made in psql; each has its own identity.
#[test]
fn servers_sharing_a_database_never_give_one_address_to_two_clients() {
    require_tools(&["runuser"]);
    let pg = Postgres::start();
    let cfg = PgConfig::new(&pg.url(), None).unwrap();
    let mut a = PgStore::open(&cfg, "a", true).unwrap();
    let mut b = PgStore::open(&cfg, "b", false).unwrap();
    let a_hears = a.follow4().unwrap().unwrap();
    let b_hears = b.follow4().unwrap().unwrap();
    let hear = |f: &zerotouch_lease::Following<Lease4>| {
        f.changes
            .recv_timeout(Duration::from_secs(5))
            .expect("a change notified")
    };
    let now = zerotouch_lease::unix_now();
    let held = |i: u32, client: u32| Lease4 {
        address: numbered_lease(i).address,
        starts: now,
        expires: now + 3600,
        ..numbered_lease(client)
    };

    // a gives .1 to client 1; b's lease of .1 for client 2 is refused, and b learns
    // a's lease; client 3's lease of .2 in the same batch is written.
    assert!(a.write4(&[held(1, 1)]).unwrap().refused.is_empty());
    assert_eq!(hear(&b_hears), vec![held(1, 1)]);
    let written = b.write4(&[held(1, 2), held(2, 3)]).unwrap();
    assert_eq!(written.refused, vec![0]);
    assert_eq!(written.current, vec![held(1, 1)]);
    assert_eq!(a.get4(held(1, 1).address).unwrap(), Some(held(1, 1)));
    assert_eq!(hear(&a_hears), vec![held(2, 3)]);

    // Client 1 renews at b: written. a's expiry of the lease it granted, which b's
    // renewal overtook, is refused.
    let mut renewed = held(1, 1);
    renewed.expires += 600;
    assert!(
        b.write4(std::slice::from_ref(&renewed))
            .unwrap()
            .refused
            .is_empty()
    );
    let mut expired = held(1, 1);
    expired.state = LeaseState::Expired;
    let written = a.write4(&[expired]).unwrap();
    assert_eq!(
        (written.refused, written.current),
        (vec![0], vec![renewed.clone()])
    );

    // Client 1 releases at a: the address goes to client 2 at b.
    let released = Lease4 {
        state: LeaseState::Released,
        expires: now,
        ..renewed.clone()
    };
    assert!(a.write4(&[released]).unwrap().refused.is_empty());
    assert!(b.write4(&[held(1, 2)]).unwrap().refused.is_empty());
    assert_eq!(a.get4(held(1, 2).address).unwrap(), Some(held(1, 2)));

    // Each server hears of the other's changes as they stand when read, and never of
    // its own (nor of a refused write).
    assert_eq!(hear(&a_hears).len(), 1, "b's renewal");
    assert_eq!(hear(&a_hears), vec![held(1, 2)]);
    assert_eq!(hear(&b_hears).len(), 1, "a's release");
    for f in [&a_hears, &b_hears] {
        assert!(f.changes.recv_timeout(Duration::from_millis(300)).is_err());
    }
    // Whoever writes, the servers hear of it: here a DBA in psql.
    pg.psql(&format!(
        "UPDATE lease4 SET hostname = 'renamed' WHERE address = '{}'",
        held(2, 3).address
    ))
    .unwrap();
    for f in [&a_hears, &b_hears] {
        let change = hear(f);
        assert_eq!(change.len(), 1);
        assert_eq!(change[0].hostname.as_deref(), Some("renamed"));
    }

    // DHCPv6 the same way: b's prefix for another IA is refused.
    let prefix = lease6(1, IaKind::Pd);
    let mut ours = prefix.clone();
    ours.expires = now + 3600;
    let mut theirs = ours.clone();
    theirs.ia = lease6(2, IaKind::Pd).ia;
    assert!(a.write6(&[ours.clone()]).unwrap().refused.is_empty());
    let written = b.write6(&[theirs]).unwrap();
    assert_eq!((written.refused, written.current), (vec![0], vec![ours]));

    // Each server its own DUID.
    a.set_identity("duid", "00:01:aa").unwrap();
    assert_eq!(b.identity("duid").unwrap(), None);
    b.set_identity("duid", "00:01:bb").unwrap();
    assert_eq!(a.identity("duid").unwrap().as_deref(), Some("00:01:aa"));
}

/// zerotouch-dhcpd with `[leases.postgresql]`, `db` subcommands, dhclient.
#[test]
fn zerotouch_dhcpd_serves_from_postgresql() {
    require_tools(&["runuser", "ip", "dhclient"]);
    let pg = Postgres::start();
    let lab = Lab::two_hosts();
    let cfg = lab.basic_config("", "", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("database = \"{}\"", lab.path("leases.sqlite").display()),
        &format!("postgresql = {{ url = \"{}\" }}", pg.url()),
    );
    assert!(text.contains("postgresql = {"), "{text}");
    std::fs::write(&cfg, &text).unwrap();
    let dhcpd = binary("zerotouch-dhcpd");
    let run = |args: &[&str]| {
        let mut all = vec![dhcpd.to_str().unwrap()];
        all.extend(args);
        all.extend(["--config", cfg.to_str().unwrap()]);
        lab.run(&lab.srv(), &all, Duration::from_secs(20))
    };

    // The database unreachable: the server does not start, and says which database.
    let unreachable = lab.write(
        "unreachable.toml",
        &text.replace(
            &pg.url(),
            "host=/nonexistent port=5432 user=zerotouch dbname=leases",
        ),
    );
    let (code, out) = lab.run(
        &lab.srv(),
        &[
            dhcpd.to_str().unwrap(),
            "--config",
            unreachable.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("postgresql /nonexistent/leases") && out.contains("cannot connect"),
        "{out}"
    );

    // No schema: the server does not start, and says how to make it.
    let (code, out) = run(&[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("zerotouch-dhcpd db init"), "{out}");
    let (code, out) = run(&["db", "status"]);
    assert_eq!(
        (code, out.trim()),
        (1, "schema version 0; this server's: 3"),
        "{out}"
    );
    let (code, out) = run(&["db", "init"]);
    assert_eq!((code, out.trim()), (0, "schema version 0 -> 3"), "{out}");
    let (code, out) = run(&["db", "upgrade"]);
    assert_eq!(
        (code, out.trim()),
        (0, "schema version 3: up to date"),
        "{out}"
    );
    let (code, out) = run(&["db", "status"]);
    assert_eq!(code, 0, "{out}");

    // Serving: dhclient's lease is a row in PostgreSQL.
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    let (code, out) = run(&[]);
    assert_ne!(
        code, 0,
        "a second server of the same name on the database: {out}"
    );
    assert!(
        out.contains("another zerotouch-dhcpd named") && out.contains("server_name"),
        "{out}"
    );
    let (mut dhclient, lf) = common::dhclient4(&lab, "");
    let start = std::time::Instant::now();
    let address = loop {
        let leases = std::fs::read_to_string(&lf).unwrap_or_default();
        if let Some(a) = leases
            .lines()
            .filter_map(|l| l.trim().strip_prefix("fixed-address "))
            .next_back()
        {
            break a.trim_end_matches(';').to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let row = pg
        .psql(&format!(
            "SELECT state, hw_address IS NOT NULL FROM lease4 WHERE address = '{address}'"
        ))
        .unwrap();
    assert_eq!(row.trim(), "active|t", "{}", server.log_text());
    dhclient.stop_with(libc::SIGTERM, Duration::from_secs(5));
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));

    // Restarted, the server has its lease from the database: the client gets its
    // address again.
    std::fs::remove_file(&lf).unwrap();
    let mut server = lab.start_dhcpd(&cfg, "server2.log");
    let (mut dhclient, lf) = common::dhclient4(&lab, "");
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&lf)
        .unwrap_or_default()
        .contains(&format!("fixed-address {address};"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(pg.psql("SELECT count(*) FROM lease4").unwrap().trim(), "1");
    dhclient.stop_with(libc::SIGTERM, Duration::from_secs(5));
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// `zerotouch-dhcpd leases export|import`: leases of both families from the embedded
/// store to PostgreSQL and back to a new embedded store, equal at every step; a file
/// with bad lines names each and imports nothing; a lease of an address another client
/// holds in PostgreSQL is refused and counted.
#[test]
fn leases_move_between_the_embedded_store_and_postgresql_both_ways() {
    require_tools(&["runuser"]);
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str, leases: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!("[leases]\n{leases}\n[dhcp4]\ninterfaces = [\"eth0\"]\n"),
        )
        .unwrap();
        path
    };
    let (sqlite_a, sqlite_b) = (
        config("a", "database = \"a.sqlite\""),
        config("c", "database = \"c.sqlite\""),
    );
    let postgres = config(
        "b",
        &format!(
            "postgresql = {{ url = \"{}\", upgrade_schema = true }}",
            pg.url()
        ),
    );
    let leases: Vec<Lease4> = (0..2000).map(numbered_lease).collect();
    let leases6: Vec<Lease6> = (0..50)
        .map(|i| lease6(i, IaKind::Na))
        .chain((0..50).map(|i| lease6(i, IaKind::Pd)))
        .collect();
    {
        let mut a = zerotouch_lease::SqliteStore::open(
            &dir.path().join("a.sqlite"),
            zerotouch_config::Synchronous::Full,
        )
        .unwrap();
        a.write4(&leases).unwrap();
        a.write6(&leases6).unwrap();
    }
    let dhcpd = |args: &[&str], cfg: &std::path::Path| {
        let out = std::process::Command::new(binary("zerotouch-dhcpd"))
            .arg("leases")
            .args(args)
            .arg("--config")
            .arg(cfg)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
    };
    let file = |name: &str| dir.path().join(name).display().to_string();

    // SQLite → file → PostgreSQL.
    let out = dhcpd(&["export", "-o", &file("a.jsonl")], &sqlite_a);
    assert_eq!(
        out,
        (0, "exported 2000 DHCPv4 and 100 DHCPv6 leases".into())
    );
    let out = dhcpd(&["import", &file("a.jsonl")], &postgres);
    assert_eq!(
        out,
        (0, "imported 2000 DHCPv4 and 100 DHCPv6 leases".into())
    );
    let cfg = PgConfig::new(&pg.url(), None).unwrap();
    let store = PgStore::open(&cfg, "check", false).unwrap();
    assert_eq!(
        sorted4(store.load4().unwrap().leases),
        sorted4(leases.clone())
    );
    assert_eq!(store.load6().unwrap().leases.len(), 100);

    // PostgreSQL → file → a new SQLite file.
    let out = dhcpd(&["export", "-o", &file("b.jsonl")], &postgres);
    assert_eq!(out.0, 0, "{}", out.1);
    let out = dhcpd(&["import", &file("b.jsonl")], &sqlite_b);
    assert_eq!(
        out,
        (0, "imported 2000 DHCPv4 and 100 DHCPv6 leases".into())
    );
    let c = zerotouch_lease::SqliteStore::open_reader(&dir.path().join("c.sqlite")).unwrap();
    assert_eq!(sorted4(c.load4().unwrap().leases), sorted4(leases.clone()));
    let mut back6 = c.load6().unwrap().leases;
    back6.sort_by_key(|l| (l.resource.address, l.resource.prefix_len));
    let mut want6 = leases6.clone();
    want6.sort_by_key(|l| (l.resource.address, l.resource.prefix_len));
    assert_eq!(back6, want6);

    // Bad lines: each named, nothing imported.
    let text = std::fs::read_to_string(file("b.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().take(5).map(String::from).collect();
    lines[1] = lines[1].replace("\"htype\":1", "\"htype\":300");
    lines[3] = "not json".into();
    std::fs::write(file("bad.jsonl"), lines.join("\n")).unwrap();
    let (code, said) = dhcpd(&["import", &file("bad.jsonl")], &sqlite_b);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("nothing imported") && said.contains("line 2:") && said.contains("line 4:"),
        "{said}"
    );

    // A lease of an address another client holds now in PostgreSQL: refused.
    let now = zerotouch_lease::unix_now();
    let mut held = numbered_lease(5);
    held.expires = now + 3600;
    let mut store = PgStore::open(&cfg, "check", false).unwrap();
    store.write4(&[held]).unwrap();
    let mut other = numbered_lease(6);
    other.address = numbered_lease(5).address;
    other.expires = now + 3600;
    let mut one = Vec::new();
    zerotouch_lease::transfer::write(&mut one, &[other], &[]).unwrap();
    std::fs::write(file("other.jsonl"), one).unwrap();
    let out = dhcpd(&["import", &file("other.jsonl")], &postgres);
    assert_eq!(
        out,
        (
            0,
            "imported 0 DHCPv4 and 0 DHCPv6 leases; refused 1 DHCPv4 and 0 DHCPv6 leases: their addresses are held by other clients in the store".into()
        )
    );
}

/// While PostgreSQL is down, dhclient's renewal gets an ACK for the time its stored
/// lease has left (`outage_renewals = "remaining"`, the default), and nothing new is
/// offered.
#[test]
fn a_renewal_while_the_database_is_down_gets_the_time_its_stored_lease_has_left() {
    require_tools(&["runuser", "ip", "dhclient"]);
    let pg = Postgres::start();
    let lab = Lab::two_hosts();
    let cfg = lab.basic_config("lease_time = 20\nmin_lease_time = 20\n", "", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("database = \"{}\"", lab.path("leases.sqlite").display()),
        &format!(
            "postgresql = {{ url = \"{}\", upgrade_schema = true }}",
            pg.url()
        ),
    );
    std::fs::write(&cfg, &text).unwrap();
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    server.wait_for_log("DHCPv4 serving", Duration::from_secs(20));
    // Retransmissions a second apart: the renewal that meets the outage first is
    // withheld (its commit fails), the next is answered from the store.
    let (mut dhclient, lf) = common::dhclient4(&lab, "initial-interval 1;\n");
    let leases = |lf: &std::path::Path| {
        std::fs::read_to_string(lf)
            .unwrap_or_default()
            .matches("lease {")
            .count()
    };
    let start = std::time::Instant::now();
    while leases(&lf) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    pg.stop();
    // dhclient renews at T1 (10 s): the server answers from the stored lease.
    let start = std::time::Instant::now();
    let granted: u32 = loop {
        let log = server.log_text();
        if let Some(left) = log
            .lines()
            .find(|l| l.contains("its stored lease has left"))
            .and_then(|l| l.split(" for the ").nth(1))
            .and_then(|rest| rest.split('s').next())
            .and_then(|n| n.parse().ok())
        {
            break left;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no renewal while the database is down:\n{}\n{log}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(granted < 20, "the time left, not a new lease: {granted}");
    // dhclient took the answer: an ACK after its renewal.
    let start = std::time::Instant::now();
    while dhclient.log_text().matches("DHCPACK").count() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    dhclient.stop_with(libc::SIGTERM, Duration::from_secs(5));
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    pg.resume();
}

/// TLS to the database (rustls with ring): with the server's CA in `tls_ca` the store
/// connects over TLS (PostgreSQL counts the session as SSL) and works; with another CA
/// it is refused, and says why.
#[test]
fn the_store_reaches_postgresql_over_tls_and_refuses_a_certificate_it_does_not_trust() {
    require_tools(&["runuser", "openssl"]);
    let (pg, ca) = Postgres::start_tls();
    pg.psql("SELECT 1").unwrap();
    let url = format!(
        "host=127.0.0.1 port={} user=zerotouch dbname=postgres sslmode=require",
        pg.port()
    );
    let cfg = PgConfig::new(&url, Some(ca)).unwrap();
    let mut store = PgStore::open(&cfg, "tls", true).unwrap();
    store.write4(&[numbered_lease(1)]).unwrap();
    assert_eq!(
        store.get4(numbered_lease(1).address).unwrap(),
        Some(numbered_lease(1))
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ssl: bool = runtime.block_on(async {
        let client = cfg.connect().await.unwrap();
        client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    });
    assert!(ssl, "the session is TLS");

    // Another CA: refused.
    let dir = tempfile::tempdir().unwrap();
    zerotouch_tests::pki::self_signed(dir.path(), "other", "other");
    let other = PgConfig::new(&url, Some(dir.path().join("other.pem"))).unwrap();
    let err = PgStore::open(&other, "tls", false).unwrap_err().to_string();
    assert!(
        err.contains("cannot connect over TLS") && err.contains("127.0.0.1"),
        "{err}"
    );
}
