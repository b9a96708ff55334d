//! The reply draft plugins edit at `reply_ready`, or build to answer at once.

use std::cell::OnceCell;
use std::net::Ipv4Addr;

use zerotouch_proto::v4::{self, MessageType, Op, OptionCode};

use crate::{Family, PluginError};

/// A reply before it is fitted to the client's size budget and sent.
///
/// Behind the C ABI a reply arrives in wire format and is decoded only when a plugin
/// looks inside; the reply remembers whether it was changed, so an untouched reply
/// goes back without being encoded again.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The reply as received over the ABI, until decoded.
    wire: Option<Vec<u8>>,
    decoded: OnceCell<Reply4>,
    touched: bool,
}

impl PartialEq for Reply {
    /// Same message on the wire (which options the server would keep for size is its
    /// bookkeeping, not part of the reply).
    fn eq(&self, other: &Self) -> bool {
        self.get().message == other.get().message
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
        let mut message = v4::Message::new_request(request.xid, request.hwaddr());
        message.op = Op::BootReply;
        message.htype = request.htype;
        message.hlen = request.hlen;
        message.chaddr = request.chaddr;
        message.flags = request.flags;
        message.giaddr = request.giaddr;
        if msg_type == MessageType::Ack {
            message.ciaddr = request.ciaddr;
        }
        message
            .options
            .set(OptionCode::MESSAGE_TYPE, vec![msg_type.to_u8()]);
        Reply4 {
            message,
            required: vec![OptionCode::MESSAGE_TYPE],
        }
    }

    pub fn yiaddr(&self) -> Ipv4Addr {
        self.message.yiaddr
    }
}

impl Reply {
    pub fn from_v4(reply: Reply4) -> Reply {
        Reply {
            wire: None,
            decoded: OnceCell::from(reply),
            touched: false,
        }
    }

    /// A DHCPv4 reply in wire format, decoded on first use.
    pub fn lazy_v4(wire: Vec<u8>) -> Reply {
        Reply {
            wire: Some(wire),
            decoded: OnceCell::new(),
            touched: false,
        }
    }

    fn get(&self) -> &Reply4 {
        self.decoded.get_or_init(|| {
            // Only the server hands replies over in wire format, encoded by itself, so
            // they decode; should one not, it reads as an empty reply.
            let message = self
                .wire
                .as_deref()
                .and_then(|w| v4::decode(w).ok())
                .unwrap_or_else(|| v4::Message::new_request(0, &[]));
            Reply4 {
                message,
                required: Vec::new(),
            }
        })
    }

    fn get_mut(&mut self) -> &mut Reply4 {
        self.get();
        self.touched = true;
        self.wire = None;
        self.decoded.get_mut().expect("decoded above")
    }

    /// Whether the reply was (possibly) changed since it was made or received.
    pub fn is_touched(&self) -> bool {
        self.touched
    }

    pub fn family(&self) -> Family {
        Family::V4
    }

    pub fn message_type(&self) -> u8 {
        if let (None, Some(w)) = (self.decoded.get(), &self.wire)
            && let Some(t) = scan_message_type(w)
        {
            return t;
        }
        self.get()
            .message
            .options
            .get(OptionCode::MESSAGE_TYPE)
            .and_then(|t| t.first().copied())
            .unwrap_or(0)
    }

    pub fn option(&self, code: u16) -> Option<&[u8]> {
        let c = u8::try_from(code).ok()?;
        self.get().message.options.get(c)
    }

    /// Sets an option, replacing its value in place or appending it. The message type,
    /// relay agent information (echoed by the server), PAD and END are not options a
    /// plugin can set.
    pub fn set_option(&mut self, code: u16, data: &[u8]) -> Result<(), PluginError> {
        let c = v4_code(code)?;
        let r = self.get_mut();
        if r.message.options.contains(c) {
            r.message.options.set(c, data.to_vec());
        } else {
            r.message.options.append(c, data);
        }
        Ok(())
    }

    /// Removes an option; `Ok(false)` when the reply did not carry it.
    pub fn remove_option(&mut self, code: u16) -> Result<bool, PluginError> {
        let c = v4_code(code)?;
        let r = self.get_mut();
        r.required.retain(|x| *x != c);
        Ok(r.message.options.remove(c).is_some())
    }

    /// The DHCPv4 reply, to read.
    pub fn v4(&self) -> Option<&Reply4> {
        Some(self.get())
    }

    /// The DHCPv4 reply, to change anything (header fields included).
    pub fn v4_mut(&mut self) -> Option<&mut Reply4> {
        Some(self.get_mut())
    }

    pub fn into_v4(mut self) -> Option<Reply4> {
        self.get();
        self.decoded.take()
    }

    /// The reply in wire format (no size budget): what crosses the C ABI.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(576);
        self.write_wire(&mut out);
        out
    }

    /// Appends the reply in wire format to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        match (&self.wire, self.decoded.get()) {
            (Some(w), None) => out.extend_from_slice(w),
            _ => self.get().message.encode(out),
        }
    }

    /// Replaces the reply with one a plugin returned in wire format. The message type
    /// must stay; the codes the server required stay required if still present.
    pub fn replace_from_wire(&mut self, wire: &[u8]) -> Result<(), PluginError> {
        let message = v4::decode(wire)
            .map_err(|e| PluginError::new(format!("returned reply does not decode: {e}")))?;
        if message.op != Op::BootReply {
            return Err(PluginError::new("returned reply is not a BOOTREPLY"));
        }
        if message.options.get(OptionCode::MESSAGE_TYPE).is_none() {
            return Err(PluginError::new(
                "returned reply has no message type (option 53)",
            ));
        }
        let r = self.get_mut();
        r.required.retain(|c| message.options.contains(*c));
        r.message = message;
        Ok(())
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
        let lazy = Reply::lazy_v4(r.to_wire());
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
}
