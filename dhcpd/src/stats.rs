//! Counters of what the server did with each packet, and why it dropped what it dropped.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a packet got no reply. Malformed packets and requests the server cannot serve
/// are both counted, each under its own reason.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::EnumCount, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    Truncated,
    BadMagicCookie,
    BadHlen,
    OptionOverrun,
    BadOverload,
    #[strum(serialize = "not_bootrequest")]
    NotBootRequest,
    NoMessageType,
    UnexpectedMessageType,
    NotServedInterface,
    NoSubnet,
    PoolExhausted,
    RequestWithoutAddress,
    OtherServerSelected,
    NotAuthoritative,
    UnknownLease,
    CommitFailed,
    /// A lease database shared with other servers refused the lease: another server's
    /// client holds the address.
    HeldElsewhere,
    /// The lease store cannot be written: no new lease is offered until it can.
    StoreUnavailable,
    /// Sharing a lease database: no address block of the client's pools is claimed by
    /// this server yet (the claim is under way).
    AwaitingClaim,
    SendFailed,
    /// A plugin's hook answered `Drop`.
    PluginDrop,
    /// A plugin's hook failed and its instance is configured `on_error = "drop"`.
    PluginError,
    /// DHCPv6: a relay message without the relayed message inside.
    RelayWithoutMessage,
    /// DHCPv6: more relay levels than the hop limit allows.
    RelayTooDeep,
    /// DHCPv6: an option the server reads is malformed (an IA, a DUID …).
    BadOption,
    /// DHCPv6: a message that must carry a client identifier has none.
    MissingClientId,
    /// DHCPv6: a client identifier outside RFC 8415 §11.1's 3 to 130 octets.
    BadClientId,
    /// DHCPv6: a server identifier where none may be, or none where one must be.
    BadServerId,
    /// DHCPv6: a message that must be multicast arrived by unicast.
    Unicast,
    /// DHCPv6: a CONFIRM or DECLINE naming no address.
    NoAddresses,
}

impl From<zerotouch_plugin_host::DropReason> for Reason {
    fn from(r: zerotouch_plugin_host::DropReason) -> Self {
        match r {
            zerotouch_plugin_host::DropReason::Asked => Reason::PluginDrop,
            zerotouch_plugin_host::DropReason::Failed => Reason::PluginError,
        }
    }
}

impl Reason {
    /// Every reason, in counter order.
    pub fn all() -> impl Iterator<Item = Reason> {
        <Reason as strum::IntoEnumIterator>::iter()
    }

    /// The reason's name in counters and logs (`no_subnet`, ...).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What the reason means, for a log line that has no more detail.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Truncated => "shorter than its header or options say",
            Reason::BadMagicCookie => "no DHCP magic cookie",
            Reason::BadHlen => "hardware address length over 16",
            Reason::OptionOverrun => "an option runs past the end of the packet",
            Reason::BadOverload => "option 52 overloads a field wrongly",
            Reason::NotBootRequest => {
                "not a BOOTREQUEST (op is not 1): a reply or another protocol on the server port"
            }
            Reason::NoMessageType => "no DHCP message type (option 53): BOOTP is not served",
            Reason::UnexpectedMessageType => "a message type a server does not answer",
            Reason::NotServedInterface => "arrived on an interface that is not served",
            Reason::NoSubnet => {
                "no subnet for the client's link (none names the interface or holds its addresses, the relay's or the client's)"
            }
            Reason::PoolExhausted => "no free address in the client's pools",
            Reason::RequestWithoutAddress => "a REQUEST that names no address",
            Reason::OtherServerSelected => "the client chose another server",
            Reason::NotAuthoritative => "the server is not authoritative for the requested address",
            Reason::UnknownLease => "no lease for this client",
            Reason::CommitFailed => "the lease could not be stored",
            Reason::StoreUnavailable => {
                "the lease database cannot be written: no new lease is offered until it is back"
            }
            Reason::HeldElsewhere => {
                "the shared lease database refused the lease: another server's client holds the address"
            }
            Reason::AwaitingClaim => {
                "no block of the client's pools is claimed by this server yet (shared lease database)"
            }
            Reason::SendFailed => "the reply could not be sent",
            Reason::PluginDrop => "a plugin dropped it",
            Reason::PluginError => "a plugin failed and its instance drops on error",
            Reason::RelayWithoutMessage => "a relay message without a relayed message",
            Reason::RelayTooDeep => "more relay levels than the hop limit",
            Reason::BadOption => "a malformed option",
            Reason::MissingClientId => "no client identifier",
            Reason::BadClientId => "a client identifier that is not a DUID of 3 to 130 octets",
            Reason::BadServerId => {
                "a server identifier where none may be, or none where one must be"
            }
            Reason::Unicast => "sent by unicast where multicast is required",
            Reason::NoAddresses => "names no address",
        }
    }

    /// Malformed input, as opposed to a well-formed request the server chose not to answer.
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            Reason::Truncated
                | Reason::BadMagicCookie
                | Reason::BadHlen
                | Reason::OptionOverrun
                | Reason::BadOverload
                | Reason::NotBootRequest
                | Reason::NoMessageType
                | Reason::RequestWithoutAddress
                | Reason::RelayWithoutMessage
                | Reason::RelayTooDeep
                | Reason::BadOption
                | Reason::MissingClientId
                | Reason::BadClientId
                | Reason::BadServerId
                | Reason::NoAddresses
        )
    }
}

