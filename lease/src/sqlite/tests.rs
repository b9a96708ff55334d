//! The SQLite store as a file: what it writes survives reopening, an older file is
//! upgraded in place, a newer one is refused.

use std::net::Ipv4Addr;

use super::*;
use crate::{ClientKey, LeaseState};
use crate::{IaKey, IaKind, Resource};

fn lease_a() -> Lease4 {
    Lease4 {
        address: Ipv4Addr::new(198, 18, 0, 10),
        client: Some(ClientKey::ClientId(vec![1, 2, 0, 0, 0, 0, 1].into())),
        htype: 1,
        hwaddr: vec![2, 0, 0, 0, 0, 1].into(),
        state: LeaseState::Active,
        starts: 1000,
        expires: 4600,
        hostname: Some("dev1".into()),
    }
}

fn na() -> Lease6 {
    Lease6 {
        resource: Resource {
            address: "2001:db8:1::100".parse().unwrap(),
            prefix_len: 128,
        },
        ia: Some(IaKey {
            kind: IaKind::Na,
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1].into(),
            iaid: 7,
        }),
        kind: IaKind::Na,
        state: LeaseState::Active,
        starts: 10,
        preferred: 3600,
        expires: 7210,
        hw_address: Some(vec![2, 0, 0, 0, 0, 1]),
        hostname: Some("dev6".into()),
    }
}

#[test]
fn leases_survive_reopening_and_bad_rows_are_reported_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/leases.sqlite");
    let a = lease_a();
    let b = Lease4 {
        address: Ipv4Addr::new(198, 18, 0, 11),
        client: Some(ClientKey::HwAddr {
            htype: 1,
            addr: vec![2, 0, 0, 0, 0, 2].into(),
        }),
        hwaddr: vec![2, 0, 0, 0, 0, 2].into(),
        hostname: None,
        ..a.clone()
    };
    {
        let mut s = SqliteStore::open(&path, Synchronous::Full).unwrap();
        s.write4(&[a.clone(), b.clone()]).unwrap();
        let released = Lease4 {
            state: LeaseState::Released,
            ..b.clone()
        };
        s.write4(std::slice::from_ref(&released)).unwrap();
        s.conn
            .execute(
                "INSERT INTO lease4 VALUES (1, NULL, 300, x'02', 'active', 0, 0, NULL)",
                [],
            )
            .unwrap();
    }
    let s = SqliteStore::open(&path, Synchronous::Full).unwrap();
    let mut loaded = s.load4().unwrap();
    loaded.leases.sort_by_key(|l| l.address);
    assert_eq!(
        loaded.leases,
        vec![
            a,
            Lease4 {
                state: LeaseState::Released,
                ..b
            }
        ]
    );
    assert_eq!(
        loaded.bad_rows,
        vec!["0.0.0.1: htype 300 is out of range".to_string()]
    );
    let mode: String = s
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn v6_leases_and_the_server_duid_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.sqlite");
    let na = na();
    let pd = Lease6 {
        resource: Resource {
            address: "2001:db8:100::".parse().unwrap(),
            prefix_len: 56,
        },
        ia: Some(IaKey {
            kind: IaKind::Pd,
            ..na.ia.clone().unwrap()
        }),
        kind: IaKind::Pd,
        hw_address: None,
        ..na.clone()
    };
    {
        let mut s = SqliteStore::open(&path, Synchronous::Full).unwrap();
        s.write6(&[na.clone(), pd.clone()]).unwrap();
        s.set_identity("duid", "00:03:00:01:02:00:00:00:00:fe")
            .unwrap();
        s.conn
            .execute(
                "INSERT INTO lease6 VALUES (x'20010db8', 128, 'na', NULL, 0, 'active', 0, 0, 0, NULL, NULL)",
                [],
            )
            .unwrap();
    }
    let s = SqliteStore::open(&path, Synchronous::Full).unwrap();
    let mut loaded = s.load6().unwrap();
    loaded.leases.sort_by_key(|l| l.resource);
    assert_eq!(loaded.leases, vec![na.clone(), pd]);
    assert_eq!(
        loaded.bad_rows,
        vec!["20:01:0d:b8/128: address of 4 octets is not IPv6"]
    );
    assert_eq!(
        s.identity("duid").unwrap().as_deref(),
        Some("00:03:00:01:02:00:00:00:00:fe")
    );
    assert_eq!(s.get6(na.resource.address).unwrap(), Some(na));
    assert!(
        s.load4().unwrap().leases.is_empty(),
        "the v4 table is apart"
    );
}

