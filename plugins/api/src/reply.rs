//! The reply draft plugins edit at `reply_ready`, or build to answer at once.

use std::cell::OnceCell;

use zerotouch_proto::v4::{self, MessageType, Op, OptionCode};
use zerotouch_proto::v6;

use crate::{Family, PluginError};

/// A reply before it is fitted to the client's size budget and sent.
///
/// Behind the C ABI a reply arrives in wire format and is decoded only when a plugin
/// looks inside; the reply remembers whether it was changed, so an untouched reply
/// goes back without being encoded again.
#[derive(Debug, Clone)]
pub struct Reply {
    family: Family,
    /// The reply as received over the ABI, until decoded.
    wire: Option<Vec<u8>>,
    decoded: OnceCell<Body>,
    touched: bool,
}

/// The decoded reply of either protocol. Not boxed: the DHCPv4 draft is the common case,
/// built per reply, and a box would add an allocation to each.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
enum Body {
    V4(Reply4),
    /// The client's reply; relay wrappers are the server's to add.
    V6(v6::Message6),
}

impl PartialEq for Reply {
    /// Same message on the wire (which options the server would keep for size is its
    /// bookkeeping, not part of the reply).
    fn eq(&self, other: &Self) -> bool {
        match (self.get(), other.get()) {
            (Body::V4(a), Body::V4(b)) => a.message == b.message,
            (a, b) => a == b,
        }
    }
}

impl Eq for Reply {}

impl From<Reply4> for Reply {
    fn from(r: Reply4) -> Self {
        Reply::from_v4(r)
    }
}

/// A DHCPv4 reply: BOOTP header fields and options in the order they will be sent
/// (option 82, the relay's, is echoed by the server after them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply4 {
    /// The reply: header fields and options.
    pub message: v4::Message,
    /// Codes the server keeps even when the reply must shrink to the client's maximum
    /// message size (message type, server identifier, lease times ...). Options a plugin
    /// adds are dropped first, from the last.
    pub required: Vec<u8>,
}

impl Reply4 {
    /// An empty reply of type `msg_type` to `request`: header fields copied as RFC 2131
    /// table 3 says; options to be added. The server identifier is filled in by the
    /// server if the plugin does not set one.
    pub fn to_request(request: &v4::Message, msg_type: MessageType) -> Reply4 {
        let mut message = v4::Message::reply_header(request, msg_type);
        message
            .options
            .set(OptionCode::MESSAGE_TYPE, vec![msg_type.to_u8()]);
        Reply4 {
            message,
            required: vec![OptionCode::MESSAGE_TYPE],
        }
    }
}

impl Reply {
    /// A DHCPv4 reply, to be sent as it is unless a plugin edits it.
    pub fn from_v4(reply: Reply4) -> Reply {
        Reply {
            family: Family::V4,
            wire: None,
            decoded: OnceCell::from(Body::V4(reply)),
            touched: false,
        }
    }

    /// A DHCPv6 reply (ADVERTISE, REPLY) to the client, without relay wrappers.
    pub fn from_v6(message: v6::Message6) -> Reply {
        Reply {
            family: Family::V6,
            wire: None,
            decoded: OnceCell::from(Body::V6(message)),
            touched: false,
        }
    }

    host_only! {
        /// A reply of `family` in wire format (a DHCPv6 reply without relay wrappers),
        /// decoded on first use.
        fn lazy(family: Family, wire: Vec<u8>) -> Reply {
            Reply {
                family,
                wire: Some(wire),
                decoded: OnceCell::new(),
                touched: false,
            }
        }
    }

    fn get(&self) -> &Body {
        self.decoded.get_or_init(|| {
            // Only the server hands replies over in wire format, encoded by itself, so
            // they decode; should one not, it reads as an empty reply.
            let wire = self.wire.as_deref().unwrap_or_default();
            match self.family {
                Family::V4 => Body::V4(Reply4 {
                    message: v4::decode(wire).unwrap_or_else(|_| v4::Message::new_request(0, &[])),
                    required: Vec::new(),
                }),
                Family::V6 => Body::V6(
                    v6::Message6::decode(wire, 0)
                        .unwrap_or_else(|_| v6::Message6::new(v6::MessageType6::Reply, 0)),
                ),
            }
        })
    }

