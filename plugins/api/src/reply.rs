//! The reply drafts plugins edit at `reply_ready4`/`reply_ready6`, or build to answer at
//! once: [`Reply4`] and [`Reply6`].

use std::cell::OnceCell;

use zerotouch_proto::v4::{self, MessageType, Op, OptionCode};
use zerotouch_proto::v6;

use crate::PluginError;

/// A DHCPv4 reply: BOOTP header fields and options in the order they will be sent
/// (option 82, the relay's, is echoed by the server after them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft4 {
    /// The reply: header fields and options.
    pub message: v4::Message,
    /// Codes the server keeps even when the reply must shrink to the client's maximum
    /// message size (message type, server identifier, lease times ...). Options a plugin
    /// adds are dropped first, from the last.
    pub required: Vec<u8>,
}

impl Draft4 {
    /// An empty reply of type `msg_type` to `request`: header fields copied as RFC 2131
    /// table 3 says; options to be added. The server identifier is filled in by the
    /// server if the plugin does not set one.
    pub fn to_request(request: &v4::Message, msg_type: MessageType) -> Draft4 {
        let mut message = v4::Message::reply_header(request, msg_type);
        message
            .options
            .set(OptionCode::MESSAGE_TYPE, vec![msg_type.to_u8()]);
        Draft4 {
            message,
            required: vec![OptionCode::MESSAGE_TYPE],
        }
    }
}

/// A reply's body: what it decodes from and encodes to.
trait Body: Clone {
    /// Decodes a reply the server encoded itself; should one not decode, it reads as
    /// `fallback`'s empty reply.
    fn decode(wire: &[u8]) -> Self;
    fn encode(&self, out: &mut Vec<u8>);
}

impl Body for Draft4 {
    fn decode(wire: &[u8]) -> Self {
        Draft4 {
            message: v4::decode(wire).unwrap_or_else(|_| v4::Message::new_request(0, &[])),
            required: Vec::new(),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.message.encode(out)
    }
}

impl Body for v6::Message6 {
    fn decode(wire: &[u8]) -> Self {
        v6::Message6::decode(wire, 0)
            .unwrap_or_else(|_| v6::Message6::new(v6::MessageType6::Reply, 0))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        v6::Message6::encode(self, out)
    }
}

/// A reply before it is fitted to the client's size budget and sent. Behind the C ABI
/// a reply arrives in wire format and is decoded only when a plugin looks inside; it
/// remembers whether it was changed, so an untouched reply goes back as it came.
#[derive(Debug, Clone)]
struct Held<B> {
    /// The reply as received over the ABI, until decoded.
    wire: Option<Vec<u8>>,
    decoded: OnceCell<B>,
    touched: bool,
}

impl<B: Body> Held<B> {
    fn new(body: B) -> Self {
        Held {
            wire: None,
            decoded: OnceCell::from(body),
            touched: false,
        }
    }

    fn lazy(wire: Vec<u8>) -> Self {
        Held {
            wire: Some(wire),
            decoded: OnceCell::new(),
            touched: false,
        }
    }

    fn get(&self) -> &B {
        self.decoded
            .get_or_init(|| B::decode(self.wire.as_deref().unwrap_or_default()))
    }

    fn get_mut(&mut self) -> &mut B {
        self.get();
        self.touched = true;
        self.wire = None;
        self.decoded.get_mut().expect("decoded above")
    }

    fn into_body(mut self) -> B {
        self.get();
        self.decoded.take().expect("decoded above")
    }

    /// The wire format while undecoded.
    fn undecoded(&self) -> Option<&[u8]> {
        match (self.decoded.get(), &self.wire) {
            (None, Some(w)) => Some(w),
            _ => None,
        }
    }

