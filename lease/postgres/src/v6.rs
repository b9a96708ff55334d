//! DHCPv6 leases (addresses and delegated prefixes) in table `lease6`, keyed by address
//! and prefix length, written and notified as DHCPv4 leases are.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};

use tokio_postgres::{Client, GenericClient, Row, Statement};
use zerotouch_lease::{
    IaKey, IaKind, Lease6, LeaseState, Loaded, Resource, StoreError, Written, unix_now,
};

use crate::connect::PgConfig;
use crate::rows::{self, last_of_each};

const SELECT: &str = "SELECT address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname FROM lease6";

/// The batch, written where the stored lease allows (as for DHCPv4, the holder being
/// the identity association: DUID, IAID and type).
const UPSERT: &str = "
INSERT INTO lease6 AS s (address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname)
SELECT * FROM unnest($1::inet[], $2::int2[], $3::text[], $4::bytea[], $5::int8[], $6::text[], $7::int8[], $8::int8[], $9::int8[], $10::bytea[], $11::text[])
ON CONFLICT (address, prefix_len) DO UPDATE SET
    type = EXCLUDED.type, duid = EXCLUDED.duid, iaid = EXCLUDED.iaid, state = EXCLUDED.state,
    starts = EXCLUDED.starts, preferred = EXCLUDED.preferred, expires = EXCLUDED.expires,
    hw_address = EXCLUDED.hw_address, hostname = EXCLUDED.hostname
WHERE s.expires <= $12 OR s.state IN ('released', 'expired')
   OR (s.duid = EXCLUDED.duid AND s.iaid = EXCLUDED.iaid AND s.type = EXCLUDED.type
       AND (EXCLUDED.state IN ('active', 'released') OR EXCLUDED.expires >= s.expires))
   OR (EXCLUDED.state = 'declined' AND s.hw_address IS NOT DISTINCT FROM EXCLUDED.hw_address)
RETURNING address, prefix_len";

/// Channel of `NOTIFY`: the addresses and prefixes a statement changed.
pub(crate) const CHANNEL: &str = "zerotouch_lease6";

/// A lease's key as the table has it.
type Key = (IpAddr, i16);

fn key(l: &Lease6) -> Key {
    (
        IpAddr::V6(l.resource.address),
        i16::from(l.resource.prefix_len),
    )
}

/// Writes `leases` as `v4::write` does; the triggers notify the other servers.
pub(crate) async fn write(
    client: &Client,
    upsert: &mut Option<Statement>,
    cfg: &PgConfig,
    leases: &[Lease6],
) -> Result<Written<Lease6>, StoreError> {
    if leases.is_empty() {
        return Ok(Written::all());
    }
    let last = last_of_each(leases, key);
    let address: Vec<IpAddr> = last
        .iter()
        .map(|l| IpAddr::V6(l.resource.address))
        .collect();
    let prefix_len: Vec<i16> = last
        .iter()
        .map(|l| i16::from(l.resource.prefix_len))
        .collect();
    let kind: Vec<&str> = last.iter().map(|l| l.kind.as_str()).collect();
    let duid: Vec<Option<&[u8]>> = last
        .iter()
        .map(|l| l.ia.as_ref().map(|ia| &ia.duid[..]))
        .collect();
    let iaid: Vec<i64> = last
        .iter()
        .map(|l| l.ia.as_ref().map_or(0, |ia| i64::from(ia.iaid)))
        .collect();
    let state: Vec<&str> = last.iter().map(|l| l.state.as_str()).collect();
    let starts: Vec<i64> = last.iter().map(|l| l.starts as i64).collect();
    let preferred: Vec<i64> = last.iter().map(|l| i64::from(l.preferred)).collect();
    let expires: Vec<i64> = last.iter().map(|l| l.expires as i64).collect();
    let hw: Vec<Option<&[u8]>> = last.iter().map(|l| l.hw_address.as_deref()).collect();
    let hostname: Vec<Option<&str>> = last.iter().map(|l| l.hostname.as_deref()).collect();
    let now = unix_now() as i64;
    let statement = rows::prepared(client, cfg, upsert, UPSERT).await?;
    let rows = client
        .query(
            &statement,
            &[
                &address,
                &prefix_len,
                &kind,
                &duid,
                &iaid,
                &state,
                &starts,
                &preferred,
                &expires,
                &hw,
                &hostname,
                &now,
            ],
        )
        .await
        .map_err(|e| cfg.sql(e))?;
    let written: HashSet<Key> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let refused = rows::refused(leases, key, &written);
    let current = if refused.is_empty() {
        Vec::new()
    } else {
        let keys: Vec<Key> = refused.iter().map(|&i| key(&leases[i])).collect();
        fetch(client, cfg, &keys).await?
    };
    Ok(Written { refused, current })
}

