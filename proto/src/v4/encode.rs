//! DHCPv4 encoding: whole messages, and replies fitted to the client's size budget.

use std::ops::Deref;

use super::BOOTP_MIN_LEN;
use super::code::OptionCode;
use super::message::{FIXED_HEADER_LEN, MAGIC_COOKIE, Message};

/// An option value: borrowed from the configuration, a few octets kept inline (message
/// type, addresses, lifetimes: no allocation per reply), or owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionData<'a> {
    /// Octets that live elsewhere (the configuration).
    Borrowed(&'a [u8]),
    /// Up to 16 octets kept in place.
    Inline {
        /// How many of `bytes` are the value.
        len: u8,
        /// The value, then padding.
        bytes: [u8; 16],
    },
    /// Octets of their own.
    Owned(Vec<u8>),
}

impl Deref for OptionData<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            OptionData::Borrowed(b) => b,
            OptionData::Inline { len, bytes } => &bytes[..*len as usize],
            OptionData::Owned(v) => v,
        }
    }
}

impl<'a> From<&'a [u8]> for OptionData<'a> {
    fn from(b: &'a [u8]) -> Self {
        OptionData::Borrowed(b)
    }
}

impl From<Vec<u8>> for OptionData<'_> {
    fn from(v: Vec<u8>) -> Self {
        OptionData::Owned(v)
    }
}

impl<const N: usize> From<[u8; N]> for OptionData<'_> {
    fn from(a: [u8; N]) -> Self {
        if N <= 16 {
            let mut bytes = [0u8; 16];
            bytes[..N].copy_from_slice(&a);
            OptionData::Inline {
                len: N as u8,
                bytes,
            }
        } else {
            OptionData::Owned(a.to_vec())
        }
    }
}

/// One option of a reply, in priority order: the encoder drops the last optional ones
/// first when the reply would exceed the client's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyOption<'a> {
    /// The option's code.
    pub code: u8,
    /// Its value.
    pub data: OptionData<'a>,
    /// Never dropped for size: message type, server identifier, lease times, ...
    pub required: bool,
}

impl<'a> ReplyOption<'a> {
    /// An option the encoder never drops for size.
    pub fn required(code: u8, data: impl Into<OptionData<'a>>) -> Self {
        ReplyOption {
            code,
            data: data.into(),
            required: true,
        }
    }
    /// An option the encoder drops, last first, when the reply would not fit.
    pub fn optional(code: u8, data: impl Into<OptionData<'a>>) -> Self {
        ReplyOption {
            code,
            data: data.into(),
            required: false,
        }
    }
}

/// What [`ReplyEncoder::encode`] left out or could not avoid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodeOutcome {
    /// Optional options left out to stay within the budget, highest priority first.
    pub dropped: Vec<u8>,
    /// The required options alone exceed the budget; the reply was written anyway.
    pub over_budget: bool,
}

/// Octets an option takes on the wire, split into 255-octet pieces per RFC 3396.
pub(super) fn encoded_len(data_len: usize) -> usize {
    if data_len == 0 {
        2
    } else {
        data_len.div_ceil(255) * 2 + data_len
    }
}

fn put_option(out: &mut Vec<u8>, code: u8, data: &[u8]) {
    if data.is_empty() {
        out.extend_from_slice(&[code, 0]);
        return;
    }
    for chunk in data.chunks(255) {
        out.push(code);
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

fn put_field(out: &mut Vec<u8>, value: &[u8], size: usize) {
    let n = value.len().min(size);
    out.extend_from_slice(&value[..n]);
    out.resize(out.len() + size - n, 0);
}

fn put_header(out: &mut Vec<u8>, m: &Message) {
    out.push(m.op.to_u8());
    out.push(m.htype);
    out.push(m.hlen);
    out.push(m.hops);
    out.extend_from_slice(&m.xid.to_be_bytes());
    out.extend_from_slice(&m.secs.to_be_bytes());
    out.extend_from_slice(&m.flags.to_be_bytes());
    for a in [m.ciaddr, m.yiaddr, m.siaddr, m.giaddr] {
        out.extend_from_slice(&a.octets());
    }
    out.extend_from_slice(&m.chaddr);
    put_field(out, &m.sname, 64);
    put_field(out, &m.file, 128);
    out.extend_from_slice(&MAGIC_COOKIE);
}

fn finish(out: &mut Vec<u8>, start: usize) {
    out.push(OptionCode::END);
    if out.len() - start < BOOTP_MIN_LEN {
        out.resize(start + BOOTP_MIN_LEN, 0);
    }
}

impl Message {
    /// Encodes the message as it is: options in stored order (82 last), long ones split
    /// per RFC 3396, END, padding to 300 octets. No size budget: for requests built by
    /// tools and tests, and for relays forwarding what they were given.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_header(out, self);
        for (code, data) in self.options.iter() {
            if code != OptionCode::RELAY_AGENT_INFORMATION {
                put_option(out, code, data);
            }
        }
        if let Some(rai) = self.options.get(OptionCode::RELAY_AGENT_INFORMATION) {
            put_option(out, OptionCode::RELAY_AGENT_INFORMATION, rai);
        }
        finish(out, start);
    }

    /// [`Message::encode`] into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BOOTP_MIN_LEN);
        self.encode(&mut out);
        out
    }
}

/// Writes replies within a size budget.
pub struct ReplyEncoder;

impl ReplyEncoder {
    /// Encodes `header` (its own options are ignored) with `options` in the given order,
    /// then the echoed relay agent information (RFC 3046 §2.2: last), END and padding.
    ///
    /// `budget` is the largest DHCP message the client accepts (option 57 less the IP and
    /// UDP headers, or 548); optional options are dropped from the end of the list until
    /// the reply fits.
    pub fn encode(
        header: &Message,
        options: &[ReplyOption<'_>],
        relay_info: Option<&[u8]>,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> EncodeOutcome {
        let fixed = FIXED_HEADER_LEN + 4 + 1 + relay_info.map_or(0, |r| encoded_len(r.len()));
        let mut total = fixed
            + options
                .iter()
                .map(|o| encoded_len(o.data.len()))
                .sum::<usize>();
        let mut keep = vec![true; options.len()];
        let mut outcome = EncodeOutcome::default();
        for (i, o) in options.iter().enumerate().rev() {
            if total <= budget {
                break;
            }
            if !o.required {
                keep[i] = false;
                total -= encoded_len(o.data.len());
            }
        }
        if total > budget {
            outcome.over_budget = true;
        }
        outcome.dropped = options
            .iter()
            .zip(&keep)
            .filter(|(_, k)| !**k)
            .map(|(o, _)| o.code)
            .collect();

        let start = out.len();
        out.reserve(total.max(BOOTP_MIN_LEN));
        put_header(out, header);
        for (o, _) in options.iter().zip(&keep).filter(|(_, k)| **k) {
            put_option(out, o.code, &o.data);
        }
        if let Some(rai) = relay_info {
            put_option(out, OptionCode::RELAY_AGENT_INFORMATION, rai);
        }
        finish(out, start);
        outcome
    }
}