/// The text the `leases4` and `leases6` views show, row by row.
fn view_text(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

const V4_COLUMNS: &str = "SELECT address_key, address, client_id, htype, hw_address, state, starts, expires, hostname FROM";
const V6_COLUMNS: &str = "SELECT resource, address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address FROM";

/// A database the server of schema version 1 wrote (`tests/fixtures/leases-v1.sql`)
/// opens with this build: every lease it held is there, the views show the rows as the
/// old tables did, and the rows version 1 could not read either are kept and reported
/// as before.
#[test]
fn a_version_1_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.sqlite");
    let (old4, old6) = {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../tests/fixtures/leases-v1.sql"))
            .unwrap();
        (
            view_text(
                &conn,
                &format!("{V4_COLUMNS} leases4 WHERE address_key > 1 ORDER BY address_key"),
            ),
            view_text(
                &conn,
                &format!("{V6_COLUMNS} leases6 WHERE resource <> 'x' ORDER BY resource"),
            ),
        )
    };
    assert_eq!((old4.len(), old6.len()), (3, 3), "the fixture's leases");

    for round in 0..2 {
        let s = SqliteStore::open(&path, Synchronous::Full).unwrap();
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION, "round {round}");

        let mut v4 = s.load4().unwrap();
        v4.leases.sort_by_key(|l| l.address);
        let a = Lease4 {
            hostname: Some("switch-a".into()),
            starts: 1_800_000_000,
            expires: 1_800_003_600,
            ..lease_a()
        };
        let b = Lease4 {
            address: Ipv4Addr::new(198, 18, 0, 11),
            client: Some(ClientKey::HwAddr {
                htype: 1,
                addr: vec![2, 0, 0, 0, 0, 2].into(),
            }),
            hwaddr: vec![2, 0, 0, 0, 0, 2].into(),
            state: LeaseState::Released,
            hostname: None,
            ..a.clone()
        };
        let c = Lease4 {
            address: Ipv4Addr::new(198, 18, 0, 12),
            client: None,
            hwaddr: vec![2, 0, 0, 0, 0, 3].into(),
            state: LeaseState::Declined,
            ..b.clone()
        };
        assert_eq!(v4.leases, vec![a, b, c]);
        assert_eq!(
            v4.bad_rows,
            vec!["not-an-ip: address \"not-an-ip\" is not IPv4".to_string()]
        );

        let mut v6 = s.load6().unwrap();
        v6.leases.sort_by_key(|l| l.resource);
        // Version 1 had no DHCPv6 host names.
        let na = Lease6 {
            starts: 1_800_000_000,
            preferred: 3000,
            expires: 1_800_003_600,
            hostname: None,
            ..na()
        };
        let declined = Lease6 {
            resource: Resource {
                address: "2001:db8:1::101".parse().unwrap(),
                prefix_len: 128,
            },
            ia: None,
            state: LeaseState::Declined,
            hw_address: None,
            ..na.clone()
        };
        let pd = Lease6 {
            resource: Resource {
                address: "2001:db8:100::".parse().unwrap(),
                prefix_len: 56,
            },
            ia: Some(IaKey {
                kind: IaKind::Pd,
                iaid: 8,
                ..na.ia.clone().unwrap()
            }),
            kind: IaKind::Pd,
            hw_address: None,
            ..na.clone()
        };
        assert_eq!(v6.leases, vec![na, declined, pd]);
        assert_eq!(v6.bad_rows, vec!["x: address \"not-v6\" is not IPv6"]);
        assert_eq!(
            s.identity("duid").unwrap().as_deref(),
            Some("00:01:00:01:2e:9a:1c:00:02:00:5e:00:00:fe")
        );

        assert_eq!(
            view_text(
                &s.conn,
                &format!("{V4_COLUMNS} leases4 ORDER BY address_key")
            ),
            old4,
            "the view shows what the old table held"
        );
        assert_eq!(
            view_text(&s.conn, &format!("{V6_COLUMNS} leases6 ORDER BY resource")),
            old6
        );
    }
}

#[test]
fn a_database_from_a_newer_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.sqlite");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let Err(e) = SqliteStore::open(&path, Synchronous::Full) else {
        panic!("opened a newer database");
    };
    assert!(
        e.to_string().contains(&format!(
            "has schema version {}, this server knows versions up to {SCHEMA_VERSION}",
            SCHEMA_VERSION + 1
        )),
        "{e}"
    );
}

/// A version-2 database (no DHCPv6 host names) is upgraded in place: its leases load,
/// and a host name is kept from then on.
#[test]
fn a_version_2_database_gets_the_dhcpv6_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.sqlite");
    let without = Lease6 {
        hostname: None,
        ..na()
    };
    {
        let mut s = SqliteStore::open(&path, Synchronous::Full).unwrap();
        s.write6(std::slice::from_ref(&without)).unwrap();
        s.conn
            .execute_batch(
                "DROP VIEW leases6; ALTER TABLE lease6 DROP COLUMN hostname; PRAGMA user_version = 2;",
            )
            .unwrap();
    }
    let mut s = SqliteStore::open(&path, Synchronous::Full).unwrap();
    assert_eq!(s.load6().unwrap().leases, vec![without]);
    s.write6(&[na()]).unwrap();
    assert_eq!(s.load6().unwrap().leases, vec![na()]);
    let named: String = s
        .conn
        .query_row("SELECT hostname FROM leases6", [], |r| r.get(0))
        .unwrap();
    assert_eq!(named, "dev6");
    let version: i64 = s
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, super::schema::VERSION);
}
