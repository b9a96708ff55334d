//! The plugin at work: its receivers, a queue and a sender for each collector, its
//! endpoint, and how a `SIGHUP` changes them in place.
//!
//! A reload binds what is new and opens the spools it needs first, so one that fails
//! changes nothing; then it swaps. Receivers on addresses that stay keep their sockets
//! and connections; a collector that stays as it was keeps its queue, sender and
//! connection; a collector whose settings changed gets a new queue that takes the old
//! one's messages, in order, with its spool (or moves them to the new spool); a
//! collector that is gone has its sender stopped, its spool left on disk.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use zerotouch_plugin::{PluginError, ServiceEvent, ServiceHost, Settings, SettingsError};

use crate::devices::Devices;
use crate::forward::{Queue, Succession};
use crate::receive::{self, Counts, Sink};
use crate::recent::Recent;
use crate::settings::{Collector, SyslogSettings};
use crate::spool::Spool;
use crate::{endpoint, message, tls};

/// The server's own events waiting to be queued; past it they are not sent.
const OWN_EVENTS: usize = 4096;

/// How often the spools' batches are written to disk (fsync).
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// The settings, read and checked, with what they name built: the TLS setups and the
/// spools' folder.
pub(crate) struct Config {
    pub settings: SyslogSettings,
    /// Each collector's TLS setup, for those reached over TLS.
    tls: Vec<Option<tls::Tls>>,
    /// The receiver's TLS setup, for `listen_tls`.
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// The spools' folder, resolved against the configuration file.
    spool_dir: Option<PathBuf>,
    /// What the PEM files held when they were read: the receiver's certificate and
    /// key, then each collector's CA file. A `SIGHUP` after a certificate was renewed
    /// in place is a change.
    pem: Vec<Option<Vec<u8>>>,
}

impl PartialEq for Config {
    fn eq(&self, other: &Config) -> bool {
        self.settings == other.settings && self.pem == other.pem
    }
}

impl Config {
    pub(crate) fn read(settings: &Settings) -> Result<Config, SettingsError> {
        let s = SyslogSettings::read(settings)?;
        let tls = (s.collector.iter().enumerate())
            .map(|(i, c)| tls::for_collector(c, i, settings))
            .collect::<Result<Vec<_>, _>>()?;
        let read = |path: &Option<String>| {
            path.as_ref()
                .and_then(|p| std::fs::read(settings.resolve_path(p)).ok())
        };
        let mut pem = vec![read(&s.certificate), read(&s.private_key)];
        pem.extend(s.collector.iter().map(|c| read(&c.ca)));
        Ok(Config {
            acceptor: tls::acceptor(&s, settings)?,
            pem,
            spool_dir: s.spool_dir.as_deref().map(|d| settings.resolve_path(d)),
            tls,
            settings: s,
        })
    }

    /// What collector `i`'s CA file held.
    fn ca_of(&self, i: usize) -> Option<&Vec<u8>> {
        self.pem.get(2 + i).and_then(Option::as_ref)
    }

    /// Where collector `c`'s spool is, when there are spools.
    fn spool_of(&self, c: &Collector) -> Option<PathBuf> {
        self.spool_dir.as_ref().map(|d| d.join(c.spool_name()))
    }
}

/// A kind of receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Receiver {
    /// UDP and TCP on one address.
    Plain,
    Tls,
    Relp,
}

/// A receiver's sockets, bound (UDP's with its thread already taking messages).
enum Bound {
    Plain(receive::udp::Receiver, tokio::net::TcpListener),
    Stream(tokio::net::TcpListener),
}

