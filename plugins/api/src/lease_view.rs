//! A service's own view of the leases, kept without reading the table per lookup: loaded
//! once from the table, then changed by each lease change as the server stores it
//! ([`crate::EventBus::subscribe_leases`]). A view that falls behind the changes is
//! loaded again from the table, off the runtime's threads.

use std::sync::{Arc, RwLock};

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::{LeaseEvent, LeaseInfo, PluginError, ServiceHost};

/// What a service keeps of the leases.
pub trait LeaseFollower: Send + Sync + 'static {
    /// Forgets what it held and takes `leases`, every current lease, at Unix second
    /// `now`.
    fn load(&mut self, leases: &[LeaseInfo], now: u64);
    /// Takes one lease as it stands after `event`, at Unix second `now`.
    fn apply(&mut self, lease: &LeaseInfo, event: LeaseEvent, now: u64);
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Loads `view` with the current leases and keeps it following their changes on the
/// host's runtime until the returned task is aborted. Subscribed before the table is
/// read, so no change in between is missed.
pub fn follow_leases<V: LeaseFollower>(
    host: &ServiceHost,
    view: Arc<RwLock<V>>,
) -> Result<JoinHandle<()>, PluginError> {
    let mut changes = host.events.subscribe_leases();
    let leases = host.leases.current()?;
    view.write()
        .map_err(|_| PluginError::new("a lease view's lock was poisoned"))?
        .load(&leases, unix_now());
    let reader = host.leases.clone();
    Ok(host.runtime.spawn(async move {
        loop {
            let change = changes.recv().await;
            // The time the change is applied at, not the time the wait for it began.
            let now = unix_now();
            match change {
                Ok(change) => {
                    if let Ok(mut v) = view.write() {
                        v.apply(&change.lease, change.event, now);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(
                        missed,
                        "lease changes were missed: reading the lease table again"
                    );
                    let reader = reader.clone();
                    match tokio::task::spawn_blocking(move || reader.current()).await {
                        Ok(Ok(leases)) => {
                            if let Ok(mut v) = view.write() {
                                v.load(&leases, now);
                            }
                        }
                        Ok(Err(e)) => tracing::warn!("cannot read the lease table: {e}"),
                        Err(_) => {}
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }))
}
