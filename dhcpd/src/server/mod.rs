//! The running server: its threads, started from a validated [`Config`] and stopped
//! when the stop flag is set.

mod dhcp4;
mod sender;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tracing::info;

pub use dhcp4::Dhcp4Service;

use crate::config::Config;
use crate::lease::StoreError;
use crate::plugin::Pipeline;
use crate::stats::Counters;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot bind UDP port {port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start a server thread: {0}")]
    Thread(std::io::Error),
    #[error("a server thread panicked")]
    ThreadPanicked,
    #[error("the configuration has no [dhcp4] section: nothing to serve")]
    NothingToServe,
}

/// Starts every configured service; they run until `stop` is set.
pub fn start(
    config: &Config,
    counters: Arc<Counters>,
    plugins: Arc<Pipeline>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Dhcp4Service>, ServerError> {
    let Some(dhcp4) = config.dhcp4.clone() else {
        return Err(ServerError::NothingToServe);
    };
    let service = Dhcp4Service::start(Arc::new(dhcp4), &config.leases, counters, plugins, stop)?;
    Ok(vec![service])
}

/// Waits for every service to stop, then logs the final counters.
pub fn join(services: Vec<Dhcp4Service>, counters: &Counters) -> Result<(), ServerError> {
    let mut result = Ok(());
    for s in services {
        if let Err(e) = s.join() {
            result = Err(e);
        }
    }
    info!("counters: {}", counters.summary());
    result
}
