//! The request as plugins see it: in wire format, and decoded.

use std::cell::OnceCell;
use std::net::SocketAddr;

use zerotouch_proto::{v4, v6};

/// The protocol a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Family {
    /// DHCPv4 (RFC 2131).
    V4 = 4,
    /// DHCPv6 (RFC 8415).
    V6 = 6,
}

/// The decoded request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Request<'a> {
    /// A DHCPv4 request.
    V4(&'a v4::Message),
    /// The client message and the relays it came through.
    V6(&'a v6::Packet6),
}

/// Where a request handed over in wire format is decoded, on first use, for the length
/// of one hook call.
#[derive(Debug, Default)]
pub struct LazyRequest {
    v4: OnceCell<Option<v4::Message>>,
    v6: OnceCell<Option<v6::Packet6>>,
}

/// Where the decoded request comes from: decoded already (the server's own), or decoded
/// on first use (a plugin behind the C ABI gets wire format, and a hook that only looks
/// at the message type or the wire never pays for decoding).
#[derive(Debug, Clone, Copy)]
enum Decoded<'a> {
    Ready(Request<'a>),
    Lazy(Family, &'a LazyRequest),
}

/// One received request, read-only to plugins.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    decoded: Decoded<'a>,
    /// The packet as received.
    pub wire: &'a [u8],
    /// The message type (DHCPv4 option 53, DHCPv6 msg-type).
    pub message_type: u8,
    /// Name of the interface the packet came in on.
    pub interface: &'a str,
    /// Sender (a relay, or the client).
    pub source: SocketAddr,
    /// Unix seconds, the time the server uses for this packet's lease decisions.
    pub now: u64,
}

impl<'a> Packet<'a> {
    host_only! {
        /// A packet the server decoded already.
        fn new(
            request: Request<'a>,
            wire: &'a [u8],
            message_type: u8,
            interface: &'a str,
            source: SocketAddr,
            now: u64,
        ) -> Self {
            Packet {
                decoded: Decoded::Ready(request),
                wire,
                message_type,
                interface,
                source,
                now,
            }
        }
    }

    host_only! {
        /// A packet of `family` decoded from `wire` when a plugin first asks; `cells` holds
        /// the result.
        fn lazy(
            family: Family,
            cells: &'a LazyRequest,
            wire: &'a [u8],
            message_type: u8,
            interface: &'a str,
            source: SocketAddr,
            now: u64,
        ) -> Self {
            Packet {
                decoded: Decoded::Lazy(family, cells),
                wire,
                message_type,
                interface,
                source,
                now,
            }
        }
    }

    /// The protocol the packet belongs to.
    pub fn family(&self) -> Family {
        match self.decoded {
            Decoded::Ready(Request::V4(_)) => Family::V4,
            Decoded::Ready(Request::V6(_)) => Family::V6,
            Decoded::Lazy(family, _) => family,
        }
    }

    /// The decoded request (`None` only if a lazily decoded packet does not decode,
    /// which the server's strict decoder already ruled out).
    pub fn request(&self) -> Option<Request<'a>> {
        match self.decoded {
            Decoded::Ready(r) => Some(r),
            Decoded::Lazy(Family::V4, cells) => cells
                .v4
                .get_or_init(|| v4::decode(self.wire).ok())
                .as_ref()
                .map(Request::V4),
            Decoded::Lazy(Family::V6, cells) => cells
                .v6
                .get_or_init(|| v6::Packet6::decode(self.wire).ok())
                .as_ref()
                .map(Request::V6),
        }
    }

    /// The DHCPv4 request, when it is one.
    pub fn v4(&self) -> Option<&'a v4::Message> {
        match self.request()? {
            Request::V4(m) => Some(m),
            Request::V6(_) => None,
        }
    }

    /// The DHCPv6 packet (client message and relays), when it is one.
    pub fn v6(&self) -> Option<&'a v6::Packet6> {
        match self.request()? {
            Request::V6(p) => Some(p),
            Request::V4(_) => None,
        }
    }

    /// An option of the request by code: DHCPv4 (1..=254, joined per RFC 3396), or the
    /// first instance in the DHCPv6 client message.
    pub fn option(&self, code: u16) -> Option<&'a [u8]> {
        match self.request()? {
            Request::V4(m) => m.options.get(u8::try_from(code).ok()?),
            Request::V6(p) => p.message.options.get(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_packets_decode_on_first_use() {
        let mut m = v4::Message::client(v4::MessageType::Discover, 9, &[2, 0, 0, 0, 0, 1]);
        m.options.set(12, b"sw1".to_vec());
        let wire = m.to_bytes();
        let cells = LazyRequest::default();
        let source = "198.18.0.2:68".parse().unwrap();
        let p = Packet::lazy(Family::V4, &cells, &wire, 1, "eth0", source, 0);
        assert!(cells.v4.get().is_none());
        assert_eq!(p.option(12), Some(&b"sw1"[..]));
        assert!(cells.v4.get().is_some());
        assert_eq!(p.v4().unwrap().xid, 9);
    }

    #[test]
    fn dhcpv6_packets_expose_the_client_message() {
        let mut m = v6::Message6::new(v6::MessageType6::Solicit, 5);
        m.options.push(v6::OptionCode6::ORO, &[0, 136]);
        let wire = m.to_bytes();
        let cells = LazyRequest::default();
        let source = "[fe80::1]:546".parse().unwrap();
        let p = Packet::lazy(Family::V6, &cells, &wire, 1, "eth0", source, 0);
        assert_eq!(p.family(), Family::V6);
        assert_eq!(p.option(6), Some(&[0u8, 136][..]));
        assert!(p.v4().is_none());
        assert_eq!(p.v6().unwrap().message.xid, 5);
    }
}
