//! Names for leased devices: a client that holds a lease and gave a host name (option
//! 12, or its FQDN's first label) is `<name>.<zone>` with its address, and the address's
//! reverse name points back at it, for as long as the lease lasts. The names follow
//! the server's lease changes as they happen (the event bus), not a read of the table
//! per query.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use hickory_server::proto::rr::{LowerName, Name};
use tracing::debug;
use zerotouch_plugin::{LeaseEvent, LeaseFollower, LeaseInfo};

/// The leased devices' names under `zone`, by address and by name.
#[derive(Debug, Default)]
pub(crate) struct Leased {
    zone: Option<Name>,
    by_address: HashMap<IpAddr, Name>,
    by_name: HashMap<LowerName, Vec<IpAddr>>,
}

impl LeaseFollower for Leased {
    fn load(&mut self, leases: &[LeaseInfo], now: u64) {
        let zone = self.zone.take();
        *self = Leased {
            zone,
            ..Leased::default()
        };
        for l in leases {
            self.apply(l, LeaseEvent::Committed, now);
        }
    }

    fn apply(&mut self, lease: &LeaseInfo, event: LeaseEvent, now: u64) {
        self.remove(&lease.address);
        if event != LeaseEvent::Committed || !lease.is_current(now) {
            return;
        }
        let Some(zone) = &self.zone else { return };
        let Some(label) = lease.hostname.as_deref().and_then(host_label) else {
            return;
        };
        let Ok(name) = Name::from_labels([label.as_bytes()]).and_then(|n| n.append_domain(zone))
        else {
            return;
        };
        debug!(%name, address = %lease.address, "dns: a leased device's name");
        self.by_name
            .entry(LowerName::from(&name))
            .or_default()
            .push(lease.address);
        self.by_address.insert(lease.address, name);
    }
}

/// Shared between the follower task and the query handler.
pub(crate) type SharedLeased = Arc<RwLock<Leased>>;

impl Leased {
    /// Names under `zone`, none yet.
    pub(crate) fn under(zone: Name) -> Self {
        Leased {
            zone: Some(zone),
            ..Leased::default()
        }
    }

    /// The addresses of `name`.
    pub(crate) fn addresses(&self, name: &LowerName) -> &[IpAddr] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The name of `address`.
    pub(crate) fn name_of(&self, address: &IpAddr) -> Option<&Name> {
        self.by_address.get(address)
    }

    fn remove(&mut self, address: &IpAddr) {
        if let Some(old) = self.by_address.remove(address) {
            let key = LowerName::from(&old);
            if let Some(list) = self.by_name.get_mut(&key) {
                list.retain(|a| a != address);
                if list.is_empty() {
                    self.by_name.remove(&key);
                }
            }
        }
    }
}

/// A host name as one DNS label: its first label, lower case, letters, digits and
/// hyphens only (RFC 952/1123); `None` when nothing of it is usable.
fn host_label(hostname: &str) -> Option<String> {
    let first = hostname.split('.').next()?.to_ascii_lowercase();
    let ok = !first.is_empty()
        && first.len() <= 63
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !first.starts_with('-')
        && !first.ends_with('-');
    ok.then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotouch_plugin::LeaseState;

    fn lease(address: &str, hostname: Option<&str>) -> LeaseInfo {
        LeaseInfo {
            address: address.parse().unwrap(),
            state: LeaseState::Active,
            client_id: None,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 7],
            starts: 100,
            expires: 10_000,
            hostname: hostname.map(str::to_string),
        }
    }

    #[test]
    fn names_follow_leases() {
        let zone = Name::from_ascii("lan.example.").unwrap();
        let mut l = Leased::under(zone);
        l.apply(
            &lease("198.18.0.7", Some("Dev7.corp")),
            LeaseEvent::Committed,
            200,
        );
        let name = LowerName::from(Name::from_ascii("dev7.lan.example.").unwrap());
        assert_eq!(
            l.addresses(&name),
            ["198.18.0.7".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            l.name_of(&"198.18.0.7".parse().unwrap())
                .unwrap()
                .to_string(),
            "dev7.lan.example."
        );
        // Released: gone.
        l.apply(
            &lease("198.18.0.7", Some("dev7")),
            LeaseEvent::Released,
            300,
        );
        assert!(l.addresses(&name).is_empty());
        // No usable host name: no record.
        l.apply(
            &lease("198.18.0.8", Some("bad_name")),
            LeaseEvent::Committed,
            200,
        );
        l.apply(&lease("198.18.0.9", None), LeaseEvent::Committed, 200);
        assert!(l.by_address.is_empty());
        assert_eq!(host_label("-x"), None);
    }
}
