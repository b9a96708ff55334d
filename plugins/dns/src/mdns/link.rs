//! The sockets of one interface: UDP port 5353 on IPv4 and IPv6, bound to the interface
//! (so what arrives is that link's, and what is sent goes out on it), members of the
//! mDNS groups 224.0.0.251 and ff02::fb there. The port is shared (SO_REUSEADDR and
//! SO_REUSEPORT, as avahi-daemon sets them): where avahi runs on the same host, both
//! responders receive every query and each answers for its own names.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// The mDNS port.
pub(crate) const PORT: u16 = 5353;
pub(crate) const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
pub(crate) const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

/// One interface's sockets.
pub(crate) struct Link {
    pub name: String,
    pub v4: Option<Arc<UdpSocket>>,
    pub v6: Option<Arc<UdpSocket>>,
}

impl Link {
    /// Binds interface `name`: an error when it does not exist or neither family can be
    /// bound; a family the interface lacks is left out.
    pub(crate) fn open(name: &str) -> io::Result<Link> {
        let index = index_of(name)?;
        let v4 = socket_v4(name, index);
        let v6 = socket_v6(name, index);
        if let (Err(e4), Err(e6)) = (&v4, &v6) {
            return Err(io::Error::new(
                e4.kind(),
                format!("cannot listen for mDNS on {name}: IPv4: {e4}; IPv6: {e6}"),
            ));
        }
        let tokio = |s: io::Result<std::net::UdpSocket>| -> io::Result<Option<Arc<UdpSocket>>> {
            match s {
                Ok(s) => Ok(Some(Arc::new(UdpSocket::from_std(s)?))),
                Err(e) => {
                    tracing::debug!(interface = name, "dns: mDNS on one family only: {e}");
                    Ok(None)
                }
            }
        };
        Ok(Link {
            name: name.to_string(),
            v4: tokio(v4)?,
            v6: tokio(v6)?,
        })
    }

    /// The group's address for `socket`'s family.
    pub(crate) fn group(v6: bool) -> SocketAddr {
        if v6 {
            SocketAddrV6::new(GROUP_V6, PORT, 0, 0).into()
        } else {
            SocketAddrV4::new(GROUP_V4, PORT).into()
        }
    }

    /// Both sockets, with whether each is IPv6.
    pub(crate) fn sockets(&self) -> impl Iterator<Item = (&Arc<UdpSocket>, bool)> {
        self.v4
            .iter()
            .map(|s| (s, false))
            .chain(self.v6.iter().map(|s| (s, true)))
    }
}

fn index_of(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an interface name has no NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("there is no interface {name:?}"),
        ));
    }
    Ok(index)
}

/// A socket on port 5353 shared with other responders, bound to interface `name`.
fn shared(domain: Domain, name: &str) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind_device(Some(name.as_bytes()))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn socket_v4(name: &str, index: u32) -> io::Result<std::net::UdpSocket> {
    let socket = shared(Domain::IPV4, name)?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT).into())?;
    socket.join_multicast_v4_n(&GROUP_V4, &InterfaceIndexOrAddress::Index(index))?;
    // Only the groups joined on this socket, not every group of the host.
    socket.set_multicast_all_v4(false)?;
    socket.set_multicast_ttl_v4(255)?;
    Ok(socket.into())
}

fn socket_v6(name: &str, index: u32) -> io::Result<std::net::UdpSocket> {
    let socket = shared(Domain::IPV6, name)?;
    socket.set_only_v6(true)?;
    socket.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, PORT, 0, 0).into())?;
    socket.join_multicast_v6(&GROUP_V6, index)?;
    socket.set_multicast_all_v6(false)?;
    socket.set_multicast_if_v6(index)?;
    socket.set_multicast_hops_v6(255)?;
    Ok(socket.into())
}
