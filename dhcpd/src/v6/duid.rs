//! The server's DUID (RFC 8415 §11): made once, kept in the lease database and used
//! from then on, so that clients and relays keep recognising the server across
//! restarts, hardware changes and reconfiguration of unrelated keys.

use tracing::{info, warn};
use zerotouch_proto::v6::ia::Duid;

use crate::config::DuidSetting;
use crate::lease::{LeaseBackend, StoreError};
use zerotouch_net::hardware_address;

const KEY: &str = "duid";
/// Seconds from the Unix epoch to 2000-01-01, the DUID-LLT epoch.
const DUID_EPOCH: u64 = 946_684_800;

#[derive(Debug, thiserror::Error)]
pub enum DuidError {
    #[error("server DUID: {0}")]
    Store(#[from] StoreError),
    #[error("server DUID: interface {0} has no hardware address to make a DUID-LL from")]
    NoHardwareAddress(String),
}

/// The DUID type a setting makes.
fn wanted_type(setting: &DuidSetting) -> u16 {
    match setting {
        DuidSetting::Llt { .. } => 1,
        DuidSetting::En { .. } => 2,
        DuidSetting::Ll { .. } => 3,
    }
}

/// ARP hardware type of an interface (1, Ethernet, when unknown).
fn hw_type(interface: &str) -> u16 {
    std::fs::read_to_string(format!("/sys/class/net/{interface}/type"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1)
}

/// A hardware address: of `interface` when given, else of the first served interface
/// that has one.
fn link_layer(interface: &Option<String>, served: &[String]) -> Option<(u16, Vec<u8>)> {
    let candidates: Vec<&String> = match interface {
        Some(i) => vec![i],
        None => served.iter().collect(),
    };
    candidates
        .into_iter()
        .find_map(|i| hardware_address(i).map(|a| (hw_type(i), a)))
}

/// The stored DUID, `aa:bb:cc` as `hex_colon` wrote it.
fn parse_stored(s: &str) -> Option<Vec<u8>> {
    zerotouch_proto::hex::decode(s).ok()
}

/// The server's DUID for `setting`: the stored one while it is of the configured type
/// (and equal to an explicitly given one), else a new one, stored.
pub fn server_duid(
    setting: &DuidSetting,
    served: &[String],
    store: &mut dyn LeaseBackend,
) -> Result<Vec<u8>, DuidError> {
    let stored = store.identity(KEY)?.and_then(|s| parse_stored(&s));
    let explicit = match setting {
        DuidSetting::En {
            enterprise,
            identifier,
        } => Some(
            Duid::En {
                enterprise: *enterprise,
                id: identifier.clone(),
            }
            .encode(),
        ),
        DuidSetting::Ll {
            hw_address: Some(a),
            ..
        } => Some(
            Duid::Ll {
                hw_type: 1,
                address: a.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    if let Some(s) = &stored {
        let stored_type = if s.len() >= 2 {
            u16::from_be_bytes([s[0], s[1]])
        } else {
            0
        };
        // A DUID-UUID stands in for a DUID-LLT when no interface had a hardware address.
        let same_type = stored_type == wanted_type(setting)
            || (stored_type == 4 && matches!(setting, DuidSetting::Llt { .. }));
        let kept = match &explicit {
            Some(e) => e == s,
            None => same_type,
        };
        if kept {
            return Ok(s.clone());
        }
    }
    let duid = match (explicit, setting) {
        (Some(e), _) => e,
        (None, DuidSetting::Ll { interface, .. }) => {
            let (hw_type, address) = link_layer(interface, served).ok_or_else(|| {
                DuidError::NoHardwareAddress(interface.clone().unwrap_or_else(|| served.join(", ")))
            })?;
            Duid::Ll { hw_type, address }.encode()
        }
        (None, DuidSetting::Llt { interface }) => match link_layer(interface, served) {
            Some((hw_type, address)) => Duid::Llt {
                hw_type,
                time: (crate::lease::unix_now().saturating_sub(DUID_EPOCH) & 0xffff_ffff) as u32,
                address,
            }
            .encode(),
            None => {
                // No interface with a hardware address (a tunnel, say): a random
                // DUID-UUID serves as well, since it is kept.
                let mut uuid = [0u8; 16];
                fill_random(&mut uuid);
                warn!(
                    "no served interface has a hardware address: the server DUID is a random DUID-UUID"
                );
                Duid::Uuid(uuid).encode()
            }
        },
        (None, DuidSetting::En { .. }) => unreachable!("an EN setting is always explicit"),
    };
    let text = crate::lease::hex_colon(&duid);
    if let Some(old) = &stored {
        warn!(old = %crate::lease::hex_colon(old), new = %text, "server DUID changed with its configuration: clients bound to the old one will rebind");
    }
    info!(duid = %text, "server DUID created and stored");
    store.set_identity(KEY, &text)?;
    Ok(duid)
}

fn fill_random(out: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(out).is_ok()
    {
        // RFC 4122 version 4, variant 1.
        out[6] = (out[6] & 0x0f) | 0x40;
        out[8] = (out[8] & 0x3f) | 0x80;
        return;
    }
    let t = crate::lease::unix_now().to_be_bytes();
    for (i, b) in out.iter_mut().enumerate() {
        *b = t[i % 8] ^ (i as u8).wrapping_mul(151);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Synchronous;
    use crate::lease::SqliteStore;

    #[test]
    fn the_duid_is_made_once_and_kept_until_its_type_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            &mut SqliteStore::open(&dir.path().join("l.sqlite"), Synchronous::Full).unwrap();
        let llt = DuidSetting::Llt { interface: None };
        // "lo" has no hardware address: a DUID-UUID, kept.
        let first = server_duid(&llt, &["lo".into()], store).unwrap();
        assert_eq!(&first[..2], [0, 4]);
        let again = server_duid(&llt, &["lo".into()], store).unwrap();
        assert_eq!(first, again, "a random DUID is made once");
        let en = DuidSetting::En {
            enterprise: 32473,
            identifier: vec![1, 2, 3],
        };
        let e = server_duid(&en, &[], store).unwrap();
        assert_eq!(e, [0, 2, 0, 0, 0x7e, 0xd9, 1, 2, 3]);
        assert_eq!(server_duid(&en, &[], store).unwrap(), e);
        let ll = DuidSetting::Ll {
            interface: None,
            hw_address: Some(vec![2, 0, 0, 0, 0, 9]),
        };
        assert_eq!(
            server_duid(&ll, &[], store).unwrap(),
            [0, 3, 0, 1, 2, 0, 0, 0, 0, 9]
        );
        assert_eq!(
            store.identity(KEY).unwrap().as_deref(),
            Some("00:03:00:01:02:00:00:00:00:09")
        );
        let missing = DuidSetting::Ll {
            interface: Some("lo".into()),
            hw_address: None,
        };
        let fresh =
            &mut SqliteStore::open(&dir.path().join("m.sqlite"), Synchronous::Full).unwrap();
        assert!(matches!(
            server_duid(&missing, &[], fresh),
            Err(DuidError::NoHardwareAddress(_))
        ));
    }
}
