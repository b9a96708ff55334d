//! What both packet loops do with finished commits, with their receive timeout and
//! with packets they drop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::{debug, error, warn};

use crate::lease::{CommitEvent, LeaseState};
use crate::plugin::Pipeline;
use crate::services::lease_event;
use crate::stats::{Counters, Reason};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{BatchSocket, IpFamily};

/// How long an idle receive waits before the loop looks at its timers and stop flag.
pub(crate) const IDLE_TICK: Duration = Duration::from_millis(200);
/// How long a receive waits while lease changes are queued or being committed, so that
/// the replies leave soon after their commit even when no packet arrives.
pub(crate) const BUSY_TICK: Duration = Duration::from_millis(1);

/// Counts finished commits and logs failed ones (rate-limited); durable leases go to
/// the plugins' lease-event hooks, described by `describe`; the stored leases that
/// stood in the way of refused ones go to `learn`.
pub(crate) fn report_commits<L>(
    events: &mut Vec<CommitEvent<L>>,
    counters: &Counters,
    limiter: &mut LogLimiter,
    plugins: &Pipeline,
    describe: impl Fn(&L) -> (LeaseState, zerotouch_plugin::LeaseInfo),
    mut learn: impl FnMut(Vec<L>),
) {
    for event in events.drain(..) {
        match event {
            CommitEvent::Refused {
                leases,
                replies: 0,
                current,
            } => {
                // An expiry another server's renewal overtook: nothing was answered.
                debug!(
                    leases,
                    "lease changes overtaken by another server's, learnt"
                );
                learn(current);
            }
            CommitEvent::Refused {
                leases,
                replies,
                current,
            } => {
                if let Some(suppressed) =
                    withhold(counters, limiter, "refused", Reason::HeldElsewhere, replies)
                {
                    warn!(
                        leases,
                        suppressed,
                        "the shared lease database refused {leases} leases (addresses another server's clients hold): {replies} replies withheld, the leases as stored learnt"
                    );
                }
                learn(current);
            }
            CommitEvent::Stored { leases, .. } => {
                counters.commit_batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .leases_committed
                    .fetch_add(leases.len() as u64, Ordering::Relaxed);
                let (hooks, follow) = (
                    plugins.wants_lease_events(),
                    plugins.events().follows_leases(),
                );
                if hooks || follow {
                    for lease in &leases {
                        let (state, info) = describe(lease);
                        let Some(event) = lease_event(state) else {
                            continue;
                        };
                        if hooks {
                            plugins.lease_event(event, &info);
                        }
                        if follow {
                            plugins
                                .events()
                                .publish_lease(zerotouch_plugin::LeaseChange {
                                    event,
                                    lease: info,
                                });
                        }
                    }
                }
            }
            CommitEvent::Failed {
                leases,
                replies,
                error,
            } => {
                if let Some(suppressed) =
                    withhold(counters, limiter, "commit", Reason::CommitFailed, replies)
                {
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

/// Counts `replies` withheld for `reason`; the number of lines suppressed before this
/// one when a line about it may be logged now (lines of each `kind` are rate-limited).
fn withhold(
    counters: &Counters,
    limiter: &mut LogLimiter,
    kind: &'static str,
    reason: Reason,
    replies: usize,
) -> Option<u64> {
    for _ in 0..replies {
        counters.count_no_reply(reason);
    }
    match limiter.check(kind, Instant::now()) {
        Verdict::Log { suppressed } => Some(suppressed),
        _ => None,
    }
}

/// While lease changes are queued or being committed, a receive returns within the
/// busy tick so that replies leave soon after their commit; otherwise it may wait the
/// idle tick. The timeout changes only when the state does, so a busy server makes no
/// extra system calls for it.
#[derive(Debug, Default)]
pub(crate) struct ReceivePacer {
    busy: bool,
}

impl ReceivePacer {
    pub(crate) fn pace<F: IpFamily>(&mut self, socket: &BatchSocket<F>, busy: bool) {
        if busy != self.busy {
            let timeout = if busy { BUSY_TICK } else { IDLE_TICK };
            if socket.set_recv_timeout(timeout).is_ok() {
                self.busy = busy;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::{Lease4, numbered_lease};
    use crate::services::lease_info;

    /// A service that follows lease changes gets each durable one, once; a server with
    /// none publishes nothing.
    #[test]
    fn durable_lease_changes_reach_services_that_follow_them() {
        let plugins = Pipeline::empty();
        let counters = Counters::default();
        let mut limiter = LogLimiter::new(10, Duration::from_secs(60));
        let describe = |l: &Lease4| (l.state, lease_info(l));
        let mut released = numbered_lease(2);
        released.state = LeaseState::Released;
        let batch = || {
            vec![CommitEvent::Stored {
                leases: vec![numbered_lease(1), released.clone()],
                replies: 2,
            }]
        };
        // Nobody follows: nothing is published (and nothing is kept for later).
        report_commits(
            &mut batch(),
            &counters,
            &mut limiter,
            &plugins,
            describe,
            |_| {},
        );
        let mut follower = plugins.events().subscribe_leases();
        assert!(follower.try_recv().is_err());
        report_commits(
            &mut batch(),
            &counters,
            &mut limiter,
            &plugins,
            describe,
            |_| {},
        );
        let first = follower.try_recv().unwrap();
        assert_eq!(first.event, zerotouch_plugin::LeaseEvent::Committed);
        assert_eq!(first.lease, lease_info(&numbered_lease(1)));
        let second = follower.try_recv().unwrap();
        assert_eq!(second.event, zerotouch_plugin::LeaseEvent::Released);
        assert!(follower.try_recv().is_err());
        assert_eq!(counters.leases_committed.load(Ordering::Relaxed), 4);
    }
}
