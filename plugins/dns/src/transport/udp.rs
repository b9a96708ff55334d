//! UDP: one datagram, one answer (or none), sent back to where it came from.

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hickory_server::net::xfer::Protocol;
use tokio::net::UdpSocket;
use tracing::{debug, warn};

use crate::counts::Bad;
use crate::server::{Handler, Reply};

/// Serves `socket` until the task is aborted or the socket fails for good.
pub(super) async fn serve(socket: Arc<UdpSocket>, handler: Arc<Handler>) {
    // Any datagram fits: a longer query than this does not exist.
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, src) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            // An ICMP error from an earlier answer's destination, or a signal.
            Err(e) if is_transient(e.kind()) => continue,
            Err(e) => {
                warn!(
                    "dns: receiving on {:?} failed, this listener stops: {e}",
                    socket.local_addr()
                );
                return;
            }
        };
        handler.counts.udp_received.fetch_add(1, Ordering::Relaxed);
        if src.port() == 0 {
            handler.counts.bad(Bad::SourcePort);
            continue;
        }
        let answer = match handler.handle(&buf[..n], src, Protocol::Udp) {
            None => continue,
            Some(Reply::Now(answer)) => answer,
            Some(forward) => {
                // The upstream's answer in a task of its own: the socket serves on.
                let socket = socket.clone();
                tokio::spawn(async move {
                    let _ = socket.send_to(&forward.resolve(false).await, src).await;
                });
                continue;
            }
        };
        if let Err(e) = socket.send_to(&answer, src).await {
            debug!(%src, "dns: cannot send an answer: {e}");
        }
    }
}

fn is_transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
    )
}
