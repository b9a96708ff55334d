//! Receiving RELP (rsyslog's `omrelp`, a device or a relay that must lose nothing):
//! the session's `open` is answered with our offers, each `syslog` transaction is
//! taken like any message and answered `200 OK` once it is queued for every collector
//! (and appended to their spools, on disk within the next batch), and `close` ends the
//! session. A sender that gets no answer sends again: at least once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

use super::Sink;
use super::limits::Slot;
use crate::relp::{encode, read_frame};

/// What this receiver offers at `open`.
const OFFERS: &[u8] = b"200 OK\nrelp_version=0\nrelp_software=zerotouch\ncommands=syslog";

/// Accepts RELP senders on `listener` until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, sink: Arc<Sink>) {
    super::accept(listener, sink, session).await
}

/// One sender's session, until it closes or breaks.
async fn session(stream: TcpStream, peer: SocketAddr, sink: Arc<Sink>, _slot: Slot) {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    loop {
        let frame = match tokio::time::timeout(super::TCP_IDLE, read_frame(&mut r)).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                debug!(%peer, "syslog: a RELP session ended: {e}");
                sink.counts.broken_count.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(_) => return,
        };
        let answer = match frame.command.as_str() {
            "open" => encode(frame.txnr, "rsp", OFFERS),
            "syslog" => {
                sink.counts.received_relp.fetch_add(1, Ordering::Relaxed);
                if frame.data.len() > sink.max_message.load(Ordering::Relaxed) {
                    sink.counts.too_long.fetch_add(1, Ordering::Relaxed);
                } else {
                    sink.take(&frame.data, peer.ip());
                }
                encode(frame.txnr, "rsp", b"200 OK")
            }
            "close" => {
                let mut bye = encode(frame.txnr, "rsp", b"");
                bye.extend_from_slice(&encode(0, "serverclose", b""));
                let _ = w.write_all(&bye).await;
                return;
            }
            other => {
                debug!(%peer, command = other, "syslog: an unknown RELP command");
                encode(frame.txnr, "rsp", b"500 unknown command")
            }
        };
        if w.write_all(&answer).await.is_err() {
            return;
        }
    }
}