    fn write_wire(&self, out: &mut Vec<u8>) {
        match self.undecoded() {
            Some(w) => out.extend_from_slice(w),
            None => self.get().encode(out),
        }
    }
}

/// A family's reply as it crosses the C ABI in wire format: what the plugin host and
/// the SDK convert, for either family alike.
#[cfg_attr(not(feature = "host"), allow(unreachable_pub, dead_code))]
pub trait WireReply: Sized {
    /// The reply's family.
    const FAMILY: crate::Family;
    /// A reply in wire format, decoded on first use.
    fn from_wire(wire: Vec<u8>) -> Self;
    /// Whether the reply was (possibly) changed since it was made or received.
    fn is_touched(&self) -> bool;
    /// The reply in wire format.
    fn to_wire(&self) -> Vec<u8>;
    /// Appends the reply in wire format to `out`.
    fn write_wire(&self, out: &mut Vec<u8>);
    /// Replaces the reply with one a plugin returned in wire format.
    fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError>;
}

macro_rules! reply_common {
    ($reply:ident, $body:ty, $family:ident) => {
        impl WireReply for $reply {
            const FAMILY: crate::Family = crate::Family::$family;
            fn from_wire(wire: Vec<u8>) -> Self {
                $reply::lazy(wire)
            }
            fn is_touched(&self) -> bool {
                $reply::is_touched(self)
            }
            fn to_wire(&self) -> Vec<u8> {
                $reply::to_wire(self)
            }
            fn write_wire(&self, out: &mut Vec<u8>) {
                $reply::write_wire(self, out)
            }
            fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError> {
                $reply::replace_from_wire(self, wire)
            }
        }

        impl $reply {
            host_only! {
                /// A reply in wire format, decoded on first use.
                fn lazy(wire: Vec<u8>) -> $reply {
                    $reply(Held::lazy(wire))
                }
            }

            /// Whether the reply was (possibly) changed since it was made or received.
            pub fn is_touched(&self) -> bool {
                self.0.touched
            }

            /// The reply in wire format (no size budget; DHCPv6 without relay wrappers):
            /// what crosses the C ABI.
            pub fn to_wire(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(576);
                self.0.write_wire(&mut out);
                out
            }

            host_only! {
                /// Appends the reply in wire format to `out`.
                fn write_wire(&self, out: &mut Vec<u8>) {
                    self.0.write_wire(out)
                }
            }
        }

        impl PartialEq for $reply {
            /// The same message on the wire.
            fn eq(&self, other: &Self) -> bool {
                Self::same(self.0.get(), other.0.get())
            }
        }

        impl Eq for $reply {}

        impl From<$body> for $reply {
            fn from(body: $body) -> Self {
                $reply(Held::new(body))
            }
        }
    };
}

/// A DHCPv4 reply (OFFER, ACK, NAK) a plugin edits at `reply_ready4` or answers with.
#[derive(Debug, Clone)]
pub struct Reply4(Held<Draft4>);

reply_common!(Reply4, Draft4, V4);

impl Reply4 {
    /// A reply to be sent as it is unless a plugin edits it.
    pub fn new(draft: Draft4) -> Reply4 {
        Reply4(Held::new(draft))
    }

    /// Which options the server would keep for size is its bookkeeping, not the reply.
    fn same(a: &Draft4, b: &Draft4) -> bool {
        a.message == b.message
    }

    /// The message type (option 53), read without decoding a reply that came as wire.
    pub fn message_type(&self) -> MessageType {
        let code = match self.0.undecoded() {
            Some(w) => scan_message_type(w),
            None => None,
        };
        MessageType::from_u8(code.unwrap_or_else(|| {
            self.draft()
                .message
                .options
                .get(OptionCode::MESSAGE_TYPE)
                .and_then(|t| t.first().copied())
                .unwrap_or(0)
        }))
    }

    /// The reply, to read.
    pub fn draft(&self) -> &Draft4 {
        self.0.get()
    }

    /// The reply, to change anything (header fields included).
    pub fn draft_mut(&mut self) -> &mut Draft4 {
        self.0.get_mut()
    }

    /// The reply, taken out.
    pub fn into_draft(self) -> Draft4 {
        self.0.into_body()
    }

    /// An option by code.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.draft().message.options.get(code)
    }

    /// Sets an option, replacing its value or appending it. The message type, relay
    /// agent information (echoed by the server), PAD and END are not options a plugin
    /// can set.
    pub fn set_option(&mut self, code: u8, data: &[u8]) -> Result<(), PluginError> {
        let c = v4_code(code)?;
        let r = self.draft_mut();
        if r.message.options.contains(c) {
            r.message.options.set(c, data.to_vec());
        } else {
            r.message.options.append(c, data);
        }
        Ok(())
    }

    /// Removes an option; `Ok(false)` when the reply did not carry it.
    pub fn remove_option(&mut self, code: u8) -> Result<bool, PluginError> {
        let c = v4_code(code)?;
        let r = self.draft_mut();
        r.required.retain(|x| *x != c);
        Ok(r.message.options.remove(c).is_some())
    }

    /// Replaces the reply with one a plugin returned in wire format. It must stay a
    /// reply with a message type; the codes the server required stay required if present.
    pub fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError> {
        let message = v4::decode(wire)
            .map_err(|e| PluginError::with_source("returned reply does not decode", e))?;
        if message.op != Op::BootReply {
            return Err(PluginError::new("returned reply is not a BOOTREPLY"));
        }
        if message.options.get(OptionCode::MESSAGE_TYPE).is_none() {
            return Err(PluginError::new(
                "returned reply has no message type (option 53)",
            ));
        }
        let r = self.draft_mut();
        r.required.retain(|c| message.options.contains(*c));
        r.message = message;
        Ok(())
    }
}

/// A DHCPv6 reply (ADVERTISE, REPLY) to the client, without relay wrappers (the server
/// adds them), that a plugin edits at `reply_ready6` or answers with.
#[derive(Debug, Clone)]
pub struct Reply6(Held<v6::Message6>);

reply_common!(Reply6, v6::Message6, V6);

