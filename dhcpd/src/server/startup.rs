//! What starting either packet loop takes: its leases read from the store and a named
//! thread that commits what is pending when it stops.

use std::thread::JoinHandle;

use tracing::{info, warn};

use super::ServerError;
use crate::lease::{LeaseBackend, Loaded, StoreError};
use zerotouch_net::{Interface, ServedInterfaces};

/// How long a server sharing its lease database waits at start for its first blocks
/// of each pool (without them it gives no new addresses until they come).
pub(crate) const CLAIM_AT_START: std::time::Duration = std::time::Duration::from_secs(10);

/// The leases `load` reads, with every unreadable row reported (and left in place).
pub(crate) fn load_leases<L>(
    store: &dyn LeaseBackend,
    load: impl FnOnce(&dyn LeaseBackend) -> Result<Loaded<L>, StoreError>,
) -> Result<Vec<L>, ServerError> {
    let loaded = load(store)?;
    for bad in &loaded.bad_rows {
        warn!(
            "{}: skipping unreadable row {bad} (left in place)",
            store.describe()
        );
    }
    Ok(loaded.leases)
}

/// Warns, at start, of each served interface on which a client that is not relayed
/// would get no answer: no subnet names it (`interface = ...`) or holds one of its
/// addresses. Interfaces listed in `relayed_only` are meant to be so.
pub(crate) fn warn_unmatched_interfaces(
    served: &ServedInterfaces,
    relayed_only: &[String],
    family: &str,
    has_subnet: impl Fn(&Interface) -> bool,
) {
    for i in served.iter() {
        if relayed_only.iter().any(|r| **r == *i.name) || has_subnet(i) {
            continue;
        }
        warn!(
            interface = %i.name,
            "{family}: no subnet matches this interface (none names it, none holds one of its addresses): clients on its link get no answer (counted as no_subnet); add a subnet for the link, or list the interface in relayed_only if it serves relayed clients only"
        );
    }
}

/// A running packet loop on a thread of its own.
pub struct Service {
    name: &'static str,
    thread: JoinHandle<()>,
    /// The lease store's hold (`store::hold`), kept while the service runs.
    lock: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl Service {
    /// Runs `serve` on thread `name`, then `flush` (commit what is pending) once it
    /// returns.
    pub fn spawn<P: Send + 'static>(
        name: &'static str,
        mut state: P,
        serve: impl FnOnce(&mut P) + Send + 'static,
        flush: impl FnOnce(&mut P) + Send + 'static,
    ) -> Result<Service, ServerError> {
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                serve(&mut state);
                info!("{name} stopping: committing pending leases");
                flush(&mut state);
            })
            .map_err(ServerError::Thread)?;
        Ok(Service {
            name,
            thread,
            lock: None,
        })
    }

    /// The service holds `lock` until it has stopped.
    pub fn holding(mut self, lock: std::sync::Arc<dyn std::any::Any + Send + Sync>) -> Service {
        self.lock = Some(lock);
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the service to stop (after the stop flag is set, or on a fatal error).
    pub fn join(self) -> Result<(), ServerError> {
        let joined = self.thread.join().map_err(|_| ServerError::ThreadPanicked);
        drop(self.lock);
        joined
    }
}
