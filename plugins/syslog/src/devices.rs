//! Who a sender is, by its address: the lease it holds (either family), kept by the
//! server's lease changes, and the SZTP serial number the bootstrap plugin saw from
//! that address (its progress reports on the event bus). No table is read per message.

use std::collections::HashMap;
use std::net::IpAddr;

use zerotouch_plugin::{BootstrapProgress, LeaseEvent, LeaseFollower, LeaseInfo};

/// Serial numbers remembered, by address; past it the map starts over.
const SERIALS: usize = 65_536;

/// What is known of the senders.
#[derive(Debug, Default)]
pub(crate) struct Devices {
    leases: HashMap<IpAddr, LeaseInfo>,
    serials: HashMap<IpAddr, String>,
}

/// Who one sender is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Who {
    pub lease: Option<LeaseInfo>,
    pub serial: Option<String>,
}

impl Devices {
    /// Who `address` is.
    pub(crate) fn who(&self, address: IpAddr) -> Who {
        Who {
            lease: self.leases.get(&address).cloned(),
            serial: self.serials.get(&address).cloned(),
        }
    }

    /// A device reported progress to the bootstrap plugin from `p.peer`.
    pub(crate) fn progress(&mut self, p: &BootstrapProgress) {
        if self.serials.len() >= SERIALS {
            self.serials.clear();
        }
        self.serials.insert(p.peer.ip(), p.serial.clone());
    }
}

impl LeaseFollower for Devices {
    fn load(&mut self, leases: &[LeaseInfo], now: u64) {
        self.leases.clear();
        for l in leases {
            self.apply(l, LeaseEvent::Committed, now);
        }
    }

    fn apply(&mut self, lease: &LeaseInfo, event: LeaseEvent, now: u64) {
        if event == LeaseEvent::Committed && lease.is_current(now) {
            self.leases.insert(lease.address, lease.clone());
        } else {
            self.leases.remove(&lease.address);
        }
    }
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::LeaseState;

    use super::*;

    #[test]
    fn a_sender_is_its_current_lease_and_the_serial_it_reported_under() {
        let lease = LeaseInfo {
            address: "198.18.0.100".parse().unwrap(),
            state: LeaseState::Active,
            client_id: None,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 7],
            starts: 100,
            expires: 1000,
            hostname: Some("dev7".into()),
        };
        let mut d = Devices::default();
        d.load(std::slice::from_ref(&lease), 200);
        let ip = lease.address;
        assert_eq!(d.who(ip).lease.as_ref(), Some(&lease));
        d.progress(&BootstrapProgress {
            serial: "SN-7".into(),
            progress_type: "bootstrap-initiated".into(),
            message: None,
            ssh_host_keys: vec![],
            peer: std::net::SocketAddr::new(ip, 40000),
            received: std::time::SystemTime::UNIX_EPOCH,
        });
        assert_eq!(d.who(ip).serial.as_deref(), Some("SN-7"));
        d.apply(&lease, LeaseEvent::Released, 300);
        assert_eq!(d.who(ip).lease, None);
        d.apply(&lease, LeaseEvent::Committed, 2000);
        assert_eq!(d.who(ip).lease, None, "expired by then");
    }
}
