//! The packet loop both families run, each on a thread and socket of its own: receive a
//! batch in one system call, run each packet through the family's handler, send the
//! replies that need no commit at once, and hand lease changes to the group commit,
//! whose replies it sends when their leases are durable. Every reply leaves from this
//! thread, in batches (`sendmmsg`). What differs between DHCPv4 and DHCPv6 is the
//! [`Family`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::ServerError;
use super::commits::{ReceivePacer, report_commits};
use super::drops::report_drop;
use super::parking::Parking;
use super::startup::Service;
use crate::lease::{CommitEvent, Following, GroupCommit, LeaseState, StoredLease, unix_now};
use crate::outcome::{Commit, Outcome};
use crate::plugin::Pipeline;
use crate::plugin_context::PluginContext;
use crate::stats::{Counters, Reason};
use zerotouch_net::ratelimit::LogLimiter;
use zerotouch_net::{BatchSocket, Datagram, Interface, IpFamily, RecvBatch, ServedInterfaces};

/// Datagrams received per system call.
pub(crate) const BATCH: usize = 64;
/// How often the served interfaces are looked up again.
pub(crate) const INTERFACE_REFRESH: Duration = Duration::from_secs(30);

/// What a packet loop needs of its family: its socket, handler, leases and replies.
pub(crate) trait Family: 'static {
    /// `DHCPv4`, `DHCPv6`: in log lines.
    const NAME: &'static str;
    /// What drop lines call the packet (`""`, `"DHCPv6 "`).
    const DROPPED: &'static str;
    /// The socket's address family.
    type Socket: IpFamily;
    /// The protocol's handler: the state machine, the lease index, the plugins.
    type Handler: Send + 'static;
    /// A lease record.
    type Lease: StoredLease;
    /// The lease changes of one outcome.
    type Commit: Commit<Self::Lease>;
    /// A reply ready for the wire.
    type Reply: Send + 'static;
    /// What sends the replies.
    type Sender: Send + 'static;

    /// Handles one datagram that arrived on served interface `iface`.
    fn handle(
        handler: &mut Self::Handler,
        d: &Datagram<'_, Self::Socket>,
        iface: &Interface,
        now: u64,
    ) -> Outcome<Self::Reply, Self::Commit>;

    /// The handler's plugin context: where a parked packet's answers go in, and a
    /// packet's answers so far come out when it is parked.
    fn plugin_context(handler: &mut Self::Handler) -> &mut PluginContext;

    /// Ends the leases, offers and probations that ran out; the changes to store.
    fn reclaim(handler: &mut Self::Handler, now: u64) -> Vec<Self::Lease>;

    /// Takes in leases as a store shared with other servers has them: their changes,
    /// and the stored leases that stood in the way of this server's refused ones.
    fn learn(handler: &mut Self::Handler, leases: Vec<Self::Lease>);

    /// Pauses new leases while the lease store cannot be written (or lets them go on).
    fn pause_new(handler: &mut Self::Handler, paused: bool);

    /// `leases` are stored as they are (their commit succeeded).
    fn stored(handler: &mut Self::Handler, leases: &[Self::Lease]);

    /// The plugins the handler runs.
    fn plugins(handler: &Self::Handler) -> &Arc<Pipeline>;

    /// A stored lease as the plugins see it.
    fn describe(lease: &Self::Lease) -> (LeaseState, zerotouch_plugin::LeaseInfo);

    /// Counts a datagram received.
    fn count_received(counters: &Counters);

    /// Sends and empties `replies`.
    fn send(sender: &mut Self::Sender, replies: &mut Vec<Self::Reply>);

    /// After the served interfaces may have changed (DHCPv6 joins the servers'
    /// multicast group on each).
    fn interfaces_changed(_socket: &BatchSocket<Self::Socket>, _interfaces: &mut ServedInterfaces) {
    }
}

