//! DHCPv6 client messages, relay headers, and a received packet as both.

use std::net::Ipv6Addr;

use super::HOP_COUNT_LIMIT;
use super::code::{MessageType6, OptionCode6};
use super::decode::{DecodeError6, parse_options};
use super::options::{Options6, put_option};

/// A client or server message: type, 24-bit transaction id, options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message6 {
    /// The message type.
    pub msg_type: MessageType6,
    /// Transaction id (the low 24 bits).
    pub xid: u32,
    /// The options, in order.
    pub options: Options6,
}

impl Message6 {
    /// A message with no options (`xid` cut to 24 bits).
    pub fn new(msg_type: MessageType6, xid: u32) -> Self {
        Message6 {
            msg_type,
            xid: xid & 0x00ff_ffff,
            options: Options6::default(),
        }
    }

    /// The message in `buf`; `base` is its offset in the datagram, for error offsets.
    pub fn decode(buf: &[u8], base: usize) -> Result<Self, DecodeError6> {
        if buf.len() < 4 {
            return Err(DecodeError6::Truncated { len: buf.len() });
        }
        Ok(Message6 {
            msg_type: MessageType6::from_u8(buf[0]),
            xid: u32::from_be_bytes([0, buf[1], buf[2], buf[3]]),
            options: parse_options(&buf[4..], base + 4)?,
        })
    }

    /// Appends the message's octets to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.msg_type.to_u8());
        out.extend_from_slice(&self.xid.to_be_bytes()[1..]);
        self.options.encode(out);
    }

    /// The message's octets.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out);
        out
    }

    /// The client's DUID (option 1).
    pub fn client_id(&self) -> Option<&[u8]> {
        self.options.get(OptionCode6::CLIENTID)
    }

    /// The server's DUID (option 2), when the client names one.
    pub fn server_id(&self) -> Option<&[u8]> {
        self.options.get(OptionCode6::SERVERID)
    }
}

/// One relay's header: RELAY-FORW from the relay, RELAY-REPL back. Its options are
/// those other than the relayed message (option 9), which the chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHeader {
    /// RELAY-FORW or RELAY-REPL.
    pub msg_type: MessageType6,
    /// Relays passed before this one.
    pub hop_count: u8,
    /// An address on the client's link (unspecified when the relay has none).
    pub link_address: Ipv6Addr,
    /// The address of the client or relay the message came from.
    pub peer_address: Ipv6Addr,
    /// The relay's options (interface-id, remote-id …), the relayed message aside.
    pub options: Options6,
}

const RELAY_HEADER_LEN: usize = 34;

impl RelayHeader {
    /// Interface-id (option 18), which the server echoes in its RELAY-REPL.
    pub fn interface_id(&self) -> Option<&[u8]> {
        self.options.get(OptionCode6::INTERFACE_ID)
    }

    /// This header as a message around `inner` (a client or relay message): its
    /// options, then the relay message option (9). What a relay sends upstream.
    pub fn wrap(&self, inner: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(inner.len() + RELAY_HEADER_LEN + 64);
        self.encode_with(self.msg_type, &self.options, inner, &mut out);
        out
    }

    /// One relay level of `buf` (RELAY-FORW or RELAY-REPL): its header, and the message
    /// it carries (option 9) as sent, which may itself be a relay message.
    pub fn decode_level(buf: &[u8]) -> Result<(RelayHeader, &[u8]), DecodeError6> {
        Self::decode_level_at(buf, 0)
    }

