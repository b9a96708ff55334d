//! The interfaces a packet loop serves, kept current while it runs: re-read every
//! refresh period, and (at most once a second) when a packet arrives on an interface
//! not known yet, which may just have appeared. DHCPv6 loops also keep the socket
//! joined to ff02::1:2 on each of them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::interfaces::{Interface, InterfaceTable};
use super::udp::{BatchSocket, V6};

/// How soon an unknown ingress interface may cause another re-read.
const UNKNOWN_RETRY: Duration = Duration::from_secs(1);

pub struct ServedInterfaces {
    table: InterfaceTable,
    period: Duration,
    refreshed: Instant,
    /// Interfaces (by index) whose socket membership of ff02::1:2 is in place.
    joined: HashSet<u32>,
}

impl ServedInterfaces {
    /// The configured interfaces; those that do not exist yet are reported (they are
    /// served once they appear).
    pub fn new(names: &[String], period: Duration) -> Self {
        let table = InterfaceTable::new(names);
        for name in names {
            if !table.iter().any(|i| *i.name == **name) {
                warn!(interface = %name, "interface does not exist (yet); it is served once it appears");
            }
        }
        ServedInterfaces {
            table,
            period,
            refreshed: Instant::now(),
            joined: HashSet::new(),
        }
    }

    pub fn get(&self, ifindex: u32) -> Option<&Interface> {
        self.table.get(ifindex)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Interface> {
        self.table.iter()
    }

    /// Re-reads the interfaces when the refresh period has passed; whether it did.
    pub fn refresh_if_due(&mut self) -> bool {
        self.refreshed.elapsed() >= self.period && self.refresh()
    }

    /// Re-reads the interfaces when a packet came in on `ifindex`, which is not known,
    /// and the last re-read is a second old; whether it did. Cheap for known ones: it
    /// runs for every packet.
    pub fn refresh_for_unknown(&mut self, ifindex: u32) -> bool {
        self.table.get(ifindex).is_none()
            && self.refreshed.elapsed() >= UNKNOWN_RETRY
            && self.refresh()
    }

    fn refresh(&mut self) -> bool {
        if self.table.refresh() {
            info!(
                "interfaces changed: {:?}",
                self.table
                    .iter()
                    .map(|i| (&i.name, &i.addrs, &i.addrs6))
                    .collect::<Vec<_>>()
            );
        }
        self.refreshed = Instant::now();
        true
    }

    /// Joins ff02::1:2 on every interface not joined yet (interfaces may appear later,
    /// or come back with a new index).
    pub fn join_dhcp_servers(&mut self, socket: &BatchSocket<V6>) {
        let present: Vec<(u32, std::sync::Arc<str>)> = self
            .table
            .iter()
            .map(|i| (i.index, i.name.clone()))
            .collect();
        self.joined.retain(|i| present.iter().any(|(p, _)| p == i));
        for (index, name) in present {
            if self.joined.contains(&index) {
                continue;
            }
            match socket.join_dhcp_servers(index) {
                Ok(()) => {
                    self.joined.insert(index);
                }
                // Already a member (the interface went away and came back with the same
                // index): nothing to do.
                Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                    self.joined.insert(index);
                }
                Err(e) => warn!(interface = %name, "cannot join ff02::1:2: {e}"),
            }
        }
    }
}
