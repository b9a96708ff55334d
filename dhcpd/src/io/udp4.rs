//! The DHCPv4 UDP socket: one socket bound to the server port on all addresses,
//! IP_PKTINFO to learn each packet's ingress interface and local address and to choose
//! them for replies, and recvmmsg/sendmmsg so that one system call moves a batch of
//! packets: at these rates the kernel, not the server, is the cost.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, Socket, Type};

/// Largest datagram read; DHCP messages are far smaller, jumbo frames aside.
const BUF_LEN: usize = 4096;
/// Room for one in_pktinfo control message (CMSG_SPACE(12) on 64-bit Linux is 32).
const CMSG_LEN: usize = 64;

pub struct BatchSocket {
    sock: Socket,
}

impl AsRawFd for BatchSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    pub data: &'a [u8],
    pub src: SocketAddrV4,
    pub ifindex: u32,
    /// Local address it arrived on (`ipi_spec_dst`).
    pub local: Ipv4Addr,
    /// Its destination address (`ipi_addr`): a broadcast or one of ours.
    pub dst: Ipv4Addr,
}

/// Buffers for one recvmmsg call, reused across calls.
pub struct RecvBatch {
    bufs: Vec<[u8; BUF_LEN]>,
    lens: Vec<usize>,
    names: Vec<libc::sockaddr_in>,
    cmsgs: Vec<[u8; CMSG_LEN]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    count: usize,
}

// SAFETY: the raw pointers inside are only ever used by the thread that owns the batch,
// and are rebuilt on each call.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    pub fn new(capacity: usize) -> Self {
        RecvBatch {
            bufs: vec![[0u8; BUF_LEN]; capacity],
            lens: vec![0; capacity],
            // SAFETY: sockaddr_in, iovec and mmsghdr are plain old data.
            names: vec![unsafe { zeroed() }; capacity],
            cmsgs: vec![[0u8; CMSG_LEN]; capacity],
            iovs: vec![unsafe { zeroed() }; capacity],
            hdrs: vec![unsafe { zeroed() }; capacity],
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn get(&self, i: usize) -> Datagram<'_> {
        let name = &self.names[i];
        let src = SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr)),
            u16::from_be(name.sin_port),
        );
        let (ifindex, local, dst) = parse_pktinfo(&self.hdrs[i].msg_hdr);
        Datagram {
            data: &self.bufs[i][..self.lens[i]],
            src,
            ifindex,
            local,
            dst,
        }
    }
}

fn parse_pktinfo(hdr: &libc::msghdr) -> (u32, Ipv4Addr, Ipv4Addr) {
    // SAFETY: `hdr` was filled by recvmmsg; the CMSG macros walk within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::in_pktinfo);
                return (
                    info.ipi_ifindex as u32,
                    Ipv4Addr::from(u32::from_be(info.ipi_spec_dst.s_addr)),
                    Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)),
                );
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    (0, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
}

/// Buffers for sendmmsg, kept by the sender and reused across calls.
#[derive(Default)]
pub struct SendScratch {
    names: Vec<libc::sockaddr_in>,
    iovs: Vec<libc::iovec>,
    cmsgs: Vec<[u8; CMSG_LEN]>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside are rebuilt on every call and only used during it.
unsafe impl Send for SendScratch {}

/// A datagram to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub data: Vec<u8>,
    pub dst: SocketAddrV4,
    /// Interface to send on; 0 lets routing decide.
    pub ifindex: u32,
    /// Source address; unspecified lets the kernel choose.
    pub src: Ipv4Addr,
}

pub(crate) fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

