//! `metrics`: a service plugin serving the server's counters, lease counts by state and
//! pool sizes per subnet in the Prometheus text format (`GET /metrics`).

mod exposition;
mod http;

use std::net::SocketAddr;
use std::sync::Mutex;

use serde::Deserialize;
use tokio::task::JoinHandle;
use zerotouch_plugin::{
    HookSet, Plugin, PluginError, Registration, ServiceHost, Settings, SettingsError,
};

pub const REGISTRATION: Registration = Registration {
    name: "metrics",
    summary: "counters, leases and pool use in Prometheus text format over HTTP",
    create: Metrics::create,
};

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
}

struct Running {
    host: ServiceHost,
    task: JoinHandle<()>,
}

impl Metrics {
    pub fn create(settings: &Settings) -> Result<Box<dyn Plugin>, SettingsError> {
        let s: MetricsSettings = settings.parse()?;
        Ok(Box::new(Metrics {
            listen: Mutex::new(s.listen),
            running: Mutex::new(None),
        }))
    }

    fn spawn(&self, host: &ServiceHost, listen: SocketAddr) -> Result<JoinHandle<()>, PluginError> {
        // Bind here, not in the task, so a port in use fails the start with a reason.
        let std_listener = std::net::TcpListener::bind(listen)
            .map_err(|e| PluginError::new(format!("cannot listen on {listen}: {e}")))?;
        std_listener.set_nonblocking(true)?;
        let _guard = host.runtime.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        Ok(host.runtime.spawn(http::serve(listener, host.clone())))
    }
}

impl Plugin for Metrics {
    fn hooks(&self) -> HookSet {
        HookSet::EMPTY
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let listen = *self
            .listen
            .lock()
            .map_err(|_| PluginError::new("poisoned"))?;
        let task = self.spawn(host, listen)?;
        *self
            .running
            .lock()
            .map_err(|_| PluginError::new("poisoned"))? = Some(Running {
            host: host.clone(),
            task,
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
