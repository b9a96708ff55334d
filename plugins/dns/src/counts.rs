//! What the server did with what it received: queries answered by transport, and input
//! it refused by reason. Shown as the plugin's counters (`plugin_<instance>_<name>`, so
//! to the `metrics` plugin) and in the line logged at stop.

use std::sync::atomic::{AtomicU64, Ordering};

use hickory_server::proto::ProtoError;
use hickory_server::proto::serialize::binary::DecodeError;

/// Why a message (or a TCP connection) was not answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Shorter than the 12-octet header: dropped, there is no ID to answer.
    ShortHeader,
    /// The QR bit is set: a response sent to a server. Dropped, never answered, or two
    /// servers could be made to answer each other forever.
    NotAQuery,
    /// The message ends inside a name, a question or a record: FORMERR.
    Truncated,
    /// A compression pointer that does not point backwards (a loop, or past the name's
    /// start): FORMERR.
    CompressionPointer,
    /// A label over 63 octets or of an unknown label type: FORMERR.
    Label,
    /// A name over 255 octets: FORMERR.
    NameTooLong,
    /// Anything else that does not parse (an OPT not at the root, bad record data):
    /// FORMERR.
    Malformed,
    /// No question, or more than one: FORMERR.
    QuestionCount,
    /// From source port 0, which cannot be answered: dropped.
    SourcePort,
    /// A TCP frame longer than any query: the connection is closed.
    TcpFrameTooLarge,
    /// A TCP frame that did not arrive whole in time after its first octet (a
    /// slow-loris client), or an answer the client did not read in time: closed.
    TcpTooSlow,
    /// A connection over the limit (in all, or from one address): closed at once.
    TcpConnectionLimit,
}

impl Bad {
    const ALL: [Bad; 12] = [
        Bad::ShortHeader,
        Bad::NotAQuery,
        Bad::Truncated,
        Bad::CompressionPointer,
        Bad::Label,
        Bad::NameTooLong,
        Bad::Malformed,
        Bad::QuestionCount,
        Bad::SourcePort,
        Bad::TcpFrameTooLarge,
        Bad::TcpTooSlow,
        Bad::TcpConnectionLimit,
    ];

    /// The counter's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bad::ShortHeader => "bad_short_header",
            Bad::NotAQuery => "bad_not_a_query",
            Bad::Truncated => "bad_truncated",
            Bad::CompressionPointer => "bad_compression_pointer",
            Bad::Label => "bad_label",
            Bad::NameTooLong => "bad_name_too_long",
            Bad::Malformed => "bad_malformed",
            Bad::QuestionCount => "bad_question_count",
            Bad::SourcePort => "bad_source_port",
            Bad::TcpFrameTooLarge => "bad_tcp_frame_too_large",
            Bad::TcpTooSlow => "bad_tcp_too_slow",
            Bad::TcpConnectionLimit => "bad_tcp_connection_limit",
        }
    }

    /// Why hickory could not read a message.
    pub(crate) fn of(error: &ProtoError) -> Bad {
        let ProtoError::Decode(e) = error else {
            return Bad::Malformed;
        };
        match e {
            DecodeError::InsufficientBytes => Bad::Truncated,
            DecodeError::PointerNotPriorToLabel { .. }
            | DecodeError::LabelOverlapsWithOther { .. }
            | DecodeError::InvalidPreviousIndex => Bad::CompressionPointer,
            DecodeError::LabelBytesTooLong(_) | DecodeError::UnrecognizedLabelCode(_) => Bad::Label,
            DecodeError::DomainNameTooLong(_) => Bad::NameTooLong,
            _ => Bad::Malformed,
        }
    }
}

/// The counts; shared by every listener of the plugin, kept across reloads.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) udp_received: AtomicU64,
    pub(crate) tcp_received: AtomicU64,
    pub(crate) tcp_connections: AtomicU64,
    /// TCP connections closed after `TCP_IDLE` without a query.
    pub(crate) tcp_idle_closed: AtomicU64,
    bad: [AtomicU64; Bad::ALL.len()],
}

impl Counts {
    pub(crate) fn bad(&self, why: Bad) {
        self.bad[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn of(&self, why: Bad) -> u64 {
        self.bad[why as usize].load(Ordering::Relaxed)
    }

    /// Every count by name.
    pub(crate) fn all(&self) -> Vec<(&'static str, u64)> {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = vec![
            ("udp_received", load(&self.udp_received)),
            ("tcp_received", load(&self.tcp_received)),
            ("tcp_connections", load(&self.tcp_connections)),
            ("tcp_idle_closed", load(&self.tcp_idle_closed)),
        ];
        out.extend(Bad::ALL.iter().map(|&b| (b.name(), self.of(b))));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter() {
        for (i, b) in Bad::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i, "{b:?} is out of place in Bad::ALL");
        }
        let counts = Counts::default();
        counts.bad(Bad::NameTooLong);
        counts.bad(Bad::NameTooLong);
        counts.bad(Bad::TcpTooSlow);
        let all = counts.all();
        assert!(all.contains(&("bad_name_too_long", 2)));
        assert!(all.contains(&("bad_tcp_too_slow", 1)));
        assert_eq!(all.iter().map(|(_, v)| v).sum::<u64>(), 3);
    }

    #[test]
    fn decoding_errors_are_told_apart() {
        let of = |e: DecodeError| Bad::of(&ProtoError::Decode(e));
        assert_eq!(of(DecodeError::InsufficientBytes), Bad::Truncated);
        assert_eq!(
            of(DecodeError::PointerNotPriorToLabel { idx: 12, ptr: 12 }),
            Bad::CompressionPointer
        );
        assert_eq!(of(DecodeError::LabelBytesTooLong(64)), Bad::Label);
        assert_eq!(of(DecodeError::DomainNameTooLong(300)), Bad::NameTooLong);
        assert_eq!(of(DecodeError::InvalidEmptyRecord), Bad::Malformed);
        assert_eq!(Bad::of(&ProtoError::Message("x")), Bad::Malformed);
    }
}