impl Reply6 {
    /// A reply to be sent as it is unless a plugin edits it.
    pub fn new(message: v6::Message6) -> Reply6 {
        Reply6(Held::new(message))
    }

    fn same(a: &v6::Message6, b: &v6::Message6) -> bool {
        a == b
    }

    /// The msg-type, read without decoding a reply that came as wire.
    pub fn message_type(&self) -> v6::MessageType6 {
        match self.0.undecoded() {
            Some(w) => v6::MessageType6::from_u8(w.first().copied().unwrap_or(0)),
            None => self.message().msg_type,
        }
    }

    /// The reply, to read.
    pub fn message(&self) -> &v6::Message6 {
        self.0.get()
    }

    /// The reply, to change anything (IAs included).
    pub fn message_mut(&mut self) -> &mut v6::Message6 {
        self.0.get_mut()
    }

    /// The reply, taken out.
    pub fn into_message(self) -> v6::Message6 {
        self.0.into_body()
    }

    /// The first instance of an option, by code.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.message().options.get(code)
    }

    /// Sets an option, replacing every instance of it. The relay message (option 9) is
    /// the server's to build.
    pub fn set_option(&mut self, code: u16, data: &[u8]) -> Result<(), PluginError> {
        v6_code(code)?;
        let m = self.message_mut();
        m.options.remove_all(code);
        m.options.push(code, data);
        Ok(())
    }

    /// Removes every instance of an option; `Ok(false)` when the reply did not carry it.
    pub fn remove_option(&mut self, code: u16) -> Result<bool, PluginError> {
        v6_code(code)?;
        Ok(self.message_mut().options.remove_all(code) > 0)
    }

    /// Replaces the reply with one a plugin returned in wire format: a server's reply
    /// (ADVERTISE, REPLY, RECONFIGURE).
    pub fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError> {
        let message = v6::Message6::decode(wire, 0)
            .map_err(|e| PluginError::with_source("returned reply does not decode", e))?;
        use v6::MessageType6::*;
        if !matches!(message.msg_type, Advertise | Reply | Reconfigure) {
            return Err(PluginError::new(format!(
                "returned message is a {}, not a server's reply",
                message.msg_type.name()
            )));
        }
        *self.message_mut() = message;
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

fn v4_code(code: u8) -> Result<u8, PluginError> {
    match code {
        OptionCode::PAD | OptionCode::END => Err(PluginError::new(format!(
            "{code} is not a DHCPv4 option code (1 to 254)"
        ))),
        OptionCode::MESSAGE_TYPE => Err(PluginError::new(
            "the message type (option 53) is the server's; answer with Action::Respond instead",
        )),
        OptionCode::RELAY_AGENT_INFORMATION => Err(PluginError::new(
            "relay agent information (option 82) is echoed by the server",
        )),
        c => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Reply4 {
        let req = v4::Message::new_request(7, &[2, 0, 0, 0, 0, 1]);
        Reply4::new(Draft4::to_request(&req, MessageType::Offer))
    }

    #[test]
    fn set_replace_remove() {
        let mut r = offer();
        r.set_option(143, b"abc").unwrap();
        r.set_option(3, &[198, 18, 0, 1]).unwrap();
        r.set_option(143, b"xyz").unwrap();
        assert_eq!(r.option(143), Some(&b"xyz"[..]));
        let order: Vec<u8> = r.draft().message.options.iter().map(|(c, _)| c).collect();
        assert_eq!(order, vec![53, 143, 3]);
        assert_eq!(r.remove_option(143), Ok(true));
        assert_eq!(r.remove_option(143), Ok(false));
        assert!(r.set_option(53, &[5]).is_err());
        assert!(r.set_option(82, &[1, 1, 1]).is_err());
        assert!(r.set_option(255, &[1]).is_err());
        assert_eq!(r.message_type(), MessageType::Offer);
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
        let lazy = Reply4::lazy(r.to_wire());
        assert_eq!(lazy.message_type(), MessageType::Offer);
        assert!(
            lazy.0.decoded.get().is_none(),
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
        let mut r = Reply6::lazy(wire.clone());
        assert_eq!(r.message_type(), v6::MessageType6::Advertise);
        assert!(r.0.decoded.get().is_none());
        assert_eq!(r.to_wire(), wire);
        r.set_option(136, b"\x00\x11https://bs.example").unwrap();
        r.set_option(136, b"\x00\x11https://bs.example").unwrap();
        assert_eq!(r.message().options.get_all(136).count(), 1, "a singleton");
        assert!(r.set_option(9, b"x").is_err());
        assert_eq!(r.remove_option(136), Ok(true));
        let mut request = v6::Message6::new(v6::MessageType6::Solicit, 1);
        request.options.push(1, &[0, 3]);
        assert!(r.replace_from_wire(&request.to_bytes()).is_err());
        assert_eq!(r.clone().into_message().xid, 0x1234);
    }
}
