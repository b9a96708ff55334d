//! UDP: a datagram is a message. Each listen address has a thread of its own on the
//! batched socket of the DHCP path (recvmmsg, an 8 MiB receive buffer). Under load (a
//! full batch, or work still waiting) it only reads, and hands what each system call
//! brought to a second thread that tags and queues it, through a backlog of up to
//! [`BACKLOG`] octets: a burst faster than the tagging waits there instead of
//! overflowing the kernel's buffer; past the backlog, datagrams are dropped and counted
//! (`dropped_backlog`). Otherwise it tags them itself, saving the handoff.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use zerotouch_net::{BatchSocket, IpFamily, RecvBatch, ServingThread, StopFlag, V4, V6};

use super::Sink;

/// How long a receive waits before the thread looks whether it should stop.
const TICK: Duration = Duration::from_millis(200);
/// Datagrams read in one system call.
const BATCH: usize = 32;
/// Room for the longest datagram (a longer `max_message` cannot be set).
const BUFFER: usize = 65_536;
/// Octets of datagrams read and not yet tagged, at most.
pub(crate) const BACKLOG: usize = 64 << 20;

/// A receiving thread, stopped (and its address freed) when dropped.
pub(crate) type Receiver = ServingThread;

/// What one system call brought: the datagrams end to end, each's end and sender.
struct Chunk {
    data: Vec<u8>,
    messages: Vec<(usize, IpAddr)>,
}

/// Binds `address` and takes messages on it from threads of its own until dropped.
pub(crate) fn listen(address: SocketAddr, sink: Arc<Sink>) -> std::io::Result<Receiver> {
    let name = format!("syslog-udp {address}");
    if address.is_ipv4() {
        let socket = BatchSocket::<V4>::bind_at(address, TICK)?;
        ServingThread::spawn(name, move |stop| read(socket, sink, stop))
    } else {
        let socket = BatchSocket::<V6>::bind_at(address, TICK)?;
        ServingThread::spawn(name, move |stop| read(socket, sink, stop))
    }
}

/// Reads until `stop` is set, then waits for the tagging thread to finish the backlog.
fn read<F: IpFamily>(socket: BatchSocket<F>, sink: Arc<Sink>, stop: StopFlag)
where
    F::Addr: Into<SocketAddr>,
{
    let backlog = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Chunk>();
    let tagging = {
        let (sink, backlog) = (sink.clone(), backlog.clone());
        std::thread::Builder::new()
            .name("syslog-tag".into())
            .spawn(move || tag(rx, &sink, &backlog))
    };
    let Ok(tagging) = tagging else {
        tracing::error!("syslog: cannot start the UDP tagging thread");
        return;
    };
    let mut batch = RecvBatch::<F>::with_buffers(BATCH, BUFFER);
    while !stop.is_set() {
        socket.recv_or_idle(&mut batch, "syslog");
        if batch.is_empty() {
            continue;
        }
        let max = sink.max_message.load(Ordering::Relaxed);
        let mut chunk = Chunk {
            data: Vec::new(),
            messages: Vec::with_capacity(batch.len()),
        };
        for i in 0..batch.len() {
            let d = batch.get(i);
            sink.counts.received_udp.fetch_add(1, Ordering::Relaxed);
            if d.data.len() > max || batch.truncated(i) {
                sink.counts.too_long.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            chunk.data.extend_from_slice(d.data);
            let src: SocketAddr = d.src.into();
            chunk.messages.push((chunk.data.len(), src.ip()));
        }
        let size = chunk.data.len();
        let waiting = backlog.load(Ordering::Acquire);
        if waiting == 0 && batch.len() < BATCH {
            // The socket is drained and nothing waits: tagged here, without a handoff
            // (and so in order).
            tag_chunk(&chunk, &sink);
            continue;
        }
        if waiting + size > BACKLOG {
            (sink.counts.backlog).fetch_add(chunk.messages.len() as u64, Ordering::Relaxed);
            continue;
        }
        backlog.fetch_add(size, Ordering::Relaxed);
        if tx.send(chunk).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = tagging.join();
}

/// Tags and queues what `rx` brings until the reading thread is gone.
fn tag(rx: mpsc::Receiver<Chunk>, sink: &Sink, backlog: &AtomicUsize) {
    while let Ok(chunk) = rx.recv() {
        tag_chunk(&chunk, sink);
        backlog.fetch_sub(chunk.data.len(), Ordering::Release);
    }
}

fn tag_chunk(chunk: &Chunk, sink: &Sink) {
    let mut start = 0;
    for &(end, peer) in &chunk.messages {
        sink.take(&chunk.data[start..end], peer);
        start = end;
    }
}
