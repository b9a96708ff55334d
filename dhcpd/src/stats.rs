//! Counters of what the server did with each packet, and why it dropped what it dropped.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a packet got no reply. Malformed packets and requests the server cannot serve
/// are both counted, each under its own reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Truncated,
    BadMagicCookie,
    BadHlen,
    OptionOverrun,
    BadOverload,
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
    SendFailed,
    /// A plugin's hook answered `Drop`.
    PluginDrop,
    /// A plugin's hook failed and its instance is configured `on_error = "drop"`.
    PluginError,
}

impl Reason {
    pub const ALL: [Reason; 19] = [
        Reason::Truncated,
        Reason::BadMagicCookie,
        Reason::BadHlen,
        Reason::OptionOverrun,
        Reason::BadOverload,
        Reason::NotBootRequest,
        Reason::NoMessageType,
        Reason::UnexpectedMessageType,
        Reason::NotServedInterface,
        Reason::NoSubnet,
        Reason::PoolExhausted,
        Reason::RequestWithoutAddress,
        Reason::OtherServerSelected,
        Reason::NotAuthoritative,
        Reason::UnknownLease,
        Reason::CommitFailed,
        Reason::SendFailed,
        Reason::PluginDrop,
        Reason::PluginError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Truncated => "truncated",
            Reason::BadMagicCookie => "bad_magic_cookie",
            Reason::BadHlen => "bad_hlen",
            Reason::OptionOverrun => "option_overrun",
            Reason::BadOverload => "bad_overload",
            Reason::NotBootRequest => "not_bootrequest",
            Reason::NoMessageType => "no_message_type",
            Reason::UnexpectedMessageType => "unexpected_message_type",
            Reason::NotServedInterface => "not_served_interface",
            Reason::NoSubnet => "no_subnet",
            Reason::PoolExhausted => "pool_exhausted",
            Reason::RequestWithoutAddress => "request_without_address",
            Reason::OtherServerSelected => "other_server_selected",
            Reason::NotAuthoritative => "not_authoritative",
            Reason::UnknownLease => "unknown_lease",
            Reason::CommitFailed => "commit_failed",
            Reason::SendFailed => "send_failed",
            Reason::PluginDrop => "plugin_drop",
            Reason::PluginError => "plugin_error",
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
        )
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

#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    received_by_type: [AtomicU64; TYPES],
    sent_by_type: [AtomicU64; TYPES],
    no_reply: [AtomicU64; Reason::ALL.len()],
    pub leases_committed: AtomicU64,
    pub commit_batches: AtomicU64,
    pub options_dropped_for_size: AtomicU64,
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
        for r in Reason::ALL {
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
