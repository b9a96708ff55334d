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
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backend::{LeaseBackend, StoreError, Upkeep};
use crate::Lease4;
use crate::Lease6;

/// A lease record the store can write in batches: DHCPv4 and DHCPv6 leases go through
/// the same group commit, each to its own table.
pub trait StoredLease: Clone + Send + 'static {
    fn write_batch(store: &mut dyn LeaseBackend, batch: &[Self]) -> Result<(), StoreError>;
}

impl StoredLease for Lease4 {
    fn write_batch(store: &mut dyn LeaseBackend, batch: &[Self]) -> Result<(), StoreError> {
        store.write4(batch)
    }
}

impl StoredLease for Lease6 {
    fn write_batch(store: &mut dyn LeaseBackend, batch: &[Self]) -> Result<(), StoreError> {
        store.write6(batch)
    }
}

/// Leases kept for another attempt after failed commits, at most.
const MAX_RETAINED: usize = 100_000;

struct Batch<L, R> {
    leases: Vec<L>,
    replies: Vec<R>,
}

enum Done<L, R> {
    Stored {
        leases: Vec<L>,
        replies: Vec<R>,
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
    replies: Vec<R>,
    /// Replies whose leases are durable, handed out `RELEASED_PER_POLL` at a time.
    durable: VecDeque<R>,
    since: Option<Instant>,
    in_flight: bool,
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
                        Ok(()) => Done::Stored {
                            leases: batch.leases,
                            replies: batch.replies,
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
        self.replies.extend(reply);
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
        let due = self.since.is_some_and(|s| now >= s + self.window);
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
        match done {
            Done::Stored {
                leases,
                mut replies,
            } => {
                events.push(CommitEvent::Stored {
                    leases,
                    replies: replies.len(),
                });
                self.durable.extend(replies.drain(..));
            }
            Done::Failed {
                mut leases,
                replies,
                error,
            } => {
                // Not durable, so not acknowledged (the clients will retry); the lease
                // changes go first in the next commit.
                events.push(CommitEvent::Failed {
                    leases: leases.len(),
                    replies,
                    error,
                });
                leases.append(&mut self.leases);
                if leases.len() > MAX_RETAINED {
                    leases.drain(..leases.len() - MAX_RETAINED);
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