/// One family's packet loop and what it owns.
pub(crate) struct PacketLoop<F: Family> {
    pub(crate) handler: F::Handler,
    pub(crate) socket: Arc<BatchSocket<F::Socket>>,
    pub(crate) sender: F::Sender,
    pub(crate) commit: GroupCommit<F::Reply, F::Lease>,
    /// Lease changes of the other servers sharing the store, if it is shared.
    following: Option<Following<F::Lease>>,
    pub(crate) interfaces: ServedInterfaces,
    pub(crate) counters: Arc<Counters>,
    events: Vec<CommitEvent<F::Lease>>,
    /// Packets a plugin parked on a future.
    parking: Parking<F::Socket>,
    pacer: ReceivePacer,
    limiter: LogLimiter,
    /// Whether new leases are paused because commits fail.
    paused: bool,
}

impl<F: Family> PacketLoop<F> {
    pub(crate) fn new(
        handler: F::Handler,
        socket: Arc<BatchSocket<F::Socket>>,
        sender: F::Sender,
        commit: GroupCommit<F::Reply, F::Lease>,
        following: Option<Following<F::Lease>>,
        mut interfaces: ServedInterfaces,
        counters: Arc<Counters>,
    ) -> Self {
        F::interfaces_changed(&socket, &mut interfaces);
        PacketLoop {
            handler,
            socket,
            sender,
            commit,
            following,
            interfaces,
            counters,
            events: Vec::new(),
            parking: Parking::default(),
            pacer: ReceivePacer::default(),
            limiter: LogLimiter::new(10, Duration::from_secs(60)),
            paused: false,
        }
    }

    /// Runs the loop on thread `name` until `stop` is set, then commits and sends what
    /// is pending.
    pub(crate) fn spawn(
        self,
        name: &'static str,
        stop: Arc<AtomicBool>,
        reclaim_every: Duration,
    ) -> Result<Service, ServerError>
    where
        Self: Send,
    {
        Service::spawn(
            name,
            self,
            move |l| l.run(&stop, reclaim_every),
            PacketLoop::flush,
        )
    }

