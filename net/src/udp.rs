//! The DHCP UDP socket, for IPv4 and IPv6 alike: one socket bound to the server port on
//! all addresses, IP_PKTINFO / IPV6_PKTINFO to learn each packet's ingress interface
//! and local address and to choose them for replies, and recvmmsg/sendmmsg so that one
//! system call moves a batch of packets: at these rates the kernel, not the server, is
//! the cost. [`IpFamily`] holds what differs between the two.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, Socket, Type};

/// Largest datagram read; DHCP messages are far smaller, jumbo frames aside.
const BUF_LEN: usize = 4096;
/// Room for one in_pktinfo or in6_pktinfo control message (CMSG_SPACE(20) on 64-bit
/// Linux is 40).
const CMSG_LEN: usize = 64;

/// What differs between the IPv4 and the IPv6 socket.
pub trait IpFamily: 'static {
    type Ip: Copy + std::fmt::Debug + PartialEq;
    type Addr: Copy + std::fmt::Debug + std::fmt::Display;
    /// `sockaddr_in` or `sockaddr_in6`.
    type Raw: Copy;
    /// `in_pktinfo` or `in6_pktinfo`.
    type PktInfo: Copy;
    const DOMAIN: Domain;
    const PKTINFO_LEVEL: libc::c_int;
    /// The option that asks for packet info on receive.
    const PKTINFO_RECV: libc::c_int;
    /// The control message type carrying it.
    const PKTINFO_TYPE: libc::c_int;
    fn raw(addr: Self::Addr) -> Self::Raw;
    fn addr(raw: &Self::Raw) -> Self::Addr;
    fn any(port: u16) -> SocketAddr;
    /// Interface index, local address, destination address.
    fn from_pktinfo(info: &Self::PktInfo) -> (u32, Self::Ip, Self::Ip);
    fn to_pktinfo(ifindex: u32, src: Self::Ip) -> Self::PktInfo;
    fn unspecified() -> Self::Ip;
    /// Family-specific socket options set before binding.
    fn configure(sock: &Socket) -> io::Result<()>;
}

/// IPv4: broadcast allowed, IP_PKTINFO.
#[derive(Debug, Clone, Copy)]
pub struct V4;
/// IPv6: IPv6 only, IPV6_RECVPKTINFO.
#[derive(Debug, Clone, Copy)]
pub struct V6;

impl IpFamily for V4 {
    type Ip = Ipv4Addr;
    type Addr = SocketAddrV4;
    type Raw = libc::sockaddr_in;
    type PktInfo = libc::in_pktinfo;
    const DOMAIN: Domain = Domain::IPV4;
    const PKTINFO_LEVEL: libc::c_int = libc::IPPROTO_IP;
    const PKTINFO_RECV: libc::c_int = libc::IP_PKTINFO;
    const PKTINFO_TYPE: libc::c_int = libc::IP_PKTINFO;
    fn raw(addr: SocketAddrV4) -> libc::sockaddr_in {
        sockaddr(addr)
    }
    fn addr(raw: &libc::sockaddr_in) -> SocketAddrV4 {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(raw.sin_addr.s_addr)),
            u16::from_be(raw.sin_port),
        )
    }
    fn any(port: u16) -> SocketAddr {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into()
    }
    fn from_pktinfo(info: &libc::in_pktinfo) -> (u32, Ipv4Addr, Ipv4Addr) {
        (
            info.ipi_ifindex as u32,
            Ipv4Addr::from(u32::from_be(info.ipi_spec_dst.s_addr)),
            Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)),
        )
    }
    fn to_pktinfo(ifindex: u32, src: Ipv4Addr) -> libc::in_pktinfo {
        libc::in_pktinfo {
            ipi_ifindex: ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(src).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        }
    }
    fn unspecified() -> Ipv4Addr {
        Ipv4Addr::UNSPECIFIED
    }
    fn configure(sock: &Socket) -> io::Result<()> {
        sock.set_broadcast(true)
    }
}

