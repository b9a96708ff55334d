//! TCP (RFC 7766): each message is framed by its two-octet length; a client may send
//! several queries without waiting (pipelining) and gets the answers in order. A
//! connection is closed when it is idle too long, when a frame does not arrive whole in
//! time (a slow-loris client), when a frame is longer than any query, or at once when
//! there are already too many connections.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::{debug, warn};

use super::{MAX_TCP_QUERY, TcpLimits};
use crate::counts::Bad;
use crate::server::Handler;

/// Open connections by source address.
#[derive(Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// One open connection, counted until dropped.
struct Slot {
    open: Arc<Mutex<Open>>,
    source: IpAddr,
}

impl Slot {
    /// A slot for a connection from `source`, when the limits allow it.
    fn take(open: &Arc<Mutex<Open>>, source: IpAddr, limits: &TcpLimits) -> Option<Slot> {
        let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
        let mine = o.by_source.get(&source).copied().unwrap_or(0);
        if o.total >= limits.connections || mine >= limits.per_source {
            return None;
        }
        o.total += 1;
        o.by_source.insert(source, mine + 1);
        Some(Slot {
            open: open.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(|p| p.into_inner());
        o.total -= 1;
        if let Some(n) = o.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                o.by_source.remove(&self.source);
            }
        }
    }
}

/// Accepts connections on `listener` until the task is aborted.
pub(super) async fn serve(listener: TcpListener, handler: Arc<Handler>, limits: TcpLimits) {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(got) => got,
            Err(e) => {
                // Out of descriptors or memory: wait a little rather than spin.
                debug!("dns: accepting a TCP connection failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // Finished connections' results are not needed: reap them as we go.
        while connections.try_join_next().is_some() {}
        let Some(slot) = Slot::take(&open, peer.ip(), &limits) else {
            handler.counts.bad(Bad::TcpConnectionLimit);
            continue;
        };
        handler
            .counts
            .tcp_connections
            .fetch_add(1, Ordering::Relaxed);
        connections.spawn(connection(stream, peer, handler.clone(), limits, slot));
    }
}

/// Why a connection ended.
enum End {
    /// The client closed it, or it failed.
    Closed,
    Idle,
    Bad(Bad),
}

/// Answers the queries of one connection, in order, until it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<Handler>,
    limits: TcpLimits,
    _slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let end = loop {
        let frame = match next_frame(&mut read, &limits).await {
            Ok(f) => f,
            Err(end) => break end,
        };
        handler.counts.tcp_received.fetch_add(1, Ordering::Relaxed);
        let Some(reply) = handler.handle(&frame, peer, Protocol::Tcp) else {
            continue;
        };
        // Answers go in order: the next query waits for an upstream's answer.
        let answer = reply.resolve(true).await;
        let Ok(length) = u16::try_from(answer.len()) else {
            warn!(%peer, "dns: an answer of {} octets does not fit a TCP frame", answer.len());
            break End::Closed;
        };
        let mut framed = Vec::with_capacity(2 + answer.len());
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(&answer);
        match timeout(limits.frame, write.write_all(&framed)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break End::Closed,
            Err(_) => break End::Bad(Bad::TcpTooSlow),
        }
    };
    match end {
        End::Closed => {}
        End::Idle => {
            handler
                .counts
                .tcp_idle_closed
                .fetch_add(1, Ordering::Relaxed);
        }
        End::Bad(why) => {
            debug!(%peer, reason = why.name(), "dns: TCP connection closed");
            handler.counts.bad(why);
        }
    }
}

/// The next framed message: its first octet within the idle time, the rest within the
/// frame time of it.
async fn next_frame(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    limits: &TcpLimits,
) -> Result<Vec<u8>, End> {
    let first = match timeout(limits.idle, read.read_u8()).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(End::Closed),
        Err(_) => return Err(End::Idle),
    };
    let rest = async {
        let second = read.read_u8().await.map_err(|_| End::Closed)?;
        let length = usize::from(u16::from_be_bytes([first, second]));
        if length > MAX_TCP_QUERY {
            return Err(End::Bad(Bad::TcpFrameTooLarge));
        }
        let mut frame = vec![0u8; length];
        read.read_exact(&mut frame).await.map_err(|_| End::Closed)?;
        Ok(frame)
    };
    match timeout(limits.frame, rest).await {
        Ok(got) => got,
        Err(_) => Err(End::Bad(Bad::TcpTooSlow)),
    }
}
