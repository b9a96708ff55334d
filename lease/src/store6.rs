//! DHCPv6 leases and the server's DUID in the lease database, beside the DHCPv4 table:
//! one file holds all the server's durable state.

use std::fmt::Write;
use std::net::Ipv6Addr;

use rusqlite::{OptionalExtension, params};

use super::model::{LeaseState, push_hex_colon};
use super::model6::{IaKey, IaKind, Lease6, Resource};
use super::store::{LeaseStore, Loaded, StoreError, parse_hex_colon};

/// The columns `decode_row` reads, in its order.
const SELECT6: &str = "SELECT resource, address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS leases6 (
    resource    TEXT PRIMARY KEY,         -- address, or prefix/length for a delegated prefix
    address     TEXT NOT NULL,            -- the address or the prefix's first address
    prefix_len  INTEGER NOT NULL,         -- 128 for an address
    type        TEXT NOT NULL CHECK (type = 'na' OR type = 'pd'),
    duid        TEXT,                     -- the client's DUID as hex, NULL when declined
    iaid        INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state = 'active' OR state = 'released' OR state = 'expired' OR state = 'declined'),
    starts      INTEGER NOT NULL,         -- Unix seconds
    preferred   INTEGER NOT NULL,         -- preferred lifetime granted, seconds
    expires     INTEGER NOT NULL,         -- Unix seconds, end of the valid lifetime
    hw_address  TEXT                      -- aa:bb:cc:dd:ee:ff when known
) WITHOUT ROWID;
-- The server's identity: its DUID is created once and kept, since clients and relays
-- recognise the server by it across restarts.
CREATE TABLE IF NOT EXISTS server_identity (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

impl LeaseStore {
    /// Writes DHCPv6 `leases` in one transaction.
    pub fn write6(&mut self, leases: &[Lease6]) -> Result<(), StoreError> {
        self.check_failure_switch()?;
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO leases6
                 (resource, address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let (mut resource, mut address, mut duid, mut hw) =
                (String::new(), String::new(), String::new(), String::new());
            for l in leases {
                resource.clear();
                write!(resource, "{}/{}", l.resource.address, l.resource.prefix_len)
                    .expect("formatting into a String cannot fail");
                address.clear();
                write!(address, "{}", l.resource.address)
                    .expect("formatting into a String cannot fail");
                duid.clear();
                let (duid_col, iaid) = match &l.ia {
                    Some(ia) => {
                        push_hex_colon(&mut duid, &ia.duid);
                        (Some(duid.as_str()), ia.iaid)
                    }
                    None => (None, 0),
                };
                hw.clear();
                let hw_col = l.hw_address.as_ref().map(|h| {
                    push_hex_colon(&mut hw, h);
                    hw.as_str()
                });
                stmt.execute(params![
                    resource.as_str(),
                    address.as_str(),
                    l.resource.prefix_len,
                    l.kind.as_str(),
                    duid_col,
                    iaid,
                    l.state.as_str(),
                    l.starts as i64,
                    l.preferred,
                    l.expires as i64,
                    hw_col,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn load6(&self) -> Result<Loaded<Lease6>, StoreError> {
        let mut stmt = self.conn.prepare(&format!("{SELECT6} FROM leases6"))?;
        let mut rows = stmt.query([])?;
        let mut loaded = Loaded {
            leases: Vec::new(),
            bad_rows: Vec::new(),
        };
        while let Some(row) = rows.next()? {
            let resource: String = row.get(0).unwrap_or_default();
            match decode_row(row) {
                Ok(l) => loaded.leases.push(l),
                Err(problem) => loaded.bad_rows.push(format!("{resource}: {problem}")),
            }
        }
        Ok(loaded)
    }

    /// The lease of address `address` (an IA_NA's; a delegated prefix is not an
    /// address), if any and readable.
    pub fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT6} FROM leases6 WHERE resource = ?1"))?;
        let lease = stmt
            .query_row([format!("{address}/128")], |row| Ok(decode_row(row)))
            .optional()?;
        Ok(lease.and_then(Result::ok))
    }

    /// A value of the server's identity (`"duid"`), as stored.
    pub fn identity(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM server_identity WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_identity(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO server_identity (name, value) VALUES (?1, ?2)",
            [name, value],
        )?;
        Ok(())
    }
}

fn decode_row(row: &rusqlite::Row<'_>) -> Result<Lease6, String> {
    let get = |i: usize| -> Result<rusqlite::types::Value, String> {
        row.get(i).map_err(|e| e.to_string())
    };
    use rusqlite::types::Value::*;
    let (Text(address), Integer(prefix_len), Text(kind), duid, Integer(iaid), Text(state)) =
        (get(1)?, get(2)?, get(3)?, get(4)?, get(5)?, get(6)?)
    else {
        return Err("a column has the wrong type".into());
    };
    let (Integer(starts), Integer(preferred), Integer(expires), hw) =
        (get(7)?, get(8)?, get(9)?, get(10)?)
    else {
        return Err("a column has the wrong type".into());
    };
    let address: Ipv6Addr = address
        .parse()
        .map_err(|_| format!("address {address:?} is not IPv6"))?;
    let prefix_len = u8::try_from(prefix_len)
        .ok()
        .filter(|&l| l <= 128)
        .ok_or_else(|| format!("prefix_len {prefix_len} is out of range"))?;
    let kind = IaKind::parse(&kind).ok_or_else(|| format!("type {kind:?} is unknown"))?;
    let state = LeaseState::parse(&state).ok_or_else(|| format!("state {state:?} is unknown"))?;
    let iaid = u32::try_from(iaid).map_err(|_| format!("iaid {iaid} is out of range"))?;
    let ia = match (state, duid) {
        (LeaseState::Declined, _) | (_, Null) => None,
        (_, Text(t)) => Some(IaKey {
            kind,
            duid: parse_hex_colon(&t)
                .ok_or_else(|| format!("duid {t:?} is not hex"))?
                .into(),
            iaid,
        }),
        _ => return Err("duid has the wrong type".into()),
    };
    let hw_address = match hw {
        Text(t) => Some(parse_hex_colon(&t).ok_or_else(|| format!("hw_address {t:?} is not hex"))?),
        _ => None,
    };
    Ok(Lease6 {
        resource: Resource {
            address,
            prefix_len,
        },
        ia,
        kind,
        state,
        starts: starts as u64,
        preferred: u32::try_from(preferred).unwrap_or(0),
        expires: expires as u64,
        hw_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotouch_config::Synchronous;

    #[test]
    fn v6_leases_and_the_server_duid_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.sqlite");
        let na = Lease6 {
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
        };
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
            let mut s = LeaseStore::open(&path, Synchronous::Full).unwrap();
            s.write6(&[na.clone(), pd.clone()]).unwrap();
            s.set_identity("duid", "00:03:00:01:02:00:00:00:00:fe")
                .unwrap();
            s.conn
                .execute(
                    "INSERT INTO leases6 VALUES ('x', 'not-v6', 128, 'na', NULL, 0, 'active', 0, 0, 0, NULL)",
                    [],
                )
                .unwrap();
        }
        let s = LeaseStore::open(&path, Synchronous::Full).unwrap();
        let mut loaded = s.load6().unwrap();
        loaded.leases.sort_by_key(|l| l.resource);
        assert_eq!(loaded.leases, vec![na, pd]);
        assert_eq!(loaded.bad_rows, vec!["x: address \"not-v6\" is not IPv6"]);
        assert_eq!(
            s.identity("duid").unwrap().as_deref(),
            Some("00:03:00:01:02:00:00:00:00:fe")
        );
        assert!(s.load().unwrap().leases.is_empty(), "the v4 table is apart");
    }
}