/// The stored leases of `keys`.
pub(crate) async fn fetch(
    client: &impl GenericClient,
    cfg: &PgConfig,
    keys: &[Key],
) -> Result<Vec<Lease6>, StoreError> {
    let (address, prefix_len): (Vec<IpAddr>, Vec<i16>) = keys.iter().copied().unzip();
    let select = format!(
        "{SELECT} WHERE (address, prefix_len) IN (SELECT * FROM unnest($1::inet[], $2::int2[]))"
    );
    let rows = client
        .query(&select, &[&address, &prefix_len])
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(rows.iter().filter_map(|r| decode(r).ok()).collect())
}

/// The addresses and prefixes a notification names, as `fetch` takes them.
pub(crate) fn keys(payload: &str) -> Vec<Key> {
    payload
        .split(',')
        .filter_map(|k| {
            let (a, len) = k.split_once('/')?;
            Some((IpAddr::V6(a.parse::<Ipv6Addr>().ok()?), len.parse().ok()?))
        })
        .collect()
}

pub(crate) async fn load(client: &Client, cfg: &PgConfig) -> Result<Loaded<Lease6>, StoreError> {
    rows::load(client, cfg, SELECT, decode).await
}

pub(crate) async fn get(
    client: &Client,
    cfg: &PgConfig,
    address: Ipv6Addr,
) -> Result<Option<Lease6>, StoreError> {
    let select = format!("{SELECT} WHERE address = $1 AND prefix_len = 128");
    rows::get(client, cfg, &select, &[&IpAddr::V6(address)], decode).await
}

fn decode(row: &Row) -> Result<Lease6, String> {
    let address: IpAddr = row.try_get(0).map_err(|e| e.to_string())?;
    let IpAddr::V6(address) = address else {
        return Err(format!("{address}: not an IPv6 address"));
    };
    let bad = |e: tokio_postgres::Error| format!("{address}: {e}");
    let prefix_len: i16 = row.try_get(1).map_err(bad)?;
    let kind: String = row.try_get(2).map_err(bad)?;
    let duid: Option<Vec<u8>> = row.try_get(3).map_err(bad)?;
    let iaid: i64 = row.try_get(4).map_err(bad)?;
    let state: String = row.try_get(5).map_err(bad)?;
    let starts: i64 = row.try_get(6).map_err(bad)?;
    let preferred: i64 = row.try_get(7).map_err(bad)?;
    let expires: i64 = row.try_get(8).map_err(bad)?;
    let hw_address: Option<Vec<u8>> = row.try_get(9).map_err(bad)?;
    let hostname: Option<String> = row.try_get(10).map_err(bad)?;
    let kind =
        IaKind::parse(&kind).ok_or_else(|| format!("{address}: type {kind:?} is unknown"))?;
    let state = LeaseState::parse(&state)
        .ok_or_else(|| format!("{address}: state {state:?} is unknown"))?;
    let prefix_len = u8::try_from(prefix_len)
        .ok()
        .filter(|p| (1..=128).contains(p))
        .ok_or_else(|| format!("{address}: prefix length {prefix_len} is out of range"))?;
    let iaid =
        u32::try_from(iaid).map_err(|_| format!("{address}: iaid {iaid} is out of range"))?;
    Ok(Lease6 {
        resource: Resource {
            address,
            prefix_len,
        },
        ia: IaKey::of_stored(state, kind, duid, iaid),
        kind,
        state,
        starts: starts.max(0) as u64,
        preferred: u32::try_from(preferred).unwrap_or(u32::MAX),
        expires: expires.max(0) as u64,
        hw_address,
        hostname,
    })
}
