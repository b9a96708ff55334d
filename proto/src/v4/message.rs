//! The fixed BOOTP header plus decoded options.

use std::net::Ipv4Addr;

use super::code::{MessageType, OptionCode};
use super::options::Options;
use super::relay_info::RelayAgentInfo;

/// op, htype ... file: everything before the magic cookie (RFC 2131 §2).
pub const FIXED_HEADER_LEN: usize = 236;
/// The four octets that open the options field of a DHCP message (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The size of the chaddr field.
pub const CHADDR_LEN: usize = 16;
/// The flags bit asking for broadcast replies (RFC 2131 §2, figure 2).
pub const BROADCAST_FLAG: u16 = 0x8000;

/// The `op` field: who sent the message (RFC 951).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// 1: from a client (or a relay on its behalf).
    BootRequest,
    /// 2: from a server.
    BootReply,
    /// Anything else: not a BOOTP message.
    Other(u8),
}

impl Op {
    /// The op of octet `v`.
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Op::BootRequest,
            2 => Op::BootReply,
            v => Op::Other(v),
        }
    }
    /// The op octet.
    pub fn to_u8(self) -> u8 {
        match self {
            Op::BootRequest => 1,
            Op::BootReply => 2,
            Op::Other(v) => v,
        }
    }
}

/// A DHCPv4 message: the BOOTP header fields (RFC 2131 §2, figure 1) and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Request or reply.
    pub op: Op,
    /// Hardware address type (1: Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Relay agents passed.
    pub hops: u8,
    /// Transaction ID, chosen by the client.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags; only [`BROADCAST_FLAG`] is defined.
    pub flags: u16,
    /// The client's address, when it has one and can answer ARP.
    pub ciaddr: Ipv4Addr,
    /// "Your" address: what the server gives the client.
    pub yiaddr: Ipv4Addr,
    /// The next server in bootstrap (TFTP), set by the server.
    pub siaddr: Ipv4Addr,
    /// The relay agent's address, set by the first relay.
    pub giaddr: Ipv4Addr,
    /// The client hardware address, padded to 16 octets.
    pub chaddr: [u8; CHADDR_LEN],
    /// Server host name field, as received (NUL-padded); zeroed when option 52 used it
    /// for options.
    pub sname: [u8; 64],
    /// Boot file field, as received (NUL-padded); zeroed when option 52 used it for
    /// options.
    pub file: [u8; 128],
    /// The options, joined across fields and repeats (RFC 3396).
    pub options: Options,
}

impl Message {
    /// A client's message of type `msg_type` (option 53 set, nothing else) from
    /// hardware address `hwaddr`: what tests, tools and load generators start from.
    pub fn client(msg_type: super::MessageType, xid: u32, hwaddr: &[u8]) -> Self {
        let mut m = Message::new_request(xid, hwaddr);
        m.options
            .set(super::OptionCode::MESSAGE_TYPE, vec![msg_type.to_u8()]);
        m
    }

    /// An empty BOOTREQUEST, for building packets in tests and tools.
    pub fn new_request(xid: u32, hwaddr: &[u8]) -> Self {
        let mut chaddr = [0u8; CHADDR_LEN];
        let n = hwaddr.len().min(CHADDR_LEN);
        chaddr[..n].copy_from_slice(&hwaddr[..n]);
        Message {
            op: Op::BootRequest,
            htype: 1,
            hlen: n as u8,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            sname: [0; 64],
            file: [0; 128],
            options: Options::default(),
        }
    }

    /// The header of a `msg_type` reply to `request`, as RFC 2131 table 3 has it: xid,
    /// htype, hlen, chaddr, flags and giaddr copied, ciaddr echoed in an ACK only;
    /// yiaddr, siaddr, sname, file and the options left for the caller.
    pub fn reply_header(request: &Message, msg_type: MessageType) -> Message {
        let mut header = Message::new_request(request.xid, request.hwaddr());
        header.op = Op::BootReply;
        header.htype = request.htype;
        header.hlen = request.hlen;
        header.chaddr = request.chaddr;
        header.flags = request.flags;
        header.giaddr = request.giaddr;
        if msg_type == MessageType::Ack {
            header.ciaddr = request.ciaddr;
        }
        header
    }

