//! DHCPv6 leases in table `lease6`, keyed by the address (16 octets) and prefix length,
//! and the server's identity beside them: one file holds all the server's durable state.

use std::net::Ipv6Addr;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::{Loaded, StoreError};
use crate::model::LeaseState;
use crate::model6::{IaKey, IaKind, Lease6, Resource};

/// The columns `decode` reads, in its order.
const SELECT: &str = "SELECT address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address FROM lease6";

pub(super) fn write(conn: &mut Connection, leases: &[Lease6]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    insert(&tx, leases)?;
    tx.commit()?;
    Ok(())
}

/// Inserts or replaces `leases` in the transaction `conn` is in.
pub(super) fn insert(conn: &Connection, leases: &[Lease6]) -> Result<(), StoreError> {
    {
        let mut stmt = conn.prepare_cached(
            "INSERT OR REPLACE INTO lease6
             (address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for l in leases {
            let (duid, iaid) = match &l.ia {
                Some(ia) => (Some(&ia.duid[..]), ia.iaid),
                None => (None, 0),
            };
            stmt.execute(params![
                &l.resource.address.octets()[..],
                l.resource.prefix_len,
                l.kind.as_str(),
                duid,
                iaid,
                l.state.as_str(),
                l.starts as i64,
                l.preferred,
                l.expires as i64,
                l.hw_address.as_deref(),
            ])?;
        }
    }
    Ok(())
}

pub(super) fn load(conn: &Connection, loaded: &mut Loaded<Lease6>) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(SELECT)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        match decode(row) {
            Ok(l) => loaded.leases.push(l),
            Err(problem) => {
                let key = match (row.get::<_, Value>(0)?, row.get::<_, Value>(1)?) {
                    (Value::Blob(a), Value::Integer(len)) => {
                        format!("{}/{len}", zerotouch_proto::hex::colon(&a))
                    }
                    _ => "a row".to_string(),
                };
                loaded.bad_rows.push(format!("{key}: {problem}"));
            }
        }
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE address = ?1 AND prefix_len = 128"))?;
    let lease = stmt
        .query_row([&address.octets()[..]], |row| Ok(decode(row)))
        .optional()?;
    Ok(lease.and_then(Result::ok))
}

pub(super) fn identity(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT value FROM server_identity WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

pub(super) fn set_identity(conn: &Connection, name: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO server_identity (name, value) VALUES (?1, ?2)",
        [name, value],
    )?;
    Ok(())
}

fn decode(row: &rusqlite::Row<'_>) -> Result<Lease6, String> {
    let get = |i: usize| -> Result<Value, String> { row.get(i).map_err(|e| e.to_string()) };
    use Value::*;
    let (Blob(address), Integer(prefix_len), Text(kind), duid, Integer(iaid)) =
        (get(0)?, get(1)?, get(2)?, get(3)?, get(4)?)
    else {
        return Err("a column has the wrong type".into());
    };
    let (Text(state), Integer(starts), Integer(preferred), Integer(expires), hw) =
        (get(5)?, get(6)?, get(7)?, get(8)?, get(9)?)
    else {
        return Err("a column has the wrong type".into());
    };
    let address = <[u8; 16]>::try_from(&address[..])
        .map(Ipv6Addr::from)
        .map_err(|_| format!("address of {} octets is not IPv6", address.len()))?;
    let duid = match duid {
        Null => None,
        Blob(d) => Some(d),
        _ => return Err("duid has the wrong type".into()),
    };
    let hw_address = match hw {
        Blob(h) => Some(h),
        _ => None,
    };
    Row6 {
        address,
        prefix_len,
        kind,
        duid,
        iaid,
        state,
        starts,
        preferred,
        expires,
        hw_address,
    }
    .lease()
}

/// The values of a stored DHCPv6 lease, before they are checked (the rows of either
/// schema version end here).
pub(super) struct Row6 {
    pub address: Ipv6Addr,
    pub prefix_len: i64,
    pub kind: String,
    pub duid: Option<Vec<u8>>,
    pub iaid: i64,
    pub state: String,
    pub starts: i64,
    pub preferred: i64,
    pub expires: i64,
    pub hw_address: Option<Vec<u8>>,
}

impl Row6 {
    pub fn lease(self) -> Result<Lease6, String> {
        let Row6 {
            address,
            prefix_len,
            kind,
            duid,
            iaid,
            state,
            starts,
            preferred,
            expires,
            hw_address,
        } = self;
        let prefix_len = u8::try_from(prefix_len)
            .ok()
            .filter(|&l| l <= 128)
            .ok_or_else(|| format!("prefix_len {prefix_len} is out of range"))?;
        let kind = IaKind::parse(&kind).ok_or_else(|| format!("type {kind:?} is unknown"))?;
        let state =
            LeaseState::parse(&state).ok_or_else(|| format!("state {state:?} is unknown"))?;
        let iaid = u32::try_from(iaid).map_err(|_| format!("iaid {iaid} is out of range"))?;
        Ok(Lease6 {
            resource: Resource {
                address,
                prefix_len,
            },
            ia: IaKey::of_stored(state, kind, duid, iaid),
            kind,
            state,
            starts: starts as u64,
            preferred: u32::try_from(preferred).unwrap_or(0),
            expires: expires as u64,
            hw_address,
        })
    }
}
