//! The relay's packet loops, one thread per family, sharing the current configuration
//! and its plugins (swapped whole on SIGHUP; sockets stay open, so no traffic is
//! dropped) and the counters. Downstream interfaces are looked up again when they
//! change.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tracing::warn;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::unix_now;
use zerotouch_net::{
    BatchSocket, Outgoing, RecvBatch, SendScratch, ServedInterfaces, V4, V6, hardware_address,
    set_arp_entry,
};
use zerotouch_plugin_host::Pipeline;

use crate::action::account;
use crate::config::RelayConfig;
use crate::counters::Counters;
use crate::link::Link;
use crate::{v4, v6};

const TICK: Duration = Duration::from_millis(200);
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
    hostname: String,
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
struct Links {
    /// Which interfaces of a configuration this loop relays for.
    names: fn(&RelayConfig) -> Vec<String>,
    served: ServedInterfaces,
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
    fn read_macs(&mut self) {
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
    fn link<'a, C>(&'a self, index: usize, config: &'a C, name: &str) -> Option<Link<'a, C>> {
        let interface = self.served.iter().find(|i| *i.name == *name)?;
        Some(Link {
            index,
            config,
            interface,
            mac: self.mac(name),
        })
    }
}

fn names4(c: &RelayConfig) -> Vec<String> {
    c.relay4
        .as_ref()
        .map(|r| r.downstream.iter().map(|d| d.interface.clone()).collect())
        .unwrap_or_default()
}

fn names6(c: &RelayConfig) -> Vec<String> {
    c.relay6
        .as_ref()
        .map(|r| r.downstream.iter().map(|d| d.interface.clone()).collect())
        .unwrap_or_default()
}

fn ifindex_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a valid NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

pub(crate) fn start4(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    let socket = BatchSocket::bind(v4::SERVER_PORT, TICK)?;
    std::thread::Builder::new()
        .name("relay4".into())
        .spawn(move || run4(&shared, &socket))
}

fn run4(shared: &Shared, socket: &BatchSocket<V4>) {
    let (mut cfg, mut links) = Links::new(shared, names4);
    let mut batch = RecvBatch::<V4>::new(64);
    let mut scratch = SendScratch::<V4>::default();
    let mut limiter = LogLimiter::new(10, Duration::from_secs(60));
    let mut hooks = v4::Hooks4::new();
    while !shared.stop.load(Ordering::Relaxed) {
        socket.recv_or_idle(&mut batch, "DHCPv4");
        // After the receive, which may have waited: what arrived during a reload is
        // relayed by the new configuration.
        if links.follow(shared, &mut cfg) {
            hooks.clear();
        }
        let Some(relay) = cfg.config.relay4.as_ref() else {
            return;
        };
        let plugins = &*cfg.plugins;
        let with_plugins = !plugins.instances().is_empty();
        let now = unix_now();
        let mut out: Vec<Outgoing<V4>> = Vec::new();
        for i in 0..batch.len() {
            let d = batch.get(i);
            // Replies arrive upstream, on interfaces not relayed for: not a reason to
            // look again.
            if !v4::is_reply(d.data) && links.served.refresh_for_unknown(d.ifindex) {
                links.read_macs();
            }
            let action = if v4::is_reply(d.data) {
                let giaddr = d
                    .data
                    .get(24..28)
                    .map(|g| Ipv4Addr::new(g[0], g[1], g[2], g[3]));
                let link = relay.downstream.iter().enumerate().find_map(|(index, c)| {
                    let link = links.link(index, c, &c.interface)?;
                    (link.giaddr() == giaddr).then_some(link)
                });
                match link {
                    Some(link) if with_plugins => {
                        match hooks.reply(plugins, &link, d.data, &shared.counters, now) {
                            Ok(data) => v4::deliver(&link, &data),
                            Err(dropped) => dropped,
                        }
                    }
                    Some(link) => v4::deliver(&link, d.data),
                    None => v4::Action::Drop {
                        interface: "upstream".into(),
                        reason: "unknown_giaddr",
                    },
                }
            } else {
                match links.served.get(d.ifindex).and_then(|interface| {
                    let (index, c) = relay
                        .downstream
                        .iter()
                        .enumerate()
                        .find(|(_, c)| *c.interface == *interface.name)?;
                    links.link(index, c, &c.interface)
                }) {
                    Some(link) if with_plugins => {
                        hooks.request(plugins, relay, &link, &shared.hostname, &d, now)
                    }
                    Some(link) => v4::forward(relay, &link, &shared.hostname, &d),
                    None => v4::Action::Drop {
                        interface: "other".into(),
                        reason: "not_downstream",
                    },
                }
            };
            let arrived = links
                .served
                .get(d.ifindex)
                .map_or("upstream", |i| &*i.name)
                .to_string();
            shared.counters.count(&arrived, "received");
            account(
                action,
                &shared.counters,
                &mut limiter,
                &d.src,
                &mut out,
                |iface, o, hw| {
                    let mut mac = [0u8; 6];
                    let ok = hw.len() == 6 && {
                        mac.copy_from_slice(hw);
                        set_arp_entry(socket.as_raw_fd(), *o.dst.ip(), mac, iface).is_ok()
                    };
                    if !ok {
                        o.dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, v4::CLIENT_PORT);
                    }
                },
            );
        }
        for (_, e) in socket.send_batch(&out, &mut scratch) {
            shared.counters.count("upstream", "send_failed");
            if let Verdict::Log { suppressed } = limiter.check("send", Instant::now()) {
                warn!(suppressed, "cannot send a relayed DHCPv4 packet: {e}");
            }
        }
        if links.served.refresh_if_due() {
            links.read_macs();
        }
    }
}

