//! Forwarding (off unless `forward` is set): a query for a name in no zone of this
//! server, from a client `forward.clients` lists, goes as it came (its EDNS record
//! included) to the upstream servers in turn, each given `forward.timeout`, under an ID
//! of its own from a socket of its own; the first answer goes back to the client under
//! the client's ID, as the upstream wrote it. A truncated answer to a client that
//! asked over TCP is asked again over TCP. Nothing is cached: the clients' own
//! resolvers cache. Other clients are refused, so the server is no open resolver.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout;
use tracing::debug;

/// Forwarded queries waiting for an upstream at once; past it, SERVFAIL at once.
const OUTSTANDING: usize = 1024;

/// Where names outside the zones go, and for whom.
#[derive(Debug)]
pub(crate) struct Forwarder {
    servers: Vec<SocketAddr>,
    clients: Vec<IpNet>,
    timeout: Duration,
    outstanding: Arc<Semaphore>,
    counts: Arc<Counts>,
}

/// The forwarder's counts.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    forwarded: AtomicU64,
    failed: AtomicU64,
    busy: AtomicU64,
    refused: AtomicU64,
}

impl Counts {
    pub(crate) fn all(&self) -> Vec<(&'static str, u64)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("forwarded", v(&self.forwarded)),
            ("forward_failed", v(&self.failed)),
            ("forward_busy", v(&self.busy)),
            ("forward_refused", v(&self.refused)),
        ]
    }
}

/// A slot among the outstanding forwards.
pub(crate) struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Forwarder {
    pub(crate) fn new(
        servers: Vec<SocketAddr>,
        clients: Vec<IpNet>,
        timeout: Duration,
        counts: Arc<Counts>,
    ) -> Self {
        Forwarder {
            servers,
            clients,
            timeout,
            outstanding: Arc::new(Semaphore::new(OUTSTANDING)),
            counts,
        }
    }

    /// Whether `client` may have names outside the zones forwarded; counts a refusal.
    pub(crate) fn allows(&self, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        let ok = self.clients.iter().any(|n| n.contains(&client));
        if !ok {
            self.counts.refused.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// A slot for one more forward, unless too many wait already (counted).
    pub(crate) fn slot(&self) -> Option<Slot> {
        match self.outstanding.clone().try_acquire_owned() {
            Ok(p) => Some(Slot(p)),
            Err(_) => {
                self.counts.busy.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The upstream's answer to `query` (wire format), under the query's own ID; `None`
    /// when no upstream answered (counted). `tcp`: the client asked over TCP.
    pub(crate) async fn forward(&self, query: &[u8], tcp: bool, _slot: Slot) -> Option<Vec<u8>> {
        let client_id = [*query.first()?, *query.get(1)?];
        for &server in &self.servers {
            let id = (std::collections::hash_map::RandomState::new().hash_one(server) as u16)
                .to_be_bytes();
            let mut ours = query.to_vec();
            ours[..2].copy_from_slice(&id);
            let answer = match self.over_udp(server, &ours, id).await {
                Ok(a) if tcp && a.get(2).is_some_and(|f| f & 0x02 != 0) => {
                    self.over_tcp(server, &ours, id).await
                }
                other => other,
            };
            match answer {
                Ok(mut a) => {
                    a[..2].copy_from_slice(&client_id);
                    self.counts.forwarded.fetch_add(1, Ordering::Relaxed);
                    return Some(a);
                }
                Err(e) => debug!(%server, "dns: forwarding failed: {e}"),
            }
        }
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
        None
    }

    async fn over_udp(
        &self,
        server: SocketAddr,
        query: &[u8],
        id: [u8; 2],
    ) -> std::io::Result<Vec<u8>> {
        let any: IpAddr = if server.is_ipv4() {
            Ipv4Addr::UNSPECIFIED.into()
        } else {
            Ipv6Addr::UNSPECIFIED.into()
        };
        let socket = UdpSocket::bind((any, 0)).await?;
        socket.connect(server).await?;
        socket.send(query).await?;
        let mut buf = vec![0u8; 65_535];
        let exchange = async {
            loop {
                let n = socket.recv(&mut buf).await?;
                // The answer to this query: its ID, the QR bit. Anything else is noise.
                if n >= 12 && buf[..2] == id && buf[2] & 0x80 != 0 {
                    return Ok::<_, std::io::Error>(buf[..n].to_vec());
                }
            }
        };
        timeout(self.timeout, exchange)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))?
    }

    async fn over_tcp(
        &self,
        server: SocketAddr,
        query: &[u8],
        id: [u8; 2],
    ) -> std::io::Result<Vec<u8>> {
        let exchange = async {
            let mut stream = TcpStream::connect(server).await?;
            let len = u16::try_from(query.len()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "query too long")
            })?;
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend_from_slice(query);
            stream.write_all(&framed).await?;
            let n = usize::from(stream.read_u16().await?);
            let mut answer = vec![0u8; n];
            stream.read_exact(&mut answer).await?;
            if n < 12 || answer[..2] != id {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "not the answer to the query",
                ));
            }
            Ok(answer)
        };
        timeout(self.timeout, exchange)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))?
    }
}
