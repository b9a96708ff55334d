//! Group commit: the packet loop hands over leases with the replies that must wait for
//! them; this thread writes everything that has queued up in one transaction, then
//! delivers the replies. Under load a commit carries many leases, so durability costs
//! one fsync per batch instead of one per ACK.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::model::Lease4;
use super::store::LeaseStore;

/// Leases to make durable and the replies (of any type `R`) to deliver once they are.
pub struct CommitJob<R> {
    pub leases: Vec<Lease4>,
    pub replies: Vec<R>,
}

/// The packet loop's side of the commit thread.
pub struct CommitQueue<R> {
    tx: SyncSender<CommitJob<R>>,
}

impl<R> Clone for CommitQueue<R> {
    fn clone(&self) -> Self {
        CommitQueue {
            tx: self.tx.clone(),
        }
    }
}

/// Jobs queued at most; a full queue blocks the packet loop, so the kernel's socket
/// buffer, not memory, absorbs a burst the disk cannot keep up with.
const QUEUE_DEPTH: usize = 1024;
/// Leases per transaction at most, to bound the latency of the first reply in a batch.
const MAX_BATCH: usize = 4096;
const RETRIES: u32 = 3;

impl<R> CommitQueue<R> {
    /// Queues `job`; `Err` returns it when the commit thread has stopped.
    pub fn submit(&self, job: CommitJob<R>) -> Result<(), CommitJob<R>> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => self.tx.send(job).map_err(|e| e.0),
            Err(TrySendError::Disconnected(job)) => Err(job),
        }
    }
}

/// Statistics the commit thread reports through `on_batch`.
#[derive(Debug, Clone, Copy)]
pub struct BatchReport {
    pub leases: usize,
    pub replies: usize,
    pub ok: bool,
}

pub struct Committer;

impl Committer {
    /// Starts the commit thread. `deliver` sends replies whose leases are durable;
    /// `on_batch` sees every batch (for counters and logs). The thread ends, after
    /// committing what was queued, when every [`CommitQueue`] is dropped.
    pub fn spawn<R: Send + 'static>(
        mut store: LeaseStore,
        window: Duration,
        mut deliver: impl FnMut(Vec<R>) + Send + 'static,
        mut on_batch: impl FnMut(BatchReport, Option<&super::StoreError>) + Send + 'static,
    ) -> std::io::Result<(CommitQueue<R>, JoinHandle<()>)> {
        let (tx, rx) = sync_channel(QUEUE_DEPTH);
        let handle = std::thread::Builder::new()
            .name("lease-commit".into())
            .spawn(move || {
                let mut leases = Vec::new();
                let mut replies = Vec::new();
                while next_batch(&rx, window, &mut leases, &mut replies) {
                    let mut result = store.write(&leases);
                    let mut attempt = 1;
                    while result.is_err() && attempt < RETRIES {
                        std::thread::sleep(Duration::from_millis(50 * attempt as u64));
                        result = store.write(&leases);
                        attempt += 1;
                    }
                    let report = BatchReport {
                        leases: leases.len(),
                        replies: replies.len(),
                        ok: result.is_ok(),
                    };
                    on_batch(report, result.as_ref().err());
                    leases.clear();
                    if result.is_ok() {
                        deliver(std::mem::take(&mut replies));
                    } else {
                        // Not durable, so not acknowledged: the clients will retry.
                        replies.clear();
                    }
                }
            })?;
        Ok((CommitQueue { tx }, handle))
    }
}

/// Blocks for one job, lets `window` pass so more can queue up, then takes all that
/// did. Sleeping through the window, rather than waking for each job, costs one wake-up
/// per batch instead of one per received packet batch.
fn next_batch<R>(
    rx: &Receiver<CommitJob<R>>,
    window: Duration,
    leases: &mut Vec<Lease4>,
    replies: &mut Vec<R>,
) -> bool {
    let Ok(first) = rx.recv() else { return false };
    leases.extend(first.leases);
    replies.extend(first.replies);
    if !window.is_zero() {
        std::thread::sleep(window);
    }
    while leases.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => {
                leases.extend(job.leases);
                replies.extend(job.replies);
            }
            Err(_) => break,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::config::Synchronous;
    use crate::lease::{ClientKey, LeaseState};

    #[test]
    fn replies_are_delivered_only_after_their_leases_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let store = LeaseStore::open(&path, Synchronous::Full).unwrap();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let d = delivered.clone();
        let check_path = path.clone();
        let (queue, handle) = Committer::spawn(
            store,
            Duration::from_millis(1),
            move |replies: Vec<Ipv4Addr>| {
                // Every lease is already readable by another connection.
                let reader = LeaseStore::open(&check_path, Synchronous::Full).unwrap();
                for a in &replies {
                    assert!(
                        reader.get(*a).unwrap().is_some(),
                        "{a} delivered before it was stored"
                    );
                }
                d.lock().unwrap().extend(replies);
            },
            |_, _| {},
        )
        .unwrap();
        for i in 0..200u8 {
            let address = Ipv4Addr::new(198, 18, 1, i);
            let lease = Lease4 {
                address,
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
            };
            assert!(
                queue
                    .submit(CommitJob {
                        leases: vec![lease],
                        replies: vec![address]
                    })
                    .is_ok()
            );
        }
        drop(queue);
        handle.join().unwrap();
        assert_eq!(delivered.lock().unwrap().len(), 200);
    }
}
