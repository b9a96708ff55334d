//! The receivers: UDP (a datagram is a message) and TCP (framed, `framing`), each on
//! every address of `listen`. Each message is tagged with who sent it and queued for
//! every collector; bad input (a message too long, a broken count) is dropped and
//! counted, and the receiver goes on.

mod framing;
pub(crate) mod limits;
pub(crate) mod relp;
pub(crate) mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tracing::debug;

use crate::devices::{Devices, Who};
use crate::forward::Queue;
use crate::message;
use crate::recent::Recent;
use framing::{Broken, Deframer, Frame};

/// A TCP sender that sends nothing for this long is closed.
pub(crate) const TCP_IDLE: Duration = Duration::from_secs(300);

/// The receivers' counts.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub received_udp: AtomicU64,
    pub received_tcp: AtomicU64,
    pub received_relp: AtomicU64,
    pub unparsed: AtomicU64,
    pub too_long: AtomicU64,
    pub broken_count: AtomicU64,
    pub rate_limited: AtomicU64,
    pub connection_limit: AtomicU64,
    /// UDP datagrams past the backlog of those not yet tagged.
    pub backlog: AtomicU64,
}

impl Counts {
    pub(crate) fn all(&self) -> Vec<(&'static str, u64)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("received_udp", v(&self.received_udp)),
            ("received_tcp", v(&self.received_tcp)),
            ("received_relp", v(&self.received_relp)),
            ("unparsed", v(&self.unparsed)),
            ("dropped_too_long", v(&self.too_long)),
            ("dropped_broken_count", v(&self.broken_count)),
            ("dropped_rate_limited", v(&self.rate_limited)),
            ("dropped_connection_limit", v(&self.connection_limit)),
            ("dropped_backlog", v(&self.backlog)),
        ]
    }
}

/// Where received messages go. What a `SIGHUP` may change (the collectors, the
/// limits, the receiver's certificate) is read at each message or connection.
pub(crate) struct Sink {
    pub devices: Arc<RwLock<Devices>>,
    pub queues: ArcSwap<Vec<Arc<Queue>>>,
    pub counts: Arc<Counts>,
    pub max_message: AtomicUsize,
    /// Messages a second from one source.
    pub rate: limits::RateLimit,
    /// TCP connections from one source.
    pub connections: Arc<limits::Connections>,
    /// The devices' last lines, and whether they are kept.
    pub recent: Arc<Mutex<Recent>>,
    pub keep_recent: AtomicBool,
    /// The receiver's TLS setup, for `listen_tls`.
    pub acceptor: ArcSwapOption<tokio_rustls::TlsAcceptor>,
}

impl Sink {
    /// Tags `raw` from `peer` and queues it for every collector, unless `peer` is over
    /// its rate.
    pub(crate) fn take(&self, raw: &[u8], peer: IpAddr) {
        if !self.rate.allow(peer, std::time::Instant::now()) {
            self.counts.rate_limited.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let who = self.devices.read().map(|d| d.who(peer)).unwrap_or_default();
        let now = chrono::Utc::now();
        let tagged = message::tag(raw, peer, &who, now);
        if !tagged.parsed {
            self.counts.unparsed.fetch_add(1, Ordering::Relaxed);
        }
        self.forward(tagged, peer, &who, now);
    }

    /// Queues `tagged` (about `peer`, who is `who`, at `now`) for every collector whose
    /// filters take it, and keeps it among the device's last lines.
    pub(crate) fn forward(
        &self,
        tagged: message::Tagged,
        peer: IpAddr,
        who: &Who,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let line: Arc<str> = Arc::from(tagged.line);
        if who.known()
            && self.keep_recent.load(Ordering::Relaxed)
            && let Ok(mut recent) = self.recent.lock()
        {
            recent.record(peer, who, line.clone(), now.timestamp_millis());
        }
        for q in self
            .queues
            .load()
            .iter()
            .filter(|q| q.collector.accepts(tagged.traits))
        {
            q.push(line.clone());
        }
    }
}

/// Accepts TCP senders on `listener` until the task is aborted.
pub(crate) async fn tcp(listener: TcpListener, sink: Arc<Sink>) {
    accept(listener, sink, sender).await
}

/// Accepts connections on `listener`, each within its source's limit served by
/// `serve` in a task of its own, until the task is aborted.
pub(crate) async fn accept<F, Fut>(listener: TcpListener, sink: Arc<Sink>, serve: F)
where
    F: Fn(TcpStream, SocketAddr, Arc<Sink>, limits::Slot) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut senders = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while senders.try_join_next().is_some() {}
        let Some(slot) = sink.connections.take(peer.ip()) else {
            sink.counts.connection_limit.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        senders.spawn(serve(stream, peer, sink.clone(), slot));
    }
}

/// Reads one TCP sender's messages until it closes, idles or breaks its framing.
async fn sender(stream: TcpStream, peer: SocketAddr, sink: Arc<Sink>, slot: limits::Slot) {
    read_framed(stream, peer, sink, slot).await
}

/// Accepts TLS senders (RFC 5425) on `listener`, each handshake bounded in time and
/// made with the certificate of the moment, until the task is aborted.
pub(crate) async fn tls(listener: TcpListener, sink: Arc<Sink>) {
    accept(listener, sink, move |stream, peer, sink, slot| {
        let acceptor = sink.acceptor.load_full();
        async move {
            let Some(acceptor) = acceptor else { return };
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls)) => read_framed(tls, peer, sink, slot).await,
                Ok(Err(e)) => debug!(%peer, "syslog: a TLS handshake failed: {e}"),
                Err(_) => debug!(%peer, "syslog: a TLS handshake took too long"),
            }
        }
    })
    .await
}

/// Reads one stream's framed messages until it closes, idles or breaks its framing.
async fn read_framed<S: tokio::io::AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    sink: Arc<Sink>,
    _slot: limits::Slot,
) {
    let mut deframer = Deframer::new(sink.max_message.load(Ordering::Relaxed));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(TCP_IDLE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        match deframer.push(&buf[..n]) {
            Ok(frames) => {
                for f in frames {
                    match f {
                        Frame::Message(m) => {
                            sink.counts.received_tcp.fetch_add(1, Ordering::Relaxed);
                            sink.take(&m, peer.ip());
                        }
                        Frame::TooLong => {
                            sink.counts.too_long.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            Err(Broken::Count) => {
                debug!(%peer, "syslog: a broken octet count: the connection is closed");
                sink.counts.broken_count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}
