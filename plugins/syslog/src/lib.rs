//! `syslog`: devices' syslog received over UDP, TCP, TLS and RELP, tagged with who the
//! device is (its lease and the SZTP serial number the bootstrap plugin saw from its
//! address, as one RFC 5424 structured-data element) and forwarded to collectors over
//! UDP, TCP, TLS or RELP.
//!
//! Where a message goes: `receive` (UDP, TCP framing, TLS, RELP) → `message` (parse,
//! tag, RFC 5424) with `devices` (who) → `recent` (the device's last lines) and
//! `forward` (a queue, its `spool` and a sender per collector). `running` starts the
//! parts and changes them at a `SIGHUP`; `endpoint` serves the operator.

mod acked;
mod advertise;
mod devices;
mod endpoint;
mod forward;
mod message;
mod receive;
mod recent;
mod relp;
mod running;
mod settings;
mod spool;
mod tls;

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use tracing::info;
use zerotouch_plugin::{
    Action, Cx, HookResult, Packet4, Plugin, PluginError, Registration, Reply4, ServiceHost,
    Settings, SettingsError,
};

pub use advertise::SyslogScope;

use forward::Queue;
use receive::Counts;
use running::{Config, Retired, Running};

pub const REGISTRATION: Registration = Registration::of::<Syslog>(
    "syslog",
    "devices' syslog received (UDP, TCP, TLS, RELP), tagged with the device's lease and SZTP serial, forwarded to collectors",
);

/// This host's name, for the server's own messages.
fn own_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "zerotouch".into())
}

pub struct Syslog {
    /// The settings in force (a `SIGHUP` replaces them).
    config: ArcSwap<Config>,
    /// Whether some scope advertises this receiver: only then is its DHCP hook called.
    advertised: zerotouch_plugin::ScopeSwitch,
    counts: std::sync::Arc<Counts>,
    running: Mutex<Option<Running>>,
}

fn poisoned() -> PluginError {
    PluginError::new("syslog: a lock was poisoned")
}

#[zerotouch_plugin::plugin]
impl Plugin for Syslog {
    type Scope = SyslogScope;

    fn check_scope(&self, scope: &SyslogScope, _settings: &Settings) -> Result<(), SettingsError> {
        self.advertised.turn_on_if(scope.advertise);
        Ok(())
    }

    /// The DHCP hook only where a scope advertises this receiver.
    fn serves(&self) -> zerotouch_plugin::HookSet {
        self.advertised.hooks(Self::HOOKS)
    }

    /// `advertise` in a scope: option 7 to its clients that ask.
    fn reply_ready4(
        &self,
        cx: &mut Cx<'_, Self>,
        packet: &Packet4<'_>,
        reply: &mut Reply4,
    ) -> HookResult<Reply4> {
        if cx.scope().is_some_and(|s| s.advertise) {
            let asked = packet.requested(zerotouch_plugin::proto::v4::OptionCode::LOG_SERVERS);
            advertise::advertise4(reply, asked, &self.config.load().settings.listen)?;
        }
        Ok(Action::Continue)
    }

    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        Ok(Syslog {
            config: ArcSwap::from_pointee(Config::read(settings)?),
            advertised: Default::default(),
            counts: Default::default(),
            running: Mutex::new(None),
        })
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let running = Running::start(host, &self.config.load(), self.counts.clone())?;
        *self.running.lock().map_err(|_| poisoned())? = Some(running);
        Ok(())
    }

    /// `SIGHUP`: the new settings applied in place (`running.rs`); settings that do not
    /// read, or an address that cannot be bound, change nothing.
    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        let config = Config::read(settings)?;
        if config == **self.config.load() {
            return Ok(());
        }
        let mut running = self
            .running
            .lock()
            .map_err(|_| SettingsError::new("", "a lock was poisoned"))?;
        if let Some(r) = running.as_mut() {
            r.apply(&config)
                .map_err(|e| SettingsError::new("", e.message()))?;
        }
        info!(listen = ?config.settings.listen, collectors = config.settings.collector.len(), "syslog: settings applied");
        self.config.store(std::sync::Arc::new(config));
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        match self.running.lock().as_deref() {
            Ok(Some(r)) => r.counters(),
            _ => counters(&self.counts, &[], &Retired::default()),
        }
    }

    fn stop(&self) {
        info!(
            "syslog: stopped {}",
            zerotouch_plugin::counters_line(&self.counters())
        );
        if let Ok(mut running) = self.running.lock()
            && let Some(mut r) = running.take()
        {
            r.stop();
        }
    }
}

/// The receivers' counts and the collectors' (summed, with those of the collectors a
/// `SIGHUP` removed).
fn counters(
    counts: &Counts,
    queues: &[std::sync::Arc<Queue>],
    retired: &Retired,
) -> Vec<(&'static str, u64)> {
    let mut all = counts.all();
    let sum = |f: fn(&Queue) -> u64, gone: usize| {
        queues.iter().map(|q| f(q)).sum::<u64>() + retired[gone].load(Ordering::Relaxed)
    };
    all.push(("forwarded", sum(|q| q.sent.load(Ordering::Relaxed), 0)));
    all.push((
        "dropped_queue_full",
        sum(|q| q.dropped.load(Ordering::Relaxed), 1),
    ));
    all.push((
        "spool_failed",
        sum(|q| q.spool_failed.load(Ordering::Relaxed), 2),
    ));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sighup_with_settings_that_do_not_read_changes_nothing() {
        let text = "listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"tcp\" }]\n";
        let plugin = Syslog::create(&Settings::standalone(text, "syslog")).unwrap();
        assert!(plugin.reload(&Settings::standalone(text, "syslog")).is_ok());
        let broken = text.replace("tcp", "carrier-pigeon");
        assert!(
            plugin
                .reload(&Settings::standalone(&broken, "syslog"))
                .is_err()
        );
        let changed = text.replace("198.18.0.9", "198.18.0.10");
        plugin
            .reload(&Settings::standalone(&changed, "syslog"))
            .unwrap();
        assert_eq!(
            plugin.config.load().settings.collector[0].address,
            "198.18.0.10:514".parse().unwrap(),
            "not running: the settings are taken for the start"
        );
    }
}
