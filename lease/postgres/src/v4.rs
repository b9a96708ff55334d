//! DHCPv4 leases in table `lease4`: a batch is one `INSERT … SELECT FROM unnest(…) ON
//! CONFLICT DO UPDATE`, its own transaction.

use std::net::{IpAddr, Ipv4Addr};

use tokio_postgres::{Client, Row};
use zerotouch_lease::{ClientKey, Lease4, LeaseState, Loaded, StoreError};

use crate::connect::PgConfig;
use crate::rows::{self, last_of_each};

const SELECT: &str =
    "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM lease4";

const UPSERT: &str = "
INSERT INTO lease4 (address, client_id, htype, hw_address, state, starts, expires, hostname)
SELECT * FROM unnest($1::inet[], $2::bytea[], $3::int2[], $4::bytea[], $5::text[], $6::int8[], $7::int8[], $8::text[])
ON CONFLICT (address) DO UPDATE SET
    client_id = EXCLUDED.client_id, htype = EXCLUDED.htype, hw_address = EXCLUDED.hw_address,
    state = EXCLUDED.state, starts = EXCLUDED.starts, expires = EXCLUDED.expires,
    hostname = EXCLUDED.hostname";

pub(crate) async fn write(
    client: &Client,
    cfg: &PgConfig,
    leases: &[Lease4],
) -> Result<(), StoreError> {
    if leases.is_empty() {
        return Ok(());
    }
    let leases = last_of_each(leases, |l| l.address);
    let address: Vec<IpAddr> = leases.iter().map(|l| IpAddr::V4(l.address)).collect();
    let client_id: Vec<Option<&[u8]>> = leases
        .iter()
        .map(|l| match &l.client {
            Some(ClientKey::ClientId(id)) => Some(&id[..]),
            _ => None,
        })
        .collect();
    let htype: Vec<i16> = leases.iter().map(|l| i16::from(l.htype)).collect();
    let hw: Vec<&[u8]> = leases.iter().map(|l| &l.hwaddr[..]).collect();
    let state: Vec<&str> = leases.iter().map(|l| l.state.as_str()).collect();
    let starts: Vec<i64> = leases.iter().map(|l| l.starts as i64).collect();
    let expires: Vec<i64> = leases.iter().map(|l| l.expires as i64).collect();
    let hostname: Vec<Option<&str>> = leases.iter().map(|l| l.hostname.as_deref()).collect();
    // One statement is one transaction: committed when it returns.
    client
        .execute(
            UPSERT,
            &[
                &address, &client_id, &htype, &hw, &state, &starts, &expires, &hostname,
            ],
        )
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(())
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