    fn get_mut(&mut self) -> &mut Body {
        self.get();
        self.touched = true;
        self.wire = None;
        self.decoded.get_mut().expect("decoded above")
    }

    /// Whether the reply was (possibly) changed since it was made or received.
    pub fn is_touched(&self) -> bool {
        self.touched
    }

    /// The protocol the reply belongs to.
    pub fn family(&self) -> Family {
        self.family
    }

    /// DHCPv4 option 53, or the DHCPv6 msg-type.
    pub fn message_type(&self) -> u8 {
        if let (None, Some(w)) = (self.decoded.get(), &self.wire) {
            match self.family {
                Family::V4 => {
                    if let Some(t) = scan_message_type(w) {
                        return t;
                    }
                }
                Family::V6 => return w.first().copied().unwrap_or(0),
            }
        }
        match self.get() {
            Body::V4(r) => r
                .message
                .options
                .get(OptionCode::MESSAGE_TYPE)
                .and_then(|t| t.first().copied())
                .unwrap_or(0),
            Body::V6(m) => m.msg_type.to_u8(),
        }
    }

    /// An option by code (the first instance, for DHCPv6).
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        match self.get() {
            Body::V4(r) => u8::try_from(code)
                .ok()
                .and_then(|c| r.message.options.get(c)),
            Body::V6(m) => m.options.get(code),
        }
    }

    /// Sets an option, replacing its value (every DHCPv6 instance) or appending it. The
    /// DHCPv4 message type, relay agent information (echoed by the server), PAD and END,
    /// and the DHCPv6 relay message, are not options a plugin can set.
    pub fn set_option(&mut self, code: u16, data: &[u8]) -> Result<(), PluginError> {
        match self.family {
            Family::V4 => {
                let c = v4_code(code)?;
                let Body::V4(r) = self.get_mut() else {
                    unreachable!("a DHCPv4 reply decodes to a DHCPv4 body")
                };
                if r.message.options.contains(c) {
                    r.message.options.set(c, data.to_vec());
                } else {
                    r.message.options.append(c, data);
                }
            }
            Family::V6 => {
                v6_code(code)?;
                let Body::V6(m) = self.get_mut() else {
                    unreachable!("a DHCPv6 reply decodes to a DHCPv6 body")
                };
                m.options.remove_all(code);
                m.options.push(code, data);
            }
        }
        Ok(())
    }

    /// Removes an option (every DHCPv6 instance); `Ok(false)` when the reply did not
    /// carry it.
    pub fn remove_option(&mut self, code: u16) -> Result<bool, PluginError> {
        match self.family {
            Family::V4 => {
                let c = v4_code(code)?;
                let Body::V4(r) = self.get_mut() else {
                    unreachable!("a DHCPv4 reply decodes to a DHCPv4 body")
                };
                r.required.retain(|x| *x != c);
                Ok(r.message.options.remove(c).is_some())
            }
            Family::V6 => {
                v6_code(code)?;
                let Body::V6(m) = self.get_mut() else {
                    unreachable!("a DHCPv6 reply decodes to a DHCPv6 body")
                };
                Ok(m.options.remove_all(code) > 0)
            }
        }
    }

    /// The DHCPv4 reply, to read.
    pub fn v4(&self) -> Option<&Reply4> {
        match self.get() {
            Body::V4(r) => Some(r),
            Body::V6(_) => None,
        }
    }

    /// The DHCPv4 reply, to change anything (header fields included).
    pub fn v4_mut(&mut self) -> Option<&mut Reply4> {
        if self.family != Family::V4 {
            return None;
        }
        match self.get_mut() {
            Body::V4(r) => Some(r),
            Body::V6(_) => None,
        }
    }

    /// The DHCPv6 reply, to read.
    pub fn v6(&self) -> Option<&v6::Message6> {
        match self.get() {
            Body::V6(m) => Some(m),
            Body::V4(_) => None,
        }
    }

    /// The DHCPv6 reply, to change anything (IAs included).
    pub fn v6_mut(&mut self) -> Option<&mut v6::Message6> {
        if self.family != Family::V6 {
            return None;
        }
        match self.get_mut() {
            Body::V6(m) => Some(m),
            Body::V4(_) => None,
        }
    }

    /// The DHCPv4 reply, when it is one.
    pub fn into_v4(mut self) -> Option<Reply4> {
        self.get();
        match self.decoded.take() {
            Some(Body::V4(r)) => Some(r),
            _ => None,
        }
    }

    /// The DHCPv6 reply (without relay wrappers), when it is one.
    pub fn into_v6(mut self) -> Option<v6::Message6> {
        self.get();
        match self.decoded.take() {
            Some(Body::V6(m)) => Some(m),
            _ => None,
        }
    }

    /// The reply in wire format (no size budget; DHCPv6 without relay wrappers): what
    /// crosses the C ABI.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(576);
        self.write_wire(&mut out);
        out
    }

    host_only! {
        /// Appends the reply in wire format to `out`.
        fn write_wire(&self, out: &mut Vec<u8>) {
            match (&self.wire, self.decoded.get()) {
                (Some(w), None) => out.extend_from_slice(w),
                _ => match self.get() {
                    Body::V4(r) => r.message.encode(out),
                    Body::V6(m) => m.encode(out),
                },
            }
        }
    }

    /// Replaces the reply with one a plugin returned in wire format. The message type
    /// must stay a reply's; the codes the server required stay required if present.
    pub fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError> {
        match self.family {
            Family::V4 => {
                let message = v4::decode(wire).map_err(|e| {
                    PluginError::new(format!("returned reply does not decode: {e}"))
                })?;
                if message.op != Op::BootReply {
                    return Err(PluginError::new("returned reply is not a BOOTREPLY"));
                }
                if message.options.get(OptionCode::MESSAGE_TYPE).is_none() {
                    return Err(PluginError::new(
                        "returned reply has no message type (option 53)",
                    ));
                }
                let Body::V4(r) = self.get_mut() else {
                    unreachable!("a DHCPv4 reply decodes to a DHCPv4 body")
                };
                r.required.retain(|c| message.options.contains(*c));
                r.message = message;
            }
            Family::V6 => {
                let message = v6::Message6::decode(wire, 0).map_err(|e| {
                    PluginError::new(format!("returned reply does not decode: {e}"))
                })?;
                use v6::MessageType6::*;
                if !matches!(message.msg_type, Advertise | Reply | Reconfigure) {
                    return Err(PluginError::new(format!(
                        "returned message is a {}, not a server's reply",
                        message.msg_type.name()
                    )));
                }
                *self.get_mut() = Body::V6(message);
            }
        }
        Ok(())
    }
}