impl IpFamily for V6 {
    type Ip = Ipv6Addr;
    type Addr = SocketAddrV6;
    type Raw = libc::sockaddr_in6;
    type PktInfo = libc::in6_pktinfo;
    const DOMAIN: Domain = Domain::IPV6;
    const PKTINFO_LEVEL: libc::c_int = libc::IPPROTO_IPV6;
    const PKTINFO_RECV: libc::c_int = libc::IPV6_RECVPKTINFO;
    const PKTINFO_TYPE: libc::c_int = libc::IPV6_PKTINFO;
    fn raw(addr: SocketAddrV6) -> libc::sockaddr_in6 {
        libc::sockaddr_in6 {
            sin6_family: libc::AF_INET6 as libc::sa_family_t,
            sin6_port: addr.port().to_be(),
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr {
                s6_addr: addr.ip().octets(),
            },
            sin6_scope_id: addr.scope_id(),
        }
    }
    fn addr(raw: &libc::sockaddr_in6) -> SocketAddrV6 {
        SocketAddrV6::new(
            Ipv6Addr::from(raw.sin6_addr.s6_addr),
            u16::from_be(raw.sin6_port),
            0,
            raw.sin6_scope_id,
        )
    }
    fn any(port: u16) -> SocketAddr {
        SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0).into()
    }
    fn from_pktinfo(info: &libc::in6_pktinfo) -> (u32, Ipv6Addr, Ipv6Addr) {
        let dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
        // IPv6 packet info has no separate local address: replies leave from the
        // address the packet came to, or a link address when it came to a multicast group.
        (info.ipi6_ifindex, dst, dst)
    }
    fn to_pktinfo(ifindex: u32, src: Ipv6Addr) -> libc::in6_pktinfo {
        libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: ifindex,
        }
    }
    fn unspecified() -> Ipv6Addr {
        Ipv6Addr::UNSPECIFIED
    }
    fn configure(sock: &Socket) -> io::Result<()> {
        sock.set_only_v6(true)
    }
}

pub struct BatchSocket<F: IpFamily = V4> {
    sock: Socket,
    family: std::marker::PhantomData<F>,
}

impl<F: IpFamily> AsRawFd for BatchSocket<F> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a, F: IpFamily = V4> {
    pub data: &'a [u8],
    pub src: F::Addr,
    pub ifindex: u32,
    /// Local address it arrived on (IPv4 `ipi_spec_dst`; IPv6: its destination).
    pub local: F::Ip,
    /// Its destination address: a broadcast or multicast group, or one of ours.
    pub dst: F::Ip,
}

/// Buffers for one recvmmsg call, reused across calls.
pub struct RecvBatch<F: IpFamily = V4> {
    /// One buffer of `buf_len` octets for each datagram, end to end.
    bufs: Vec<u8>,
    buf_len: usize,
    lens: Vec<usize>,
    names: Vec<F::Raw>,
    cmsgs: Vec<[u8; CMSG_LEN]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    count: usize,
}

// SAFETY: the raw pointers inside are only ever used by the thread that owns the batch,
// and are rebuilt on each call.
unsafe impl<F: IpFamily> Send for RecvBatch<F> {}

impl<F: IpFamily> RecvBatch<F> {
    /// Room for `capacity` datagrams of DHCP's sizes (4096 octets).
    pub fn new(capacity: usize) -> Self {
        Self::with_buffers(capacity, BUF_LEN)
    }

    /// Room for `capacity` datagrams of `buf_len` octets each; a longer one is cut
    /// ([`RecvBatch::truncated`]).
    pub fn with_buffers(capacity: usize, buf_len: usize) -> Self {
        RecvBatch {
            bufs: vec![0u8; capacity * buf_len],
            buf_len,
            lens: vec![0; capacity],
            // SAFETY: sockaddr_in, iovec and mmsghdr are plain old data.
            names: vec![unsafe { zeroed() }; capacity],
            cmsgs: vec![[0u8; CMSG_LEN]; capacity],
            // SAFETY: iovec is plain old data; all zeroes is a valid (empty) value.
            iovs: vec![unsafe { zeroed() }; capacity],
            // SAFETY: mmsghdr is plain old data; all zeroes is a valid (empty) value.
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

    /// Whether datagram `i` was longer than its buffer (and so cut).
    pub fn truncated(&self, i: usize) -> bool {
        self.hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0
    }

    pub fn get(&self, i: usize) -> Datagram<'_, F> {
        let src = F::addr(&self.names[i]);
        let (ifindex, local, dst) = parse_pktinfo::<F>(&self.hdrs[i].msg_hdr);
        let start = i * self.buf_len;
        Datagram {
            data: &self.bufs[start..start + self.lens[i].min(self.buf_len)],
            src,
            ifindex,
            local,
            dst,
        }
    }
}

fn parse_pktinfo<F: IpFamily>(hdr: &libc::msghdr) -> (u32, F::Ip, F::Ip) {
    // SAFETY: `hdr` was filled by recvmmsg; the CMSG macros walk within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == F::PKTINFO_LEVEL && (*cmsg).cmsg_type == F::PKTINFO_TYPE {
                let info: F::PktInfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const F::PktInfo);
                return F::from_pktinfo(&info);
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    (0, F::unspecified(), F::unspecified())
}

