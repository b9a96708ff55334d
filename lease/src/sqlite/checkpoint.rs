//! WAL checkpoints off the commit path. SQLite's automatic checkpoint runs inside the
//! commit that takes the WAL past 1000 pages: that commit copies the pages into the
//! database file and fsyncs it, milliseconds during which the next batch's ACKs wait,
//! to leave afterwards as a burst. The writer's automatic checkpoint is switched off and
//! this thread runs a passive checkpoint on a connection of its own at an interval: a
//! passive checkpoint never blocks the writer (it copies what is committed and leaves
//! the rest for the next one), and the writer starts the WAL over once a checkpoint
//! has copied all of it.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tracing::{trace, warn};

use super::SqliteStore;
use crate::backend::StoreError;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};

/// Between checkpoints. At 30 000 lease writes a second the WAL grows by about 1500
/// pages a second, so it stays within a few megabytes.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

pub(super) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Takes the automatic checkpoint away from `writer` and starts checkpointing its
    /// database every `interval`, and once more when dropped.
    pub(super) fn start(writer: &SqliteStore, interval: Duration) -> Result<Self, StoreError> {
        let conn = writer.checkpoint_connection()?;
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lease-checkpoint".into())
            .spawn(move || {
                let mut limiter = LogLimiter::new(1, Duration::from_secs(60));
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    checkpoint(&conn, &mut limiter);
                    if last {
                        break;
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        // Only once the checkpointer runs: a writer without either would let the WAL
        // grow without bound.
        writer.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// One passive checkpoint; a failure is logged (rate-limited) and the next interval
/// tries again.
fn checkpoint(conn: &Connection, limiter: &mut LogLimiter) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match result {
        Ok((busy, wal_pages, copied)) => {
            trace!(busy, wal_pages, copied, "lease database checkpoint");
        }
        Err(e) => {
            if let Verdict::Log { suppressed } = limiter.check("checkpoint", Instant::now()) {
                warn!(
                    suppressed,
                    "lease database checkpoint failed (retried): {e}"
                );
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lease4;
    use crate::backend::LeaseBackend;
    use crate::numbered_lease;
    use zerotouch_config::Synchronous;

    fn leases(from: u32, n: u32) -> Vec<Lease4> {
        (from..from + n).map(numbered_lease).collect()
    }

    /// A new store in a temporary directory, and its database file's size.
    fn fresh_store(sync: Synchronous) -> (tempfile::TempDir, std::path::PathBuf, SqliteStore, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let store = SqliteStore::open(&path, sync).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        (dir, path, store, size)
    }

    /// Writes 4000 leases in 80 transactions; returns the database file's size.
    fn write_many(store: &mut SqliteStore, path: &std::path::Path) -> u64 {
        for batch in 0..80 {
            store.write4(&leases(batch * 50, 50)).unwrap();
        }
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn the_writer_never_checkpoints_and_the_checkpointer_does() {
        let (_dir, path, mut store, before) = fresh_store(Synchronous::Full);
        let checkpointer = Checkpointer::start(&store, Duration::from_secs(3600)).unwrap();
        let written = write_many(&mut store, &path);
        assert_eq!(
            written, before,
            "with the automatic checkpoint off, everything stays in the WAL"
        );
        drop(checkpointer);
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(
            after > before + 100_000,
            "the last checkpoint copied the leases into the database ({before} -> {after})"
        );
        let reader = SqliteStore::open_reader(&path).unwrap();
        assert_eq!(reader.load4().unwrap().leases.len(), 4000);
    }

    #[test]
    fn checkpoints_run_at_the_interval_while_the_writer_writes() {
        let (_dir, path, mut store, before) = fresh_store(Synchronous::Normal);
        let _checkpointer = Checkpointer::start(&store, Duration::from_millis(20)).unwrap();
        write_many(&mut store, &path);
        let start = Instant::now();
        while std::fs::metadata(&path).unwrap().len() < before + 100_000 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no checkpoint copied the leases into the database"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
