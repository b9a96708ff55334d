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

/// The listeners of every address of `listen`; dropping it stops them all (the UDP
/// threads are waited for, so the addresses are free again).
pub(crate) struct Listeners {
    udp: Vec<udp::Listener>,
    tcp: JoinHandle<()>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        // Aborting the task drops its set, which aborts every TCP listener and the
        // connections with them.
        self.tcp.abort();
        self.udp.clear();
    }
}

/// Binds every address of `listen` (UDP and TCP), so a taken port fails the start, and
/// serves them until the result is dropped: UDP on threads of its own, TCP on the
/// host's runtime.
pub(crate) fn serve(
    host: &ServiceHost,
    listen: &[SocketAddr],
    handler: Arc<Handler>,
    limits: TcpLimits,
) -> Result<Listeners, PluginError> {
    let _guard = host.runtime.enter();
    let mut tasks = tokio::task::JoinSet::new();
    let mut udp = Vec::with_capacity(listen.len());
    for &address in listen {
        udp.push(
            udp::listen(address, handler.clone(), host.runtime.clone())
                .map_err(|e| PluginError::new(format!("cannot listen on {address} (UDP): {e}")))?,
        );
        let tcp = host.bind_tcp(address)?;
        tasks.spawn(tcp::serve(tcp, handler.clone(), limits));
    }
    let tcp = host
        .runtime
        .spawn(async move { while tasks.join_next().await.is_some() {} });
    Ok(Listeners { udp, tcp })
}
