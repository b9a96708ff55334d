//! DHCPv6 leases (addresses and delegated prefixes) in table `lease6`, keyed by address
//! and prefix length, written as DHCPv4 leases are.

use std::net::{IpAddr, Ipv6Addr};

use tokio_postgres::{Client, Row};
use zerotouch_lease::{IaKey, IaKind, Lease6, LeaseState, Loaded, Resource, StoreError};

use crate::connect::PgConfig;
use crate::rows::{self, last_of_each};

const SELECT: &str = "SELECT address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname FROM lease6";

const UPSERT: &str = "
INSERT INTO lease6 (address, prefix_len, type, duid, iaid, state, starts, preferred, expires, hw_address, hostname)
SELECT * FROM unnest($1::inet[], $2::int2[], $3::text[], $4::bytea[], $5::int8[], $6::text[], $7::int8[], $8::int8[], $9::int8[], $10::bytea[], $11::text[])
ON CONFLICT (address, prefix_len) DO UPDATE SET
    type = EXCLUDED.type, duid = EXCLUDED.duid, iaid = EXCLUDED.iaid, state = EXCLUDED.state,
    starts = EXCLUDED.starts, preferred = EXCLUDED.preferred, expires = EXCLUDED.expires,
    hw_address = EXCLUDED.hw_address, hostname = EXCLUDED.hostname";

pub(crate) async fn write(
    client: &Client,
    cfg: &PgConfig,
    leases: &[Lease6],
) -> Result<(), StoreError> {
    if leases.is_empty() {
        return Ok(());
    }
    let leases = last_of_each(leases, |l| (l.resource.address, l.resource.prefix_len));
    let address: Vec<IpAddr> = leases
        .iter()
        .map(|l| IpAddr::V6(l.resource.address))
        .collect();
    let prefix_len: Vec<i16> = leases
        .iter()
        .map(|l| i16::from(l.resource.prefix_len))
        .collect();
    let kind: Vec<&str> = leases.iter().map(|l| l.kind.as_str()).collect();
    let duid: Vec<Option<&[u8]>> = leases
        .iter()
        .map(|l| l.ia.as_ref().map(|ia| &ia.duid[..]))
        .collect();
    let iaid: Vec<i64> = leases
        .iter()
        .map(|l| l.ia.as_ref().map_or(0, |ia| i64::from(ia.iaid)))
        .collect();
    let state: Vec<&str> = leases.iter().map(|l| l.state.as_str()).collect();
    let starts: Vec<i64> = leases.iter().map(|l| l.starts as i64).collect();
    let preferred: Vec<i64> = leases.iter().map(|l| i64::from(l.preferred)).collect();
    let expires: Vec<i64> = leases.iter().map(|l| l.expires as i64).collect();
    let hw: Vec<Option<&[u8]>> = leases.iter().map(|l| l.hw_address.as_deref()).collect();
    let hostname: Vec<Option<&str>> = leases.iter().map(|l| l.hostname.as_deref()).collect();
    client
        .execute(
            UPSERT,
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
            ],
        )
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(())
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
