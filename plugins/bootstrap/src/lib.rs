//! `bootstrap`: an embedded SZTP bootstrap server (RFC 8572 §7), so a small site needs
//! nothing beside zerotouch-dhcpd. Devices call RESTCONF over mutual TLS:
//! `get-bootstrapping-data` answers redirect or onboarding information from the
//! operator's responses (signed by the owner with voucher and owner certificate when the
//! device asks), and `report-progress` reports are stored per device and handed to
//! other plugins on the server's event bus.
//!
//! Where a request goes: [`server`] (accept, TLS, HTTP) → `server::routes` →
//! `server::rpc` → [`identity`] (who) → [`responses`] (what) → [`conveyed`] (document)
//! → [`cms`] (artifact) → [`restconf`] (output); reports go to [`reports`].

pub mod identity;
pub use zerotouch_sztp::{cms, conveyed, key, pki};
pub mod reports;
pub mod responses;
pub mod restconf;
pub mod secret;
pub mod server;
pub mod settings;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tracing::info;
use zerotouch_plugin::{
    ArtifactSource, Plugin, PluginError, Registration, ServiceHost, Settings, SettingsError,
};

use crate::reports::Reports;
use crate::server::{Active, Shared};
use crate::settings::BootstrapConfig;
use crate::tls::Tls;

pub const REGISTRATION: Registration = Registration::of::<Bootstrap>(
    "bootstrap",
    "SZTP bootstrap server (RFC 8572): RESTCONF over mutual TLS, signed conveyed information, progress reports",
);

pub struct Bootstrap {
    /// The settings read last, not yet started.
    pending: Mutex<Option<Active>>,
    running: Mutex<Option<Running>>,
}

struct Running {
    host: ServiceHost,
    shared: Arc<Shared>,
    /// What other plugins ask for devices' artifacts, when this instance provides it.
    artifacts: Option<Arc<dyn ArtifactSource>>,
    tasks: Vec<JoinHandle<()>>,
    /// What the tasks were started with: a change restarts them.
    bound: (Vec<SocketAddr>, Option<SocketAddr>, PathBuf),
}

fn poisoned() -> PluginError {
    PluginError::new("bootstrap: a lock was poisoned")
}

/// Reads and checks settings, with the TLS material and the owner artifact loaded.
fn activate(settings: &Settings) -> Result<Active, SettingsError> {
    let config = BootstrapConfig::read(settings)?;
    let tls = Tls::load(&config).map_err(|(key, e)| settings.error(key, e))?;
    let owner_certificate = match &config.signing {
        None => None,
        Some(s) => Some(
            cms::certificates_only(&s.signer.chain)
                .map_err(|e| settings.error("signing.owner_certificate", e.to_string()))?,
        ),
    };
    Ok(Active {
        config,
        tls,
        owner_certificate,
        signed: Default::default(),
    })
}

impl Bootstrap {
    fn launch(host: &ServiceHost, active: Active) -> Result<Running, PluginError> {
        let c = &active.config;
        let bound = (
            c.listen.clone(),
            c.status_listen,
            c.reports_database.clone(),
        );
        let reports =
            Reports::open(&c.reports_database).map_err(|e| PluginError::new(e.to_string()))?;
        let mut listeners = Vec::new();
        for a in &c.listen {
            listeners.push(host.bind_tcp(*a)?);
        }
        let status = c.status_listen.map(|a| host.bind_tcp(a)).transpose()?;
        info!(listen = ?c.listen, status = ?c.status_listen, devices = c.devices.len(), responses = c.responses.len(), signing = c.signing.is_some(), "bootstrap: serving");
        let shared = Arc::new(Shared::new(active, Arc::new(reports), host.events.clone()));
        let mut tasks: Vec<JoinHandle<()>> = listeners
            .into_iter()
            .map(|l| host.runtime.spawn(server::serve(l, shared.clone())))
            .collect();
        if let Some(l) = status {
            tasks.push(host.runtime.spawn(server::status::serve(l, shared.clone())));
        }
        let source: Arc<dyn ArtifactSource> =
            Arc::new(server::artifacts::ForOthers(shared.clone()));
        let artifacts = host.artifacts.provide(source.clone()).then_some(source);
        Ok(Running {
            host: host.clone(),
            shared,
            artifacts,
            tasks,
            bound,
        })
    }
}

impl Running {
    fn stop(self) {
        if let Some(source) = &self.artifacts {
            self.host.artifacts.withdraw(source);
        }
        for t in &self.tasks {
            t.abort();
        }
        let counters: Vec<String> = self
            .shared
            .counters
            .snapshot()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        info!("bootstrap: stopped; {}", counters.join(" "));
    }
}

#[zerotouch_plugin::plugin]
impl Plugin for Bootstrap {
    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        Ok(Bootstrap {
            pending: Mutex::new(Some(activate(settings)?)),
            running: Mutex::new(None),
        })
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let active = self
            .pending
            .lock()
            .map_err(|_| poisoned())?
            .take()
            .ok_or_else(|| PluginError::new("bootstrap: started twice"))?;
        let running = Bootstrap::launch(host, active)?;
        *self.running.lock().map_err(|_| poisoned())? = Some(running);
        Ok(())
    }

    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        let active = activate(settings)?;
        let mut running = self
            .running
            .lock()
            .map_err(|_| SettingsError::new("", "poisoned"))?;
        let Some(r) = running.as_mut() else {
            *self
                .pending
                .lock()
                .map_err(|_| SettingsError::new("", "poisoned"))? = Some(active);
            return Ok(());
        };
        let c = &active.config;
        if (
            c.listen.clone(),
            c.status_listen,
            c.reports_database.clone(),
        ) == r.bound
        {
            // Same sockets and database: connections in progress finish on the old
            // settings, new requests see the new ones.
            *r.shared.active.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(active);
            info!("bootstrap: settings reloaded");
            return Ok(());
        }
        let host = r.host.clone();
        if let Some(old) = running.take() {
            old.stop();
        }
        let next =
            Bootstrap::launch(&host, active).map_err(|e| settings.error("listen", e.message()))?;
        *running = Some(next);
        Ok(())
    }

    fn stop(&self) {
        if let Ok(mut running) = self.running.lock()
            && let Some(r) = running.take()
        {
            r.stop();
        }
    }
}
