//! The DHCPv6 packet loop, on a thread and socket of its own: the DHCPv4 loop's shape
//! (batched receive, group commit, replies sent when their bindings are durable) on
//! [::]:547, joined to ff02::1:2 on every served interface.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::ServerError;
use super::commits::{IDLE_TICK, ReceivePacer, report_commits};
use super::drops::report_drop;
use super::startup::{Service, load_leases, warn_unmatched_interfaces};
use crate::config::{Dhcp6, LeaseStoreConfig};
use crate::lease::{CommitEvent, GroupCommit, Lease6, LeaseIndex6, start_capacity, unix_now};
use crate::plugin::Pipeline;
use crate::services::lease_info6;
use crate::stats::{Counters, Reason};
use crate::v6::{Dhcp6Handler, Ingress6, Outcome6, Reply6, server_duid};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{BatchSocket, Outgoing, RecvBatch, SendScratch, ServedInterfaces, V6};

const BATCH: usize = 64;
const INTERFACE_REFRESH: Duration = Duration::from_secs(30);

/// The DHCPv6 service.
pub struct Dhcp6Service;

impl Dhcp6Service {
    /// Opens the lease store, makes or reads the server DUID, binds the socket and
    /// starts the packet thread; errors in any of these come back here.
    pub fn start(
        cfg: Arc<Dhcp6>,
        store_cfg: &LeaseStoreConfig,
        counters: Arc<Counters>,
        plugins: Arc<Pipeline>,
        stop: Arc<AtomicBool>,
    ) -> Result<Service, ServerError> {
        // The port first: a server refused it (another holds it) touches no database.
        let socket =
            Arc::new(
                BatchSocket::bind_v6(cfg.port, IDLE_TICK).map_err(|e| ServerError::Bind {
                    port: cfg.port,
                    source: e,
                })?,
            );
        let mut store = crate::lease::open(store_cfg)?;
        let loaded = load_leases(&*store, |s| s.load6())?;
        let duid = server_duid(&cfg.server_duid, &cfg.interfaces, &mut *store)?;
        // Sized like the DHCPv4 index: both bindings of every exchange are new entries
        // under load, and a rehash of a table of 100 000 of them stalls the packet loop.
        let pool_sizes = cfg.subnets.iter().flat_map(|s| {
            let addresses = s.pools.iter().map(|p| p.size());
            addresses.chain(s.pd_pools.iter().map(|p| p.size()))
        });
        let index = LeaseIndex6::from_leases(start_capacity(pool_sizes, loaded.len()), loaded);
        info!(leases = index.len(), store = %store.describe(), "DHCPv6 leases loaded");
        let handler =
            Dhcp6Handler::new(cfg.clone(), index, duid, counters.clone()).with_plugins(plugins);
        let interfaces = ServedInterfaces::new(&cfg.interfaces, INTERFACE_REFRESH);
        warn_unmatched_interfaces(&interfaces, &cfg.relayed_only, "DHCPv6", |i| {
            cfg.interface_subnet(&i.name, &i.addrs6).is_some()
        });
        info!(port = cfg.port, interfaces = ?cfg.interfaces, duid = %crate::lease::hex_colon(handler.server_duid()), "DHCPv6 serving");
        let mut packet_loop = PacketLoop6 {
            handler,
            socket,
            scratch: SendScratch::default(),
            commit: GroupCommit::start(store, store_cfg.commit_window)?,
            events: Vec::new(),
            pacer: ReceivePacer::default(),
            interfaces,
            counters,
            limiter: LogLimiter::new(10, Duration::from_secs(60)),
        };
        packet_loop
            .interfaces
            .join_dhcp_servers(&packet_loop.socket);
        let reclaim_every = store_cfg.reclaim_interval;
        Service::spawn(
            "dhcp6",
            packet_loop,
            move |l| l.run(&stop, reclaim_every),
            PacketLoop6::flush,
        )
    }
}

struct PacketLoop6 {
    handler: Dhcp6Handler,
    socket: Arc<BatchSocket<V6>>,
    scratch: SendScratch<V6>,
    commit: GroupCommit<Reply6, Lease6>,
    events: Vec<CommitEvent<Lease6>>,
    pacer: ReceivePacer,
    interfaces: ServedInterfaces,
    counters: Arc<Counters>,
    limiter: LogLimiter,
}

