//! What both packet loops do with finished commits, with their receive timeout and
//! with packets they drop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::error;

use crate::lease::{CommitEvent, LeaseState};
use crate::plugin::{Pipeline, lease_event};
use crate::stats::{Counters, Reason};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{BatchSocket, IpFamily};

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
