//! Who a sender is, by its address: the lease it holds (either family), kept by the
//! server's lease changes, and the SZTP serial number the bootstrap plugin saw from
//! that address (its progress reports on the event bus). No table is read per message.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use tokio::sync::mpsc::Sender;
use zerotouch_plugin::{BootstrapProgress, LeaseEvent, LeaseFollower, LeaseInfo};

/// Serial numbers remembered, by address; past it the map starts over.
const SERIALS: usize = 65_536;

/// What is known of the senders.
#[derive(Debug, Default)]
pub(crate) struct Devices {
    /// Current leases by address, each with the configured subnet it is in.
    leases: HashMap<IpAddr, (LeaseInfo, Option<IpNet>)>,
    /// The server's subnets (both families), for the leases'.
    subnets: Vec<IpNet>,
    serials: HashMap<IpAddr, String>,
    /// Where the lease events go, as the server's own messages.
    events: Option<Sender<Event>>,
}

/// One of the server's own events about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// RFC 5424 severity: 6 info, 4 warning, 3 err.
    pub severity: u8,
    /// The message's MSGID: `lease` or `sztp`.
    pub msgid: &'static str,
    pub text: String,
    pub address: IpAddr,
    pub who: Who,
}

/// Who one sender is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Who {
    pub lease: Option<LeaseInfo>,
    /// The configured subnet of its lease.
    pub subnet: Option<IpNet>,
    pub serial: Option<String>,
}

impl Who {
    /// Whether the server knows the device: a lease, or an SZTP serial.
    pub(crate) fn known(&self) -> bool {
        self.lease.is_some() || self.serial.is_some()
    }
}

impl Devices {
    /// Who `address` is.
    pub(crate) fn who(&self, address: IpAddr) -> Who {
        let lease = self.leases.get(&address);
        Who {
            lease: lease.map(|l| l.0.clone()),
            subnet: lease.and_then(|l| l.1),
            serial: self.serials.get(&address).cloned(),
        }
    }

    /// Lease events go to `events` from now on; leases are placed in `subnets`.
    pub(crate) fn with_events(events: Sender<Event>, subnets: Vec<IpNet>) -> Devices {
        Devices {
            events: Some(events),
            subnets,
            ..Devices::default()
        }
    }

    /// The configured subnet `address` is in.
    fn subnet_of(&self, address: IpAddr) -> Option<IpNet> {
        self.subnets.iter().find(|n| n.contains(&address)).copied()
    }

    fn emit(&self, event: Event) {
        if let Some(tx) = &self.events {
            // A full channel: the collectors are far behind anyway; the device's own
            // lines matter more than the server's account of them.
            let _ = tx.try_send(event);
        }
    }

    /// A device reported progress to the bootstrap plugin from `p.peer`: its serial is
    /// remembered, and the report becomes the server's own message.
    pub(crate) fn progress(&mut self, p: &BootstrapProgress) {
        if self.serials.len() >= SERIALS {
            self.serials.clear();
        }
        let address = p.peer.ip();
        self.serials.insert(address, p.serial.clone());
        let severity = if p.progress_type.ends_with("-error") {
            3
        } else {
            6
        };
        let text = match &p.message {
            Some(m) => format!("SZTP progress {}: {m}", p.progress_type),
            None => format!("SZTP progress {}", p.progress_type),
        };
        self.emit(Event {
            severity,
            msgid: "sztp",
            text,
            address,
            who: self.who(address),
        });
    }
}

/// What a lease change is, told as the server's message (`before`: the lease the view
/// held for that address).
fn lease_event(
    before: Option<&LeaseInfo>,
    lease: &LeaseInfo,
    event: LeaseEvent,
) -> (u8, &'static str) {
    let same_client = before.is_some_and(|b| {
        b.state == zerotouch_plugin::LeaseState::Active
            && b.client_id == lease.client_id
            && b.hwaddr == lease.hwaddr
    });
    match event {
        LeaseEvent::Committed if same_client => (6, "renewed"),
        LeaseEvent::Committed => (6, "granted"),
        LeaseEvent::Released => (6, "released"),
        LeaseEvent::Declined => (4, "declined"),
        LeaseEvent::Expired => (6, "expired"),
    }
}

