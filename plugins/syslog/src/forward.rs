//! To the collectors: each has a queue of its own, in order, bounded (the oldest go
//! first when it is full, counted), and a task that sends it over UDP, or over TCP or
//! TLS with octet counting (RFC 6587, RFC 5425), connecting again after a failure with
//! a growing pause. Over UDP a message leaves the queue once the kernel took it; over
//! TCP and TLS once the collector's TCP acknowledged it (`acked.rs`), so what the
//! kernel held when a collector went away is sent again.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::acked::Unacked;
use crate::settings::{Collector, Transport};
use crate::spool::Spool;

/// Messages, and about how many octets of them, written to a collector at once.
pub(crate) const BATCH: usize = 256;
pub(crate) const BATCH_BYTES: usize = 64 << 10;

/// How long a sender that waited for a message waits for more before it writes.
pub(crate) const LINGER: Duration = Duration::from_millis(1);

/// How often a sender with unacknowledged batches and nothing new to send looks again.
const ACK_POLL: Duration = Duration::from_millis(10);
/// A connection whose data goes unacknowledged this long is given up.
const USER_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest pause between attempts to reach a collector.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One collector's messages, in order, each with its sequence number.
#[derive(Debug)]
pub(crate) struct Queue {
    pub collector: Collector,
    /// Over TLS: how to connect.
    pub tls: Option<crate::tls::Tls>,
    inner: Mutex<Inner>,
    pub capacity: usize,
    more: Notify,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub spool_failed: AtomicU64,
}

/// What a queue hands to the one that follows it.
#[derive(Debug)]
pub(crate) struct Handover {
    messages: VecDeque<(u64, Arc<str>)>,
    spool: Option<Spool>,
    /// Sent, dropped, spool failures.
    counts: [u64; 3],
}

/// Where the queue that follows another keeps its messages.
pub(crate) enum Succession {
    /// The spool the queue before had, now with this bound.
    Keep(u64),
    /// Another spool, opened, with what it held.
    Open(Spool, Vec<(u64, String)>),
    // Memory only.
    None,
}

#[derive(Debug)]
struct Inner {
    messages: VecDeque<(u64, Arc<str>)>,
    /// On disk too, when the collector has a spool.
    spool: Option<Spool>,
    /// The next sequence number, without a spool.
    next: u64,
}

