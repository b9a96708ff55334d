//! The running server: its threads, started from a validated [`Config`] and stopped
//! when the stop flag is set.

pub(crate) mod commits;
mod drops;
pub(crate) mod packet_loop;
mod parking;
pub(crate) mod startup;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tracing::info;

pub use crate::v4::Dhcp4Service;
pub use crate::v6::Dhcp6Service;
pub use startup::Service;

use crate::config::Config;
use crate::lease::StoreError;
use crate::plugin::Pipeline;
use crate::stats::Counters;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Duid(#[from] crate::v6::DuidError),
    #[error("cannot bind UDP port {port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start a server thread: {0}")]
    Thread(std::io::Error),
    #[error("a server thread panicked")]
    ThreadPanicked,
}

/// Starts every configured DHCP service (none for a file of plugins' services only);
/// they run until `stop` is set.
pub fn start(
    config: &Config,
    counters: Arc<Counters>,
    plugins: Arc<Pipeline>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Service>, ServerError> {
    if config.dhcp4.is_none() && config.dhcp6.is_none() {
        info!("no [dhcp4] or [dhcp6] section: only the plugins' services run");
        return Ok(Vec::new());
    }
    // Before anything is bound or loaded: one server per lease database.
    let lock = crate::store::hold(&config.leases)?;
    let mut services = Vec::new();
    if let Some(dhcp4) = config.dhcp4.clone() {
        services.push(
            Dhcp4Service::start(
                Arc::new(dhcp4),
                &config.leases,
                counters.clone(),
                plugins.clone(),
                stop.clone(),
            )?
            .holding(lock.clone()),
        );
    }
    if let Some(dhcp6) = config.dhcp6.clone() {
        let started = Dhcp6Service::start(
            Arc::new(dhcp6),
            &config.leases,
            counters,
            plugins,
            stop.clone(),
        );
        match started {
            Ok(s) => services.push(s.holding(lock)),
            Err(e) => {
                // Stop what already runs before reporting.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                for s in services {
                    let _ = s.join();
                }
                return Err(e);
            }
        }
    }
    Ok(services)
}

/// Waits for every service to stop, then logs the final counters.
pub fn join(services: Vec<Service>, counters: &Counters) -> Result<(), ServerError> {
    let mut result = Ok(());
    for s in services {
        if let Err(e) = s.join() {
            result = Err(e);
        }
    }
    info!("counters: {}", counters.summary());
    result
}
