//! Bringing a lease database to this build's schema, in place and in one transaction:
//! a new file gets the schema, an older one is upgraded a version at a time, a newer
//! one is refused (its writer knows columns this build does not).
//!
//! Version 1 kept addresses and identifiers as text (`aa:bb:cc`). Its rows are read with
//! the version-1 rules and written to the binary tables; a row those rules cannot read
//! stays where it was (`leases4_v1`, `leases6_v1`), reported at every start as
//! unreadable, never dropped.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction};
use tracing::info;

use super::row::{WRONG_TYPE, each_row, values};
use super::schema::{self, VERSION};
use super::v4;
use super::v6;
use crate::Lease4;
use crate::Lease6;
use crate::backend::{Loaded, StoreError};

/// Where version 1's rows that could not be upgraded are kept.
const LEFT4: &str = "leases4_v1";
const LEFT6: &str = "leases6_v1";

/// Gives the database behind `conn` this build's schema.
pub(super) fn to_current(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let upgrade_err = |source| StoreError::Upgrade {
        path: path.to_path_buf(),
        from: found,
        source,
    };
    match found {
        VERSION => return Ok(()),
        v if v > VERSION => {
            return Err(StoreError::Version {
                path: path.to_path_buf(),
                found,
                known: VERSION,
            });
        }
        _ => {}
    }
    let tx = conn.transaction()?;
    if found == 1 {
        let (moved, left) = from_v1(&tx).map_err(|e| match e {
            StoreError::Sql(source) => upgrade_err(source),
            other => other,
        })?;
        info!(
            database = %path.display(),
            moved, left, "lease database upgraded from schema version 1 to {VERSION} (binary columns)"
        );
    } else if found == 2 {
        // Version 3 adds the DHCPv6 clients' host names.
        tx.execute_batch("ALTER TABLE lease6 ADD COLUMN hostname TEXT;")
            .map_err(upgrade_err)?;
        tx.execute_batch(&schema::create())?;
        info!(database = %path.display(), "lease database upgraded from schema version 2 to {VERSION} (DHCPv6 host names)");
    } else {
        tx.execute_batch(&schema::create())?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit().map_err(upgrade_err)?;
    Ok(())
}

/// Version 1 to 2: the text tables renamed aside, the binary tables and the views made,
/// every readable row moved. Returns the rows moved and left.
fn from_v1(tx: &Transaction<'_>) -> Result<(usize, usize), StoreError> {
    tx.execute_batch(&format!(
        "ALTER TABLE leases4 RENAME TO {LEFT4}; ALTER TABLE leases6 RENAME TO {LEFT6};"
    ))?;
    tx.execute_batch(&schema::create())?;
    let (moved4, left4) = move_rows(
        tx,
        read_v1_4(tx)?,
        &format!("DELETE FROM {LEFT4} WHERE address_key = ?1"),
        v4::insert,
    )?;
    let (moved6, left6) = move_rows(
        tx,
        read_v1_6(tx)?,
        &format!("DELETE FROM {LEFT6} WHERE resource = ?1"),
        v6::insert,
    )?;
    for table in [LEFT4, LEFT6] {
        if !has_rows(tx, table)? {
            tx.execute_batch(&format!("DROP TABLE {table}"))?;
        }
    }
    Ok((moved4 + moved6, left4 + left6))
}

/// Writes each readable row of `rows` with `insert` and deletes it from version 1's
/// table (`delete`, by key); returns the rows moved and left.
fn move_rows<K: rusqlite::ToSql, L>(
    tx: &Transaction<'_>,
    rows: Vec<Left<K, L>>,
    delete: &str,
    insert: fn(&Connection, &[L]) -> Result<(), StoreError>,
) -> Result<(usize, usize), StoreError> {
    let mut delete = tx.prepare(delete)?;
    let (mut moved, mut left) = (0, 0);
    for Left { key, lease, .. } in rows {
        match lease {
            Ok(lease) => {
                insert(tx, std::slice::from_ref(&lease))?;
                delete.execute([key])?;
                moved += 1;
            }
            Err(_) => left += 1,
        }
    }
    Ok((moved, left))
}

fn has_rows(conn: &Connection, table: &str) -> Result<bool, StoreError> {
    Ok(
        conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
            r.get(0)
        })?,
    )
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )?)
}

/// Reports the DHCPv4 rows version 1 left behind as unreadable.
pub(super) fn report_left4(
    conn: &Connection,
    loaded: &mut Loaded<Lease4>,
) -> Result<(), StoreError> {
    if table_exists(conn, LEFT4)? {
        report(read_v1_4(conn)?, loaded);
    }
    Ok(())
}

/// Reports the DHCPv6 rows version 1 left behind as unreadable.
pub(super) fn report_left6(
    conn: &Connection,
    loaded: &mut Loaded<Lease6>,
) -> Result<(), StoreError> {
    if table_exists(conn, LEFT6)? {
        report(read_v1_6(conn)?, loaded);
    }
    Ok(())
}

fn report<K, L>(rows: Vec<Left<K, L>>, loaded: &mut Loaded<L>) {
    for Left { name, lease, .. } in rows {
        let problem = lease.err().unwrap_or_else(|| "left by the upgrade".into());
        loaded.bad_rows.push(format!("{name}: {problem}"));
    }
}

/// A row of version 1: its key, the name it is reported by, and the lease read from it
/// or why it cannot be.
struct Left<K, L> {
    key: K,
    name: String,
    lease: Result<L, String>,
}

/// Version 1's `aa:bb:cc`, in a column that must hold it.
fn octets_text(v: Value, column: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Text(t) => zerotouch_proto::hex::decode(&t)
            .map(Some)
            .map_err(|_| format!("{column} {t:?} is not hex")),
        _ => Err(format!("{column} has the wrong type")),
    }
}

/// The rows of version 1's DHCPv4 table (renamed aside) by key, each read or the reason
/// it cannot be (named by the address as written).
fn read_v1_4(conn: &Connection) -> Result<Vec<Left<i64, Lease4>>, StoreError> {
    let sql = format!(
        "SELECT address_key, address, client_id, htype, hw_address, state, starts, expires, hostname FROM {LEFT4}"
    );
    each_row(conn, &sql, |row| {
        Ok(Left {
            key: row.get(0)?,
            name: row.get(1).unwrap_or_default(),
            lease: decode_v1_4(row),
        })
    })
}

fn decode_v1_4(row: &rusqlite::Row<'_>) -> Result<Lease4, String> {
    v4::lease_of(values(row, 1)?, |v| address_text(v, "IPv4"), octets_text)
}

/// Version 1's address of `family` as text.
fn address_text<A: std::str::FromStr>(v: Value, family: &str) -> Result<A, String> {
    match v {
        Value::Text(t) => t
            .parse()
            .map_err(|_| format!("address {t:?} is not {family}")),
        _ => Err(WRONG_TYPE.into()),
    }
}

/// The rows of version 1's DHCPv6 table (renamed aside) by key (`resource`), each read
/// or the reason it cannot be.
fn read_v1_6(conn: &Connection) -> Result<Vec<Left<String, Lease6>>, StoreError> {
    let sql = format!(
        "SELECT resource, address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address FROM {LEFT6}"
    );
    each_row(conn, &sql, |row| {
        let key: String = row.get(0).unwrap_or_default();
        Ok(Left {
            name: key.clone(),
            key,
            lease: decode_v1_6(row),
        })
    })
}

fn decode_v1_6(row: &rusqlite::Row<'_>) -> Result<Lease6, String> {
    v6::lease_of(values(row, 1)?, |v| address_text(v, "IPv6"), octets_text)
}
