//! Strict DHCPv4 decoding: each malformation has its own reason, so a server can drop
//! the packet, count why, and keep serving.

use std::net::Ipv4Addr;

use super::code::OptionCode;
use super::message::{CHADDR_LEN, FIXED_HEADER_LEN, MAGIC_COOKIE, Message, Op};
use super::options::Options;

const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// Why a datagram is not a DHCPv4 message this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the fixed header and the magic cookie.
    #[error("packet of {len} octets is shorter than the 240 of a DHCP header and cookie")]
    Truncated {
        /// The datagram's length.
        len: usize,
    },
    /// The four octets after the header are not the DHCP magic cookie.
    #[error("magic cookie is {found:02x?}, expected 63:82:53:63")]
    BadCookie {
        /// What stood where the cookie belongs.
        found: [u8; 4],
    },
    /// `hlen` larger than the 16-octet chaddr field.
    #[error("hardware address length {hlen} is over 16")]
    BadHlen {
        /// The hlen field.
        hlen: u8,
    },
    /// An option's length runs past the end of the field that holds it.
    #[error("option {code} at offset {offset} runs past the end of its field")]
    OptionOverrun {
        /// The option's code.
        code: u8,
        /// Where the option starts in the datagram.
        offset: usize,
    },
    /// Option 52 is not one octet 1, 2 or 3.
    #[error("option 52 (overload) holds {value:?}, expected one octet 1, 2 or 3")]
    BadOverload {
        /// Option 52's value.
        value: Vec<u8>,
    },
}

impl DecodeError {
    /// A short stable label, for counters and rate-limited logs.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadCookie { .. } => "bad_magic_cookie",
            DecodeError::BadHlen { .. } => "bad_hlen",
            DecodeError::OptionOverrun { .. } => "option_overrun",
            DecodeError::BadOverload { .. } => "bad_overload",
        }
    }
}

fn addr(buf: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3])
}

/// Decodes a DHCPv4 message (request or reply).
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    if buf.len() < FIXED_HEADER_LEN + 4 {
        return Err(DecodeError::Truncated { len: buf.len() });
    }
    let cookie: [u8; 4] = [buf[236], buf[237], buf[238], buf[239]];
    if cookie != MAGIC_COOKIE {
        return Err(DecodeError::BadCookie { found: cookie });
    }
    let hlen = buf[2];
    if hlen as usize > CHADDR_LEN {
        return Err(DecodeError::BadHlen { hlen });
    }

    // Values take at most the options area (or, with overload, file and sname too):
    // sized once, the buffers never grow while decoding.
    let mut options = Options::with_capacity(16, buf.len() - FIXED_HEADER_LEN - 4 + 192);
    walk(buf, FIXED_HEADER_LEN + 4..buf.len(), &mut options)?;

    // RFC 2131 §4.1 / RFC 3396 §6: with option 52 the file field, then the sname
    // field, carry further options, joined after those of the options field.
    let mut sname = [0u8; 64];
    let mut file = [0u8; 128];
    sname.copy_from_slice(&buf[SNAME]);
    file.copy_from_slice(&buf[FILE]);
    if let Some(value) = options.get(OptionCode::OVERLOAD) {
        let overload = match value {
            [v @ 1..=3] => *v,
            _ => {
                return Err(DecodeError::BadOverload {
                    value: value.to_vec(),
                });
            }
        };
        if overload & 1 != 0 {
            walk(buf, FILE, &mut options)?;
            file = [0; 128];
        }
        if overload & 2 != 0 {
            walk(buf, SNAME, &mut options)?;
            sname = [0; 64];
        }
    }

    let mut chaddr = [0u8; CHADDR_LEN];
    chaddr.copy_from_slice(&buf[28..44]);
    Ok(Message {
        op: Op::from_u8(buf[0]),
        htype: buf[1],
        hlen,
        hops: buf[3],
        xid: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        secs: u16::from_be_bytes([buf[8], buf[9]]),
        flags: u16::from_be_bytes([buf[10], buf[11]]),
        ciaddr: addr(buf, 12),
        yiaddr: addr(buf, 16),
        siaddr: addr(buf, 20),
        giaddr: addr(buf, 24),
        chaddr,
        sname,
        file,
        options,
    })
}

/// Reads option TLVs from `buf[field]` until END or the end of the field. A field that
/// ends without END is accepted (many clients omit it when the packet ends there); an
/// option whose length runs past the field is not.
fn walk(
    buf: &[u8],
    field: std::ops::Range<usize>,
    options: &mut Options,
) -> Result<(), DecodeError> {
    let end = field.end;
    let mut i = field.start;
    while i < end {
        match buf[i] {
            OptionCode::PAD => i += 1,
            OptionCode::END => return Ok(()),
            code => {
                if i + 1 >= end {
                    return Err(DecodeError::OptionOverrun { code, offset: i });
                }
                let len = buf[i + 1] as usize;
                let start = i + 2;
                if start + len > end {
                    return Err(DecodeError::OptionOverrun { code, offset: i });
                }
                options.append(code, &buf[start..start + len]);
                i = start + len;
            }
        }
    }
    Ok(())
}
