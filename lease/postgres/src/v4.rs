//! DHCPv4 leases in table `lease4`: a batch is one `INSERT … SELECT FROM unnest(…) ON
//! CONFLICT DO UPDATE … WHERE`, one transaction, whose triggers notify the other
//! servers sharing the database of the addresses it changed.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use tokio_postgres::{Client, GenericClient, Row, Statement};
use zerotouch_lease::{ClientKey, Lease4, LeaseState, Loaded, StoreError, Written, unix_now};

use crate::connect::PgConfig;
use crate::rows::{self, last_of_each};

const SELECT: &str =
    "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM lease4";

/// The batch, written where the stored lease allows: no lease yet; one no longer in
/// use; the same client's (a renewal, a release; an expiry only if no other server
/// extended it meanwhile); a decline by the holder's hardware. Anything else is an
/// address another server's client holds: not written, and not returned.
const UPSERT: &str = "
INSERT INTO lease4 AS s (address, client_id, htype, hw_address, state, starts, expires, hostname)
SELECT * FROM unnest($1::inet[], $2::bytea[], $3::int2[], $4::bytea[], $5::text[], $6::int8[], $7::int8[], $8::text[])
ON CONFLICT (address) DO UPDATE SET
    client_id = EXCLUDED.client_id, htype = EXCLUDED.htype, hw_address = EXCLUDED.hw_address,
    state = EXCLUDED.state, starts = EXCLUDED.starts, expires = EXCLUDED.expires,
    hostname = EXCLUDED.hostname
WHERE s.expires <= $9 OR s.state IN ('released', 'expired')
   OR (s.client_id IS NOT DISTINCT FROM EXCLUDED.client_id
       AND (s.client_id IS NOT NULL OR (s.htype = EXCLUDED.htype AND s.hw_address = EXCLUDED.hw_address))
       AND (EXCLUDED.state IN ('active', 'released') OR EXCLUDED.expires >= s.expires))
   OR (EXCLUDED.state = 'declined' AND s.hw_address = EXCLUDED.hw_address)
RETURNING address";

/// Channel of `NOTIFY`: the addresses a statement changed, after the writer's name
/// (schema version 3's triggers send it).
pub(crate) const CHANNEL: &str = "zerotouch_lease4";

/// Writes `leases` in one statement (one transaction, committed when it returns; the
/// triggers notify the other servers), and says which it refused and why (the stored
/// leases). `upsert` caches the prepared statement on this connection.
pub(crate) async fn write(
    client: &Client,
    upsert: &mut Option<Statement>,
    cfg: &PgConfig,
    leases: &[Lease4],
) -> Result<Written<Lease4>, StoreError> {
    if leases.is_empty() {
        return Ok(Written::all());
    }
    let last = last_of_each(leases, |l| l.address);
    let address: Vec<IpAddr> = last.iter().map(|l| IpAddr::V4(l.address)).collect();
    let client_id: Vec<Option<&[u8]>> = last
        .iter()
        .map(|l| match &l.client {
            Some(ClientKey::ClientId(id)) => Some(&id[..]),
            _ => None,
        })
        .collect();
    let htype: Vec<i16> = last.iter().map(|l| i16::from(l.htype)).collect();
    let hw: Vec<&[u8]> = last.iter().map(|l| &l.hwaddr[..]).collect();
    let state: Vec<&str> = last.iter().map(|l| l.state.as_str()).collect();
    let starts: Vec<i64> = last.iter().map(|l| l.starts as i64).collect();
    let expires: Vec<i64> = last.iter().map(|l| l.expires as i64).collect();
    let hostname: Vec<Option<&str>> = last.iter().map(|l| l.hostname.as_deref()).collect();
    let now = unix_now() as i64;
    let statement = rows::prepared(client, cfg, upsert, UPSERT).await?;
    let rows = client
        .query(
            &statement,
            &[
                &address, &client_id, &htype, &hw, &state, &starts, &expires, &hostname, &now,
            ],
        )
        .await
        .map_err(|e| cfg.sql(e))?;
    let written: HashSet<IpAddr> = rows.iter().map(|r| r.get(0)).collect();
    let refused = rows::refused(leases, |l| IpAddr::V4(l.address), &written);
    let current = if refused.is_empty() {
        Vec::new()
    } else {
        let keys: Vec<IpAddr> = refused
            .iter()
            .map(|&i| IpAddr::V4(leases[i].address))
            .collect();
        fetch(client, cfg, &keys).await?
    };
    Ok(Written { refused, current })
}

/// The stored leases of `addresses`.
pub(crate) async fn fetch(
    client: &impl GenericClient,
    cfg: &PgConfig,
    addresses: &[IpAddr],
) -> Result<Vec<Lease4>, StoreError> {
    let select = format!("{SELECT} WHERE address = ANY($1)");
    let rows = client
        .query(&select, &[&addresses])
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(rows.iter().filter_map(|r| decode(r).ok()).collect())
}

/// The addresses a notification names, as `fetch` takes them.
pub(crate) fn keys(payload: &str) -> Vec<IpAddr> {
    payload
        .split(',')
        .filter_map(|a| a.parse::<Ipv4Addr>().ok().map(IpAddr::V4))
        .collect()
}

pub(crate) async fn load(client: &Client, cfg: &PgConfig) -> Result<Loaded<Lease4>, StoreError> {
    rows::load(client, cfg, SELECT, decode).await
}

pub(crate) async fn get(
    client: &Client,
    cfg: &PgConfig,
    address: Ipv4Addr,
) -> Result<Option<Lease4>, StoreError> {
    let select = format!("{SELECT} WHERE address = $1");
    rows::get(client, cfg, &select, &[&IpAddr::V4(address)], decode).await
}

fn decode(row: &Row) -> Result<Lease4, String> {
    let address: IpAddr = row.try_get(0).map_err(|e| e.to_string())?;
    let IpAddr::V4(address) = address else {
        return Err(format!("{address}: not an IPv4 address"));
    };
    let bad = |e: tokio_postgres::Error| format!("{address}: {e}");
    let client_id: Option<Vec<u8>> = row.try_get(1).map_err(bad)?;
    let htype: i16 = row.try_get(2).map_err(bad)?;
    let hwaddr: Vec<u8> = row.try_get(3).map_err(bad)?;
    let state: String = row.try_get(4).map_err(bad)?;
    let starts: i64 = row.try_get(5).map_err(bad)?;
    let expires: i64 = row.try_get(6).map_err(bad)?;
    let hostname: Option<String> = row.try_get(7).map_err(bad)?;
    let htype =
        u8::try_from(htype).map_err(|_| format!("{address}: htype {htype} is out of range"))?;
    let state = LeaseState::parse(&state)
        .ok_or_else(|| format!("{address}: state {state:?} is unknown"))?;
    Ok(Lease4 {
        address,
        client: ClientKey::of_stored(state, client_id, htype, &hwaddr),
        htype,
        hwaddr: hwaddr.as_slice().into(),
        state,
        starts: starts.max(0) as u64,
        expires: expires.max(0) as u64,
        hostname,
    })
}