/// Buffers for sendmmsg, kept by the sender and reused across calls.
pub struct SendScratch<F: IpFamily = V4> {
    names: Vec<F::Raw>,
    iovs: Vec<libc::iovec>,
    cmsgs: Vec<[u8; CMSG_LEN]>,
    hdrs: Vec<libc::mmsghdr>,
}

impl<F: IpFamily> Default for SendScratch<F> {
    fn default() -> Self {
        SendScratch {
            names: Vec::new(),
            iovs: Vec::new(),
            cmsgs: Vec::new(),
            hdrs: Vec::new(),
        }
    }
}

// SAFETY: the raw pointers inside are rebuilt on every call and only used during it.
unsafe impl<F: IpFamily> Send for SendScratch<F> {}

/// A datagram to send.
#[derive(Debug, Clone)]
pub struct Outgoing<F: IpFamily = V4> {
    pub data: Vec<u8>,
    pub dst: F::Addr,
    /// Interface to send on; 0 lets routing decide.
    pub ifindex: u32,
    /// Source address; unspecified lets the kernel choose.
    pub src: F::Ip,
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

/// Asks for a receive buffer of `bytes`: past `net.core.rmem_max` where the process may
/// (SO_RCVBUFFORCE: root or CAP_NET_ADMIN, as a server binding port 67 usually is),
/// else as much of it as that limit allows. Best effort: a smaller buffer only means
/// earlier drops under a burst.
fn receive_buffer(sock: &Socket, bytes: usize) {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: SO_RCVBUFFORCE takes an int; the pointer and length describe `size`.
    let forced = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &size as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if forced != 0 {
        let _ = sock.set_recv_buffer_size(bytes);
    }
}

/// A bind error, naming the processes that hold the port when it is in use.
fn port_in_use(e: io::Error, port: u16) -> io::Error {
    if e.kind() != io::ErrorKind::AddrInUse {
        return e;
    }
    let holders = super::udp_port_holders(port);
    let by = if holders.is_empty() {
        "another process".to_string()
    } else {
        holders.join(", ")
    };
    io::Error::new(e.kind(), format!("port {port} is in use by {by}"))
}

impl BatchSocket<V4> {
    /// Binds 0.0.0.0:`port` with broadcast and IP_PKTINFO enabled.
    pub fn bind(port: u16, recv_timeout: std::time::Duration) -> io::Result<Self> {
        Self::bind_family(port, recv_timeout)
    }
}

impl BatchSocket<V6> {
    /// Binds [::]:`port` (IPv6 only) with IPV6_RECVPKTINFO enabled.
    pub fn bind_v6(port: u16, recv_timeout: std::time::Duration) -> io::Result<Self> {
        Self::bind_family(port, recv_timeout)
    }

    /// Joins All_DHCP_Relay_Agents_and_Servers (ff02::1:2) on interface `ifindex`.
    pub fn join_dhcp_servers(&self, ifindex: u32) -> io::Result<()> {
        self.sock.join_multicast_v6(
            &zerotouch_proto::v6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            ifindex,
        )
    }
}

impl<F: IpFamily> BatchSocket<F> {
    /// Binds the wildcard address at `port` with packet info enabled. The socket blocks;
    /// a blocking receive returns after `recv_timeout` when nothing arrives, so the
    /// caller can run its timers and notice a shutdown.
    fn bind_family(port: u16, recv_timeout: std::time::Duration) -> io::Result<Self> {
        Self::bind_at(F::any(port), recv_timeout)
    }

    /// Binds `address` (of this family: the wildcard, or one of the host's addresses)
    /// with packet info enabled, as [`BatchSocket::bind`] binds the wildcard.
    pub fn bind_at(address: SocketAddr, recv_timeout: std::time::Duration) -> io::Result<Self> {
        // No SO_REUSEADDR: a second server (or relay) on the same port must fail to
        // bind, as ISC dhcpd does, rather than share the clients with this one.
        let sock = Socket::new(F::DOMAIN, Type::DGRAM, Some(Protocol::UDP))?;
        F::configure(&sock)?;
        sock.set_read_timeout(Some(recv_timeout))?;
        sock.set_write_timeout(Some(std::time::Duration::from_secs(1)))?;
        // Large buffers absorb bursts while a batch is being committed.
        receive_buffer(&sock, 8 << 20);
        let _ = sock.set_send_buffer_size(8 << 20);
        let on: libc::c_int = 1;
        // SAFETY: IP_PKTINFO and IPV6_RECVPKTINFO take an int flag.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                F::PKTINFO_LEVEL,
                F::PKTINFO_RECV,
                &on as *const _ as *const libc::c_void,
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Err(e) = sock.bind(&address.into()) {
            return Err(port_in_use(e, address.port()));
        }
        Ok(BatchSocket {
            sock,
            family: std::marker::PhantomData,
        })
    }

