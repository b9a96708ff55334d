//! Strict DHCPv6 decoding: a reason for every malformation.

use super::options::Options6;

/// Why a datagram is not a DHCPv6 message this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError6 {
    /// Shorter than its header.
    #[error("message of {len} octets is shorter than its header")]
    Truncated {
        /// The message's length.
        len: usize,
    },
    /// An option's length runs past the end of its message.
    #[error("option {code} at offset {at} runs past the end of its message")]
    OptionOverrun {
        /// The option's code.
        code: u16,
        /// Where the option starts.
        at: usize,
    },
    /// Octets left over that cannot be an option header.
    #[error("a lone octet at offset {at} where an option header was expected")]
    TrailingOctets {
        /// Where they start.
        at: usize,
    },
    /// A RELAY-FORW or RELAY-REPL without the message it relays.
    #[error("relay message without a relay-message option (9)")]
    RelayWithoutMessage,
    /// More relay levels than [`HOP_COUNT_LIMIT`](super::HOP_COUNT_LIMIT).
    #[error("relay chain deeper than the hop limit ({depth} levels)")]
    RelayTooDeep {
        /// How deep it went.
        depth: usize,
    },
    /// An option the server reads whose value is malformed.
    #[error("option {code} is malformed: {reason}")]
    BadOption {
        /// The option's code.
        code: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl DecodeError6 {
    /// Short name for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError6::Truncated { .. } => "truncated",
            DecodeError6::OptionOverrun { .. } | DecodeError6::TrailingOctets { .. } => {
                "option_overrun"
            }
            DecodeError6::RelayWithoutMessage => "relay_without_message",
            DecodeError6::RelayTooDeep { .. } => "relay_too_deep",
            DecodeError6::BadOption { .. } => "bad_option",
        }
    }
}

/// Parses a run of options (`code`, `length`, value), strictly: every option must fit.
/// `base` is the offset of `bytes` in the datagram, for error messages.
pub(crate) fn parse_options(bytes: &[u8], base: usize) -> Result<Options6, DecodeError6> {
    let mut options = Options6::with_capacity(8, bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.len() - i < 4 {
            return Err(DecodeError6::TrailingOctets { at: base + i });
        }
        let code = u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let start = i + 4;
        if start + len > bytes.len() {
            return Err(DecodeError6::OptionOverrun { code, at: base + i });
        }
        options.push(code, &bytes[start..start + len]);
        i = start + len;
    }
    Ok(options)
}
