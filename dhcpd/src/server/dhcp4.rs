//! The DHCPv4 packet loop, on a thread of its own: receive a batch in one system call,
//! run each packet through the handler, send the replies that need no commit at once,
//! and hand lease changes to the group commit, whose ACKs it sends when their leases
//! are durable. Every reply leaves from this thread, in batches (`sendmmsg`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::ServerError;
use super::commits::{IDLE_TICK, ReceivePacer, report_commits};
use super::drops::report_drop;
use super::sender::ReplySender;
use super::startup::{Service, load_leases, warn_unmatched_interfaces};
use crate::config::{Dhcp4, LeaseStoreConfig};
use crate::lease::{CommitEvent, GroupCommit, LeaseIndex, start_capacity, unix_now};
use crate::plugin::Pipeline;
use crate::services::lease_info;
use crate::stats::{Counters, Reason};
use crate::v4::{Dhcp4Handler, Ingress, Outcome, Reply};
use zerotouch_net::ratelimit::LogLimiter;
use zerotouch_net::{BatchSocket, RecvBatch, ServedInterfaces};

const BATCH: usize = 64;
const INTERFACE_REFRESH: Duration = Duration::from_secs(30);

/// The DHCPv4 service.
pub struct Dhcp4Service;

impl Dhcp4Service {
    /// Opens the lease store, binds the socket and starts the packet thread; errors in
    /// any of these come back here, before anything is served.
    pub fn start(
        cfg: Arc<Dhcp4>,
        store_cfg: &LeaseStoreConfig,
        counters: Arc<Counters>,
        plugins: Arc<Pipeline>,
        stop: Arc<AtomicBool>,
    ) -> Result<Service, ServerError> {
        // The port first: a server refused it (another holds it) touches no database.
        let socket =
            Arc::new(
                BatchSocket::bind(cfg.port, IDLE_TICK).map_err(|e| ServerError::Bind {
                    port: cfg.port,
                    source: e,
                })?,
            );
        let store = crate::lease::open(store_cfg)?;
        let loaded = load_leases(&*store, |s| s.load4())?;
        let pool_sizes = cfg
            .subnets
            .iter()
            .flat_map(|s| &s.pools)
            .map(|p| p.size().into());
        let capacity = start_capacity(pool_sizes, loaded.len());
        let index = LeaseIndex::from_leases(capacity, loaded);
        info!(leases = index.len(), store = %store.describe(), "leases loaded");
        let handler = Dhcp4Handler::new(cfg.clone(), index, counters.clone()).with_plugins(plugins);

        let interfaces = ServedInterfaces::new(&cfg.interfaces, INTERFACE_REFRESH);
        warn_unmatched_interfaces(&interfaces, &cfg.relayed_only, "DHCPv4", |i| {
            cfg.interface_subnet(&i.name, &i.addrs).is_some()
        });
        info!(port = cfg.port, interfaces = ?cfg.interfaces, authoritative = cfg.authoritative, "DHCPv4 serving");
        let packet_loop = PacketLoop {
            handler,
            sender: ReplySender::new(socket.clone(), cfg.client_port, counters.clone()),
            socket,
            commit: GroupCommit::start(store, store_cfg.commit_window)?,
            events: Vec::new(),
            pacer: ReceivePacer::default(),
            interfaces,
            counters,
            limiter: LogLimiter::new(10, Duration::from_secs(60)),
        };
        let reclaim_every = store_cfg.reclaim_interval;
        Service::spawn(
            "dhcp4",
            packet_loop,
            move |l| l.run(&stop, reclaim_every),
            PacketLoop::flush,
        )
    }
}

struct PacketLoop {
    handler: Dhcp4Handler,
    socket: Arc<BatchSocket>,
    sender: ReplySender,
    commit: GroupCommit<Reply>,
    events: Vec<CommitEvent>,
    pacer: ReceivePacer,
    interfaces: ServedInterfaces,
    counters: Arc<Counters>,
    limiter: LogLimiter,
}

impl PacketLoop {
    fn run(&mut self, stop: &AtomicBool, reclaim_every: Duration) {
        let mut batch = RecvBatch::new(BATCH);
        let mut out: Vec<Reply> = Vec::with_capacity(2 * BATCH);
        let mut last_reclaim = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.socket.recv_or_idle(&mut batch, "DHCPv4");
            self.process(&batch, &mut out);
            let now = Instant::now();
            if now.duration_since(last_reclaim) >= reclaim_every {
                last_reclaim = now;
                let expired = self.handler.reclaim(unix_now());
                if !expired.is_empty() {
                    debug!(count = expired.len(), "leases reclaimed");
                }
                for lease in expired {
                    self.commit.add(lease, None, now);
                }
            }
            // Replies that need no commit and ACKs whose commit finished leave together:
            // one sendmmsg per pass of the loop.
            self.commit.poll(now, &mut out, &mut self.events);
            self.report_commits();
            self.sender.send(&mut out);
            self.pacer.pace(&self.socket, self.commit.is_busy());
            self.interfaces.refresh_if_due();
        }
    }

    /// Commits and sends whatever is pending, at shutdown.
    fn flush(&mut self) {
        let mut out = Vec::new();
        self.commit.flush(&mut out, &mut self.events);
        self.report_commits();
        self.sender.send(&mut out);
    }

    fn report_commits(&mut self) {
        report_commits(
            &mut self.events,
            &self.counters,
            &mut self.limiter,
            self.handler.plugins(),
            |l| (l.state, lease_info(l)),
        );
    }

    fn process(&mut self, batch: &RecvBatch, out: &mut Vec<Reply>) {
        let now = unix_now();
        let received_at = Instant::now();
        for i in 0..batch.len() {
            let d = batch.get(i);
            self.counters.received.fetch_add(1, Ordering::Relaxed);
            self.interfaces.refresh_for_unknown(d.ifindex);
            let Some(iface) = self.interfaces.get(d.ifindex) else {
                self.counters.count_no_reply(Reason::NotServedInterface);
                continue;
            };
            let ingress = Ingress {
                ifindex: d.ifindex,
                ifname: iface.name.clone(),
                if_addrs: iface.addrs.clone(),
                local: d.local,
                dst: d.dst,
                src: d.src,
            };
            match self.handler.handle(d.data, &ingress, now) {
                Outcome::Reply {
                    reply,
                    commit: None,
                } => out.push(reply),
                Outcome::Reply {
                    reply,
                    commit: Some(lease),
                } => self.commit.add(lease, Some(reply), received_at),
                Outcome::NoReply { reason, commit } => {
                    if let Some(r) = reason {
                        self.counters.count_no_reply(r);
                    }
                    if let Some(lease) = commit {
                        self.commit.add(lease, None, received_at);
                    }
                }
                Outcome::Drop { reason, detail } => report_drop(
                    &self.counters,
                    &mut self.limiter,
                    "",
                    reason,
                    detail,
                    &d.src,
                    &ingress.ifname,
                ),
            }
        }
    }
}
