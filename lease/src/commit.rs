//! Group commit. Lease changes gather in the packet thread with the replies that must
//! wait for them; a commit worker thread writes a batch in one transaction and fsyncs,
//! then hands the replies back to the packet thread, which sends them with its next
//! batch. One batch is in flight at a time, so everything that arrives while the disk
//! works goes into the next transaction: under load a commit carries many leases and
//! durability costs one fsync per batch, not per ACK.
//!
//! The packet thread never waits for the disk: an fsync takes 0.2 ms on an idle SSD but
//! several milliseconds under load, and a packet thread stalled that long lets requests
//! pile up and leave as a burst.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backend::{Following, LeaseBackend, StoreError, Upkeep, Written};
use crate::Lease4;
use crate::Lease6;

/// A lease record the store can write in batches: DHCPv4 and DHCPv6 leases go through
/// the same group commit, each to its own table.
pub trait StoredLease: Clone + Send + 'static {
    fn write_batch(
        store: &mut dyn LeaseBackend,
        batch: &[Self],
    ) -> Result<Written<Self>, StoreError>;

    /// The changes other servers sharing the store make to leases of this family.
    fn follow(store: &mut dyn LeaseBackend) -> Result<Option<Following<Self>>, StoreError>;
}

impl StoredLease for Lease4 {
    fn write_batch(
        store: &mut dyn LeaseBackend,
        batch: &[Self],
    ) -> Result<Written<Self>, StoreError> {
        store.write4(batch)
    }

    fn follow(store: &mut dyn LeaseBackend) -> Result<Option<Following<Self>>, StoreError> {
        store.follow4()
    }
}

impl StoredLease for Lease6 {
    fn write_batch(
        store: &mut dyn LeaseBackend,
        batch: &[Self],
    ) -> Result<Written<Self>, StoreError> {
        store.write6(batch)
    }

    fn follow(store: &mut dyn LeaseBackend) -> Result<Option<Following<Self>>, StoreError> {
        store.follow6()
    }
}

/// The longest wait before a failed commit is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Leases kept for another attempt after failed commits, at most.
const MAX_RETAINED: usize = 100_000;

/// A reply and the positions of the leases it waits for among the queued ones.
type Waiting<R> = (R, Range<usize>);

struct Batch<L, R> {
    leases: Vec<L>,
    replies: Vec<Waiting<R>>,
}

enum Done<L, R> {
    Stored {
        leases: Vec<L>,
        replies: Vec<Waiting<R>>,
        written: Written<L>,
    },
    Failed {
        leases: Vec<L>,
        replies: usize,
        error: StoreError,
    },
}

/// What finished commits did, for counters and logs.
#[derive(Debug)]
pub enum CommitEvent<L = Lease4> {
    /// `leases` are durable (handed back for lease-event plugins).
    Stored { leases: Vec<L>, replies: usize },
    /// The store refused `leases` changes: another server's clients hold those
    /// addresses, as `current` (their stored leases) says. The replies that waited for
    /// them were withheld.
    Refused {
        leases: usize,
        replies: usize,
        current: Vec<L>,
    },
    /// The leases stay queued for the next commit; the replies were withheld.
    Failed {
        leases: usize,
        replies: usize,
        error: StoreError,
    },
}

pub struct GroupCommit<R, L = Lease4> {
    window: Duration,
    leases: Vec<L>,
    replies: Vec<Waiting<R>>,
    /// Replies whose leases are durable, handed out `RELEASED_PER_POLL` at a time.
    durable: VecDeque<R>,
    since: Option<Instant>,
    in_flight: bool,
    /// Commits failed in a row, and when the next may start: a store that is down is
    /// tried again after 10 ms, doubling up to a second, not on every poll.
    failures: u32,
    retry_at: Option<Instant>,
    to_worker: Option<Sender<Batch<L, R>>>,
    from_worker: Receiver<Done<L, R>>,
    worker: Option<JoinHandle<()>>,
    /// The backend's housekeeping (SQLite: WAL checkpoints), dropped after the worker
    /// has stopped, so that its last round follows the last commit.
    _upkeep: Upkeep,
}

