//! The DHCPv4 packet loop, on a thread of its own: receive a batch in one system call,
//! run each packet through the handler, send what can go at once, and hand ACKs with
//! their leases to the commit thread.

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{debug, error, info, warn};

use super::ServerError;
use super::sender::ReplySender;
use crate::config::{Dhcp4, LeaseStoreConfig};
use crate::io::{BatchSocket, InterfaceTable, RecvBatch};
use crate::lease::{CommitJob, CommitQueue, Committer, LeaseIndex, LeaseStore, unix_now};
use crate::ratelimit::{LogLimiter, Verdict};
use crate::stats::{Counters, Reason};
use crate::v4::{Dhcp4Handler, Ingress, Outcome, Reply};

const BATCH: usize = 64;
/// How long a receive waits before the loop looks at its timers and the stop flag.
const TICK: Duration = Duration::from_millis(200);
const INTERFACE_REFRESH: Duration = Duration::from_secs(30);

/// A running DHCPv4 service.
pub struct Dhcp4Service {
    thread: JoinHandle<Result<(), ServerError>>,
}

impl Dhcp4Service {
    /// Opens the lease store, binds the socket and starts the packet and commit
    /// threads; errors in any of these come back here, before anything is served.
    pub fn start(
        cfg: Arc<Dhcp4>,
        store_cfg: &LeaseStoreConfig,
        counters: Arc<Counters>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, ServerError> {
        let store = LeaseStore::open(&store_cfg.database, store_cfg.synchronous)?;
        let loaded = store.load()?;
        for bad in &loaded.bad_rows {
            warn!(
                "lease database {}: skipping unreadable row {bad} (left in place)",
                store.path().display()
            );
        }
        let index = LeaseIndex::from_leases(loaded.leases);
        info!(leases = index.len(), database = %store.path().display(), "leases loaded");
        let handler = Dhcp4Handler::new(cfg.clone(), index);

        let socket =
            Arc::new(
                BatchSocket::bind(cfg.port, TICK).map_err(|e| ServerError::Bind {
                    port: cfg.port,
                    source: e,
                })?,
            );
        let sender = Arc::new(ReplySender::new(
            socket.clone(),
            cfg.client_port,
            counters.clone(),
        ));
        let deliver = sender.clone();
        let batch_counters = counters.clone();
        let (queue, committer) = Committer::spawn(
            store,
            store_cfg.commit_window,
            move |replies: Vec<Reply>| deliver.send(replies),
            move |report, err| {
                if report.ok {
                    batch_counters
                        .commit_batches
                        .fetch_add(1, Ordering::Relaxed);
                    batch_counters
                        .leases_committed
                        .fetch_add(report.leases as u64, Ordering::Relaxed);
                } else {
                    for _ in 0..report.replies {
                        batch_counters.count_no_reply(Reason::CommitFailed);
                    }
                    error!(
                        leases = report.leases,
                        "lease commit failed, {} ACKs withheld: {}",
                        report.replies,
                        err.map_or(String::new(), |e| e.to_string())
                    );
                }
            },
        )
        .map_err(ServerError::Thread)?;

        let interfaces = InterfaceTable::new(&cfg.interfaces);
        for name in &cfg.interfaces {
            if !interfaces.iter().any(|i| &i.name == name) {
                warn!(interface = %name, "interface does not exist (yet); it is served once it appears");
            }
        }
        info!(port = cfg.port, interfaces = ?cfg.interfaces, authoritative = cfg.authoritative, "DHCPv4 serving");
        let reclaim_every = store_cfg.reclaim_interval;
        let mut packet_loop = PacketLoop {
            handler,
            socket,
            sender,
            queue: Some(queue),
            interfaces,
            counters,
            limiter: LogLimiter::new(10, Duration::from_secs(60)),
            last_refresh: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("dhcp4".into())
            .spawn(move || {
                let result = packet_loop.run(&stop, reclaim_every);
                info!("DHCPv4 stopping: committing queued leases");
                drop(packet_loop.queue.take());
                let _ = committer.join();
                result
            })
            .map_err(ServerError::Thread)?;
        Ok(Dhcp4Service { thread })
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the service to stop (after the stop flag is set, or on a fatal error).
    pub fn join(self) -> Result<(), ServerError> {
        self.thread
            .join()
            .unwrap_or(Err(ServerError::CommitThreadGone))
    }
}

struct PacketLoop {
    handler: Dhcp4Handler,
    socket: Arc<BatchSocket>,
    sender: Arc<ReplySender>,
    queue: Option<CommitQueue<Reply>>,
    interfaces: InterfaceTable,
    counters: Arc<Counters>,
    limiter: LogLimiter,
    last_refresh: Instant,
}

impl PacketLoop {
    fn run(&mut self, stop: &AtomicBool, reclaim_every: Duration) -> Result<(), ServerError> {
        let mut batch = RecvBatch::new(BATCH);
        let mut last_reclaim = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match self.socket.recv_batch(&mut batch) {
                Ok(_) => {
                    let job = self.process(&batch);
                    self.submit(job)?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    warn!("receive failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            if last_reclaim.elapsed() >= reclaim_every {
                last_reclaim = Instant::now();
                let expired = self.handler.reclaim(unix_now());
                if !expired.is_empty() {
                    debug!(count = expired.len(), "leases reclaimed");
                    self.submit(CommitJob {
                        leases: expired,
                        replies: Vec::new(),
                    })?;
                }
            }
            if self.last_refresh.elapsed() >= INTERFACE_REFRESH {
                self.refresh_interfaces();
            }
        }
        Ok(())
    }

    fn submit(&self, job: CommitJob<Reply>) -> Result<(), ServerError> {
        if job.leases.is_empty() {
            return Ok(());
        }
        match &self.queue {
            Some(q) => q.submit(job).map_err(|_| ServerError::CommitThreadGone),
            None => Err(ServerError::CommitThreadGone),
        }
    }

    fn refresh_interfaces(&mut self) {
        if self.interfaces.refresh() {
            info!(
                "interface addresses changed: {:?}",
                self.interfaces
                    .iter()
                    .map(|i| (&i.name, &i.addrs))
                    .collect::<Vec<_>>()
            );
        }
        self.last_refresh = Instant::now();
    }

    fn process(&mut self, batch: &RecvBatch) -> CommitJob<Reply> {
        let now = unix_now();
        let mut immediate = Vec::new();
        let mut job = CommitJob {
            leases: Vec::new(),
            replies: Vec::new(),
        };
        for i in 0..batch.len() {
            let d = batch.get(i);
            self.counters.received.fetch_add(1, Ordering::Relaxed);
            if self.interfaces.get(d.ifindex).is_none()
                && self.last_refresh.elapsed() > Duration::from_secs(1)
            {
                // An interface may have appeared since the last look.
                self.refresh_interfaces();
            }
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
            if d.data.len() > 242 && d.data[240] == 53 {
                self.counters.count_received(d.data[242]);
            }
            match self.handler.handle(d.data, &ingress, now) {
                Outcome::Reply {
                    reply,
                    commit: None,
                } => immediate.push(reply),
                Outcome::Reply {
                    reply,
                    commit: Some(lease),
                } => {
                    job.leases.push(lease);
                    job.replies.push(reply);
                }
                Outcome::NoReply { reason, commit } => {
                    if let Some(r) = reason {
                        self.counters.count_no_reply(r);
                    }
                    job.leases.extend(commit);
                }
                Outcome::Drop { reason, detail } => {
                    self.counters.count_no_reply(reason);
                    if let Verdict::Log { suppressed } =
                        self.limiter.check(reason.as_str(), Instant::now())
                    {
                        let detail = detail.unwrap_or_default();
                        if reason.is_malformed() || reason == Reason::PoolExhausted {
                            warn!(reason = reason.as_str(), from = %d.src, interface = %ingress.ifname, suppressed, "dropped packet: {detail}");
                        } else {
                            debug!(reason = reason.as_str(), from = %d.src, interface = %ingress.ifname, suppressed, "no reply: {detail}");
                        }
                    }
                }
            }
        }
        self.sender.send(immediate);
        job
    }
}