pub(crate) fn start6(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    let socket = BatchSocket::bind_v6(zerotouch_proto::v6::SERVER_PORT, TICK)?;
    std::thread::Builder::new()
        .name("relay6".into())
        .spawn(move || run6(&shared, &socket))
}

fn run6(shared: &Shared, socket: &BatchSocket<V6>) {
    let (mut cfg, mut links) = Links::new(shared, names6);
    links.served.join_dhcp_servers(socket);
    let mut batch = RecvBatch::<V6>::new(64);
    let mut scratch = SendScratch::<V6>::default();
    let mut limiter = LogLimiter::new(10, Duration::from_secs(60));
    let mut hooks = v6::Hooks6::new();
    while !shared.stop.load(Ordering::Relaxed) {
        socket.recv_or_idle(&mut batch, "DHCPv6");
        // After the receive, which may have waited: what arrived during a reload is
        // relayed by the new configuration.
        if links.follow(shared, &mut cfg) {
            links.served.join_dhcp_servers(socket);
            hooks.clear();
        }
        let Some(relay) = cfg.config.relay6.as_ref() else {
            return;
        };
        let plugins = &*cfg.plugins;
        let with_plugins = !plugins.instances().is_empty();
        let now = unix_now();
        let link_views: Vec<v6::Link6<'_>> = relay
            .downstream
            .iter()
            .enumerate()
            .filter_map(|(index, c)| links.link(index, c, &c.interface))
            .collect();
        let mut out: Vec<Outgoing<V6>> = Vec::new();
        let mut unknown_interface = None;
        for i in 0..batch.len() {
            let d = batch.get(i);
            let is_reply = d.data.first() == Some(&13);
            let arrived = link_views.iter().find(|l| l.interface.index == d.ifindex);
            let action = if is_reply && with_plugins {
                match v6::route(&link_views, &shared.hostname, d.data) {
                    Ok((link, header, inner)) => {
                        let peer = header.peer_address;
                        match hooks.reply(plugins, link, peer, inner, &shared.counters, now) {
                            Ok(inner) => v6::to_peer(link, &header, &inner),
                            Err(dropped) => dropped,
                        }
                    }
                    Err(dropped) => dropped,
                }
            } else if is_reply {
                v6::deliver(&link_views, &shared.hostname, &d)
            } else {
                match arrived {
                    Some(link) if with_plugins => {
                        hooks.request(plugins, relay, link, &shared.hostname, &d, now, ifindex_of)
                    }
                    Some(link) => v6::forward(relay, link, &shared.hostname, &d, ifindex_of),
                    None => {
                        unknown_interface = Some(d.ifindex);
                        v6::Action::Drop {
                            interface: "other".into(),
                            reason: "not_downstream",
                        }
                    }
                }
            };
            let arrived_name = arrived.map_or("upstream", |l| &*l.interface.name);
            shared.counters.count(arrived_name, "received6");
            account(
                action,
                &shared.counters,
                &mut limiter,
                &d.src,
                &mut out,
                |_, _, _| {},
            );
        }
        drop(link_views);
        for (_, e) in socket.send_batch(&out, &mut scratch) {
            shared.counters.count("upstream", "send_failed");
            if let Verdict::Log { suppressed } = limiter.check("send6", Instant::now()) {
                warn!(suppressed, "cannot send a relayed DHCPv6 packet: {e}");
            }
        }
        let refreshed = match unknown_interface {
            Some(ifindex) => links.served.refresh_for_unknown(ifindex),
            None => false,
        } || links.served.refresh_if_due();
        if refreshed {
            links.read_macs();
            links.served.join_dhcp_servers(socket);
        }
    }
}
