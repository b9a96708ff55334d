//! DHCPv4 leases in table `lease4`: the address as an integer key, identifiers as blobs.

use std::net::Ipv4Addr;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::row::{WRONG_TYPE, load_into, octets_or_null, text, values};
use crate::backend::{Loaded, StoreError};
use crate::{ClientKey, Lease4, LeaseState};

/// The columns `decode` reads, in its order.
const SELECT: &str =
    "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM lease4";

/// Inserts or replaces `leases` in the transaction `conn` is in.
pub(super) fn insert(conn: &Connection, leases: &[Lease4]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO lease4
         (address, client_id, htype, hw_address, state, starts, expires, hostname)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for l in leases {
        let client_id = match &l.client {
            Some(ClientKey::ClientId(id)) => Some(&id[..]),
            _ => None,
        };
        stmt.execute(params![
            u32::from(l.address),
            client_id,
            l.htype,
            &l.hwaddr[..],
            l.state.as_str(),
            l.starts as i64,
            l.expires as i64,
            l.hostname,
        ])?;
    }
    Ok(())
}

pub(super) fn load(conn: &Connection, loaded: &mut Loaded<Lease4>) -> Result<(), StoreError> {
    load_into(conn, SELECT, loaded, decode, |row| {
        let key: i64 = row.get(0)?;
        Ok(u32::try_from(key).map_or(key.to_string(), |a| Ipv4Addr::from(a).to_string()))
    })
}

pub(super) fn get(conn: &Connection, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE address = ?1"))?;
    let lease = stmt
        .query_row([u32::from(address)], |row| Ok(decode(row)))
        .optional()?;
    Ok(lease.and_then(Result::ok))
}

fn decode(row: &rusqlite::Row<'_>) -> Result<Lease4, String> {
    lease_of(values(row, 0)?, address_of_key, octets_or_null)
}

/// The address key of table `lease4`.
fn address_of_key(v: Value) -> Result<Ipv4Addr, String> {
    match v {
        Value::Integer(key) => u32::try_from(key)
            .map(Ipv4Addr::from)
            .map_err(|_| format!("address {key} is not an IPv4 address")),
        _ => Err(WRONG_TYPE.into()),
    }
}

/// How a schema version stores an address, and octets (NULL or not).
pub(super) type AddressColumn<A> = fn(Value) -> Result<A, String>;
pub(super) type OctetsColumn = fn(Value, &str) -> Result<Option<Vec<u8>>, String>;

/// The DHCPv4 lease in `columns` (address, client_id, htype, hw_address, state, starts,
/// expires, hostname), each checked; the schema versions differ only in how they store
/// the address and the octets.
pub(super) fn lease_of(
    columns: [Value; 8],
    address: AddressColumn<Ipv4Addr>,
    octets: OctetsColumn,
) -> Result<Lease4, String> {
    use Value::*;
    let [
        address_col,
        client_id,
        Integer(htype),
        hwaddr,
        Text(state),
        Integer(starts),
        Integer(expires),
        hostname,
    ] = columns
    else {
        return Err(WRONG_TYPE.into());
    };
    let address = address(address_col)?;
    let hwaddr = octets(hwaddr, "hw_address")?.ok_or(WRONG_TYPE)?;
    let client_id = octets(client_id, "client_id")?;
    let htype = u8::try_from(htype).map_err(|_| format!("htype {htype} is out of range"))?;
    let state = LeaseState::parse(&state).ok_or_else(|| format!("state {state:?} is unknown"))?;
    Ok(Lease4 {
        address,
        client: ClientKey::of_stored(state, client_id, htype, &hwaddr),
        htype,
        hwaddr: hwaddr.into(),
        state,
        starts: starts as u64,
        expires: expires as u64,
        hostname: text(hostname),
    })
}
