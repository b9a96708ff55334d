//! Group commit: leases gather here with the replies that must wait for them, and are
//! written in one transaction once the commit window has passed; only then are the
//! replies released. Under load a commit carries many leases, so durability costs one
//! fsync per window instead of one per ACK.
//!
//! The packet thread owns this buffer and commits inline: an fsync takes about 100 µs
//! on an SSD, less than the cross-thread wake-ups a separate commit thread would cost,
//! and OFFERs and ACKs then leave together in one `sendmmsg`.

use std::time::{Duration, Instant};

use super::model::Lease4;
use super::store::{LeaseStore, StoreError};

/// Leases per transaction at most: a full buffer commits without waiting for the window.
const MAX_BATCH: usize = 4096;
/// Leases kept for another attempt after failed commits, at most.
const MAX_RETAINED: usize = 100_000;

pub struct GroupCommit<R> {
    store: LeaseStore,
    window: Duration,
    leases: Vec<Lease4>,
    replies: Vec<R>,
    since: Option<Instant>,
}

/// What one commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitReport {
    pub leases: usize,
    /// Replies released (on success) or withheld (on failure).
    pub replies: usize,
}

impl<R> GroupCommit<R> {
    pub fn new(store: LeaseStore, window: Duration) -> Self {
        GroupCommit {
            store,
            window,
            leases: Vec::new(),
            replies: Vec::new(),
            since: None,
        }
    }

    pub fn store(&self) -> &LeaseStore {
        &self.store
    }

    /// Queues a lease change and the reply (if any) that must wait for it.
    pub fn add(&mut self, lease: Lease4, reply: Option<R>, now: Instant) {
        self.since.get_or_insert(now);
        self.leases.push(lease);
        self.replies.extend(reply);
    }

    pub fn is_pending(&self) -> bool {
        !self.leases.is_empty()
    }

    /// When the pending leases must be committed.
    pub fn deadline(&self) -> Option<Instant> {
        self.since.map(|s| s + self.window)
    }

    /// Whether the pending leases should be committed now.
    pub fn due(&self, now: Instant) -> bool {
        self.leases.len() >= MAX_BATCH || self.deadline().is_some_and(|d| now >= d)
    }

    /// Writes every pending lease in one transaction. On success the waiting replies are
    /// appended to `released`; on failure they are dropped (a client whose lease is not
    /// durable must not be acknowledged; it will retry) and the leases kept for the next
    /// attempt.
    pub fn commit(
        &mut self,
        released: &mut Vec<R>,
    ) -> Result<CommitReport, (CommitReport, StoreError)> {
        if self.leases.is_empty() {
            return Ok(CommitReport {
                leases: 0,
                replies: 0,
            });
        }
        let report = CommitReport {
            leases: self.leases.len(),
            replies: self.replies.len(),
        };
        match self.store.write(&self.leases) {
            Ok(()) => {
                self.leases.clear();
                self.since = None;
                released.append(&mut self.replies);
                Ok(report)
            }
            Err(e) => {
                self.replies.clear();
                if self.leases.len() > MAX_RETAINED {
                    let excess = self.leases.len() - MAX_RETAINED;
                    self.leases.drain(..excess);
                }
                // Try again after another window, not at once.
                self.since = Some(Instant::now());
                Err((report, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::Synchronous;
    use crate::lease::{ClientKey, LeaseState};

    fn lease(i: u8) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(198, 18, 1, i),
            client: Some(ClientKey::HwAddr {
                htype: 1,
                addr: vec![2, 0, 0, 0, 1, i].into(),
            }),
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 1, i].into(),
            state: LeaseState::Active,
            starts: 1,
            expires: 100,
            hostname: None,
        }
    }

    #[test]
    fn replies_are_released_only_when_their_leases_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut gc = GroupCommit::new(
            LeaseStore::open(&path, Synchronous::Full).unwrap(),
            Duration::from_millis(5),
        );
        let t0 = Instant::now();
        for i in 0..10 {
            gc.add(lease(i), Some(i), t0);
        }
        assert!(!gc.due(t0));
        assert!(gc.due(t0 + Duration::from_millis(5)));
        let reader = LeaseStore::open(&path, Synchronous::Full).unwrap();
        assert!(
            reader.get(Ipv4Addr::new(198, 18, 1, 0)).unwrap().is_none(),
            "nothing is written before the commit"
        );
        let mut out = Vec::new();
        assert_eq!(
            gc.commit(&mut out).unwrap(),
            CommitReport {
                leases: 10,
                replies: 10
            }
        );
        assert_eq!(out, (0..10).collect::<Vec<u8>>());
        for i in 0..10 {
            assert!(reader.get(Ipv4Addr::new(198, 18, 1, i)).unwrap().is_some());
        }
        assert!(!gc.is_pending() && gc.deadline().is_none());
    }

    #[test]
    fn a_failed_commit_withholds_the_replies_and_keeps_the_leases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut gc = GroupCommit::new(
            LeaseStore::open(&path, Synchronous::Full).unwrap(),
            Duration::ZERO,
        );
        gc.store.set_read_only_for_test(true);
        gc.add(lease(1), Some(1u8), Instant::now());
        let mut out = Vec::new();
        let (report, _) = gc.commit(&mut out).unwrap_err();
        assert_eq!(
            report,
            CommitReport {
                leases: 1,
                replies: 1
            }
        );
        assert!(out.is_empty(), "no ACK for a lease that is not durable");
        assert!(gc.is_pending());
        gc.store.set_read_only_for_test(false);
        gc.add(lease(2), Some(2), Instant::now());
        assert_eq!(
            gc.commit(&mut out).unwrap(),
            CommitReport {
                leases: 2,
                replies: 1
            }
        );
        assert_eq!(out, vec![2]);
        assert!(
            gc.store
                .get(Ipv4Addr::new(198, 18, 1, 1))
                .unwrap()
                .is_some()
        );
    }
}