impl BatchSocket {
    /// Binds 0.0.0.0:`port` with broadcast and IP_PKTINFO enabled. The socket blocks;
    /// a blocking receive returns after `recv_timeout` when nothing arrives, so the
    /// caller can run its timers and notice a shutdown.
    pub fn bind(port: u16, recv_timeout: std::time::Duration) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        sock.set_reuse_address(true)?;
        sock.set_broadcast(true)?;
        sock.set_read_timeout(Some(recv_timeout))?;
        sock.set_write_timeout(Some(std::time::Duration::from_secs(1)))?;
        // Large buffers absorb bursts while a batch is being committed.
        let _ = sock.set_recv_buffer_size(8 << 20);
        let _ = sock.set_send_buffer_size(8 << 20);
        let on: libc::c_int = 1;
        // SAFETY: IP_PKTINFO takes an int flag.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                &on as *const _ as *const libc::c_void,
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        sock.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
        Ok(BatchSocket { sock })
    }

    /// How long a blocking receive waits before it returns `WouldBlock`.
    pub fn set_recv_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        self.sock
            .set_read_timeout(Some(timeout.max(std::time::Duration::from_millis(1))))
    }

    /// Reads up to a batch of datagrams in one system call: blocks until at least one
    /// has arrived (or the receive timeout passes: `WouldBlock`), then takes whatever
    /// else is already queued.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        let n = batch.bufs.len();
        for i in 0..n {
            batch.iovs[i] = libc::iovec {
                iov_base: batch.bufs[i].as_mut_ptr() as *mut libc::c_void,
                iov_len: BUF_LEN,
            };
            let h = &mut batch.hdrs[i].msg_hdr;
            h.msg_name = &mut batch.names[i] as *mut libc::sockaddr_in as *mut libc::c_void;
            h.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_iov = &mut batch.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = batch.cmsgs[i].as_mut_ptr() as *mut libc::c_void;
            h.msg_controllen = CMSG_LEN as _;
            h.msg_flags = 0;
            batch.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by `batch` that outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                self.sock.as_raw_fd(),
                batch.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            batch.count = 0;
            return Err(io::Error::last_os_error());
        }
        batch.count = r as usize;
        for i in 0..batch.count {
            batch.lens[i] = batch.hdrs[i].msg_len as usize;
        }
        Ok(batch.count)
    }

    /// Sends every datagram, in as few system calls as the kernel allows, and returns the
    /// index and error of each one that could not be sent.
    pub fn send_batch(
        &self,
        pkts: &[Outgoing],
        scratch: &mut SendScratch,
    ) -> Vec<(usize, io::Error)> {
        let mut failures = Vec::new();
        let n = pkts.len();
        if n == 0 {
            return failures;
        }
        let SendScratch {
            names,
            iovs,
            cmsgs,
            hdrs,
        } = scratch;
        names.clear();
        names.extend(pkts.iter().map(|p| sockaddr(p.dst)));
        iovs.clear();
        iovs.extend(pkts.iter().map(|p| libc::iovec {
            iov_base: p.data.as_ptr() as *mut libc::c_void,
            iov_len: p.data.len(),
        }));
        if cmsgs.len() < n {
            cmsgs.resize(n, [0u8; CMSG_LEN]);
        }
        hdrs.clear();
        // SAFETY: mmsghdr is plain old data.
        hdrs.resize(n, unsafe { zeroed() });
        for i in 0..n {
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = &mut names[i] as *mut libc::sockaddr_in as *mut libc::c_void;
            h.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
            if pkts[i].ifindex != 0 || !pkts[i].src.is_unspecified() {
                // SAFETY: CMSG_SPACE/LEN are pure arithmetic; the control buffer is large
                // enough for one in_pktinfo and stays alive until sendmmsg returns.
                unsafe {
                    h.msg_control = cmsgs[i].as_mut_ptr() as *mut libc::c_void;
                    h.msg_controllen = libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as _;
                    let c = libc::CMSG_FIRSTHDR(h);
                    (*c).cmsg_level = libc::IPPROTO_IP;
                    (*c).cmsg_type = libc::IP_PKTINFO;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                    let info = libc::in_pktinfo {
                        ipi_ifindex: pkts[i].ifindex as libc::c_int,
                        ipi_spec_dst: libc::in_addr {
                            s_addr: u32::from(pkts[i].src).to_be(),
                        },
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::in_pktinfo, info);
                }
            }
        }
        let mut next = 0;
        let mut waits = 0;
        while next < n {
            // SAFETY: headers point into vectors that live until the end of this function.
            let r = unsafe {
                libc::sendmmsg(
                    self.sock.as_raw_fd(),
                    hdrs[next..].as_mut_ptr(),
                    (n - next) as libc::c_uint,
                    0,
                )
            };
            if r > 0 {
                next += r as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock && waits < 50 {
                // The socket's send buffer is full: wait for room rather than drop.
                waits += 1;
                let mut pfd = libc::pollfd {
                    fd: self.sock.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut pfd, 1, 20) };
                continue;
            }
            // sendmmsg reports the error of the first message it could not send: skip it.
            failures.push((next, err));
            next += 1;
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_over_loopback_with_pktinfo() {
        let server = BatchSocket::bind(0, std::time::Duration::from_millis(50)).unwrap();
        let port = server
            .sock
            .local_addr()
            .unwrap()
            .as_socket_ipv4()
            .unwrap()
            .port();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            client.send_to(&[i; 10], ("127.0.0.1", port)).unwrap();
        }
        let mut batch = RecvBatch::new(16);
        let mut got = 0;
        for _ in 0..100 {
            match server.recv_batch(&mut batch) {
                Ok(n) => {
                    for i in 0..n {
                        let d = batch.get(i);
                        assert_eq!(d.data, &[got as u8; 10]);
                        assert_eq!(d.dst, Ipv4Addr::LOCALHOST);
                        assert_ne!(d.ifindex, 0);
                        got += 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            if got == 5 {
                break;
            }
        }
        assert_eq!(got, 5);
        let back = client.local_addr().unwrap();
        let std::net::SocketAddr::V4(back) = back else {
            panic!()
        };
        let replies: Vec<Outgoing> = (0..3u8)
            .map(|i| Outgoing {
                data: vec![i; 4],
                dst: back,
                ifindex: 0,
                src: Ipv4Addr::LOCALHOST,
            })
            .collect();
        assert!(
            server
                .send_batch(&replies, &mut SendScratch::default())
                .is_empty()
        );
        let mut buf = [0u8; 16];
        for i in 0..3u8 {
            let (n, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i; 4]);
            assert_eq!(from.port(), port);
        }
    }
}
