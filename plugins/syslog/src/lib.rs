//! `syslog`: devices' syslog received over UDP and TCP, tagged with who the device is
//! (its lease and the SZTP serial number the bootstrap plugin saw from its address, as
//! one RFC 5424 structured-data element) and forwarded to collectors over UDP or TCP.
//!
//! Where a message goes: `receive` (UDP, TCP framing) → `message` (parse, tag, RFC
//! 5424) with `devices` (who) → `forward` (a queue and a sender per collector).

mod advertise;
mod devices;
mod endpoint;
mod forward;
mod message;
mod receive;
mod recent;
mod relp;
mod settings;
mod spool;
mod tls;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use tokio::task::JoinHandle;
use tracing::info;
use zerotouch_plugin::{
    Action, Cx, HookResult, Packet4, Plugin, PluginError, Registration, Reply4, ServiceEvent,
    ServiceHost, Settings, SettingsError,
};

pub use advertise::SyslogScope;

use devices::Devices;
use forward::Queue;
use receive::{Counts, Sink};
use settings::SyslogSettings;
use spool::Spool;

pub const REGISTRATION: Registration = Registration::of::<Syslog>(
    "syslog",
    "devices' syslog received (UDP, TCP), tagged with the device's lease and SZTP serial, forwarded to collectors",
);

/// The server's own events waiting to be queued; past it they are not sent.
const OWN_EVENTS: usize = 4096;

/// This host's name, for the server's own messages.
fn own_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "zerotouch".into())
}

/// How often the spools' batches are written to disk (fsync).
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

pub struct Syslog {
    settings: SyslogSettings,
    /// Each collector's TLS setup, for those reached over TLS.
    tls: Vec<Option<tls::Tls>>,
    /// The receiver's TLS setup, for `listen_tls`.
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// Whether some scope advertises this receiver: only then is its DHCP hook called.
    advertised: zerotouch_plugin::ScopeSwitch,
    /// The spools' folder, resolved against the configuration file.
    spool_dir: Option<std::path::PathBuf>,
    counts: Arc<Counts>,
    running: Mutex<Option<Running>>,
}

