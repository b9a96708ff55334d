//! To the collectors: each has a queue of its own, in order, bounded (the oldest go
//! first when it is full, counted), and a task that sends it over UDP, or over TCP with
//! octet counting (RFC 6587), connecting again after a failure with a growing pause. A
//! message is taken off the queue once the kernel accepted it; what the kernel held
//! when a TCP collector went away is lost (plain TCP has no acknowledgement).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::settings::{Collector, Transport};

/// The longest pause between attempts to reach a collector.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One collector's messages.
#[derive(Debug)]
pub(crate) struct Queue {
    pub collector: Collector,
    messages: Mutex<VecDeque<Arc<str>>>,
    capacity: usize,
    more: Notify,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
}

impl Queue {
    pub(crate) fn new(collector: Collector, capacity: usize) -> Queue {
        Queue {
            collector,
            messages: Mutex::default(),
            capacity,
            more: Notify::new(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Adds `message` at the end; the oldest goes when the queue is full.
    pub(crate) fn push(&self, message: Arc<str>) {
        let mut q = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= self.capacity {
            q.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        q.push_back(message);
        drop(q);
        self.more.notify_one();
    }

    fn front(&self) -> Option<Arc<str>> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .front()
            .cloned()
    }

    /// Removes the front message once it was sent (unless the queue dropped it
    /// meanwhile).
    fn sent(&self, message: &Arc<str>) {
        let mut q = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        if q.front().is_some_and(|f| Arc::ptr_eq(f, message)) {
            q.pop_front();
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// The next message, waiting for one.
    async fn next(&self) -> Arc<str> {
        loop {
            let notified = self.more.notified();
            if let Some(m) = self.front() {
                return m;
            }
            notified.await;
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
        let m = queue.next().await;
        match socket.send(m.as_bytes()).await {
            Ok(_) => queue.sent(&m),
            // The collector's port was closed a moment ago (ICMP): try again later.
            Err(e) => return Err(e),
        }
    }
}

async fn tcp(queue: &Queue, address: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    info!(collector = %address, "syslog: connected to the collector");
    loop {
        let m = queue.next().await;
        let framed = format!("{} {}", m.len(), m);
        stream.write_all(framed.as_bytes()).await?;
        queue.sent(&m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts_them() {
        let q = Queue::new(
            Collector {
                address: "127.0.0.1:514".parse().unwrap(),
                transport: Transport::Udp,
            },
            2,
        );
        for m in ["a", "b", "c"] {
            q.push(Arc::from(m));
        }
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
        let front = q.front().unwrap();
        assert_eq!(&*front, "b");
        q.sent(&front);
        assert_eq!(q.front().as_deref(), Some("c"));
    }
}
