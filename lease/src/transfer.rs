//! Leases as a file, to move them between stores (the embedded SQLite file and
//! PostgreSQL, either way): JSON Lines, one lease a line, every field as operators
//! read it (addresses as text, identifiers as `aa:bb:cc`, times as Unix seconds).
//!
//! ```text
//! {"family":"dhcp4","address":"198.18.0.10","client_id":null,"htype":1,"hw_address":"02:00:00:00:00:01","state":"active","starts":1764000000,"expires":1764003600,"hostname":"sw1"}
//! {"family":"dhcp6","address":"2001:db8::10","prefix_len":128,"type":"na","duid":"00:03:00:01:02:00:00:00:00:01","iaid":7,"state":"active","starts":1764000000,"preferred":1800,"expires":1764003600,"hw_address":null,"hostname":null}
//! ```

use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use zerotouch_proto::hex;

use crate::{ClientKey, IaKey, IaKind, Lease4, Lease6, LeaseState, Resource};

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    Dhcp4 {
        address: Ipv4Addr,
        client_id: Option<String>,
        htype: u8,
        hw_address: String,
        state: String,
        starts: u64,
        expires: u64,
        hostname: Option<String>,
    },
    Dhcp6 {
        address: Ipv6Addr,
        prefix_len: u8,
        #[serde(rename = "type")]
        kind: String,
        duid: Option<String>,
        iaid: u32,
        state: String,
        starts: u64,
        preferred: u32,
        expires: u64,
        hw_address: Option<String>,
        hostname: Option<String>,
    },
}

/// Leases read from a file.
#[derive(Debug, Default)]
pub struct Leases {
    pub v4: Vec<Lease4>,
    pub v6: Vec<Lease6>,
}

/// What is wrong with a file: each line that could not be read, with its number.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{}", .0.join("\n"))]
    Lines(Vec<String>),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes `v4` and `v6` to `out`, a lease a line.
pub fn write(out: &mut impl Write, v4: &[Lease4], v6: &[Lease6]) -> Result<(), TransferError> {
    for l in v4 {
        let client_id = match &l.client {
            Some(ClientKey::ClientId(id)) => Some(hex::colon(id)),
            _ => None,
        };
        line(
            out,
            &Record::Dhcp4 {
                address: l.address,
                client_id,
                htype: l.htype,
                hw_address: hex::colon(&l.hwaddr),
                state: l.state.as_str().into(),
                starts: l.starts,
                expires: l.expires,
                hostname: l.hostname.clone(),
            },
        )?;
    }
    for l in v6 {
        line(
            out,
            &Record::Dhcp6 {
                address: l.resource.address,
                prefix_len: l.resource.prefix_len,
                kind: l.kind.as_str().into(),
                duid: l.ia.as_ref().map(|ia| hex::colon(&ia.duid)),
                iaid: l.ia.as_ref().map_or(0, |ia| ia.iaid),
                state: l.state.as_str().into(),
                starts: l.starts,
                preferred: l.preferred,
                expires: l.expires,
                hw_address: l.hw_address.as_deref().map(hex::colon),
                hostname: l.hostname.clone(),
            },
        )?;
    }
    out.flush()?;
    Ok(())
}

fn line(out: &mut impl Write, record: &Record) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Reads every lease of `input`; any line that is not a lease makes it an error that
/// names each such line (nothing is half read).
pub fn read(input: impl BufRead) -> Result<Leases, TransferError> {
    let mut leases = Leases::default();
    let mut bad = Vec::new();
    for (i, text) in input.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Record>(&text)
            .map_err(|e| e.to_string())
            .and_then(|r| lease(r, &mut leases));
        if let Err(why) = parsed {
            bad.push(format!("line {}: {why}", i + 1));
        }
    }
    if bad.is_empty() {
        Ok(leases)
    } else {
        Err(TransferError::Lines(bad))
    }
}

fn octets(field: &str, text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("{field} {text:?}: {e}"))
}

fn state(text: &str) -> Result<LeaseState, String> {
    LeaseState::parse(text).ok_or_else(|| format!("state {text:?} is unknown"))
}

fn lease(record: Record, into: &mut Leases) -> Result<(), String> {
    match record {
        Record::Dhcp4 {
            address,
            client_id,
            htype,
            hw_address,
            state: s,
            starts,
            expires,
            hostname,
        } => {
            let state = state(&s)?;
            let hwaddr = octets("hw_address", &hw_address)?;
            let client_id = client_id.map(|c| octets("client_id", &c)).transpose()?;
            into.v4.push(Lease4 {
                address,
                client: ClientKey::of_stored(state, client_id, htype, &hwaddr),
                htype,
                hwaddr: hwaddr.as_slice().into(),
                state,
                starts,
                expires,
                hostname,
            });
        }
        Record::Dhcp6 {
            address,
            prefix_len,
            kind,
            duid,
            iaid,
            state: s,
            starts,
            preferred,
            expires,
            hw_address,
            hostname,
        } => {
            let state = state(&s)?;
            let kind = IaKind::parse(&kind).ok_or_else(|| format!("type {kind:?} is unknown"))?;
            if !(1..=128).contains(&prefix_len) {
                return Err(format!("prefix_len {prefix_len} is out of range"));
            }
            let duid = duid.map(|d| octets("duid", &d)).transpose()?;
            let hw_address = hw_address.map(|h| octets("hw_address", &h)).transpose()?;
            into.v6.push(Lease6 {
                resource: Resource {
                    address,
                    prefix_len,
                },
                ia: IaKey::of_stored(state, kind, duid, iaid),
                kind,
                state,
                starts,
                preferred,
                expires,
                hw_address,
                hostname,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbered_lease;

    #[test]
    fn leases_of_both_families_go_out_and_come_back_equal() {
        let mut v4 = vec![numbered_lease(1), numbered_lease(2)];
        v4[1].client = Some(ClientKey::ClientId(vec![1, 2, 3].into()));
        v4[1].hostname = Some("sw1".into());
        let v6 = vec![Lease6 {
            resource: Resource {
                address: "2001:db8:100::".parse().unwrap(),
                prefix_len: 56,
            },
            ia: Some(IaKey {
                kind: IaKind::Pd,
                duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1].into(),
                iaid: 9,
            }),
            kind: IaKind::Pd,
            state: LeaseState::Active,
            starts: 10,
            preferred: 1800,
            expires: 3610,
            hw_address: Some(vec![2, 0, 0, 0, 0, 1]),
            hostname: None,
        }];
        let mut file = Vec::new();
        write(&mut file, &v4, &v6).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(r#""client_id":"01:02:03""#), "{text}");
        let back = read(file.as_slice()).unwrap();
        assert_eq!((back.v4, back.v6), (v4, v6));
    }

    #[test]
    fn every_bad_line_is_named_and_nothing_is_read() {
        let mut file = Vec::new();
        write(&mut file, &[numbered_lease(1)], &[]).unwrap();
        let good = String::from_utf8(file).unwrap();
        let text = format!(
            "{good}{}\n\n{{\"family\":\"dhcp5\"}}\n",
            good.trim().replace("active", "sleeping")
        );
        let err = read(text.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("line 2: state \"sleeping\" is unknown"),
            "{err}"
        );
        assert!(err.contains("line 4: unknown variant `dhcp5`"), "{err}");
    }
}
