//! DHCPv6 message types, option codes and status codes.

/// RFC 8415 §7.3 message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType6 {
    /// 1: a client looks for servers (§18.2.1).
    Solicit,
    /// 2: a server offers itself in answer to a SOLICIT.
    Advertise,
    /// 3: a client asks the chosen server for its addresses and prefixes.
    Request,
    /// 4: a client that moved asks whether its addresses are still on-link.
    Confirm,
    /// 5: a client extends its bindings with the server that gave them.
    Renew,
    /// 6: a client extends its bindings with any server.
    Rebind,
    /// 7: a server's answer: to every client message but SOLICIT, and to SOLICIT with
    /// Rapid Commit.
    Reply,
    /// 8: a client gives its bindings back.
    Release,
    /// 9: a client found an address in use.
    Decline,
    /// 10: a server tells a client to renew or ask again.
    Reconfigure,
    /// 11: a client asks for options only, with no bindings.
    InformationRequest,
    /// 12: a relay agent forwards a message towards the servers (§9).
    RelayForw,
    /// 13: a server answers a relay agent, the reply inside.
    RelayRepl,
    /// A message type this crate does not name.
    Other(u8),
}

impl MessageType6 {
    /// The type of the message type octet `v`.
    pub fn from_u8(v: u8) -> Self {
        use MessageType6::*;
        match v {
            1 => Solicit,
            2 => Advertise,
            3 => Request,
            4 => Confirm,
            5 => Renew,
            6 => Rebind,
            7 => Reply,
            8 => Release,
            9 => Decline,
            10 => Reconfigure,
            11 => InformationRequest,
            12 => RelayForw,
            13 => RelayRepl,
            o => Other(o),
        }
    }

    /// The message type octet.
    pub fn to_u8(self) -> u8 {
        use MessageType6::*;
        match self {
            Solicit => 1,
            Advertise => 2,
            Request => 3,
            Confirm => 4,
            Renew => 5,
            Rebind => 6,
            Reply => 7,
            Release => 8,
            Decline => 9,
            Reconfigure => 10,
            InformationRequest => 11,
            RelayForw => 12,
            RelayRepl => 13,
            Other(o) => o,
        }
    }

    /// RELAY-FORW or RELAY-REPL: a relay message, with another message inside.
    pub fn is_relay(self) -> bool {
        matches!(self, MessageType6::RelayForw | MessageType6::RelayRepl)
    }

    /// The name RFC 8415 gives it (`INFORMATION-REQUEST`), for logs.
    pub fn name(self) -> &'static str {
        use MessageType6::*;
        match self {
            Solicit => "SOLICIT",
            Advertise => "ADVERTISE",
            Request => "REQUEST",
            Confirm => "CONFIRM",
            Renew => "RENEW",
            Rebind => "REBIND",
            Reply => "REPLY",
            Release => "RELEASE",
            Decline => "DECLINE",
            Reconfigure => "RECONFIGURE",
            InformationRequest => "INFORMATION-REQUEST",
            RelayForw => "RELAY-FORW",
            RelayRepl => "RELAY-REPL",
            Other(_) => "unknown",
        }
    }
}

/// Option codes the server reads or writes (RFC 8415 §21 and others).
pub struct OptionCode6;

impl OptionCode6 {
    /// Client Identifier: the client's DUID (RFC 8415 §21.2).
    pub const CLIENTID: u16 = 1;
    /// Server Identifier: the server's DUID (§21.3).
    pub const SERVERID: u16 = 2;
    /// Identity Association for Non-temporary Addresses (§21.4).
    pub const IA_NA: u16 = 3;
    /// Identity Association for Temporary Addresses (§21.5).
    pub const IA_TA: u16 = 4;
    /// IA Address, inside an IA_NA or IA_TA (§21.6).
    pub const IAADDR: u16 = 5;
    /// Option Request: the codes the client wants (§21.7).
    pub const ORO: u16 = 6;
    /// Server Preference (§21.8).
    pub const PREFERENCE: u16 = 7;
    /// Elapsed Time since the client began (§21.9).
    pub const ELAPSED_TIME: u16 = 8;
    /// Relay Message: the message a relay carries (§21.10).
    pub const RELAY_MSG: u16 = 9;
    /// Authentication (§21.11).
    pub const AUTH: u16 = 11;
    /// Server Unicast (§21.12).
    pub const UNICAST: u16 = 12;
    /// Status Code (§21.13).
    pub const STATUS_CODE: u16 = 13;
    /// Rapid Commit: SOLICIT answered by REPLY (§21.14).
    pub const RAPID_COMMIT: u16 = 14;
    /// User Class (§21.15).
    pub const USER_CLASS: u16 = 15;
    /// Vendor Class (§21.16).
    pub const VENDOR_CLASS: u16 = 16;
    /// Vendor-specific Information (§21.17).
    pub const VENDOR_OPTS: u16 = 17;
    /// Interface-Id a relay adds (§21.18).
    pub const INTERFACE_ID: u16 = 18;
    /// Reconfigure Message (§21.19).
    pub const RECONF_MSG: u16 = 19;
    /// DNS Recursive Name Servers (RFC 3646).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain Search List (RFC 3646).
    pub const DOMAIN_LIST: u16 = 24;
    /// Client FQDN: the client's name (RFC 4704).
    pub const CLIENT_FQDN: u16 = 39;
    /// Identity Association for Prefix Delegation (§21.21).
    pub const IA_PD: u16 = 25;
    /// IA Prefix, inside an IA_PD (§21.22).
    pub const IAPREFIX: u16 = 26;
    /// NTP Server, with address and name sub-options (RFC 5908).
    pub const NTP_SERVER: u16 = 56;
    /// Boot File URL (RFC 5970).
    pub const BOOTFILE_URL: u16 = 59;
    /// Client Link-Layer Address a relay adds (RFC 6939).
    pub const CLIENT_LINKLAYER_ADDR: u16 = 79;
    /// SZTP Redirect: bootstrap server URIs (RFC 8572 §8.2).
    pub const SZTP_REDIRECT: u16 = 136;
}

/// RFC 8415 §21.13 status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    /// 0: success.
    Success,
    /// 1: failure, reason unspecified.
    UnspecFail,
    /// 2: no addresses available for the IA.
    NoAddrsAvail,
    /// 3: the client's binding is unknown.
    NoBinding,
    /// 4: the address is not on the client's link.
    NotOnLink,
    /// 5: send to the multicast address.
    UseMulticast,
    /// 6: no prefixes available for the IA_PD.
    NoPrefixAvail,
    /// A status code this crate does not name.
    Other(u16),
}

impl StatusCode {
    /// The status of code `v`.
    pub fn from_u16(v: u16) -> Self {
        use StatusCode::*;
        match v {
            0 => Success,
            1 => UnspecFail,
            2 => NoAddrsAvail,
            3 => NoBinding,
            4 => NotOnLink,
            5 => UseMulticast,
            6 => NoPrefixAvail,
            o => Other(o),
        }
    }

    /// The status code's number.
    pub fn to_u16(self) -> u16 {
        use StatusCode::*;
        match self {
            Success => 0,
            UnspecFail => 1,
            NoAddrsAvail => 2,
            NoBinding => 3,
            NotOnLink => 4,
            UseMulticast => 5,
            NoPrefixAvail => 6,
            Other(o) => o,
        }
    }
}