struct Running {
    queues: Vec<Arc<Queue>>,
    tasks: Vec<JoinHandle<()>>,
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
            advertise::advertise4(reply, asked, &self.settings.listen)?;
        }
        Ok(Action::Continue)
    }

    fn create(settings: &Settings) -> Result<Self, SettingsError> {
        let s = SyslogSettings::read(settings)?;
        let tls = s
            .collector
            .iter()
            .enumerate()
            .map(|(i, c)| tls::for_collector(c, i, settings))
            .collect::<Result<Vec<_>, _>>()?;
        let acceptor = tls::acceptor(&s, settings)?;
        Ok(Syslog {
            tls,
            acceptor,
            spool_dir: s.spool_dir.as_deref().map(|d| settings.resolve_path(d)),
            settings: s,
            advertised: Default::default(),
            counts: Arc::default(),
            running: Mutex::new(None),
        })
    }

    fn start(&self, host: &ServiceHost) -> Result<(), PluginError> {
        let s = &self.settings;
        let _guard = host.runtime.enter();
        // The server's own events about devices (lease changes, SZTP progress).
        let (own_tx, mut own_rx) = tokio::sync::mpsc::channel(OWN_EVENTS);
        let devices = Arc::new(RwLock::new(Devices::with_events(own_tx)));
        let mut tasks = vec![zerotouch_plugin::follow_leases(host, devices.clone())?];
        // Serial numbers by address, from the bootstrap plugin's progress reports.
        let mut events = host.events.subscribe();
        let seen = devices.clone();
        tasks.push(host.runtime.spawn(async move {
            loop {
                match events.recv().await {
                    Ok(ServiceEvent::BootstrapProgress(p)) => {
                        if let Ok(mut d) = seen.write() {
                            d.progress(&p);
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        }));
        let mut queues: Vec<Arc<Queue>> = Vec::with_capacity(s.collector.len());
        for (i, c) in s.collector.iter().enumerate() {
            let spool = match &self.spool_dir {
                None => None,
                Some(dir) => {
                    let name = format!("{i}-{:?}-{}", c.transport, c.address)
                        .to_lowercase()
                        .replace([':', '[', ']'], "_");
                    let dir = dir.join(name);
                    let opened = Spool::open(&dir, s.spool_bytes).map_err(|e| {
                        PluginError::new(format!(
                            "syslog: cannot open the spool {}: {e}",
                            dir.display()
                        ))
                    })?;
                    if !opened.1.is_empty() {
                        info!(collector = %c.address, messages = opened.1.len(), "syslog: undelivered messages from the spool are sent first");
                    }
                    Some(opened)
                }
            };
            let mut queue = Queue::new(c.clone(), s.queue, spool);
            queue.tls = self.tls.get(i).cloned().flatten();
            queues.push(Arc::new(queue));
        }
        for q in &queues {
            tasks.push(host.runtime.spawn(forward::run(q.clone())));
        }
        if self.spool_dir.is_some() {
            let spooled = queues.clone();
            tasks.push(host.runtime.spawn(async move {
                let mut tick = tokio::time::interval(SYNC_INTERVAL);
                loop {
                    tick.tick().await;
                    let queues = spooled.clone();
                    let _ =
                        tokio::task::spawn_blocking(move || queues.iter().for_each(|q| q.sync()))
                            .await;
                }
            }));
        }
        let recent = s.status_listen.filter(|_| s.recent_lines > 0).map(|_| {
            Arc::new(Mutex::new(recent::Recent::new(
                s.recent_lines,
                s.recent_bytes,
            )))
        });
        let sink = Arc::new(Sink {
            devices,
            queues: queues.clone(),
            counts: self.counts.clone(),
            max_message: s.max_message,
            rate: receive::limits::RateLimit::new(s.messages_per_second),
            connections: Arc::new(receive::limits::Connections::new(s.connections_per_source)),
            recent: recent.clone(),
        });
        let (own_sink, hostname) = (sink.clone(), own_hostname());
        tasks.push(host.runtime.spawn(async move {
            while let Some(e) = own_rx.recv().await {
                let now = chrono::Utc::now();
                let t = message::own(
                    e.severity, e.msgid, &e.text, e.address, &e.who, &hostname, now,
                );
                own_sink.forward(t, e.address, &e.who, now);
            }
        }));
        for &address in &s.listen {
            let udp = receive::udp_socket(address).map_err(|e| {
                PluginError::new(format!("syslog: cannot listen on {address} (UDP): {e}"))
            })?;
            let udp = tokio::net::UdpSocket::from_std(udp)?;
            tasks.push(host.runtime.spawn(receive::udp(udp, sink.clone())));
            let tcp = host.bind_tcp(address)?;
            tasks.push(host.runtime.spawn(receive::tcp(tcp, sink.clone())));
        }
        if let Some(acceptor) = &self.acceptor {
            for &address in &s.listen_tls {
                let listener = host.bind_tcp(address)?;
                tasks.push(host.runtime.spawn(receive::tls(
                    listener,
                    sink.clone(),
                    acceptor.clone(),
                )));
            }
        }
        for &address in &s.listen_relp {
            let relp = host.bind_tcp(address)?;
            tasks.push(host.runtime.spawn(receive::relp::serve(relp, sink.clone())));
        }
        if let Some(address) = s.status_listen {
            let listener = host.bind_tcp(address)?;
            let counted = (self.counts.clone(), queues.clone());
            let shared = Arc::new(endpoint::Shared {
                recent: recent.unwrap_or_else(|| Arc::new(Mutex::new(recent::Recent::new(0, 0)))),
                counters: Box::new(move || counters(&counted.0, &counted.1)),
            });
            tasks.push(host.runtime.spawn(endpoint::serve(listener, shared)));
        }
        info!(listen = ?s.listen, relp = ?s.listen_relp, collectors = s.collector.len(), "syslog: receiving");
        *self.running.lock().map_err(|_| poisoned())? = Some(Running { queues, tasks });
        Ok(())
    }

    /// `SIGHUP`: the same settings are nothing to do; changed ones need a restart (the
    /// server says so and keeps the running ones).
    fn reload(&self, settings: &Settings) -> Result<(), SettingsError> {
        if SyslogSettings::read(settings)? == self.settings {
            return Ok(());
        }
        Err(SettingsError::new(
            "",
            "the syslog plugin applies changed settings at the next restart",
        ))
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        match self.running.lock() {
            Ok(running) => match running.as_ref() {
                Some(r) => counters(&self.counts, &r.queues),
                None => counters(&self.counts, &[]),
            },
            Err(_) => self.counts.all(),
        }
    }

    fn stop(&self) {
        info!(
            "syslog: stopped {}",
            zerotouch_plugin::counters_line(&self.counters())
        );
        if let Ok(mut running) = self.running.lock()
            && let Some(r) = running.take()
        {
            for t in r.tasks {
                t.abort();
            }
            // What was appended and delivered up to now, on disk.
            r.queues.iter().for_each(|q| q.sync());
        }
    }
}

/// The receivers' counts and the collectors' (summed).
fn counters(counts: &Counts, queues: &[Arc<Queue>]) -> Vec<(&'static str, u64)> {
    let mut all = counts.all();
    let sum = |f: fn(&Queue) -> u64| queues.iter().map(|q| f(q)).sum::<u64>();
    all.push(("forwarded", sum(|q| q.sent.load(Ordering::Relaxed))));
    all.push((
        "dropped_queue_full",
        sum(|q| q.dropped.load(Ordering::Relaxed)),
    ));
    all.push((
        "spool_failed",
        sum(|q| q.spool_failed.load(Ordering::Relaxed)),
    ));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sighup_with_the_same_settings_is_nothing_and_changed_ones_wait_for_a_restart() {
        let text = "listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"tcp\" }]\n";
        let plugin = Syslog::create(&Settings::standalone(text, "syslog")).unwrap();
        assert!(plugin.reload(&Settings::standalone(text, "syslog")).is_ok());
        let changed = text.replace("198.18.0.9", "198.18.0.10");
        let e = plugin
            .reload(&Settings::standalone(&changed, "syslog"))
            .unwrap_err();
        assert!(e.message.contains("next restart"), "{e}");
    }
}
