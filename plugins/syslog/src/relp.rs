//! RELP, rsyslog's reliable event logging protocol, as a client: each message is a
//! `syslog` command with a transaction number, and stays in its collector's queue (and
//! spool) until the collector answers `200 OK` for that number. Up to [`WINDOW`]
//! messages are in flight; a connection that breaks sends again, on the next one, every
//! message not yet answered: at least once, in order.
//!
//! A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tracing::info;

use crate::forward::{BATCH_BYTES, Queue};

/// Messages sent and not yet answered, at most.
pub(crate) const WINDOW: usize = 128;
/// The longest a collector may take to answer the session's opening.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest frame taken from a collector (answers are short).
const MAX_FRAME: usize = 64 * 1024;

/// One frame: transaction number, command, data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub txnr: u32,
    pub command: String,
    pub data: Vec<u8>,
}

/// `frame` in wire format.
pub(crate) fn encode(txnr: u32, command: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{txnr} {command} {}", data.len()).into_bytes();
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
    out
}

fn broken(why: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.into())
}

/// One header field: the octets up to a space or a line feed, and which ended it.
async fn word<R: AsyncBufReadExt + Unpin>(r: &mut R, max: usize) -> std::io::Result<(Vec<u8>, u8)> {
    let mut w = Vec::new();
    loop {
        let b = r.read_u8().await?;
        if b == b' ' || b == b'\n' {
            return Ok((w, b));
        }
        if w.len() >= max {
            return Err(broken("a RELP header field is too long"));
        }
        w.push(b);
    }
}

/// Reads one frame.
pub(crate) async fn read_frame<R: AsyncBufReadExt + Unpin>(r: &mut R) -> std::io::Result<Frame> {
    let (txnr, _) = word(r, 9).await?;
    let txnr: u32 = std::str::from_utf8(&txnr)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| broken("a RELP transaction number is not a number"))?;
    let (command, _) = word(r, 32).await?;
    let command = String::from_utf8(command).map_err(|_| broken("a RELP command is not text"))?;
    let (len, after) = word(r, 9).await?;
    let len: usize = std::str::from_utf8(&len)
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|&l| l <= MAX_FRAME)
        .ok_or_else(|| broken("a RELP data length is not a number"))?;
    let mut data = vec![0u8; len];
    if len > 0 {
        if after != b' ' {
            return Err(broken("RELP data without its space"));
        }
        r.read_exact(&mut data).await?;
        if r.read_u8().await? != b'\n' {
            return Err(broken("a RELP frame without its trailer"));
        }
    } else if after != b'\n' {
        // `DATALEN SP LF` also ends an empty frame.
        if r.read_u8().await? != b'\n' {
            return Err(broken("a RELP frame without its trailer"));
        }
    }
    Ok(Frame {
        txnr,
        command,
        data,
    })
}

/// The next transaction number after `n` (they wrap after 999 999 999, to 1).
fn next(n: u32) -> u32 {
    if n >= 999_999_999 { 1 } else { n + 1 }
}

/// Reads frames from `r` into `tx` until the stream ends or breaks: those one read
/// brought in go together.
async fn reader(mut r: BufReader<OwnedReadHalf>, tx: mpsc::Sender<std::io::Result<Vec<Frame>>>) {
    loop {
        let mut frames = Vec::new();
        let read = loop {
            match read_frame(&mut r).await {
                Ok(f) => frames.push(f),
                Err(e) => break Err(e),
            }
            if r.buffer().is_empty() {
                break Ok(());
            }
        };
        let end = read.is_err();
        if !frames.is_empty() && tx.send(Ok(frames)).await.is_err() {
            return;
        }
        if let Err(e) = read {
            let _ = tx.send(Err(e)).await;
        }
        if end {
            return;
        }
    }
}