impl LeaseFollower for Devices {
    fn load(&mut self, leases: &[LeaseInfo], now: u64) {
        // The table as it is: no events (they were told when they happened).
        let events = self.events.take();
        self.leases.clear();
        for l in leases {
            self.apply(l, LeaseEvent::Committed, now);
        }
        self.events = events;
    }

    fn apply(&mut self, lease: &LeaseInfo, event: LeaseEvent, now: u64) {
        let subnet = self.subnet_of(lease.address);
        let before = if event == LeaseEvent::Committed && lease.is_current(now) {
            self.leases.insert(lease.address, (lease.clone(), subnet))
        } else {
            self.leases.remove(&lease.address)
        }
        .map(|b| b.0);
        if self.events.is_none() {
            return;
        }
        let (severity, what) = lease_event(before.as_ref(), lease, event);
        let family = if lease.address.is_ipv4() {
            "DHCPv4"
        } else {
            "DHCPv6"
        };
        let until = chrono::DateTime::from_timestamp(lease.expires as i64, 0)
            .map(|t| {
                format!(
                    " until {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .filter(|_| event == LeaseEvent::Committed)
            .unwrap_or_default();
        // The device as it was known: a released lease leaves the view.
        let who = Who {
            lease: Some(lease.clone()),
            subnet,
            serial: self.serials.get(&lease.address).cloned(),
        };
        self.emit(Event {
            severity,
            msgid: "lease",
            text: format!("{family} lease {what}: {}{until}", lease.address),
            address: lease.address,
            who,
        });
    }
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::LeaseState;

    use super::*;

    /// An active lease of 198.18.0.100 until `expires`.
    fn lease(expires: u64, hostname: Option<&str>) -> LeaseInfo {
        LeaseInfo {
            address: "198.18.0.100".parse().unwrap(),
            state: LeaseState::Active,
            client_id: None,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 7],
            starts: 100,
            expires,
            hostname: hostname.map(str::to_string),
        }
    }

    #[test]
    fn a_sender_is_its_current_lease_and_the_serial_it_reported_under() {
        let lease = lease(1000, Some("dev7"));
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let subnets = vec![
            "198.18.1.0/24".parse().unwrap(),
            "198.18.0.0/24".parse().unwrap(),
        ];
        let mut d = Devices::with_events(tx, subnets);
        d.load(std::slice::from_ref(&lease), 200);
        let ip = lease.address;
        assert_eq!(d.who(ip).lease.as_ref(), Some(&lease));
        assert_eq!(d.who(ip).subnet, Some("198.18.0.0/24".parse().unwrap()));
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

    #[test]
    fn lease_changes_become_the_servers_own_messages() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let mut d = Devices::with_events(tx, Vec::new());
        let lease = lease(1_800_000_000, None);
        d.load(std::slice::from_ref(&lease), 200);
        assert!(rx.try_recv().is_err(), "loading the table tells nothing");
        d.apply(&lease, LeaseEvent::Committed, 300);
        d.apply(&lease, LeaseEvent::Declined, 400);
        d.apply(&lease, LeaseEvent::Committed, 500);
        let texts: Vec<(u8, String)> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| (e.severity, e.text))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    6,
                    "DHCPv4 lease renewed: 198.18.0.100 until 2027-01-15T08:00:00Z".to_string()
                ),
                (4, "DHCPv4 lease declined: 198.18.0.100".into()),
                (
                    6,
                    "DHCPv4 lease granted: 198.18.0.100 until 2027-01-15T08:00:00Z".into()
                ),
            ]
        );
    }
}
