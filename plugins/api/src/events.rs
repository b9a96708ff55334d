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
    pub message: Option<String>,
    /// `(algorithm, key-data in base64)` sent with `bootstrap-complete`.
    pub ssh_host_keys: Vec<(String, String)>,
    pub peer: SocketAddr,
    pub received: SystemTime,
}

/// The server's event bus; cloning shares it.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<ServiceEvent>,
}

/// Events kept for a slow subscriber before the oldest are dropped.
const CAPACITY: usize = 1024;

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            sender: broadcast::channel(CAPACITY).0,
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
