//! The listeners: UDP and TCP on each address of `listen`, all answering through one
//! [`Handler`]. They are the plugin's own rather than hickory's `Server`, which counts
//! nothing, spawns a task per datagram, and bounds neither the TCP connections nor the
//! time a frame may take to arrive.

mod tcp;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use zerotouch_plugin::{PluginError, ServiceHost};

use crate::server::Handler;

/// Limits of the TCP listeners (RFC 7766 §6.2.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// A connection without a query for this long is closed.
    pub idle: Duration,
    /// A query must arrive whole within this time of its first octet, and an answer
    /// be taken by the client within it.
    pub frame: Duration,
    /// Open connections in all, and from one address.
    pub connections: usize,
    pub per_source: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle: Duration::from_secs(10),
            frame: Duration::from_secs(2),
            connections: 256,
            per_source: 16,
        }
    }
}

/// The largest query accepted over TCP: a question and an OPT record fit in far less.
pub(crate) const MAX_TCP_QUERY: usize = 4096;

/// The receive buffer asked for on each UDP socket: a burst of queries waits there
/// while a core is busy instead of being dropped by the kernel (the system's
/// `net.core.rmem_max` may grant less).
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// A non-blocking UDP socket bound to `address`, with a large receive buffer.
fn udp_socket(address: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    // Best effort: a smaller buffer only means earlier drops under a burst.
    let _ = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER);
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Binds every address of `listen` (UDP and TCP), so a taken port fails the start, and
/// serves them on the host's runtime until the task is aborted.
pub(crate) fn serve(
    host: &ServiceHost,
    listen: &[SocketAddr],
    handler: Arc<Handler>,
    limits: TcpLimits,
) -> Result<JoinHandle<()>, PluginError> {
    let _guard = host.runtime.enter();
    let mut tasks = tokio::task::JoinSet::new();
    for &address in listen {
        let udp = udp_socket(address)
            .map_err(|e| PluginError::new(format!("cannot listen on {address} (UDP): {e}")))?;
        let udp = tokio::net::UdpSocket::from_std(udp)?;
        let tcp = host.bind_tcp(address)?;
        tasks.spawn(udp::serve(Arc::new(udp), handler.clone()));
        tasks.spawn(tcp::serve(tcp, handler.clone(), limits));
    }
    // Aborting this task drops the set, which aborts every listener (and the TCP
    // listeners' connections with them).
    Ok(host
        .runtime
        .spawn(async move { while tasks.join_next().await.is_some() {} }))
}
