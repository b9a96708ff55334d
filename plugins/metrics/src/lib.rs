//! `metrics`: a service plugin serving the server's counters, lease counts by state,
//! pool sizes per subnet and the progress reports of SZTP devices (from the server's
//! event bus) in the Prometheus text format (`GET /metrics`). The lease counts come
//! from a copy of the lease table the plugin keeps by the server's lease changes
//! (`leases.rs`), not from a read of the whole table at every scrape.

mod exposition;
mod http;
mod leases;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::task::JoinHandle;
use zerotouch_plugin::{
    Plugin, PluginError, Registration, ServiceEvent, ServiceHost, Settings, SettingsError,
};

/// SZTP progress reports seen on the event bus, by progress type.
pub type ProgressCounts = Mutex<BTreeMap<String, u64>>;

/// What the plugin learns from the server's event bus.
#[derive(Default)]
pub struct Seen {
    progress: ProgressCounts,
    leases: leases::LeaseTable,
}

pub const REGISTRATION: Registration = Registration::of::<Metrics>(
    "metrics",
    "counters, leases and pool use in Prometheus text format over HTTP",
);

const DEFAULT_LISTEN: &str = "127.0.0.1:9267";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSettings {
    /// Address and port of the HTTP listener.
    #[serde(default = "default_listen")]
    listen: SocketAddr,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("valid default address")
}

pub struct Metrics {
    listen: Mutex<SocketAddr>,
    running: Mutex<Option<Running>>,
    seen: Arc<Seen>,
}

struct Running {
    host: ServiceHost,
    task: JoinHandle<()>,
    /// Counts the events other plugins publish.
    subscriber: JoinHandle<()>,
    /// Applies the server's lease changes to the plugin's lease table.
    follower: JoinHandle<()>,
}

/// Counts SZTP progress reports until the bus closes.
async fn count_progress(
    mut events: tokio::sync::broadcast::Receiver<ServiceEvent>,
    seen: Arc<Seen>,
) {
    loop {
        match events.recv().await {
            Ok(ServiceEvent::BootstrapProgress(p)) => {
                if let Ok(mut counts) = seen.progress.lock() {
                    *counts.entry(p.progress_type.clone()).or_insert(0) += 1;
                }
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

impl Metrics {
    fn spawn(&self, host: &ServiceHost, listen: SocketAddr) -> Result<JoinHandle<()>, PluginError> {
        let listener = host.bind_tcp(listen)?;
        Ok(host
            .runtime
            .spawn(http::serve(listener, host.clone(), self.seen.clone())))
    }
}

#[zerotouch_plugin::plugin]
impl Plugin for Metrics {
    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        let s: MetricsSettings = settings.parse()?;
        Ok(Metrics {
            listen: Mutex::new(s.listen),
            running: Mutex::new(None),
            seen: Arc::default(),
        })
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let listen = *self
            .listen
            .lock()
            .map_err(|_| PluginError::new("poisoned"))?;
        let task = self.spawn(host, listen)?;
        let subscriber = host
            .runtime
            .spawn(count_progress(host.events.subscribe(), self.seen.clone()));
        let follower = host.runtime.spawn(leases::follow(
            host.events.subscribe_leases(),
            self.seen.clone(),
        ));
        *self
            .running
            .lock()
            .map_err(|_| PluginError::new("poisoned"))? = Some(Running {
            host: host.clone(),
            task,
            subscriber,
            follower,
        });
        Ok(())
    }

    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        let s: MetricsSettings = settings.parse()?;
        let mut listen = self
            .listen
            .lock()
            .map_err(|_| SettingsError::new("", "poisoned"))?;
        if *listen == s.listen {
            return Ok(());
        }
        let mut running = self
            .running
            .lock()
            .map_err(|_| SettingsError::new("", "poisoned"))?;
        if let Some(r) = running.as_mut() {
            let task = self
                .spawn(&r.host, s.listen)
                .map_err(|e| settings.error("listen", e.message()))?;
            std::mem::replace(&mut r.task, task).abort();
        }
        *listen = s.listen;
        Ok(())
    }

    fn stop(&self) {
        if let Ok(mut running) = self.running.lock()
            && let Some(r) = running.take()
        {
            r.task.abort();
            r.subscriber.abort();
            r.follower.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_must_be_an_address() {
        let Err(e) = Metrics::create(&Settings::standalone("listen = \"localhost\"", "m")) else {
            panic!("accepted a bad address");
        };
        assert_eq!(e.key, "listen");
        assert!(Metrics::create(&Settings::standalone("", "m")).is_ok());
    }
}