    fn run(&mut self, stop: &AtomicBool, reclaim_every: Duration) {
        let mut batch = RecvBatch::<F::Socket>::new(BATCH);
        let mut out: Vec<F::Reply> = Vec::with_capacity(2 * BATCH);
        let mut last_reclaim = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.socket.recv_or_idle(&mut batch, F::NAME);
            // Other servers' changes first: what arrived meanwhile is answered from
            // the leases as they stand.
            if let Some(following) = &self.following {
                while let Ok(changed) = following.changes.try_recv() {
                    F::learn(&mut self.handler, changed);
                }
            }
            self.process(&batch, &mut out);
            if !self.parking.is_empty() {
                self.resume_parked(&mut out);
            }
            let now = Instant::now();
            if now.duration_since(last_reclaim) >= reclaim_every {
                last_reclaim = now;
                let expired = F::reclaim(&mut self.handler, unix_now());
                if !expired.is_empty() {
                    debug!(count = expired.len(), "{} leases reclaimed", F::NAME);
                }
                self.commit.add_all(expired, None, now);
            }
            // Replies that need no commit and those whose commit finished leave
            // together: one sendmmsg per pass of the loop.
            self.commit.poll(now, &mut out, &mut self.events);
            self.report_commits();
            self.pause_if_failing();
            F::send(&mut self.sender, &mut out);
            // Parked packets are looked at every busy tick: the answer of a wait is
            // acted on within a millisecond of its arrival.
            self.pacer.pace(
                &self.socket,
                self.commit.is_busy() || !self.parking.is_empty(),
            );
            if self.interfaces.refresh_if_due() {
                F::interfaces_changed(&self.socket, &mut self.interfaces);
            }
        }
    }

    /// Commits and sends whatever is pending, at shutdown.
    fn flush(&mut self) {
        let mut out = Vec::new();
        self.commit.flush(&mut out, &mut self.events);
        self.report_commits();
        F::send(&mut self.sender, &mut out);
    }

    /// While commits fail, no client is offered a new lease (it could not be
    /// acknowledged); once one succeeds, offers go on.
    fn pause_if_failing(&mut self) {
        let failing = self.commit.is_failing();
        if failing != self.paused {
            self.paused = failing;
            F::pause_new(&mut self.handler, failing);
            if failing {
                warn!(
                    "{}: the lease database cannot be written: new leases paused, replies that need a commit withheld until it is back",
                    F::NAME
                );
            } else {
                info!(
                    "{}: the lease database is written again: new leases go on",
                    F::NAME
                );
            }
        }
    }

    fn report_commits(&mut self) {
        for event in &self.events {
            if let CommitEvent::Stored { leases, .. } = event {
                F::stored(&mut self.handler, leases);
            }
        }
        let mut learnt = Vec::new();
        report_commits(
            &mut self.events,
            &self.counters,
            &mut self.limiter,
            F::plugins(&self.handler),
            F::describe,
            |current| learnt.push(current),
        );
        for current in learnt {
            F::learn(&mut self.handler, current);
        }
    }

    fn process(&mut self, batch: &RecvBatch<F::Socket>, out: &mut Vec<F::Reply>) {
        let now = unix_now();
        let received_at = Instant::now();
        for i in 0..batch.len() {
            let d = batch.get(i);
            F::count_received(&self.counters);
            if self.interfaces.refresh_for_unknown(d.ifindex) {
                // An interface may have appeared.
                F::interfaces_changed(&self.socket, &mut self.interfaces);
            }
            let Some(iface) = self.interfaces.get(d.ifindex) else {
                self.counters.count_no_reply(Reason::NotServedInterface);
                continue;
            };
            let outcome = F::handle(&mut self.handler, &d, iface, now);
            self.settle(outcome, &d, received_at, out);
        }
    }

    /// Handles again the parked packets whose futures completed.
    fn resume_parked(&mut self, out: &mut Vec<F::Reply>) {
        for mut parked in self.parking.ready() {
            let answers = std::mem::take(&mut parked.answers);
            let d = parked.datagram();
            let Some(iface) = self.interfaces.get(parked.ifindex) else {
                self.counters.count_no_reply(Reason::NotServedInterface);
                continue;
            };
            F::plugin_context(&mut self.handler).resume(answers);
            let outcome = F::handle(&mut self.handler, &d, iface, unix_now());
            self.settle(outcome, &d, Instant::now(), out);
        }
    }

    /// Acts on what handling `d` came to.
    fn settle(
        &mut self,
        outcome: Outcome<F::Reply, F::Commit>,
        d: &Datagram<'_, F::Socket>,
        received_at: Instant,
        out: &mut Vec<F::Reply>,
    ) {
        match outcome {
            Outcome::Reply { reply, commit } if commit.is_empty() => out.push(reply),
            Outcome::Reply { reply, commit } => {
                self.commit.add_all(commit, Some(reply), received_at)
            }
            Outcome::NoReply { reason, commit } => {
                if let Some(r) = reason {
                    self.counters.count_no_reply(r);
                }
                self.commit.add_all(commit, None, received_at);
            }
            Outcome::Drop { reason, detail } => self.report_drop(d, reason, detail),
            Outcome::Park(parked) => {
                let answers = F::plugin_context(&mut self.handler).take_answers();
                if let Err(why) = self.parking.park(d, answers, parked) {
                    self.report_drop(d, Reason::PluginError, Some(why));
                }
            }
        }
    }

    fn report_drop(&mut self, d: &Datagram<'_, F::Socket>, reason: Reason, detail: Option<String>) {
        let name = self.interfaces.get(d.ifindex).map_or("?", |i| &*i.name);
        report_drop(
            &self.counters,
            &mut self.limiter,
            F::DROPPED,
            reason,
            detail,
            &d.src,
            name,
        );
    }
}
