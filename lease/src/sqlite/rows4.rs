//! DHCPv4 leases in table `lease4`: the address as an integer key, identifiers as blobs.

use std::net::Ipv4Addr;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::{Loaded, StoreError};
use crate::model::{ClientKey, Lease4, LeaseState};

/// The columns `decode` reads, in its order.
const SELECT: &str =
    "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM lease4";

pub(super) fn write(conn: &mut Connection, leases: &[Lease4]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    insert(&tx, leases)?;
    tx.commit()?;
    Ok(())
}

/// Inserts or replaces `leases` in the transaction `conn` is in.
pub(super) fn insert(conn: &Connection, leases: &[Lease4]) -> Result<(), StoreError> {
    {
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
    }
    Ok(())
}

pub(super) fn load(conn: &Connection, loaded: &mut Loaded<Lease4>) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(SELECT)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        match decode(row) {
            Ok(l) => loaded.leases.push(l),
            Err(problem) => {
                let key: i64 = row.get(0)?;
                let address =
                    u32::try_from(key).map_or(key.to_string(), |a| Ipv4Addr::from(a).to_string());
                loaded.bad_rows.push(format!("{address}: {problem}"));
            }
        }
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE address = ?1"))?;
    let lease = stmt
        .query_row([u32::from(address)], |row| Ok(decode(row)))
        .optional()?;
    Ok(lease.and_then(Result::ok))
}

fn decode(row: &rusqlite::Row<'_>) -> Result<Lease4, String> {
    let get = |i: usize| -> Result<Value, String> { row.get(i).map_err(|e| e.to_string()) };
    use Value::*;
    let (
        Integer(address),
        client_id,
        Integer(htype),
        Blob(hwaddr),
        Text(state),
        Integer(starts),
        Integer(expires),
        hostname,
    ) = (
        get(0)?,
        get(1)?,
        get(2)?,
        get(3)?,
        get(4)?,
        get(5)?,
        get(6)?,
        get(7)?,
    )
    else {
        return Err("a column has the wrong type".into());
    };
    let address = u32::try_from(address)
        .map(Ipv4Addr::from)
        .map_err(|_| format!("address {address} is not an IPv4 address"))?;
    let client_id = match client_id {
        Null => None,
        Blob(id) => Some(id),
        _ => return Err("client_id has the wrong type".into()),
    };
    let hostname = match hostname {
        Text(t) => Some(t),
        _ => None,
    };
    Row4 {
        address,
        client_id,
        htype,
        hwaddr,
        state,
        starts,
        expires,
        hostname,
    }
    .lease()
}

/// The values of a stored DHCPv4 lease, before they are checked (the rows of either
/// schema version end here).
pub(super) struct Row4 {
    pub address: Ipv4Addr,
    pub client_id: Option<Vec<u8>>,
    pub htype: i64,
    pub hwaddr: Vec<u8>,
    pub state: String,
    pub starts: i64,
    pub expires: i64,
    pub hostname: Option<String>,
}

impl Row4 {
    pub fn lease(self) -> Result<Lease4, String> {
        let htype = u8::try_from(self.htype)
            .map_err(|_| format!("htype {} is out of range", self.htype))?;
        let state = LeaseState::parse(&self.state)
            .ok_or_else(|| format!("state {:?} is unknown", self.state))?;
        Ok(Lease4 {
            address: self.address,
            client: ClientKey::of_stored(state, self.client_id, htype, &self.hwaddr),
            htype,
            hwaddr: self.hwaddr.into(),
            state,
            starts: self.starts as u64,
            expires: self.expires as u64,
            hostname: self.hostname,
        })
    }
}