impl Queue {
    /// A queue of at most `capacity` messages in memory, or, with `spool`, of the
    /// messages that spool holds (its bound), starting with those it kept.
    pub(crate) fn new(
        collector: Collector,
        capacity: usize,
        spool: Option<(Spool, Vec<(u64, String)>)>,
    ) -> Queue {
        let (spool, kept) = match spool {
            Some((s, kept)) => (Some(s), kept),
            None => (None, Vec::new()),
        };
        Queue {
            collector,
            tls: None,
            inner: Mutex::new(Inner {
                messages: kept
                    .into_iter()
                    .map(|(seq, m)| (seq, Arc::from(m)))
                    .collect(),
                spool,
                next: 0,
            }),
            capacity,
            more: Notify::new(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            spool_failed: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `message` at the end; the oldest go when the queue (or its spool) is full.
    pub(crate) fn push(&self, message: Arc<str>) {
        let mut q = self.lock();
        let (seq, mut dropped) = match q.spool.as_mut().map(|s| s.append(&message)) {
            Some(Ok(appended)) => appended,
            Some(Err(e)) => {
                // The disk failed: the message stays in memory only.
                self.disk_failed("write", &e);
                let next = q.messages.back().map_or(0, |m| m.0 + 1);
                (next, 0)
            }
            None => {
                q.next += 1;
                (q.next - 1, 0)
            }
        };
        if q.spool.is_none() && q.messages.len() >= self.capacity {
            dropped += 1;
        }
        for _ in 0..dropped {
            q.messages.pop_front();
        }
        if dropped > 0 {
            let before = self.dropped.fetch_add(dropped, Ordering::Relaxed);
            // Said at the first and then at every thousandth, with the count so far.
            if before == 0 || before / 1000 != (before + dropped) / 1000 {
                warn!(
                    collector = %self.collector.address,
                    dropped = before + dropped,
                    "syslog: the collector's queue is full: its oldest messages are given up"
                );
            }
        }
        q.messages.push_back((seq, message));
        drop(q);
        self.more.notify_one();
    }

    /// The spool's folder, when the queue has a spool.
    pub(crate) fn spool_dir(&self) -> Option<PathBuf> {
        self.lock().spool.as_ref().map(|s| s.dir().to_path_buf())
    }

    /// Messages waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.lock().messages.len()
    }

    /// The queue's messages and its spool, taken from it for the queue that follows it
    /// (a `SIGHUP` changed its collector); it is left empty.
    pub(crate) fn hand_over(&self) -> Handover {
        let mut q = self.lock();
        if let Some(Err(e)) = q.spool.as_mut().map(Spool::sync) {
            self.disk_failed("sync", &e);
        }
        Handover {
            messages: std::mem::take(&mut q.messages),
            spool: q.spool.take(),
            counts: [&self.sent, &self.dropped, &self.spool_failed]
                .map(|c| c.load(Ordering::Relaxed)),
        }
    }

    /// The queue that follows `before` for `collector`: its messages, in order, and
    /// its counts. `spool` is where they are kept now: `Keep(bound)` the spool
    /// `before` had, `Open` another (the messages are written there and given up in
    /// the old one), `None` memory only (at most `capacity`, the oldest given up,
    /// counted).
    pub(crate) fn follow(
        collector: Collector,
        capacity: usize,
        before: Handover,
        spool: Succession,
    ) -> Queue {
        let Handover {
            messages,
            spool: old,
            counts: [sent, dropped, failed],
        } = before;
        let q = Queue::new(collector, capacity, None);
        q.sent.store(sent, Ordering::Relaxed);
        q.dropped.store(dropped, Ordering::Relaxed);
        q.spool_failed.store(failed, Ordering::Relaxed);
        let last = messages.back().map(|m| m.0);
        let mut old = old;
        match spool {
            // The same spool, its messages (and their sequence numbers) with it.
            Succession::Keep(bound) if old.is_some() => {
                let mut inner = q.lock();
                inner.spool = old.take().map(|mut s| {
                    s.set_bound(bound);
                    s
                });
                inner.messages = messages;
            }
            // Another spool: what it held first, then the messages written to it.
            Succession::Open(spool, kept) => {
                {
                    let mut inner = q.lock();
                    inner.messages = kept
                        .into_iter()
                        .map(|(seq, m)| (seq, Arc::from(m)))
                        .collect();
                    inner.spool = Some(spool);
                }
                messages.into_iter().for_each(|(_, m)| q.push(m));
                q.sync();
            }
            // Memory only.
            Succession::Keep(_) | Succession::None => {
                messages.into_iter().for_each(|(_, m)| q.push(m));
            }
        }
        // The messages live on in the new queue: the old spool has delivered them.
        if let (Some(old), Some(last)) = (old.as_mut(), last) {
            old.delivered(last);
            if let Err(e) = old.sync() {
                q.disk_failed("sync", &e);
            }
        }
        q
    }

    #[cfg(test)]
    fn front(&self) -> Option<(u64, Arc<str>)> {
        self.lock().messages.front().cloned()
    }

    /// The messages up to `seq` were sent: off the queue, and delivered in the spool.
    pub(crate) fn sent(&self, seq: u64) {
        let mut q = self.lock();
        let mut n = 0;
        while q.messages.front().is_some_and(|f| f.0 <= seq) {
            q.messages.pop_front();
            n += 1;
        }
        if let Some(s) = q.spool.as_mut() {
            s.delivered(seq);
        }
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Writes the spool's batch to disk (fsync), when there is a spool.
    pub(crate) fn sync(&self) {
        let mut q = self.lock();
        if let Some(Err(e)) = q.spool.as_mut().map(Spool::sync) {
            self.disk_failed("sync", &e);
        }
    }

    /// Counts a failure of the spool's disk, and says so once in a thousand.
    fn disk_failed(&self, what: &str, e: &std::io::Error) {
        if self
            .spool_failed
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1000)
        {
            warn!(collector = %self.collector.address, "syslog: cannot {what} the spool: {e}");
        }
    }

    /// The messages after sequence number `after` (from the front without one), in
    /// order, at most `count` of them and about `bytes` octets (one at least), waiting
    /// for one. When it had to wait, it lingers [`LINGER`] after the first arrives, so
    /// the messages of a trickle go out together rather than each with a wakeup and a
    /// write of its own.
    pub(crate) async fn next_after(
        &self,
        after: Option<u64>,
        count: usize,
        bytes: usize,
    ) -> Vec<(u64, Arc<str>)> {
        let mut waited = false;
        loop {
            let notified = self.more.notified();
            if waited {
                tokio::time::sleep(LINGER).await;
            }
            {
                let q = self.lock();
                let skip = after.map_or(0, |a| q.messages.partition_point(|m| m.0 <= a));
                let mut taken = 0;
                let found: Vec<(u64, Arc<str>)> = (q.messages.range(skip..))
                    .take(count)
                    .take_while(|m| {
                        let first = taken == 0;
                        taken += m.1.len();
                        first || taken <= bytes
                    })
                    .cloned()
                    .collect();
                if !found.is_empty() {
                    return found;
                }
            }
            notified.await;
            waited = true;
        }
    }
}

/// Sends `queue` to its collector until the task is aborted.
pub(crate) async fn run(queue: Arc<Queue>) {
    let address = queue.collector.address;
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = match queue.collector.transport {
            Transport::Udp => udp(&queue, address).await,
            Transport::Tcp => tcp(&queue, address).await,
            Transport::Relp => crate::relp::run(&queue, address).await,
            Transport::Tls => tls(&queue, address).await,
        };
        if let Err(e) = result {
            warn!(collector = %address, "syslog: collector unreachable, retrying in {backoff:?}: {e}");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn udp(queue: &Queue, address: SocketAddr) -> std::io::Result<()> {
    let any: SocketAddr = if address.is_ipv4() {
        "0.0.0.0:0".parse().expect("an address")
    } else {
        "[::]:0".parse().expect("an address")
    };
    let socket = UdpSocket::bind(any).await?;
    socket.connect(address).await?;
    loop {
        for (seq, m) in queue.next_after(None, BATCH, BATCH_BYTES).await {
            // An error: the collector's port was closed a moment ago (ICMP); again later.
            socket.send(m.as_bytes()).await?;
            queue.sent(seq);
        }
    }
}

/// Connects to the collector at `address`: no delay, and a connection whose data goes
/// unacknowledged for [`USER_TIMEOUT`] is given up (then sent again on a new one).
async fn connect(address: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    socket2::SockRef::from(&stream).set_tcp_user_timeout(Some(USER_TIMEOUT))?;
    Ok(stream)
}

async fn tcp(queue: &Queue, address: SocketAddr) -> std::io::Result<()> {
    let stream = connect(address).await?;
    info!(collector = %address, "syslog: connected to the collector");
    let fd = stream.as_raw_fd();
    framed(queue, stream, fd).await
}

async fn tls(queue: &Queue, address: SocketAddr) -> std::io::Result<()> {
    let Some(tls) = &queue.tls else {
        return Err(std::io::Error::other(
            "a TLS collector without its TLS settings",
        ));
    };
    let stream = connect(address).await?;
    // The TLS stream owns the socket from here on; its descriptor stays the same.
    let fd = stream.as_raw_fd();
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let stream = connector.connect(tls.name.clone(), stream).await?;
    info!(collector = %address, "syslog: connected to the collector over TLS");
    framed(queue, stream, fd).await
}

/// Sends `queue` octet counted (RFC 6587, RFC 5425) on `stream` (TCP socket `fd`)
/// until it fails: what is waiting goes in one write, up to [`BATCH`] messages, and
/// leaves the queue once the collector's TCP acknowledged it (`acked.rs`).
async fn framed<S: tokio::io::AsyncWrite + Unpin>(
    queue: &Queue,
    mut stream: S,
    fd: RawFd,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(BATCH_BYTES + 16 * BATCH);
    let mut unacked = Unacked::default();
    let mut last_sent = None;
    loop {
        tokio::select! {
            batch = queue.next_after(last_sent, BATCH, BATCH_BYTES) => {
                out.clear();
                for (_, m) in &batch {
                    out.extend_from_slice(format!("{} ", m.len()).as_bytes());
                    out.extend_from_slice(m.as_bytes());
                }
                stream.write_all(&out).await?;
                stream.flush().await?;
                if let Some(&(last, _)) = batch.last() {
                    unacked.wrote(fd, last)?;
                    last_sent = Some(last);
                }
            }
            _ = tokio::time::sleep(ACK_POLL), if unacked.waiting() => {}
        }
        if let Some(seq) = unacked.acknowledged(fd)? {
            queue.sent(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector() -> Collector {
        Collector {
            address: "127.0.0.1:514".parse().unwrap(),
            transport: Transport::Udp,
            severity: None,
            facilities: Vec::new(),
            tagged_only: false,
            ca: None,
            server_name: None,
        }
    }

    /// The messages waiting in `q`, in order.
    fn waiting(q: &Queue) -> Vec<String> {
        q.lock().messages.iter().map(|m| m.1.to_string()).collect()
    }

    #[test]
    fn a_queue_that_follows_another_takes_its_messages_in_order_wherever_they_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        // Memory, then a spool: the messages are written there.
        let first = Queue::new(collector(), 10, None);
        for m in ["1", "2", "3"] {
            first.push(Arc::from(m));
        }
        first.sent(0);
        let (spool, kept) = Spool::open(&a, 1 << 20).unwrap();
        let second = Queue::follow(
            collector(),
            10,
            first.hand_over(),
            Succession::Open(spool, kept),
        );
        assert_eq!(waiting(&second), ["2", "3"]);
        let on_disk: Vec<String> = Spool::open(&a, 1 << 20)
            .unwrap()
            .1
            .into_iter()
            .map(|m| m.1)
            .collect();
        assert_eq!(on_disk, ["2", "3"], "written to the spool they move to");
        assert_eq!(second.sent.load(Ordering::Relaxed), 1, "the counts go on");
        assert!(waiting(&first).is_empty());
        // The same spool: it goes with them; more messages on the way.
        second.push(Arc::from("4"));
        let third = Queue::follow(
            collector(),
            10,
            second.hand_over(),
            Succession::Keep(1 << 20),
        );
        assert_eq!(third.spool_dir().as_deref(), Some(a.as_path()));
        assert_eq!(waiting(&third), ["2", "3", "4"]);
        // Another folder: moved, and given up in the first (nothing comes back there).
        let (spool, kept) = Spool::open(&b, 1 << 20).unwrap();
        let fourth = Queue::follow(
            collector(),
            10,
            third.hand_over(),
            Succession::Open(spool, kept),
        );
        drop(fourth);
        assert!(Spool::open(&a, 1 << 20).unwrap().1.is_empty());
        let back: Vec<String> = Spool::open(&b, 1 << 20)
            .unwrap()
            .1
            .into_iter()
            .map(|m| m.1)
            .collect();
        assert_eq!(back, ["2", "3", "4"], "on disk in the new spool");
        // Memory only, and smaller: the oldest go, counted.
        let (spool, kept) = Spool::open(&b, 1 << 20).unwrap();
        let fifth = Queue::new(collector(), 10, Some((spool, kept)));
        let sixth = Queue::follow(collector(), 2, fifth.hand_over(), Succession::None);
        assert_eq!(waiting(&sixth), ["3", "4"]);
        assert_eq!(sixth.dropped.load(Ordering::Relaxed), 1);
        assert!(
            Spool::open(&b, 1 << 20).unwrap().1.is_empty(),
            "the spool was turned off"
        );
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts_them() {
        let q = Queue::new(collector(), 2, None);
        for m in ["a", "b", "c"] {
            q.push(Arc::from(m));
        }
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
        let (seq, front) = q.front().unwrap();
        assert_eq!((seq, &*front), (1, "b"));
        q.sent(seq);
        assert_eq!(q.front().map(|f| f.1.to_string()).as_deref(), Some("c"));
    }
}