impl PacketLoop6 {
    fn run(&mut self, stop: &AtomicBool, reclaim_every: Duration) {
        let mut batch = RecvBatch::<V6>::new(BATCH);
        let mut out: Vec<Reply6> = Vec::with_capacity(2 * BATCH);
        let mut last_reclaim = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.socket.recv_or_idle(&mut batch, "DHCPv6");
            self.process(&batch, &mut out);
            let now = Instant::now();
            if now.duration_since(last_reclaim) >= reclaim_every {
                last_reclaim = now;
                let expired = self.handler.reclaim(unix_now());
                if !expired.is_empty() {
                    debug!(count = expired.len(), "DHCPv6 leases reclaimed");
                }
                self.commit.add_all(expired, None, now);
            }
            self.commit.poll(now, &mut out, &mut self.events);
            self.report_commits();
            self.send(&mut out);
            self.pacer.pace(&self.socket, self.commit.is_busy());
            if self.interfaces.refresh_if_due() {
                self.interfaces.join_dhcp_servers(&self.socket);
            }
        }
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        self.commit.flush(&mut out, &mut self.events);
        self.report_commits();
        self.send(&mut out);
    }

    fn report_commits(&mut self) {
        report_commits(
            &mut self.events,
            &self.counters,
            &mut self.limiter,
            self.handler.plugins(),
            |l| (l.state, lease_info6(l)),
        );
    }

    fn send(&mut self, replies: &mut Vec<Reply6>) {
        if replies.is_empty() {
            return;
        }
        let types: Vec<u8> = replies.iter().map(|r| r.msg_type.to_u8()).collect();
        let out: Vec<Outgoing<V6>> = replies
            .drain(..)
            .map(|r| Outgoing {
                data: r.bytes,
                dst: r.dst,
                ifindex: r.ifindex,
                src: std::net::Ipv6Addr::UNSPECIFIED,
            })
            .collect();
        let failures = self.socket.send_batch(&out, &mut self.scratch);
        for (i, t) in types.iter().enumerate() {
            match failures.iter().find(|(j, _)| *j == i) {
                Some((_, e)) => {
                    self.counters.count_no_reply(Reason::SendFailed);
                    if let Verdict::Log { suppressed } = self.limiter.check("send6", Instant::now())
                    {
                        warn!(
                            suppressed,
                            "cannot send DHCPv6 reply to {}: {e}", out[i].dst
                        );
                    }
                }
                None => self.counters.count_sent6(*t),
            }
        }
    }

    fn process(&mut self, batch: &RecvBatch<V6>, out: &mut Vec<Reply6>) {
        let now = unix_now();
        let received_at = Instant::now();
        for i in 0..batch.len() {
            let d = batch.get(i);
            self.counters.received6.fetch_add(1, Ordering::Relaxed);
            if self.interfaces.refresh_for_unknown(d.ifindex) {
                // An interface may have appeared: join the group there too.
                self.interfaces.join_dhcp_servers(&self.socket);
            }
            let Some(iface) = self.interfaces.get(d.ifindex) else {
                self.counters.count_no_reply(Reason::NotServedInterface);
                continue;
            };
            let ingress = Ingress6 {
                ifindex: d.ifindex,
                ifname: iface.name.clone(),
                if_addrs: iface.addrs6.clone(),
                dst: d.dst,
                src: d.src,
            };
            match self.handler.handle(d.data, &ingress, now) {
                Outcome6::Reply { reply, commit } if commit.is_empty() => out.push(reply),
                Outcome6::Reply { reply, commit } => {
                    self.commit.add_all(commit, Some(reply), received_at)
                }
                Outcome6::NoReply { reason, commit } => {
                    if let Some(r) = reason {
                        self.counters.count_no_reply(r);
                    }
                    self.commit.add_all(commit, None, received_at);
                }
                Outcome6::Drop { reason, detail } => report_drop(
                    &self.counters,
                    &mut self.limiter,
                    "DHCPv6 ",
                    reason,
                    detail,
                    &d.src,
                    &ingress.ifname,
                ),
            }
        }
    }
}