    /// How long a blocking receive waits before it returns `WouldBlock`.
    pub fn set_recv_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        self.sock
            .set_read_timeout(Some(timeout.max(std::time::Duration::from_millis(1))))
    }

    /// Reads up to a batch of datagrams in one system call: blocks until at least one
    /// has arrived (or the receive timeout passes: `WouldBlock`), then takes whatever
    /// else is already queued.
    pub fn recv_batch(&self, batch: &mut RecvBatch<F>) -> io::Result<usize> {
        let n = batch.lens.len();
        let len = batch.buf_len;
        for i in 0..n {
            batch.iovs[i] = libc::iovec {
                iov_base: batch.bufs[i * len..].as_mut_ptr() as *mut libc::c_void,
                iov_len: len,
            };
            let h = &mut batch.hdrs[i].msg_hdr;
            h.msg_name = &mut batch.names[i] as *mut F::Raw as *mut libc::c_void;
            h.msg_namelen = size_of::<F::Raw>() as libc::socklen_t;
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

    /// `recv_batch` for a packet loop: a timeout or an interrupted call is an empty
    /// batch (the loop runs its timers); any other error is logged (`family` names the
    /// loop) and, so that a persistent one cannot spin the loop, followed by a short
    /// pause.
    pub fn recv_or_idle(&self, batch: &mut RecvBatch<F>, family: &str) {
        match self.recv_batch(batch) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                tracing::warn!("{family} receive failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    /// Sends every datagram, in as few system calls as the kernel allows, and returns the
    /// index and error of each one that could not be sent.
    pub fn send_batch(
        &self,
        pkts: &[Outgoing<F>],
        scratch: &mut SendScratch<F>,
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
        names.extend(pkts.iter().map(|p| F::raw(p.dst)));
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
            h.msg_name = &mut names[i] as *mut F::Raw as *mut libc::c_void;
            h.msg_namelen = size_of::<F::Raw>() as libc::socklen_t;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
            if pkts[i].ifindex != 0 || pkts[i].src != F::unspecified() {
                // SAFETY: CMSG_SPACE/LEN are pure arithmetic; the control buffer is large
                // enough for one packet-info struct and stays alive until sendmmsg returns.
                unsafe {
                    h.msg_control = cmsgs[i].as_mut_ptr() as *mut libc::c_void;
                    h.msg_controllen = libc::CMSG_SPACE(size_of::<F::PktInfo>() as u32) as _;
                    let c = libc::CMSG_FIRSTHDR(h);
                    (*c).cmsg_level = F::PKTINFO_LEVEL;
                    (*c).cmsg_type = F::PKTINFO_TYPE;
                    (*c).cmsg_len = libc::CMSG_LEN(size_of::<F::PktInfo>() as u32) as _;
                    let info = F::to_pktinfo(pkts[i].ifindex, pkts[i].src);
                    std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut F::PktInfo, info);
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

    #[test]
    fn an_ipv6_batch_round_trips_over_loopback_with_pktinfo() {
        let server = BatchSocket::bind_v6(0, std::time::Duration::from_millis(50)).unwrap();
        let port = server
            .sock
            .local_addr()
            .unwrap()
            .as_socket_ipv6()
            .unwrap()
            .port();
        let client = std::net::UdpSocket::bind("[::1]:0").unwrap();
        for i in 0..3u8 {
            client.send_to(&[i; 8], ("::1", port)).unwrap();
        }
        let mut batch = RecvBatch::<V6>::new(8);
        let mut got = Vec::new();
        for _ in 0..100 {
            if let Ok(n) = server.recv_batch(&mut batch) {
                for i in 0..n {
                    let d = batch.get(i);
                    assert_eq!(d.dst, Ipv6Addr::LOCALHOST);
                    assert_ne!(d.ifindex, 0);
                    got.push((d.data.to_vec(), d.src, d.ifindex));
                }
            }
            if got.len() == 3 {
                break;
            }
        }
        assert_eq!(got.len(), 3);
        let (_, from, ifindex) = got[0].clone();
        let replies = [Outgoing::<V6> {
            data: b"reply".to_vec(),
            dst: from,
            ifindex,
            src: Ipv6Addr::LOCALHOST,
        }];
        assert!(
            server
                .send_batch(&replies, &mut SendScratch::default())
                .is_empty()
        );
        let mut buf = [0u8; 16];
        let (n, back) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"reply");
        assert_eq!(back.port(), port);
    }
}
