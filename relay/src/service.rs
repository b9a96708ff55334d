//! The relay's packet loop, one thread per family (`RelayFamily`: `v4/pass.rs`,
//! `v6/pass.rs`), sharing the current configuration and its plugins (swapped whole on
//! SIGHUP; sockets stay open, so no traffic is dropped) and the counters. Downstream
//! interfaces are looked up again when they change.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tracing::warn;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::unix_now;
use zerotouch_net::{
    BatchSocket, IpFamily, Outgoing, RecvBatch, SendScratch, ServedInterfaces, hardware_address,
};
use zerotouch_plugin_host::Pipeline;

use crate::config::RelayConfig;
use crate::counters::Counters;
use crate::link::Link;

pub(crate) const TICK: Duration = Duration::from_millis(200);
const REFRESH: Duration = Duration::from_secs(10);

/// A configuration and the plugin instances created from it: swapped together.
pub(crate) struct Active {
    pub config: RelayConfig,
    pub plugins: Arc<Pipeline>,
}

/// What the loops share with the main thread.
pub(crate) struct Shared {
    /// Swapped whole on reload; the loops compare it with theirs on each pass.
    active: ArcSwap<Active>,
    pub stop: AtomicBool,
    pub counters: Arc<Counters>,
    pub(crate) hostname: String,
}

impl Shared {
    pub(crate) fn new(
        config: RelayConfig,
        plugins: Arc<Pipeline>,
        counters: Arc<Counters>,
    ) -> Arc<Shared> {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        Arc::new(Shared {
            active: ArcSwap::from_pointee(Active { config, plugins }),
            stop: AtomicBool::new(false),
            counters,
            hostname,
        })
    }

    pub(crate) fn current(&self) -> Arc<Active> {
        self.active.load_full()
    }

    /// Swaps in a new configuration and its plugins; the loops pick them up at their
    /// next pass. Returns what was running.
    pub(crate) fn replace(&self, config: RelayConfig, plugins: Arc<Pipeline>) -> Arc<Active> {
        self.active.swap(Arc::new(Active { config, plugins }))
    }
}

/// The downstream interfaces of one family's configuration, with their hardware
/// addresses (for templates), kept current while the loop runs and replaced when the
/// configuration is reloaded.
pub(crate) struct Links {
    /// Which interfaces of a configuration this loop relays for.
    names: fn(&RelayConfig) -> Vec<String>,
    pub(crate) served: ServedInterfaces,
    macs: HashMap<String, Vec<u8>>,
}

impl Links {
    /// The current configuration and its interfaces.
    fn new(shared: &Shared, names: fn(&RelayConfig) -> Vec<String>) -> (Arc<Active>, Links) {
        let cfg = shared.current();
        let list = names(&cfg.config);
        let mut links = Links {
            names,
            served: ServedInterfaces::new(&list, REFRESH),
            macs: HashMap::new(),
        };
        links.read_macs();
        (cfg, links)
    }

    /// Picks up a reloaded configuration and its interfaces; whether there was one.
    fn follow(&mut self, shared: &Shared, cfg: &mut Arc<Active>) -> bool {
        if Arc::ptr_eq(&shared.active.load(), cfg) {
            return false;
        }
        (*cfg, *self) = Links::new(shared, self.names);
        true
    }

    /// Reads the interfaces' hardware addresses, after the interfaces were re-read.
    pub(crate) fn read_macs(&mut self) {
        self.macs = self
            .served
            .iter()
            .map(|i| {
                (
                    i.name.to_string(),
                    hardware_address(&i.name).unwrap_or_default(),
                )
            })
            .collect();
    }

    fn mac(&self, name: &str) -> &[u8] {
        self.macs.get(name).map_or(&[], Vec::as_slice)
    }

    /// Downstream interface `index` (configured as `config`) as a link, when an
    /// interface of that name exists now.
    pub(crate) fn link<'a, C>(
        &'a self,
        index: usize,
        config: &'a C,
        name: &str,
    ) -> Option<Link<'a, C>> {
        let interface = self.served.iter().find(|i| *i.name == *name)?;
        Some(Link {
            index,
            config,
            interface,
            mac: self.mac(name),
        })
    }
}

