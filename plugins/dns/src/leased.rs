//! Names for leased devices: a client that holds a lease and gave a host name (option
//! 12, or its FQDN's first label) is `<name>.<zone>` with its address, and the address's
//! reverse name points back at it, for as long as the lease lasts. The names follow
//! the server's lease changes as they happen (the event bus), not a read of the table
//! per query.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use hickory_server::proto::rr::{LowerName, Name};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;
use zerotouch_plugin::{LeaseChange, LeaseEvent, LeaseInfo, LeaseReader};

/// The leased devices' names, by address and by name.
#[derive(Debug, Default)]
pub(crate) struct Leased {
    by_address: HashMap<IpAddr, Name>,
    by_name: HashMap<LowerName, Vec<IpAddr>>,
}

/// Shared between the follower task and the query handler.
pub(crate) type SharedLeased = Arc<RwLock<Leased>>;

impl Leased {
    /// The addresses of `name`.
    pub(crate) fn addresses(&self, name: &LowerName) -> &[IpAddr] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The name of `address`.
    pub(crate) fn name_of(&self, address: &IpAddr) -> Option<&Name> {
        self.by_address.get(address)
    }

    /// Applies one lease as it now stands, its names under `zone`.
    pub(crate) fn apply(&mut self, lease: &LeaseInfo, current: bool, zone: &Name, now: u64) {
        self.remove(&lease.address);
        if !current || !lease.is_current(now) {
            return;
        }
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

    /// Every current lease from `reader`, replacing what was known.
    pub(crate) fn load(&mut self, reader: &dyn LeaseReader, zone: &Name, now: u64) {
        *self = Leased::default();
        match reader.current() {
            Ok(leases) => {
                for l in &leases {
                    self.apply(l, true, zone, now);
                }
            }
            Err(e) => tracing::warn!("dns: cannot read the leases: {e}"),
        }
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

/// Follows the lease changes into `leased`, names under `zone`; reads the whole table
/// again only when it fell behind the changes.
pub(crate) async fn follow(
    mut changes: Receiver<Arc<LeaseChange>>,
    leased: SharedLeased,
    reader: Arc<dyn LeaseReader>,
    zone: Name,
) {
    loop {
        let change = changes.recv().await;
        // The time the change is applied at, not the time the wait for it began.
        let now = unix_now();
        match change {
            Ok(change) => {
                let current = change.event == LeaseEvent::Committed;
                if let Ok(mut l) = leased.write() {
                    l.apply(&change.lease, current, &zone, now);
                }
            }
            Err(RecvError::Lagged(_)) => {
                // Changes were lost: read the table again, off the runtime's threads.
                let (reader, zone) = (reader.clone(), zone.clone());
                let fresh = tokio::task::spawn_blocking(move || {
                    let mut fresh = Leased::default();
                    fresh.load(&*reader, &zone, now);
                    fresh
                })
                .await;
                if let Ok(fresh) = fresh
                    && let Ok(mut l) = leased.write()
                {
                    *l = fresh;
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
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
        let mut l = Leased::default();
        l.apply(&lease("198.18.0.7", Some("Dev7.corp")), true, &zone, 200);
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
        l.apply(&lease("198.18.0.7", Some("dev7")), false, &zone, 300);
        assert!(l.addresses(&name).is_empty());
        // No usable host name: no record.
        l.apply(&lease("198.18.0.8", Some("bad_name")), true, &zone, 200);
        l.apply(&lease("198.18.0.9", None), true, &zone, 200);
        assert!(l.by_address.is_empty());
        assert_eq!(host_label("-x"), None);
    }
}