    /// `decode_level` of a level found at offset `base` of the datagram (for the
    /// offsets errors name).
    fn decode_level_at(buf: &[u8], base: usize) -> Result<(RelayHeader, &[u8]), DecodeError6> {
        if buf.len() < RELAY_HEADER_LEN {
            return Err(DecodeError6::Truncated { len: buf.len() });
        }
        let addr = |from: usize| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&buf[from..from + 16]);
            Ipv6Addr::from(o)
        };
        let mut options = parse_options(&buf[RELAY_HEADER_LEN..], base + RELAY_HEADER_LEN)?;
        let (start, len) =
            inner_offset(&buf[RELAY_HEADER_LEN..]).ok_or(DecodeError6::RelayWithoutMessage)?;
        options.remove_all(OptionCode6::RELAY_MSG);
        let start = RELAY_HEADER_LEN + start;
        Ok((
            RelayHeader {
                msg_type: MessageType6::from_u8(buf[0]),
                hop_count: buf[1],
                link_address: addr(2),
                peer_address: addr(18),
                options,
            },
            &buf[start..start + len],
        ))
    }

    fn encode_with(
        &self,
        msg_type: MessageType6,
        options: &Options6,
        inner: &[u8],
        out: &mut Vec<u8>,
    ) {
        out.push(msg_type.to_u8());
        out.push(self.hop_count);
        out.extend_from_slice(&self.link_address.octets());
        out.extend_from_slice(&self.peer_address.octets());
        options.encode(out);
        put_option(out, OptionCode6::RELAY_MSG, inner);
    }
}

/// A received packet: the relays it passed, outermost (the one that sent it to the
/// server) first, and the client message inside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet6 {
    /// The relays, outermost first; empty for a message straight from a client.
    pub relays: Vec<RelayHeader>,
    /// The client's message.
    pub message: Message6,
}

impl Packet6 {
    /// The packet in datagram `buf`: relay layers unwrapped to the client message.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError6> {
        let mut relays = Vec::new();
        let mut at = buf;
        let mut base = 0;
        loop {
            let Some(&t) = at.first() else {
                return Err(DecodeError6::Truncated { len: 0 });
            };
            let msg_type = MessageType6::from_u8(t);
            if !msg_type.is_relay() {
                let message = Message6::decode(at, base)?;
                return Ok(Packet6 { relays, message });
            }
            if relays.len() > HOP_COUNT_LIMIT as usize {
                return Err(DecodeError6::RelayTooDeep {
                    depth: relays.len() + 1,
                });
            }
            let (header, inner) = RelayHeader::decode_level_at(at, base)?;
            base += inner.as_ptr() as usize - at.as_ptr() as usize;
            relays.push(header);
            at = inner;
        }
    }

    /// The relay nearest the client (whose link-address names the client's link).
    pub fn innermost_relay(&self) -> Option<&RelayHeader> {
        self.relays.last()
    }

    /// `reply` for this packet's client, wrapped in a RELAY-REPL for every relay it
    /// came through (innermost first), each echoing its relay's interface-id; the bare
    /// reply when the client sent directly.
    pub fn encode_reply(&self, reply: &Message6) -> Vec<u8> {
        let mut inner = reply.to_bytes();
        for relay in self.relays.iter().rev() {
            let mut echoed = Options6::default();
            if let Some(id) = relay.interface_id() {
                echoed.push(OptionCode6::INTERFACE_ID, id);
            }
            let mut out = Vec::with_capacity(inner.len() + RELAY_HEADER_LEN + 32);
            relay.encode_with(MessageType6::RelayRepl, &echoed, &inner, &mut out);
            inner = out;
        }
        inner
    }

    /// The packet as received: relays as RELAY-FORW around the client message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut inner = self.message.to_bytes();
        for relay in self.relays.iter().rev() {
            let mut out = Vec::with_capacity(inner.len() + RELAY_HEADER_LEN + 32);
            relay.encode_with(relay.msg_type, &relay.options, &inner, &mut out);
            inner = out;
        }
        inner
    }
}

/// Offset and length of the first option 9 in a relay's option area (already known to
/// be well-formed).
fn inner_offset(options: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 4 <= options.len() {
        let code = u16::from_be_bytes([options[i], options[i + 1]]);
        let len = u16::from_be_bytes([options[i + 2], options[i + 3]]) as usize;
        if code == OptionCode6::RELAY_MSG {
            return Some((i + 4, len));
        }
        i += 4 + len;
    }
    None
}