impl<R: Send + 'static, L: StoredLease> GroupCommit<R, L> {
    /// Starts the commit worker, which owns `store`. Leases are gathered for at least
    /// `window` before a commit starts.
    pub fn start(mut store: Box<dyn LeaseBackend>, window: Duration) -> Result<Self, StoreError> {
        let upkeep = store.start_upkeep()?;
        let (to_worker, batches) = channel::<Batch<L, R>>();
        let (done, from_worker) = channel::<Done<L, R>>();
        let worker = std::thread::Builder::new()
            .name("lease-commit".into())
            .spawn(move || {
                for batch in batches {
                    let result = match L::write_batch(&mut *store, &batch.leases) {
                        Ok(written) => Done::Stored {
                            leases: batch.leases,
                            replies: batch.replies,
                            written,
                        },
                        Err(error) => Done::Failed {
                            replies: batch.replies.len(),
                            leases: batch.leases,
                            error,
                        },
                    };
                    if done.send(result).is_err() {
                        break;
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(GroupCommit {
            window,
            leases: Vec::new(),
            replies: Vec::new(),
            durable: VecDeque::new(),
            since: None,
            in_flight: false,
            failures: 0,
            retry_at: None,
            to_worker: Some(to_worker),
            from_worker,
            worker: Some(worker),
            _upkeep: upkeep,
        })
    }
}

/// Replies `poll` hands out per call. A commit may make hundreds of replies durable at
/// once (one fsync's worth at thousands per second); sent in one burst they overflow
/// the socket buffer of the relay (or load generator) they go to, and the clients
/// retry. The packet loops poll on every pass, and at least every busy tick while
/// replies wait, so they still leave within a few milliseconds, between the replies
/// to what arrives meanwhile.
pub(crate) const RELEASED_PER_POLL: usize = 16;

impl<R, L> GroupCommit<R, L> {
    /// Queues a lease change and the reply (if any) that must wait for it.
    pub fn add(&mut self, lease: L, reply: Option<R>, now: Instant) {
        self.add_all(Some(lease), reply, now);
    }

    /// Queues lease changes and the reply (if any) that must wait for all of them.
    /// Nothing is queued when there are no leases (a reply that waits for nothing is
    /// the caller's to send).
    pub fn add_all(&mut self, leases: impl IntoIterator<Item = L>, reply: Option<R>, now: Instant) {
        let before = self.leases.len();
        self.leases.extend(leases);
        if self.leases.len() == before {
            return;
        }
        self.since.get_or_insert(now);
        if let Some(r) = reply {
            self.replies.push((r, before..self.leases.len()));
        }
    }

    /// Whether the last commit failed (the store cannot be written now).
    pub fn is_failing(&self) -> bool {
        self.failures > 0
    }

    /// Whether leases are queued or being written, or replies wait to be handed out:
    /// the caller should call `poll` again soon.
    pub fn is_busy(&self) -> bool {
        self.in_flight || !self.leases.is_empty() || !self.durable.is_empty()
    }

    /// Collects finished commits, appends up to `RELEASED_PER_POLL` of the replies they
    /// made durable to `released` (in order), and starts the next commit when the
    /// window has passed and none is in flight.
    pub fn poll(&mut self, now: Instant, released: &mut Vec<R>, events: &mut Vec<CommitEvent<L>>) {
        while let Ok(done) = self.from_worker.try_recv() {
            self.finish(done, events);
        }
        let n = self.durable.len().min(RELEASED_PER_POLL);
        released.extend(self.durable.drain(..n));
        let due = self.since.is_some_and(|s| now >= s + self.window)
            && self.retry_at.is_none_or(|r| now >= r);
        if !self.in_flight && due && !self.leases.is_empty() {
            self.dispatch();
        }
    }

    /// Commits everything queued and waits for it, at shutdown.
    pub fn flush(&mut self, released: &mut Vec<R>, events: &mut Vec<CommitEvent<L>>) {
        // The batch in flight, then what is queued, then once more if that commit
        // failed and put its leases back.
        for round in 0..3 {
            if self.in_flight {
                match self.from_worker.recv() {
                    Ok(done) => self.finish(done, events),
                    Err(_) => break,
                }
            }
            if round < 2 && !self.leases.is_empty() {
                self.dispatch();
            }
        }
        // Shutting down: every durable reply leaves now.
        released.extend(self.durable.drain(..));
    }

    fn dispatch(&mut self) {
        let batch = Batch {
            leases: std::mem::take(&mut self.leases),
            replies: std::mem::take(&mut self.replies),
        };
        self.since = None;
        if let Some(tx) = &self.to_worker
            && tx.send(batch).is_ok()
        {
            self.in_flight = true;
        }
    }

    fn finish(&mut self, done: Done<L, R>, events: &mut Vec<CommitEvent<L>>) {
        self.in_flight = false;
        if matches!(done, Done::Failed { .. }) {
            self.failures = self.failures.saturating_add(1);
            let backoff = Duration::from_millis(10) * 2u32.pow(self.failures.min(7) - 1);
            self.retry_at = Some(Instant::now() + backoff.min(MAX_BACKOFF));
        } else {
            self.failures = 0;
            self.retry_at = None;
        }
        match done {
            Done::Stored {
                leases,
                replies,
                written,
            } if written.refused.is_empty() => {
                events.push(CommitEvent::Stored {
                    leases,
                    replies: replies.len(),
                });
                self.durable.extend(replies.into_iter().map(|(r, _)| r));
            }
            Done::Stored {
                leases,
                replies,
                written,
            } => {
                // Refused leases are not stored, so the replies that wait for any of
                // them are withheld: their clients retry, and are answered from the
                // stored leases.
                let mut refused = vec![false; leases.len()];
                for &i in &written.refused {
                    if let Some(r) = refused.get_mut(i) {
                        *r = true;
                    }
                }
                let (mut kept, mut withheld) = (0, 0);
                for (reply, range) in replies {
                    if refused[range].contains(&true) {
                        withheld += 1;
                    } else {
                        kept += 1;
                        self.durable.push_back(reply);
                    }
                }
                let stored: Vec<L> = leases
                    .into_iter()
                    .zip(&refused)
                    .filter(|(_, r)| !**r)
                    .map(|(l, _)| l)
                    .collect();
                events.push(CommitEvent::Refused {
                    leases: written.refused.len(),
                    replies: withheld,
                    current: written.current,
                });
                events.push(CommitEvent::Stored {
                    leases: stored,
                    replies: kept,
                });
            }
            Done::Failed {
                mut leases,
                replies,
                error,
            } => {
                // Not durable, so not acknowledged (the clients will retry); the lease
                // changes go first in the next commit, and the replies still queued
                // wait for leases that have moved up by as many.
                events.push(CommitEvent::Failed {
                    leases: leases.len(),
                    replies,
                    error,
                });
                let queued = self.leases.len();
                leases.append(&mut self.leases);
                if leases.len() > MAX_RETAINED {
                    leases.drain(..leases.len() - MAX_RETAINED);
                }
                let moved = leases.len() as isize - queued as isize;
                let shift = |i: usize| (i as isize + moved).max(0) as usize;
                for (_, range) in &mut self.replies {
                    *range = shift(range.start)..shift(range.end);
                }
                self.leases = leases;
                self.since = Some(Instant::now());
            }
        }
    }
}

impl<R, L> Drop for GroupCommit<R, L> {
    fn drop(&mut self) {
        self.to_worker.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::numbered_lease;
    use crate::{MemoryStore, SqliteStore};
    use zerotouch_config::Synchronous;

    fn lease(i: u8) -> Lease4 {
        numbered_lease(i.into())
    }

    /// Polls until nothing is in flight or queued.
    fn settle<R>(gc: &mut GroupCommit<R, Lease4>, out: &mut Vec<R>, events: &mut Vec<CommitEvent>) {
        let start = Instant::now();
        while gc.is_busy() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "commit did not finish"
            );
            gc.poll(Instant::now(), out, events);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn replies_are_released_only_when_their_leases_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut gc = GroupCommit::start(
            Box::new(SqliteStore::open(&path, Synchronous::Full).unwrap()),
            Duration::from_millis(50),
        )
        .unwrap();
        let reader = SqliteStore::open(&path, Synchronous::Full).unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            gc.add(lease(i), Some(i), t0);
        }
        let (mut out, mut events) = (Vec::new(), Vec::new());
        gc.poll(t0, &mut out, &mut events);
        assert!(
            out.is_empty() && events.is_empty(),
            "the window has not passed"
        );
        assert!(
            reader.get4(Ipv4Addr::new(198, 18, 1, 0)).unwrap().is_none(),
            "nothing is written before the commit"
        );
        settle(&mut gc, &mut out, &mut events);
        assert_eq!(out, (0..10).collect::<Vec<u8>>());
        assert!(matches!(
            events[..],
            [CommitEvent::Stored { ref leases, replies: 10 }] if leases.len() == 10
        ));
        for i in 0..10 {
            assert!(reader.get4(Ipv4Addr::new(198, 18, 1, i)).unwrap().is_some());
        }
    }

    #[test]
    fn durable_replies_are_handed_out_a_share_per_poll_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("l.sqlite"), Synchronous::Full).unwrap();
        let mut gc = GroupCommit::start(Box::new(store), Duration::ZERO).unwrap();
        let t0 = Instant::now();
        for i in 0..40u8 {
            gc.add(lease(i), Some(i), t0);
        }
        let (mut out, mut events) = (Vec::new(), Vec::new());
        gc.poll(t0, &mut out, &mut events);
        while events.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            gc.poll(Instant::now(), &mut out, &mut events);
        }
        assert_eq!(out, (0..16).collect::<Vec<u8>>(), "one share");
        assert!(gc.is_busy(), "replies still wait");
        gc.poll(Instant::now(), &mut out, &mut events);
        assert_eq!(out, (0..32).collect::<Vec<u8>>());
        gc.add(lease(40), Some(40), Instant::now());
        gc.flush(&mut out, &mut events);
        assert_eq!(out, (0..41).collect::<Vec<u8>>(), "all of them at shutdown");
        assert!(!gc.is_busy());
    }

    #[test]
    fn a_failed_commit_withholds_the_replies_and_retries_the_leases() {
        let store = MemoryStore::new();
        let reader = store.clone();
        let failing = store.failure_switch();
        failing.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut gc = GroupCommit::start(Box::new(store), Duration::ZERO).unwrap();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        gc.add(lease(1), Some(1u8), Instant::now());
        gc.poll(Instant::now(), &mut out, &mut events);
        while events.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            gc.poll(Instant::now(), &mut out, &mut events);
        }
        assert!(matches!(
            events[0],
            CommitEvent::Failed {
                leases: 1,
                replies: 1,
                ..
            }
        ));
        assert!(out.is_empty(), "no ACK for a lease that is not durable");
        failing.store(false, std::sync::atomic::Ordering::Relaxed);
        gc.add(lease(2), Some(2), Instant::now());
        settle(&mut gc, &mut out, &mut events);
        assert_eq!(out, vec![2]);
        assert!(matches!(
            events[1],
            CommitEvent::Stored { ref leases, replies: 1 } if leases.len() == 2
        ));
        assert!(
            reader.get4(Ipv4Addr::new(198, 18, 1, 1)).unwrap().is_some(),
            "the failed lease was written by the retry"
        );
    }

    /// A lease of another server's client where this server wrote one: the store
    /// refuses it.
    fn held_elsewhere(store: &MemoryStore, i: u8) -> Lease4 {
        let mut other = lease(200);
        other.address = lease(i).address;
        store.store_elsewhere(other.clone());
        other
    }

    #[test]
    fn a_refused_lease_withholds_only_the_replies_that_wait_for_it() {
        let store = MemoryStore::new();
        let other = held_elsewhere(&store, 5);
        let mut gc = GroupCommit::start(Box::new(store), Duration::ZERO).unwrap();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        let now = Instant::now();
        gc.add(lease(1), Some(1u8), now);
        gc.add_all([lease(2), lease(5)], Some(2), now);
        gc.add(lease(3), Some(3), now);
        settle(&mut gc, &mut out, &mut events);
        assert_eq!(out, vec![1, 3]);
        assert!(matches!(
            &events[0],
            CommitEvent::Refused { leases: 1, replies: 1, current } if current == &vec![other]
        ));
        assert!(matches!(
            &events[1],
            CommitEvent::Stored { leases, replies: 2 } if leases.len() == 3
        ));
    }

    #[test]
    fn replies_queued_behind_a_failed_commit_still_wait_for_their_own_leases() {
        let store = MemoryStore::new();
        held_elsewhere(&store, 5);
        let failing = store.failure_switch();
        failing.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut gc = GroupCommit::start(Box::new(store), Duration::ZERO).unwrap();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        gc.add(lease(1), None, Instant::now());
        gc.poll(Instant::now(), &mut out, &mut events);
        // Queued while the first commit is in flight; that commit fails and its lease
        // goes back in front of this one.
        gc.add(lease(5), Some(5u8), Instant::now());
        while events.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            gc.poll(Instant::now(), &mut out, &mut events);
        }
        assert!(matches!(events[0], CommitEvent::Failed { leases: 1, .. }));
        failing.store(false, std::sync::atomic::Ordering::Relaxed);
        settle(&mut gc, &mut out, &mut events);
        assert!(out.is_empty(), "the reply waited for the refused lease");
        assert!(matches!(
            events[1],
            CommitEvent::Refused {
                leases: 1,
                replies: 1,
                ..
            }
        ));
    }

    #[test]
    fn flush_commits_everything_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut gc = GroupCommit::start(
            Box::new(SqliteStore::open(&path, Synchronous::Full).unwrap()),
            Duration::from_secs(60),
        )
        .unwrap();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        gc.add(lease(1), Some(1u8), Instant::now());
        gc.flush(&mut out, &mut events);
        assert_eq!(out, vec![1]);
        assert!(!gc.is_busy());
    }
}
