//! Events that plugins hand to each other through the server: one bus per server, given
//! to every service in [`crate::ServiceHost`]. A publisher never waits; a subscriber
//! that falls behind by more than the bus's capacity loses the oldest events and is told
//! how many (`RecvError::Lagged`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::broadcast;

/// Events on the bus.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServiceEvent {
    /// An SZTP device reported progress to the embedded bootstrap server.
    BootstrapProgress(Arc<BootstrapProgress>),
}

/// One `report-progress` call of an authenticated device (RFC 8572 §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapProgress {
    /// The device's serial number, as authenticated.
    pub serial: String,
    /// The RFC's `progress-type` value, for instance `bootstrap-complete`.
    pub progress_type: String,
    /// What the device said, when it said something.
    pub message: Option<String>,
    /// `(algorithm, key-data in base64)` sent with `bootstrap-complete`.
    pub ssh_host_keys: Vec<(String, String)>,
    /// Where the report came from.
    pub peer: SocketAddr,
    /// When the bootstrap server received it.
    pub received: SystemTime,
}

/// A lease change, once it is in the lease database: what happened and the lease as
/// it now stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseChange {
    /// Committed (new or extended), released, declined or expired.
    pub event: crate::LeaseEvent,
    /// The lease after the change.
    pub lease: crate::LeaseInfo,
}

/// The server's event bus; cloning shares it.
///
/// Lease changes have a channel of their own ([`EventBus::subscribe_leases`]): the
/// packet threads publish there only while a service listens, so a server without
/// such a service pays nothing per lease.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<ServiceEvent>,
    leases: broadcast::Sender<Arc<LeaseChange>>,
}

/// Events kept for a slow subscriber before the oldest are dropped.
const CAPACITY: usize = 1024;
/// Lease changes kept for a slow subscriber (a busy server commits thousands a second).
const LEASE_CAPACITY: usize = 16_384;

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            sender: broadcast::channel(CAPACITY).0,
            leases: broadcast::channel(LEASE_CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Hands `event` to every current subscriber; returns how many there are.
    pub fn publish(&self, event: ServiceEvent) -> usize {
        self.sender.send(event).unwrap_or(0)
    }

    /// Events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ServiceEvent> {
        self.sender.subscribe()
    }

    /// Lease changes from now on, each once it is durable: a service (DNS, syslog …)
    /// follows the lease table without reading it again. A subscriber that falls
    /// behind by more than 16 384 changes loses the oldest and is told how many.
    pub fn subscribe_leases(&self) -> broadcast::Receiver<Arc<LeaseChange>> {
        self.leases.subscribe()
    }

    /// Whether any service follows lease changes.
    pub fn follows_leases(&self) -> bool {
        self.leases.receiver_count() > 0
    }

    host_only! {
        /// Hands a lease change to every service that follows them; returns how many.
        fn publish_lease(&self, change: LeaseChange) -> usize {
            self.leases.send(Arc::new(change)).unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_each_event_and_publishing_without_subscribers_is_fine() {
        let bus = EventBus::default();
        let progress = Arc::new(BootstrapProgress {
            serial: "SN1".into(),
            progress_type: "bootstrap-complete".into(),
            message: None,
            ssh_host_keys: vec![],
            peer: "198.18.0.2:1000".parse().unwrap(),
            received: SystemTime::UNIX_EPOCH,
        });
        assert_eq!(
            bus.publish(ServiceEvent::BootstrapProgress(progress.clone())),
            0
        );
        let mut a = bus.subscribe();
        let mut b = bus.clone().subscribe();
        assert_eq!(
            bus.publish(ServiceEvent::BootstrapProgress(progress.clone())),
            2
        );
        for rx in [&mut a, &mut b] {
            let ServiceEvent::BootstrapProgress(got) = rx.try_recv().unwrap();
            assert_eq!(got, progress);
        }
    }
}
