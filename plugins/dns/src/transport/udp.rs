//! UDP: one datagram, one answer (or none), sent back from the address it was sent to.
//! Each listen address has a thread of its own on the batched socket of the DHCP path
//! (recvmmsg, sendmmsg): under load one system call reads or writes many datagrams, and
//! an idle socket costs no reactor wakeups. An answer that waits for an upstream server
//! is finished on the service runtime and sent from the same socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use zerotouch_net::{
    BatchSocket, IpFamily, Outgoing, RecvBatch, SendScratch, ServingThread, StopFlag, V4, V6,
};

use crate::counts::Bad;
use crate::server::{Handler, Reply};

/// How long a receive waits before the thread looks whether it should stop.
const TICK: Duration = Duration::from_millis(200);
/// Datagrams read in one system call.
const BATCH: usize = 32;

/// A listening thread, stopped (and its address freed) when dropped.
pub(super) type Listener = ServingThread;

/// Binds `address` and answers on it from a thread of its own until dropped.
pub(super) fn listen(
    address: SocketAddr,
    handler: Arc<Handler>,
    runtime: tokio::runtime::Handle,
) -> std::io::Result<Listener> {
    let name = format!("dns-udp {address}");
    if address.is_ipv4() {
        let socket = Arc::new(BatchSocket::<V4>::bind_at(address, TICK)?);
        ServingThread::spawn(name, move |stop| serve(socket, handler, runtime, stop))
    } else {
        let socket = Arc::new(BatchSocket::<V6>::bind_at(address, TICK)?);
        ServingThread::spawn(name, move |stop| serve(socket, handler, runtime, stop))
    }
}

/// Serves `socket` until `stop` is set.
fn serve<F: IpFamily + Send + Sync>(
    socket: Arc<BatchSocket<F>>,
    handler: Arc<Handler>,
    runtime: tokio::runtime::Handle,
    stop: StopFlag,
) where
    F::Addr: Into<SocketAddr> + Send,
    F::Ip: Send,
{
    let mut batch = RecvBatch::<F>::new(BATCH);
    let mut out: Vec<Outgoing<F>> = Vec::with_capacity(BATCH);
    let mut scratch = SendScratch::default();
    while !stop.is_set() {
        socket.recv_or_idle(&mut batch, "dns");
        out.clear();
        for i in 0..batch.len() {
            let d = batch.get(i);
            handler.counts.udp_received.fetch_add(1, Ordering::Relaxed);
            let src: SocketAddr = d.src.into();
            if src.port() == 0 {
                handler.counts.bad(Bad::SourcePort);
                continue;
            }
            // From the address the query was sent to, out of the interface it came in.
            let (dst, ifindex, local) = (d.src, d.ifindex, d.local);
            match handler.handle(d.data, src, Protocol::Udp) {
                None => {}
                Some(Reply::Now(data)) => out.push(Outgoing {
                    data,
                    dst,
                    ifindex,
                    src: local,
                }),
                Some(forward) => {
                    let socket = socket.clone();
                    runtime.spawn(async move {
                        let data = forward.resolve(false).await;
                        let answer = Outgoing {
                            data,
                            dst,
                            ifindex,
                            src: local,
                        };
                        socket.send_batch(&[answer], &mut SendScratch::default());
                    });
                }
            }
        }
        for (i, e) in socket.send_batch(&out, &mut scratch) {
            tracing::debug!(dst = %out[i].dst, "dns: cannot send an answer: {e}");
        }
    }
}
