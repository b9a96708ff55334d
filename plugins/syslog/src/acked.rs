//! What the collector's TCP acknowledged of what was written to it: plain TCP says no
//! more, but the kernel knows how much of the stream the peer acknowledged
//! (`TCP_INFO`'s `tcpi_bytes_acked`) and how much it still holds (`SIOCOUTQ`). A
//! batch leaves the queue only once the peer acknowledged its last octet; what was
//! written and not acknowledged when the connection broke is sent again on the next.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

/// `TCP_ESTABLISHED` in `tcpi_state`.
const ESTABLISHED: u8 = 1;

/// The batches written and not yet acknowledged, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Unacked {
    /// Where each batch ends in the stream (octets the kernel took), and the sequence
    /// number of its last message.
    marks: VecDeque<(u64, u64)>,
}

impl Unacked {
    /// A batch ending with message `seq` was written (and flushed) to `fd`.
    pub(crate) fn wrote(&mut self, fd: RawFd, seq: u64) -> io::Result<()> {
        // Queued first, then acknowledged: an acknowledgement in between makes the
        // mark later than it is, never earlier.
        let queued = out_queue(fd)?;
        let acked = info(fd)?.tcpi_bytes_acked;
        self.marks.push_back((acked + queued, seq));
        Ok(())
    }

    /// The last message whose batch the peer acknowledged since the last call, if one
    /// was; an error when the connection is no longer established.
    pub(crate) fn acknowledged(&mut self, fd: RawFd) -> io::Result<Option<u64>> {
        let info = info(fd)?;
        let mut done = None;
        while let Some(&(mark, seq)) = self.marks.front() {
            if mark > info.tcpi_bytes_acked {
                break;
            }
            done = Some(seq);
            self.marks.pop_front();
        }
        if info.tcpi_state != ESTABLISHED {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the connection to the collector closed",
            ));
        }
        Ok(done)
    }

    /// Whether some batch waits for its acknowledgement.
    pub(crate) fn waiting(&self) -> bool {
        !self.marks.is_empty()
    }
}

/// Octets written to `fd` and not yet acknowledged by the peer.
fn out_queue(fd: RawFd) -> io::Result<u64> {
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through the pointer, which points at
    // `queued`.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued as *mut libc::c_int) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::try_from(queued).unwrap_or(0))
}

/// The kernel's `TCP_INFO` for `fd`.
fn info(fd: RawFd) -> io::Result<libc::tcp_info> {
    // SAFETY: tcp_info is plain old data; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` octets into `info`, which has that size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            &mut info as *mut libc::tcp_info as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn a_batch_is_acknowledged_once_the_peer_took_it_and_a_closed_peer_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut out = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let mut unacked = Unacked::default();
        out.write_all(&[7; 1000]).unwrap();
        unacked.wrote(out.as_raw_fd(), 41).unwrap();
        let mut got = [0u8; 1000];
        peer.read_exact(&mut got).unwrap();
        let start = std::time::Instant::now();
        let mut done = None;
        while done.is_none() && start.elapsed() < std::time::Duration::from_secs(5) {
            done = unacked.acknowledged(out.as_raw_fd()).unwrap();
        }
        assert_eq!(done, Some(41));
        assert!(!unacked.waiting());
        drop(peer);
        let start = std::time::Instant::now();
        loop {
            // The peer's FIN, then the reset of writing to a closed socket.
            let _ = out.write_all(b"x");
            if unacked.acknowledged(out.as_raw_fd()).is_err() {
                break;
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(5));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
