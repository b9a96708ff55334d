//! Option codes and message types the server reads or writes by name.

/// DHCP message type, option 53 (RFC 2132 §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1: a client looks for servers (RFC 2131 §3.1).
    Discover,
    /// 2: a server offers an address.
    Offer,
    /// 3: a client asks for the offered address, or renews, rebinds or reboots.
    Request,
    /// 4: a client found the address in use.
    Decline,
    /// 5: a server confirms the lease.
    Ack,
    /// 6: a server refuses the requested address.
    Nak,
    /// 7: a client gives its address back.
    Release,
    /// 8: a client with an address asks for options only.
    Inform,
    /// Any other value: leasequery (RFC 4388), bulk leasequery, forcerenew, ...
    Other(u8),
}

impl MessageType {
    /// The type of option 53's value `v`.
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            other => Self::Other(other),
        }
    }

    /// Option 53's value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Discover => 1,
            Self::Offer => 2,
            Self::Request => 3,
            Self::Decline => 4,
            Self::Ack => 5,
            Self::Nak => 6,
            Self::Release => 7,
            Self::Inform => 8,
            Self::Other(v) => v,
        }
    }

    /// The name for logs (`DISCOVER`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Discover => "DISCOVER",
            Self::Offer => "OFFER",
            Self::Request => "REQUEST",
            Self::Decline => "DECLINE",
            Self::Ack => "ACK",
            Self::Nak => "NAK",
            Self::Release => "RELEASE",
            Self::Inform => "INFORM",
            Self::Other(_) => "OTHER",
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Other(v) => write!(f, "TYPE{v}"),
            t => f.write_str(t.name()),
        }
    }
}

/// Option codes with a fixed meaning to the server core.
pub struct OptionCode;

impl OptionCode {
    /// Pad: one octet of padding (RFC 2132 §3.1).
    pub const PAD: u8 = 0;
    /// Subnet Mask (RFC 2132 §3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Router addresses (RFC 2132 §3.5).
    pub const ROUTERS: u8 = 3;
    /// Domain name servers (RFC 2132 §3.8).
    pub const DOMAIN_NAME_SERVERS: u8 = 6;
    /// Log Servers: syslog receivers (RFC 2132 §3.9).
    pub const LOG_SERVERS: u8 = 7;
    /// The client's domain name (RFC 2132 §3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Domain search list, names in DNS wire format (RFC 3397).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// Host Name (RFC 2132 §3.14).
    pub const HOST_NAME: u8 = 12;
    /// Client FQDN: the client's name (RFC 4702).
    pub const CLIENT_FQDN: u8 = 81;
    /// Requested IP Address (RFC 2132 §9.1).
    pub const REQUESTED_ADDRESS: u8 = 50;
    /// IP Address Lease Time (RFC 2132 §9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option Overload: options continue in `file` and/or `sname` (RFC 2132 §9.3).
    pub const OVERLOAD: u8 = 52;
    /// DHCP Message Type (RFC 2132 §9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server Identifier (RFC 2132 §9.7).
    pub const SERVER_IDENTIFIER: u8 = 54;
    /// Parameter Request List: the options the client wants (RFC 2132 §9.8).
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Message: an error text (RFC 2132 §9.9).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP Message Size (RFC 2132 §9.10).
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal (T1) Time (RFC 2132 §9.11).
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) Time (RFC 2132 §9.12).
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor Class Identifier (RFC 2132 §9.13).
    pub const VENDOR_CLASS: u8 = 60;
    /// Client Identifier (RFC 2132 §9.14).
    pub const CLIENT_IDENTIFIER: u8 = 61;
    /// User Class (RFC 3004).
    pub const USER_CLASS: u8 = 77;
    /// Relay Agent Information (RFC 3046).
    pub const RELAY_AGENT_INFORMATION: u8 = 82;
    /// Subnet Selection (RFC 3011).
    pub const SUBNET_SELECTION: u8 = 118;
    /// End of the options (RFC 2132 §3.2).
    pub const END: u8 = 255;
}
