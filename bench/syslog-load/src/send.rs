//! The load generator: numbered messages over UDP, paced in 1 ms steps, sent in
//! batches of up to 64 with sendmmsg.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Messages sent in one system call.
const BATCH: u64 = 64;

#[derive(clap::Args)]
pub(crate) struct Options {
    /// Where to send.
    #[arg(long)]
    to: SocketAddr,
    /// Messages to send, numbered from 0.
    #[arg(long)]
    count: u64,
    /// Messages a second (0: as fast as it can).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Octets a message has (padded).
    #[arg(long, default_value_t = 200)]
    size: usize,
}

pub(crate) fn run(o: &Options) -> anyhow::Result<()> {
    let any: SocketAddr = if o.to.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(o.to)?;
    let head = "<13>1 2026-12-04T20:00:00.000000Z dev-0001 agent 4242 - - bootstrap step ";
    let pad = o.size.saturating_sub(head.len() + 16);
    let body = format!("{head}{}", "x".repeat(pad));
    let start = Instant::now();
    let mut failed = 0u64;
    // Messages due in one pacing step, at most a batch.
    let step = if o.rate > 0 {
        (o.rate / 1000).clamp(1, BATCH)
    } else {
        BATCH
    };
    let mut seq = 0;
    while seq < o.count {
        if o.rate > 0 {
            // Not ahead of the schedule.
            let due = Duration::from_secs_f64(seq as f64 / o.rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let n = step.min(o.count - seq);
        let messages: Vec<String> = (seq..seq + n)
            .map(|s| format!("{body} seq {s:010}"))
            .collect();
        failed += n - send_batch(&socket, &messages);
        seq += n;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sent={} failed={failed} secs={secs:.3} rate={:.0}",
        o.count,
        o.count as f64 / secs
    );
    Ok(())
}

/// Sends `messages` on connected `socket` with sendmmsg; returns how many were sent.
fn send_batch(socket: &UdpSocket, messages: &[String]) -> u64 {
    let mut iovs: Vec<libc::iovec> = messages
        .iter()
        .map(|m| libc::iovec {
            iov_base: m.as_ptr() as *mut libc::c_void,
            iov_len: m.len(),
        })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| {
            // SAFETY: mmsghdr is plain old data; all zeroes is a valid (empty) value.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect();
    let mut sent = 0;
    while sent < hdrs.len() {
        // SAFETY: each header points at an iovec and a message that outlive the call.
        let r = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                hdrs[sent..].as_mut_ptr(),
                (hdrs.len() - sent) as libc::c_uint,
                0,
            )
        };
        if r <= 0 {
            // The one that failed is skipped (counted by the caller).
            return sent as u64;
        }
        sent += r as usize;
    }
    sent as u64
}