/// What the loop needs of a family: its socket, the part of the configuration it
/// relays, what its plugins remember, and the relaying of one batch.
pub(crate) trait RelayFamily: 'static {
    /// `DHCPv4`, `DHCPv6`: in log lines.
    const NAME: &'static str;
    /// The loop's thread: `relay4`, `relay6`.
    const THREAD: &'static str;
    /// The socket's address family.
    type Socket: IpFamily;
    /// What the plugins remember of requests until their replies come; a fresh one
    /// forgets them all.
    type Hooks: Default;

    /// Binds the family's server-side port.
    fn bind() -> std::io::Result<BatchSocket<Self::Socket>>;
    /// The names of the downstream interfaces `c` relays for in this family.
    fn names(c: &RelayConfig) -> Vec<String>;
    /// After the served interfaces were looked up again (DHCPv6 joins the servers'
    /// multicast group on each).
    fn interfaces_changed(_links: &mut Links, _socket: &BatchSocket<Self::Socket>) {}
    /// Relays one batch into `out`; `false` when the configuration has no section
    /// for this family (the loop ends).
    fn relay(
        pass: &mut Pass<'_, Self>,
        batch: &RecvBatch<Self::Socket>,
        out: &mut Vec<Outgoing<Self::Socket>>,
    ) -> bool;
}

/// One pass of a loop: what relaying a batch works with.
pub(crate) struct Pass<'a, F: RelayFamily + ?Sized> {
    pub shared: &'a Shared,
    pub socket: &'a BatchSocket<F::Socket>,
    pub active: &'a Active,
    pub links: &'a mut Links,
    pub hooks: &'a mut F::Hooks,
    pub limiter: &'a mut LogLimiter,
    /// Unix seconds.
    pub now: u64,
    /// A datagram came in on an interface not (yet) known: look the interfaces up again.
    pub unknown_interface: Option<u32>,
}

/// Starts family `F`'s loop on a thread of its own.
pub(crate) fn start<F: RelayFamily>(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>>
where
    BatchSocket<F::Socket>: Send,
{
    let socket = F::bind()?;
    std::thread::Builder::new()
        .name(F::THREAD.into())
        .spawn(move || run::<F>(&shared, &socket))
}

/// The loop: receive a batch, follow a reloaded configuration, relay, send, and look
/// the interfaces up again when they may have changed.
fn run<F: RelayFamily>(shared: &Shared, socket: &BatchSocket<F::Socket>) {
    let (mut active, mut links) = Links::new(shared, F::names);
    F::interfaces_changed(&mut links, socket);
    let mut batch = RecvBatch::<F::Socket>::new(64);
    let mut scratch = SendScratch::<F::Socket>::default();
    let mut limiter = LogLimiter::new(10, Duration::from_secs(60));
    let mut hooks = F::Hooks::default();
    while !shared.stop.load(Ordering::Relaxed) {
        socket.recv_or_idle(&mut batch, F::NAME);
        // After the receive, which may have waited: what arrived during a reload is
        // relayed by the new configuration.
        if links.follow(shared, &mut active) {
            F::interfaces_changed(&mut links, socket);
            // The requests remembered belong to the configuration that was replaced.
            hooks = F::Hooks::default();
        }
        let mut out = Vec::new();
        let mut pass = Pass::<F> {
            shared,
            socket,
            active: &active,
            links: &mut links,
            hooks: &mut hooks,
            limiter: &mut limiter,
            now: unix_now(),
            unknown_interface: None,
        };
        if !F::relay(&mut pass, &batch, &mut out) {
            return;
        }
        let unknown = pass.unknown_interface;
        for (_, e) in socket.send_batch(&out, &mut scratch) {
            shared.counters.count("upstream", "send_failed");
            if let Verdict::Log { suppressed } = limiter.check("send", Instant::now()) {
                warn!(suppressed, "cannot send a relayed {} packet: {e}", F::NAME);
            }
        }
        let refreshed = unknown.is_some_and(|i| links.served.refresh_for_unknown(i))
            || links.served.refresh_if_due();
        if refreshed {
            links.read_macs();
            F::interfaces_changed(&mut links, socket);
        }
    }
}

/// The interface index of `name`, if there is such an interface.
pub(crate) fn ifindex_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a valid NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}
