//! DHCPv6 leases in table `lease6`, keyed by the address (16 octets) and prefix length,
//! and the server's identity beside them: one file holds all the server's durable state.

use std::net::Ipv6Addr;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::row::{WRONG_TYPE, load_into, octets_or_null, text, values};
use super::v4::{AddressColumn, OctetsColumn};
use crate::LeaseState;
use crate::backend::{Loaded, StoreError};
use crate::{IaKey, IaKind, Lease6, Resource};

/// The columns `decode` reads, in its order.
const SELECT: &str = "SELECT address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname FROM lease6";

/// Inserts or replaces `leases` in the transaction `conn` is in.
pub(super) fn insert(conn: &Connection, leases: &[Lease6]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO lease6
         (address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
            l.hostname.as_deref(),
        ])?;
    }
    Ok(())
}

pub(super) fn load(conn: &Connection, loaded: &mut Loaded<Lease6>) -> Result<(), StoreError> {
    load_into(conn, SELECT, loaded, decode, |row| {
        Ok(match values(row, 0) {
            Ok([Value::Blob(a), Value::Integer(len)]) => {
                format!("{}/{len}", zerotouch_proto::hex::colon(&a))
            }
            _ => "a row".to_string(),
        })
    })
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
    let [
        a,
        len,
        kind,
        duid,
        iaid,
        state,
        starts,
        preferred,
        expires,
        hw,
        hostname,
    ] = values(row, 0)?;
    let mut lease = lease_of(
        [
            a, len, kind, duid, iaid, state, starts, preferred, expires, hw,
        ],
        address_of_octets,
        octets_or_null,
    )?;
    lease.hostname = text(hostname);
    Ok(lease)
}

/// The 16 octets of table `lease6`'s address.
fn address_of_octets(v: Value) -> Result<Ipv6Addr, String> {
    match v {
        Value::Blob(a) => <[u8; 16]>::try_from(&a[..])
            .map(Ipv6Addr::from)
            .map_err(|_| format!("address of {} octets is not IPv6", a.len())),
        _ => Err(WRONG_TYPE.into()),
    }
}

/// The DHCPv6 lease in `columns` (address, prefix_len, type, duid, iaid, state, starts,
/// preferred, expires, hw_address), each checked; the schema versions differ only in
/// how they store the address and the octets.
pub(super) fn lease_of(
    columns: [Value; 10],
    address: AddressColumn<Ipv6Addr>,
    octets: OctetsColumn,
) -> Result<Lease6, String> {
    use Value::*;
    let [
        address_col,
        Integer(prefix_len),
        Text(kind),
        duid,
        Integer(iaid),
        Text(state),
        Integer(starts),
        Integer(preferred),
        Integer(expires),
        hw,
    ] = columns
    else {
        return Err(WRONG_TYPE.into());
    };
    let address = address(address_col)?;
    let duid = octets(duid, "duid")?;
    let hw_address = match hw {
        Null => None,
        hw => octets(hw, "hw_address")?,
    };
    let prefix_len = u8::try_from(prefix_len)
        .ok()
        .filter(|&l| l <= 128)
        .ok_or_else(|| format!("prefix_len {prefix_len} is out of range"))?;
    let kind = IaKind::parse(&kind).ok_or_else(|| format!("type {kind:?} is unknown"))?;
    let state = LeaseState::parse(&state).ok_or_else(|| format!("state {state:?} is unknown"))?;
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
        hostname: None,
    })
}
