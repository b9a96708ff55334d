//! The request as plugins see it, one type per family: in wire format, and decoded.

use std::cell::OnceCell;
use std::net::SocketAddr;

use zerotouch_proto::{v4, v6};

/// The protocol a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Family {
    /// DHCPv4 (RFC 2131).
    V4 = 4,
    /// DHCPv6 (RFC 8415).
    V6 = 6,
}

/// Where a request handed over in wire format is decoded, on first use, for the length
/// of one hook call (a plugin behind the C ABI gets wire format, and a hook that only
/// looks at the message type or the wire never pays for decoding).
#[derive(Debug)]
pub struct Lazy<T>(OnceCell<T>);

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy(OnceCell::new())
    }
}

/// Where the decoded request comes from: decoded already (the server's own), or decoded
/// on first use.
#[derive(Debug)]
enum Decoded<'a, T> {
    Ready(&'a T),
    Lazy(&'a Lazy<T>),
}

impl<T> Clone for Decoded<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Decoded<'_, T> {}

impl<'a, T> Decoded<'a, T> {
    /// The message; `decode` runs once, on first use. The server's strict decoder
    /// already accepted the wire, so its fallback is never seen in practice.
    fn get(self, decode: impl FnOnce() -> T) -> &'a T {
        match self {
            Decoded::Ready(m) => m,
            Decoded::Lazy(cell) => cell.0.get_or_init(decode),
        }
    }
}

/// What every packet carries besides its message: where it came from and when.
#[derive(Debug, Clone, Copy)]
pub struct Ingress<'a> {
    /// The packet as received.
    pub wire: &'a [u8],
    /// Name of the interface the packet came in on.
    pub interface: &'a str,
    /// Sender (a relay, or the client).
    pub source: SocketAddr,
    /// Unix seconds, the time the server uses for this packet's lease decisions.
    pub now: u64,
}

/// A DHCPv4 request, read-only to plugins.
#[derive(Debug, Clone, Copy)]
pub struct Packet4<'a> {
    message: Decoded<'a, v4::Message>,
    message_type: v4::MessageType,
    /// Where and when it arrived, and its wire format.
    pub ingress: Ingress<'a>,
}

/// A DHCPv6 request (the client's message and the relays it came through), read-only
/// to plugins.
#[derive(Debug, Clone, Copy)]
pub struct Packet6<'a> {
    packet: Decoded<'a, v6::Packet6>,
    message_type: v6::MessageType6,
    /// Where and when it arrived, and its wire format.
    pub ingress: Ingress<'a>,
}

impl<'a> Packet4<'a> {
    host_only! {
        /// A request the server decoded already.
        fn new(message: &'a v4::Message, message_type: v4::MessageType, ingress: Ingress<'a>) -> Self {
            Packet4 { message: Decoded::Ready(message), message_type, ingress }
        }
    }

    host_only! {
        /// A request decoded from `ingress.wire` when a plugin first asks; `cell` holds it.
        fn lazy(cell: &'a Lazy<v4::Message>, message_type: v4::MessageType, ingress: Ingress<'a>) -> Self {
            Packet4 { message: Decoded::Lazy(cell), message_type, ingress }
        }
    }

    /// The decoded request.
    pub fn message(&self) -> &'a v4::Message {
        let wire = self.ingress.wire;
        self.message
            .get(|| v4::decode(wire).unwrap_or_else(|_| v4::Message::new_request(0, &[])))
    }

    /// The DHCP message type (option 53).
    pub fn message_type(&self) -> v4::MessageType {
        self.message_type
    }

    /// An option of the request by code (joined per RFC 3396).
    pub fn option(&self, code: u8) -> Option<&'a [u8]> {
        self.message().options.get(code)
    }

    /// Whether the client asked for option `code` (option 55, the parameter request list).
    pub fn requested(&self, code: u8) -> bool {
        self.message().parameter_request_list().contains(&code)
    }
}

impl<'a> Packet6<'a> {
    host_only! {
        /// A request the server decoded already.
        fn new(packet: &'a v6::Packet6, ingress: Ingress<'a>) -> Self {
            Packet6 { packet: Decoded::Ready(packet), message_type: packet.message.msg_type, ingress }
        }
    }

    host_only! {
        /// A request decoded from `ingress.wire` when a plugin first asks; `cell` holds it.
        fn lazy(cell: &'a Lazy<v6::Packet6>, message_type: v6::MessageType6, ingress: Ingress<'a>) -> Self {
            Packet6 { packet: Decoded::Lazy(cell), message_type, ingress }
        }
    }

    /// The client's message and the relays it came through.
    pub fn packet(&self) -> &'a v6::Packet6 {
        let wire = self.ingress.wire;
        self.packet.get(|| {
            v6::Packet6::decode(wire).unwrap_or_else(|_| v6::Packet6 {
                relays: Vec::new(),
                message: v6::Message6::new(self.message_type, 0),
            })
        })
    }

    /// The client's own message (inside any relay wrappers).
    pub fn message(&self) -> &'a v6::Message6 {
        &self.packet().message
    }

    /// The client message's type.
    pub fn message_type(&self) -> v6::MessageType6 {
        self.message_type
    }

    /// The first instance of an option of the client's message, by code.
    pub fn option(&self, code: u16) -> Option<&'a [u8]> {
        self.message().options.get(code)
    }

    /// Whether the client's own Option Request Option names `code` (RFC 8415 §21.7; a
    /// relay's ORO does not count).
    pub fn requested(&self, code: u16) -> bool {
        self.message().options.requested().any(|c| c == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress<'a>(wire: &'a [u8], source: &str) -> Ingress<'a> {
        Ingress {
            wire,
            interface: "eth0",
            source: source.parse().unwrap(),
            now: 0,
        }
    }

    #[test]
    fn lazy_packets_decode_on_first_use() {
        let mut m = v4::Message::client(v4::MessageType::Discover, 9, &[2, 0, 0, 0, 0, 1]);
        m.options.set(12, b"sw1".to_vec());
        m.options.set(55, vec![1, 143]);
        let wire = m.to_bytes();
        let cell = Lazy::default();
        let p = Packet4::lazy(
            &cell,
            v4::MessageType::Discover,
            ingress(&wire, "198.18.0.2:68"),
        );
        assert!(cell.0.get().is_none());
        assert_eq!(p.message_type(), v4::MessageType::Discover);
        assert!(cell.0.get().is_none(), "the type needs no decoding");
        assert_eq!(p.option(12), Some(&b"sw1"[..]));
        assert!(cell.0.get().is_some());
        assert!(p.requested(143) && !p.requested(3));
        assert_eq!(p.message().xid, 9);
    }

    #[test]
    fn dhcpv6_packets_expose_the_client_message() {
        let mut m = v6::Message6::new(v6::MessageType6::Solicit, 5);
        m.options.push(v6::OptionCode6::ORO, &[0, 136]);
        let wire = m.to_bytes();
        let cell = Lazy::default();
        let p = Packet6::lazy(
            &cell,
            v6::MessageType6::Solicit,
            ingress(&wire, "[fe80::1]:546"),
        );
        assert_eq!(p.option(6), Some(&[0u8, 136][..]));
        assert!(p.requested(136));
        assert_eq!(p.message().xid, 5);
        assert!(p.packet().relays.is_empty());
    }
}
