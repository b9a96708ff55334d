//! What both packet loops do with finished commits, with their receive timeout and
//! with packets they drop.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::{debug, error, warn};

use crate::io::{BatchSocket, IpFamily};
use crate::lease::{CommitEvent, LeaseState};
use crate::plugin::{Pipeline, lease_event};
use crate::ratelimit::{LogLimiter, Verdict};
use crate::stats::{Counters, Reason};

/// How long an idle receive waits before the loop looks at its timers and stop flag.
pub const IDLE_TICK: Duration = Duration::from_millis(200);
/// How long a receive waits while lease changes are queued or being committed, so that
/// the replies leave soon after their commit even when no packet arrives.
pub const BUSY_TICK: Duration = Duration::from_millis(1);

/// Counts finished commits and logs failed ones (rate-limited); durable leases go to
/// the plugins' lease-event hooks, described by `describe`.
pub fn report_commits<L>(
    events: &mut Vec<CommitEvent<L>>,
    counters: &Counters,
    limiter: &mut LogLimiter,
    plugins: &Pipeline,
    describe: impl Fn(&L) -> (LeaseState, zerotouch_plugin::LeaseInfo),
) {
    for event in events.drain(..) {
        match event {
            CommitEvent::Stored { leases, .. } => {
                counters.commit_batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .leases_committed
                    .fetch_add(leases.len() as u64, Ordering::Relaxed);
                if plugins.wants_lease_events() {
                    for lease in &leases {
                        let (state, info) = describe(lease);
                        if let Some(event) = lease_event(state) {
                            plugins.lease_event(event, &info);
                        }
                    }
                }
            }
            CommitEvent::Failed {
                leases,
                replies,
                error,
            } => {
                for _ in 0..replies {
                    counters.count_no_reply(Reason::CommitFailed);
                }
                if let Verdict::Log { suppressed } = limiter.check("commit", Instant::now()) {
                    error!(
                        leases,
                        suppressed,
                        "lease commit failed, {replies} replies withheld (clients will retry): {error}"
                    );
                }
            }
        }
    }
}

/// Replies a commit released leave a few at a time, one share per pass of the packet
/// loop, between the replies to what arrives meanwhile. A commit may release hundreds
/// of ACKs at once (one fsync's worth at thousands per second); sent in one burst they
/// overflow the socket buffer of the relay (or load generator) they go to, and the
/// clients retry. The loop passes at least every busy tick while any wait, so they
/// leave within a few milliseconds.
#[derive(Debug)]
pub struct ReleasePacer<R> {
    waiting: VecDeque<R>,
}

impl<R> Default for ReleasePacer<R> {
    fn default() -> Self {
        ReleasePacer {
            waiting: VecDeque::new(),
        }
    }
}

impl<R> ReleasePacer<R> {
    /// Replies that leave per pass of the loop.
    pub const PER_PASS: usize = 16;

    /// Queues what `released` holds and moves this pass's share to `out`.
    pub fn release(&mut self, released: &mut Vec<R>, out: &mut Vec<R>) {
        self.waiting.extend(released.drain(..));
        let n = self.waiting.len().min(Self::PER_PASS);
        out.extend(self.waiting.drain(..n));
    }

    /// Everything waiting, at shutdown.
    pub fn release_all(&mut self, out: &mut Vec<R>) {
        out.extend(self.waiting.drain(..));
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// While lease changes are queued or being committed, a receive returns within the
/// busy tick so that replies leave soon after their commit; otherwise it may wait the
/// idle tick. The timeout changes only when the state does, so a busy server makes no
/// extra system calls for it.
#[derive(Debug, Default)]
pub struct ReceivePacer {
    busy: bool,
}

impl ReceivePacer {
    pub fn pace<F: IpFamily>(&mut self, socket: &BatchSocket<F>, busy: bool) {
        if busy != self.busy {
            let timeout = if busy { BUSY_TICK } else { IDLE_TICK };
            if socket.set_recv_timeout(timeout).is_ok() {
                self.busy = busy;
            }
        }
    }
}

/// Counts a dropped packet under its reason and logs it, rate-limited: malformed
/// packets and exhausted pools at warn (operators should see them), the rest at debug.
/// `family` prefixes the words "packet" and "reply" in the line ("" for DHCPv4, whose
/// lines predate DHCPv6, "DHCPv6 ").
pub fn report_drop(
    counters: &Counters,
    limiter: &mut LogLimiter,
    family: &str,
    reason: Reason,
    detail: Option<String>,
    from: &dyn std::fmt::Display,
    interface: &str,
) {
    counters.count_no_reply(reason);
    if let Verdict::Log { suppressed } = limiter.check(reason.as_str(), Instant::now()) {
        let detail = detail.unwrap_or_default();
        if reason.is_malformed() || reason == Reason::PoolExhausted {
            warn!(reason = reason.as_str(), from = %from, interface, suppressed, "dropped {family}packet: {detail}");
        } else {
            debug!(reason = reason.as_str(), from = %from, interface, suppressed, "no {family}reply: {detail}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_replies_leave_a_share_per_pass_in_order() {
        let mut pacer = ReleasePacer::default();
        let mut released: Vec<u32> = (0..40).collect();
        let mut out = Vec::new();
        pacer.release(&mut released, &mut out);
        assert!(released.is_empty());
        assert_eq!(out, (0..16).collect::<Vec<_>>());
        out.clear();
        pacer.release(&mut vec![40], &mut out);
        assert_eq!(out, (16..32).collect::<Vec<_>>());
        out.clear();
        pacer.release_all(&mut out);
        assert_eq!(out, (32..41).collect::<Vec<_>>());
        assert!(pacer.is_empty());
    }
}