fn v6_code(code: u16) -> Result<(), PluginError> {
    match code {
        0 => Err(PluginError::new("0 is not a DHCPv6 option code")),
        v6::OptionCode6::RELAY_MSG => Err(PluginError::new(
            "the relay message (option 9) is the server's to build",
        )),
        _ => Ok(()),
    }
}

/// Option 53 from the options field of a wire-format reply, without decoding it.
fn scan_message_type(wire: &[u8]) -> Option<u8> {
    let mut i = 240;
    while i + 1 < wire.len() {
        match wire[i] {
            0 => i += 1,
            255 => return None,
            OptionCode::MESSAGE_TYPE if wire[i + 1] == 1 => return wire.get(i + 2).copied(),
            _ => i += 2 + wire[i + 1] as usize,
        }
    }
    None
}

fn v4_code(code: u16) -> Result<u8, PluginError> {
    match u8::try_from(code) {
        Ok(OptionCode::PAD | OptionCode::END) | Err(_) => Err(PluginError::new(format!(
            "{code} is not a DHCPv4 option code (1 to 254)"
        ))),
        Ok(OptionCode::MESSAGE_TYPE) => Err(PluginError::new(
            "the message type (option 53) is the server's; answer with Action::Respond instead",
        )),
        Ok(OptionCode::RELAY_AGENT_INFORMATION) => Err(PluginError::new(
            "relay agent information (option 82) is echoed by the server",
        )),
        Ok(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Reply {
        let req = v4::Message::new_request(7, &[2, 0, 0, 0, 0, 1]);
        Reply::from_v4(Reply4::to_request(&req, MessageType::Offer))
    }

    #[test]
    fn set_replace_remove() {
        let mut r = offer();
        r.set_option(143, b"abc").unwrap();
        r.set_option(3, &[198, 18, 0, 1]).unwrap();
        r.set_option(143, b"xyz").unwrap();
        assert_eq!(r.option(143), Some(&b"xyz"[..]));
        let order: Vec<u8> = r
            .v4()
            .unwrap()
            .message
            .options
            .iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(order, vec![53, 143, 3]);
        assert_eq!(r.remove_option(143), Ok(true));
        assert_eq!(r.remove_option(143), Ok(false));
        assert!(r.set_option(53, &[5]).is_err());
        assert!(r.set_option(82, &[1, 1, 1]).is_err());
        assert!(r.set_option(300, &[1]).is_err());
        assert_eq!(r.message_type(), 2);
    }

    #[test]
    fn wire_round_trip_keeps_required() {
        let mut r = offer();
        r.set_option(1, &[255, 255, 255, 0]).unwrap();
        let mut wire = r.to_wire();
        let edited = r.clone();
        r.replace_from_wire(&wire).unwrap();
        assert_eq!(r, edited);
        wire[236] = 0; // break the magic cookie
        assert!(r.replace_from_wire(&wire).is_err());
    }

    #[test]
    fn lazy_replies_decode_only_when_read() {
        let r = offer();
        let lazy = Reply::lazy(Family::V4, r.to_wire());
        assert_eq!(lazy.message_type(), 2);
        assert!(
            lazy.decoded.get().is_none(),
            "the message type is scanned, not decoded"
        );
        assert_eq!(lazy.to_wire(), r.to_wire());
        assert!(!lazy.is_touched());
        assert_eq!(lazy, r);
        let mut touched = lazy.clone();
        touched.set_option(224, b"x").unwrap();
        assert!(touched.is_touched());
        assert_ne!(touched.to_wire(), r.to_wire());
    }

    #[test]
    fn dhcpv6_replies_edit_the_client_message() {
        let mut m = v6::Message6::new(v6::MessageType6::Advertise, 0x1234);
        m.options
            .push(v6::OptionCode6::SERVERID, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
        let wire = m.to_bytes();
        let mut r = Reply::lazy(Family::V6, wire.clone());
        assert_eq!(r.message_type(), 2);
        assert!(r.decoded.get().is_none());
        assert_eq!(r.to_wire(), wire);
        r.set_option(136, b"\x00\x11https://bs.example").unwrap();
        r.set_option(136, b"\x00\x11https://bs.example").unwrap();
        assert_eq!(
            r.v6().unwrap().options.get_all(136).count(),
            1,
            "a singleton"
        );
        assert!(r.set_option(9, b"x").is_err());
        assert!(r.v4().is_none() && r.v4_mut().is_none());
        assert_eq!(r.remove_option(136), Ok(true));
        let mut request = v6::Message6::new(v6::MessageType6::Solicit, 1);
        request.options.push(1, &[0, 3]);
        assert!(r.replace_from_wire(&request.to_bytes()).is_err());
        assert_eq!(r.clone().into_v6().unwrap().xid, 0x1234);
    }
}