impl From<&zerotouch_proto::v6::DecodeError6> for Reason {
    fn from(e: &zerotouch_proto::v6::DecodeError6) -> Self {
        use zerotouch_proto::v6::DecodeError6::*;
        match e {
            Truncated { .. } => Reason::Truncated,
            OptionOverrun { .. } | TrailingOctets { .. } => Reason::OptionOverrun,
            RelayWithoutMessage => Reason::RelayWithoutMessage,
            RelayTooDeep { .. } => Reason::RelayTooDeep,
            BadOption { .. } => Reason::BadOption,
        }
    }
}

impl From<&zerotouch_proto::v4::DecodeError> for Reason {
    fn from(e: &zerotouch_proto::v4::DecodeError) -> Self {
        use zerotouch_proto::v4::DecodeError::*;
        match e {
            Truncated { .. } => Reason::Truncated,
            BadCookie { .. } => Reason::BadMagicCookie,
            BadHlen { .. } => Reason::BadHlen,
            OptionOverrun { .. } => Reason::OptionOverrun,
            BadOverload { .. } => Reason::BadOverload,
        }
    }
}

/// Message types counted on receive and send, indexed by option 53 value (0 = other).
const TYPES: usize = 9;
/// DHCPv6 message types, indexed by msg-type (0 = other).
const TYPES6: usize = 14;

#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    received_by_type: [AtomicU64; TYPES],
    sent_by_type: [AtomicU64; TYPES],
    pub received6: AtomicU64,
    received6_by_type: [AtomicU64; TYPES6],
    sent6_by_type: [AtomicU64; TYPES6],
    no_reply: [AtomicU64; <Reason as strum::EnumCount>::COUNT],
    pub leases_committed: AtomicU64,
    pub commit_batches: AtomicU64,
    pub options_dropped_for_size: AtomicU64,
}

fn type6_slot(t: u8) -> usize {
    if (1..TYPES6 as u8).contains(&t) {
        t as usize
    } else {
        0
    }
}

fn type_slot(t: u8) -> usize {
    if (1..TYPES as u8).contains(&t) {
        t as usize
    } else {
        0
    }
}

impl Counters {
    pub fn count_received(&self, msg_type: u8) {
        self.received_by_type[type_slot(msg_type)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_received6(&self, msg_type: u8) {
        self.received6_by_type[type6_slot(msg_type)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_sent6(&self, msg_type: u8) {
        self.sent6_by_type[type6_slot(msg_type)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn sent6(&self, msg_type: u8) -> u64 {
        self.sent6_by_type[type6_slot(msg_type)].load(Ordering::Relaxed)
    }

    pub fn count_sent(&self, msg_type: u8) {
        self.sent_by_type[type_slot(msg_type)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_no_reply(&self, reason: Reason) {
        self.no_reply[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn no_reply(&self, reason: Reason) -> u64 {
        self.no_reply[reason as usize].load(Ordering::Relaxed)
    }

    pub fn sent(&self, msg_type: u8) -> u64 {
        self.sent_by_type[type_slot(msg_type)].load(Ordering::Relaxed)
    }

    /// Every counter by name, zeros included: `received`, `rx_<type>`, `tx_<type>`, the
    /// no-reply reasons, commit counters.
    pub fn values(&self) -> Vec<(String, u64)> {
        let names = [
            "other", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
        ];
        let mut out = vec![(
            "received".to_string(),
            self.received.load(Ordering::Relaxed),
        )];
        for (i, n) in names.iter().enumerate() {
            out.push((
                format!("rx_{n}"),
                self.received_by_type[i].load(Ordering::Relaxed),
            ));
            out.push((
                format!("tx_{n}"),
                self.sent_by_type[i].load(Ordering::Relaxed),
            ));
        }
        let names6 = [
            "other",
            "solicit",
            "advertise",
            "request",
            "confirm",
            "renew",
            "rebind",
            "reply",
            "release",
            "decline",
            "reconfigure",
            "information_request",
            "relay_forw",
            "relay_repl",
        ];
        out.push((
            "received6".to_string(),
            self.received6.load(Ordering::Relaxed),
        ));
        for (i, n) in names6.iter().enumerate() {
            out.push((
                format!("rx6_{n}"),
                self.received6_by_type[i].load(Ordering::Relaxed),
            ));
            out.push((
                format!("tx6_{n}"),
                self.sent6_by_type[i].load(Ordering::Relaxed),
            ));
        }
        for r in Reason::all() {
            out.push((r.as_str().to_string(), self.no_reply(r)));
        }
        for (n, v) in [
            ("leases_committed", &self.leases_committed),
            ("commit_batches", &self.commit_batches),
            ("options_dropped_for_size", &self.options_dropped_for_size),
        ] {
            out.push((n.to_string(), v.load(Ordering::Relaxed)));
        }
        out
    }

    /// `name=value` pairs of `received` and every non-zero counter, for the periodic and
    /// final log lines.
    pub fn summary(&self) -> String {
        self.values()
            .into_iter()
            .filter(|(n, v)| *v > 0 || n == "received")
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