    /// The client hardware address: the first `hlen` octets of chaddr.
    pub fn hwaddr(&self) -> &[u8] {
        &self.chaddr[..(self.hlen as usize).min(CHADDR_LEN)]
    }

    /// Fills the sname field with `name` (at most 63 octets, NUL-padded).
    pub fn set_sname(&mut self, name: &[u8]) {
        set_field(&mut self.sname, name);
    }

    /// Fills the file field with `name` (at most 127 octets, NUL-padded).
    pub fn set_file(&mut self, name: &[u8]) {
        set_field(&mut self.file, name);
    }

    /// Whether the client asked for broadcast replies.
    pub fn broadcast_flag(&self) -> bool {
        self.flags & BROADCAST_FLAG != 0
    }

    /// Option 53, when present and one octet long.
    pub fn message_type(&self) -> Option<MessageType> {
        match self.options.get(OptionCode::MESSAGE_TYPE) {
            Some([t]) => Some(MessageType::from_u8(*t)),
            _ => None,
        }
    }

    fn ipv4_option(&self, code: u8) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.options.get(code)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// Option 50.
    pub fn requested_address(&self) -> Option<Ipv4Addr> {
        self.ipv4_option(OptionCode::REQUESTED_ADDRESS)
    }

    /// Option 54.
    pub fn server_identifier(&self) -> Option<Ipv4Addr> {
        self.ipv4_option(OptionCode::SERVER_IDENTIFIER)
    }

    /// Option 118 (RFC 3011).
    pub fn subnet_selection(&self) -> Option<Ipv4Addr> {
        self.ipv4_option(OptionCode::SUBNET_SELECTION)
    }

    /// Option 61, when present and non-empty.
    pub fn client_identifier(&self) -> Option<&[u8]> {
        self.options
            .get(OptionCode::CLIENT_IDENTIFIER)
            .filter(|v| !v.is_empty())
    }

    /// Option 55, the codes the client asks for, in its order of preference.
    pub fn parameter_request_list(&self) -> &[u8] {
        self.options
            .get(OptionCode::PARAMETER_REQUEST_LIST)
            .unwrap_or(&[])
    }

    /// Option 57; values under 576 are illegal and read as absent.
    pub fn max_message_size(&self) -> Option<u16> {
        let v: [u8; 2] = self
            .options
            .get(OptionCode::MAX_MESSAGE_SIZE)?
            .try_into()
            .ok()?;
        Some(u16::from_be_bytes(v)).filter(|&s| s >= 576)
    }

    /// Largest reply the client accepts: option 57 less IP and UDP headers, else 548;
    /// never more than fits an Ethernet frame, since a server does not fragment.
    pub fn reply_budget(&self) -> usize {
        self.max_message_size()
            .map_or(super::MIN_MAX_MESSAGE_SIZE, |m| (m as usize).min(1500) - 28)
    }

    /// Option 51.
    pub fn lease_time(&self) -> Option<u32> {
        let v: [u8; 4] = self.options.get(OptionCode::LEASE_TIME)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// Option 12, when it is printable text.
    pub fn host_name(&self) -> Option<&str> {
        let v = self.options.get(OptionCode::HOST_NAME)?;
        let s = std::str::from_utf8(v).ok()?.trim_end_matches('\0');
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())).then_some(s)
    }

    /// The name the client gives itself: option 12, else the first label of option 81's
    /// name (RFC 4702).
    pub fn client_name(&self) -> Option<&str> {
        self.host_name()
            .or_else(|| crate::fqdn::client_fqdn4(self.options.get(OptionCode::CLIENT_FQDN)?))
    }

    /// Option 82 with its sub-options; `None` when absent or malformed.
    pub fn relay_agent_info(&self) -> Option<RelayAgentInfo> {
        RelayAgentInfo::parse(self.options.get(OptionCode::RELAY_AGENT_INFORMATION)?)
    }
}

/// Copies `value` into a fixed header field, leaving at least one NUL at the end.
fn set_field(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len() - 1);
    field.fill(0);
    field[..n].copy_from_slice(&value[..n]);
}
