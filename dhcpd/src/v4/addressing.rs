//! Where a reply goes (RFC 2131 §4.1).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use zerotouch_proto::v4::{Message, MessageType};

use super::context::Ingress;

/// An ARP entry to install before unicasting to a client that has no address yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpEntry {
    pub ip: Ipv4Addr,
    pub hwaddr: [u8; 6],
    pub ifname: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub addr: SocketAddrV4,
    /// Interface to send on; 0 lets the routing table decide.
    pub ifindex: u32,
    /// Source address.
    pub src: Ipv4Addr,
    pub arp: Option<ArpEntry>,
}

impl Destination {
    /// The same reply as a broadcast on the ingress interface: the fallback when a
    /// unicast to a client without an address cannot be sent.
    pub fn as_broadcast(&self, ingress_ifindex: u32, client_port: u16) -> Destination {
        Destination {
            addr: SocketAddrV4::new(Ipv4Addr::BROADCAST, client_port),
            ifindex: ingress_ifindex,
            src: self.src,
            arp: None,
        }
    }
}

/// - relayed (giaddr set): to the relay, server port;
/// - NAK not relayed: broadcast;
/// - ciaddr set: unicast to it;
/// - broadcast bit set: broadcast;
/// - else unicast to yiaddr at chaddr, through an ARP entry the server installs
///   (Ethernet only), falling back to broadcast.
pub(super) fn destination(
    request: &Message,
    msg_type: MessageType,
    yiaddr: Ipv4Addr,
    ingress: &Ingress,
    ports: (u16, u16),
) -> Destination {
    let (server_port, client_port) = ports;
    let src = ingress.local;
    let bcast = Destination {
        addr: SocketAddrV4::new(Ipv4Addr::BROADCAST, client_port),
        ifindex: ingress.ifindex,
        src,
        arp: None,
    };
    if request.giaddr != Ipv4Addr::UNSPECIFIED {
        return Destination {
            addr: SocketAddrV4::new(request.giaddr, server_port),
            ifindex: 0,
            src,
            arp: None,
        };
    }
    if msg_type == MessageType::Nak {
        return bcast;
    }
    if request.ciaddr != Ipv4Addr::UNSPECIFIED {
        return Destination {
            addr: SocketAddrV4::new(request.ciaddr, client_port),
            ifindex: 0,
            src,
            arp: None,
        };
    }
    if request.broadcast_flag() || yiaddr == Ipv4Addr::UNSPECIFIED {
        return bcast;
    }
    match <[u8; 6]>::try_from(request.hwaddr()) {
        Ok(hwaddr) if request.htype == 1 => Destination {
            addr: SocketAddrV4::new(yiaddr, client_port),
            ifindex: ingress.ifindex,
            src,
            arp: Some(ArpEntry {
                ip: yiaddr,
                hwaddr,
                ifname: ingress.ifname.clone(),
            }),
        },
        _ => bcast,
    }
}