/// A receiver at work: its task, and for UDP its thread (stopped when dropped).
struct Receiving {
    task: JoinHandle<()>,
    _udp: Option<receive::udp::Receiver>,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One collector at work.
struct Sender {
    queue: Arc<Queue>,
    task: JoinHandle<()>,
    /// Its spool's bound.
    spool_bytes: u64,
    /// What its CA file held, over TLS.
    ca: Option<Vec<u8>>,
}

/// Sent, dropped and spool failures of the collectors that are gone.
pub(crate) type Retired = [AtomicU64; 3];

pub(crate) struct Running {
    host: ServiceHost,
    sink: Arc<Sink>,
    /// By the collectors' names (`Collector::spool_name`).
    senders: HashMap<String, Sender>,
    receivers: HashMap<(Receiver, SocketAddr), Receiving>,
    endpoint: Option<(SocketAddr, JoinHandle<()>)>,
    /// The lease and event followers, the spools' batches, the server's own events.
    background: Vec<JoinHandle<()>>,
    retired: Arc<Retired>,
}

/// The receivers `s` asks for.
fn receivers(c: &Config) -> Vec<(Receiver, SocketAddr)> {
    let s = &c.settings;
    let mut all: Vec<_> = s.listen.iter().map(|&a| (Receiver::Plain, a)).collect();
    if c.acceptor.is_some() {
        all.extend(s.listen_tls.iter().map(|&a| (Receiver::Tls, a)));
    }
    all.extend(s.listen_relp.iter().map(|&a| (Receiver::Relp, a)));
    all
}

fn bind(
    host: &ServiceHost,
    kind: Receiver,
    address: SocketAddr,
    sink: &Arc<Sink>,
) -> Result<Bound, PluginError> {
    Ok(match kind {
        Receiver::Plain => {
            let tcp = host.bind_tcp(address)?;
            let udp = receive::udp::listen(address, sink.clone()).map_err(|e| {
                PluginError::new(format!("syslog: cannot listen on {address} (UDP): {e}"))
            })?;
            Bound::Plain(udp, tcp)
        }
        Receiver::Tls | Receiver::Relp => Bound::Stream(host.bind_tcp(address)?),
    })
}

/// Opens collector `c`'s spool in `dir`, saying what it still holds.
fn open_spool(
    dir: &std::path::Path,
    c: &Collector,
    bound: u64,
) -> Result<(Spool, Vec<(u64, String)>), PluginError> {
    let opened = Spool::open(dir, bound).map_err(|e| {
        PluginError::new(format!(
            "syslog: cannot open the spool {}: {e}",
            dir.display()
        ))
    })?;
    if !opened.1.is_empty() {
        info!(collector = %c.address, messages = opened.1.len(), "syslog: undelivered messages from the spool are sent first");
    }
    Ok(opened)
}

impl Running {
    pub(crate) fn start(
        host: &ServiceHost,
        config: &Config,
        counts: Arc<Counts>,
    ) -> Result<Running, PluginError> {
        let s = &config.settings;
        let _guard = host.runtime.enter();
        // The server's own events about devices (lease changes, SZTP progress).
        let (own_tx, mut own_rx) = tokio::sync::mpsc::channel(OWN_EVENTS);
        let subnets = host.server.subnets().iter().map(|s| s.prefix).collect();
        let devices = Arc::new(RwLock::new(Devices::with_events(own_tx, subnets)));
        let mut background = vec![zerotouch_plugin::follow_leases(host, devices.clone())?];
        // Serial numbers by address, from the bootstrap plugin's progress reports.
        let mut events = host.events.subscribe();
        let seen = devices.clone();
        background.push(host.runtime.spawn(async move {
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
        let sink = Arc::new(Sink {
            devices,
            queues: ArcSwap::from_pointee(Vec::new()),
            counts,
            max_message: AtomicUsize::new(s.max_message),
            rate: receive::limits::RateLimit::new(s.messages_per_second),
            connections: Arc::new(receive::limits::Connections::new(s.connections_per_source)),
            recent: Arc::new(Mutex::new(Recent::new(s.recent_lines, s.recent_bytes))),
            keep_recent: AtomicBool::new(s.status_listen.is_some() && s.recent_lines > 0),
            acceptor: ArcSwapOption::from(config.acceptor.clone().map(Arc::new)),
        });
        let (own_sink, hostname) = (sink.clone(), crate::own_hostname());
        background.push(host.runtime.spawn(async move {
            while let Some(e) = own_rx.recv().await {
                let now = chrono::Utc::now();
                let t = message::own(
                    e.severity, e.msgid, &e.text, e.address, &e.who, &hostname, now,
                );
                own_sink.forward(t, e.address, &e.who, now);
            }
        }));
        if config.spool_dir.is_some() {
            let spooled = sink.clone();
            background.push(host.runtime.spawn(async move {
                let mut tick = tokio::time::interval(SYNC_INTERVAL);
                loop {
                    tick.tick().await;
                    let queues = spooled.queues.load_full();
                    let _ =
                        tokio::task::spawn_blocking(move || queues.iter().for_each(|q| q.sync()))
                            .await;
                }
            }));
        }
        let mut running = Running {
            host: host.clone(),
            sink,
            senders: HashMap::new(),
            receivers: HashMap::new(),
            endpoint: None,
            background,
            retired: Arc::default(),
        };
        if let Err(e) = running.apply(config) {
            running.stop();
            return Err(e);
        }
        info!(listen = ?s.listen, relp = ?s.listen_relp, tls = ?s.listen_tls, collectors = s.collector.len(), "syslog: receiving");
        Ok(running)
    }

    /// Makes the plugin work as `config` says: at start, and at a `SIGHUP`. On an
    /// error nothing has changed.
    pub(crate) fn apply(&mut self, config: &Config) -> Result<(), PluginError> {
        let s = &config.settings;
        let host = self.host.clone();
        // What can fail, first: new receivers bound, the endpoint, new spools opened.
        let wanted = receivers(config);
        let mut bound = Vec::new();
        for &(kind, address) in &wanted {
            if !self.receivers.contains_key(&(kind, address)) {
                bound.push(((kind, address), bind(&host, kind, address, &self.sink)?));
            }
        }
        let endpoint = match (s.status_listen, &self.endpoint) {
            (Some(a), Some((b, _))) if a == *b => None,
            (Some(a), _) => Some(host.bind_tcp(a)?),
            (None, _) => None,
        };
        let mut plans = Vec::with_capacity(s.collector.len());
        for (i, c) in s.collector.iter().enumerate() {
            let tls = config.tls.get(i).cloned().flatten();
            let dir = config.spool_of(c);
            let plan = match self.senders.get(&c.spool_name()) {
                Some(old)
                    if old.queue.collector == *c
                        && old.queue.capacity == s.queue
                        && old.queue.spool_dir() == dir
                        && old.spool_bytes == s.spool_bytes
                        && old.ca.as_ref() == config.ca_of(i) =>
                {
                    Plan::Keep
                }
                Some(old) => Plan::Follow(match dir {
                    Some(dir) if old.queue.spool_dir().as_ref() == Some(&dir) => {
                        Succession::Keep(s.spool_bytes)
                    }
                    Some(dir) => {
                        let (spool, kept) = open_spool(&dir, c, s.spool_bytes)?;
                        Succession::Open(spool, kept)
                    }
                    None => Succession::None,
                }),
                None => Plan::New(match dir {
                    Some(dir) => Some(open_spool(&dir, c, s.spool_bytes)?),
                    None => None,
                }),
            };
            plans.push((c.clone(), tls, config.ca_of(i).cloned(), plan));
        }
        // Nothing fails from here on.
        let mut senders = HashMap::with_capacity(plans.len());
        for (c, tls, ca, plan) in plans {
            let name = c.spool_name();
            let queue = match plan {
                Plan::Keep => {
                    if let Some(kept) = self.senders.remove(&name) {
                        senders.insert(name, kept);
                    }
                    continue;
                }
                Plan::Follow(succession) => {
                    let Some(old) = self.senders.remove(&name) else {
                        continue;
                    };
                    old.task.abort();
                    Queue::follow(c, s.queue, old.queue.hand_over(), succession)
                }
                Plan::New(spool) => Queue::new(c, s.queue, spool),
            };
            let mut queue = queue;
            queue.tls = tls;
            let queue = Arc::new(queue);
            let task = host.runtime.spawn(crate::forward::run(queue.clone()));
            senders.insert(
                name,
                Sender {
                    queue,
                    task,
                    spool_bytes: s.spool_bytes,
                    ca,
                },
            );
        }
        for (_, gone) in std::mem::replace(&mut self.senders, senders) {
            self.retire(gone);
        }
        self.sink.queues.store(Arc::new(
            self.senders.values().map(|s| s.queue.clone()).collect(),
        ));
        // The limits, the kept lines, the receiver's certificate.
        let sink = &self.sink;
        sink.max_message.store(s.max_message, Ordering::Relaxed);
        sink.rate.set(s.messages_per_second);
        sink.connections.set(s.connections_per_source);
        if let Ok(mut recent) = sink.recent.lock() {
            recent.set_bounds(
                if s.status_listen.is_some() {
                    s.recent_lines
                } else {
                    0
                },
                s.recent_bytes,
            );
        }
        sink.keep_recent.store(
            s.status_listen.is_some() && s.recent_lines > 0,
            Ordering::Relaxed,
        );
        sink.acceptor.store(config.acceptor.clone().map(Arc::new));
        // Receivers: the new ones start, those no longer wanted stop.
        self.receivers.retain(|key, _| wanted.contains(key));
        let _guard = host.runtime.enter();
        for (key, sockets) in bound {
            let sink = self.sink.clone();
            let (task, udp) = match (key.0, sockets) {
                (_, Bound::Plain(udp, tcp)) => {
                    (host.runtime.spawn(receive::tcp(tcp, sink)), Some(udp))
                }
                (Receiver::Tls, Bound::Stream(l)) => {
                    (host.runtime.spawn(receive::tls(l, sink)), None)
                }
                (_, Bound::Stream(l)) => (host.runtime.spawn(receive::relp::serve(l, sink)), None),
            };
            self.receivers.insert(key, Receiving { task, _udp: udp });
        }
        match (s.status_listen, endpoint) {
            (Some(address), Some(listener)) => {
                if let Some((_, old)) = self.endpoint.take() {
                    old.abort();
                }
                let (sink, retired) = (self.sink.clone(), self.retired.clone());
                let shared = Arc::new(endpoint::Shared {
                    recent: self.sink.recent.clone(),
                    counters: Box::new(move || {
                        crate::counters(&sink.counts, &sink.queues.load(), &retired)
                    }),
                });
                let task = host.runtime.spawn(endpoint::serve(listener, shared));
                self.endpoint = Some((address, task));
            }
            (None, _) => {
                if let Some((_, old)) = self.endpoint.take() {
                    old.abort();
                }
            }
            (Some(_), None) => {}
        }
        Ok(())
    }

    /// A collector that is gone: its sender stops, its spool stays on disk.
    fn retire(&self, gone: Sender) {
        gone.task.abort();
        gone.queue.sync();
        let q = &gone.queue;
        let waiting = q.waiting() as u64;
        match q.spool_dir() {
            Some(dir) if waiting > 0 => {
                warn!(collector = %q.collector.address, messages = waiting, spool = %dir.display(), "syslog: a collector no longer configured: its undelivered messages stay in its spool")
            }
            None if waiting > 0 => {
                warn!(collector = %q.collector.address, messages = waiting, "syslog: a collector no longer configured: its undelivered messages are given up");
                q.dropped.fetch_add(waiting, Ordering::Relaxed);
            }
            _ => {}
        }
        for (total, c) in self
            .retired
            .iter()
            .zip([&q.sent, &q.dropped, &q.spool_failed])
        {
            total.fetch_add(c.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// The receivers' counts and the collectors' (summed, those gone included).
    pub(crate) fn counters(&self) -> Vec<(&'static str, u64)> {
        crate::counters(&self.sink.counts, &self.sink.queues.load(), &self.retired)
    }

    /// Stops every task; what was appended and delivered is on disk.
    pub(crate) fn stop(&mut self) {
        self.receivers.clear();
        let tasks = (self.background.drain(..)).chain(self.endpoint.take().map(|e| e.1));
        tasks.for_each(|t| t.abort());
        for (_, s) in self.senders.drain() {
            s.task.abort();
            s.queue.sync();
        }
    }
}

/// What a reload does with one collector.
enum Plan {
    /// Nothing: it is as it was.
    Keep,
    /// A new queue takes the old one's messages.
    Follow(Succession),
    /// A collector not there before, with its spool.
    New(Option<(Spool, Vec<(u64, String)>)>),
}