/// Sends `queue` to its RELP collector at `address` until the connection fails.
pub(crate) async fn run(queue: &Queue, address: SocketAddr) -> std::io::Result<()> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let (tx, mut frames) = mpsc::channel(WINDOW);
    let reading = tokio::spawn(reader(BufReader::new(r), tx));
    let _stop_reading = AbortOnDrop(reading);
    let offer = b"relp_version=0\nrelp_software=zerotouch\ncommands=syslog";
    w.write_all(&encode(1, "open", offer)).await?;
    let answers = tokio::time::timeout(OPEN_TIMEOUT, frames.recv())
        .await
        .map_err(|_| broken("no answer to the RELP open"))?
        .ok_or_else(|| broken("the collector closed the RELP session"))??;
    let answer = answers
        .into_iter()
        .next()
        .ok_or_else(|| broken("no answer to the RELP open"))?;
    if answer.txnr != 1 || answer.command != "rsp" || !answer.data.starts_with(b"200") {
        return Err(broken(format!(
            "the collector refused the RELP session: {}",
            String::from_utf8_lossy(&answer.data)
        )));
    }
    info!(collector = %address, "syslog: RELP session open");
    let mut txnr = 1;
    // Sent and not yet answered: transaction number and queue sequence number.
    let mut in_flight: VecDeque<(u32, u64)> = VecDeque::new();
    let mut last_sent: Option<u64> = None;
    let mut out = Vec::with_capacity(BATCH_BYTES);
    loop {
        tokio::select! {
            batch = queue.next_after(last_sent, WINDOW - in_flight.len(), BATCH_BYTES), if in_flight.len() < WINDOW => {
                out.clear();
                for (seq, m) in batch {
                    txnr = next(txnr);
                    out.extend_from_slice(&encode(txnr, "syslog", m.as_bytes()));
                    in_flight.push_back((txnr, seq));
                    last_sent = Some(seq);
                }
                w.write_all(&out).await?;
            }
            f = frames.recv() => {
                // This answer and those already read: the queue is told once, also
                // of those answered before a broken one.
                let mut acked = None;
                let mut next_frames = f.ok_or_else(|| broken("the RELP session ended"));
                let result = loop {
                    let checked = next_frames.and_then(|f| f).and_then(|frames| {
                        frames.iter().try_for_each(|f| {
                            acked = Some(answered(f, &mut in_flight)?);
                            Ok(())
                        })
                    });
                    if let Err(e) = checked {
                        break Err(e);
                    }
                    match frames.try_recv() {
                        Ok(f) => next_frames = Ok(f),
                        Err(_) => break Ok(()),
                    }
                };
                if let Some(seq) = acked {
                    queue.sent(seq);
                }
                result?;
            }
        }
    }
}

/// Checks answer `f` against the oldest transaction in flight and takes it off;
/// returns the queue sequence number it acknowledges.
fn answered(f: &Frame, in_flight: &mut VecDeque<(u32, u64)>) -> std::io::Result<u64> {
    match f.command.as_str() {
        "rsp" => {
            let Some((expected, seq)) = in_flight.pop_front() else {
                return Err(broken("an answer to nothing sent"));
            };
            if f.txnr != expected || !f.data.starts_with(b"200") {
                return Err(broken(format!(
                    "the collector answered {} for transaction {}: {}",
                    f.txnr,
                    expected,
                    String::from_utf8_lossy(&f.data)
                )));
            }
            Ok(seq)
        }
        "serverclose" => Err(broken("the collector closed the RELP session")),
        other => Err(broken(format!("an unexpected RELP command {other:?}"))),
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_written_and_read_as_librelp_does() {
        assert_eq!(encode(2, "syslog", b"<13>1 x"), b"2 syslog 7 <13>1 x\n");
        assert_eq!(encode(3, "close", b""), b"3 close 0\n");
        let wire = b"1 rsp 6 200 OK\n2 rsp 0\n0 serverclose 0\n";
        let mut r = BufReader::new(&wire[..]);
        let f = read_frame(&mut r).await.unwrap();
        assert_eq!(
            (f.txnr, f.command.as_str(), &f.data[..]),
            (1, "rsp", &b"200 OK"[..])
        );
        let f = read_frame(&mut r).await.unwrap();
        assert_eq!((f.txnr, f.data.len()), (2, 0));
        assert_eq!(read_frame(&mut r).await.unwrap().command, "serverclose");
        let mut bad = BufReader::new(&b"x rsp 0\n"[..]);
        assert!(read_frame(&mut bad).await.is_err());
        assert_eq!(next(999_999_999), 1);
    }
}
