//! Identity associations (IA_NA, IA_PD) with their addresses and prefixes, status
//! codes, and DUIDs (RFC 8415 §11, §21.4–21.6, §21.13, §21.21–21.22).

use std::net::Ipv6Addr;

use super::code::{OptionCode6, StatusCode};
use super::decode::{DecodeError6, parse_options};
use super::options::Options6;

fn bad(code: u16, reason: &'static str) -> DecodeError6 {
    DecodeError6::BadOption { code, reason }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// An IA_NA (3) or IA_PD (25): `iaid`, T1, T2 and its options (addresses or prefixes,
/// status code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ia {
    /// The option code: [`OptionCode6::IA_NA`] or [`OptionCode6::IA_PD`].
    pub code: u16,
    /// The client's identifier for this IA.
    pub iaid: u32,
    /// Seconds until the client renews (T1).
    pub t1: u32,
    /// Seconds until the client rebinds (T2).
    pub t2: u32,
    /// The IA's own options: IAADDR or IAPREFIX, STATUS_CODE.
    pub options: Options6,
}

impl Ia {
    /// An IA of option `code` with no options yet.
    pub fn new(code: u16, iaid: u32, t1: u32, t2: u32) -> Self {
        Ia {
            code,
            iaid,
            t1,
            t2,
            options: Options6::default(),
        }
    }

    /// The IA in the value `data` of option `code`.
    pub fn decode(code: u16, data: &[u8]) -> Result<Self, DecodeError6> {
        if data.len() < 12 {
            return Err(bad(code, "shorter than iaid, T1 and T2"));
        }
        Ok(Ia {
            code,
            iaid: u32_at(data, 0),
            t1: u32_at(data, 4),
            t2: u32_at(data, 8),
            options: parse_options(&data[12..], 0)?,
        })
    }

    /// The option's value (without its code and length).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 32);
        out.extend_from_slice(&self.iaid.to_be_bytes());
        out.extend_from_slice(&self.t1.to_be_bytes());
        out.extend_from_slice(&self.t2.to_be_bytes());
        self.options.encode(&mut out);
        out
    }

    /// The IAADDR (5) options of an IA_NA.
    pub fn addresses(&self) -> impl Iterator<Item = Result<IaAddr, DecodeError6>> + '_ {
        self.options
            .get_all(OptionCode6::IAADDR)
            .map(IaAddr::decode)
    }

    /// The IAPREFIX (26) options of an IA_PD.
    pub fn prefixes(&self) -> impl Iterator<Item = Result<IaPrefix, DecodeError6>> + '_ {
        self.options
            .get_all(OptionCode6::IAPREFIX)
            .map(IaPrefix::decode)
    }
}

/// IAADDR (5): an address with its lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IaAddr {
    /// The address.
    pub address: Ipv6Addr,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
}

impl IaAddr {
    /// The IAADDR in an option value.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError6> {
        if data.len() < 24 {
            return Err(bad(OptionCode6::IAADDR, "shorter than 24 octets"));
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&data[..16]);
        parse_options(&data[24..], 0)?;
        Ok(IaAddr {
            address: Ipv6Addr::from(a),
            preferred: u32_at(data, 16),
            valid: u32_at(data, 20),
        })
    }

    /// The option's value (without its code and length).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.address.octets());
        out.extend_from_slice(&self.preferred.to_be_bytes());
        out.extend_from_slice(&self.valid.to_be_bytes());
        out
    }
}

/// IAPREFIX (26): a delegated prefix with its lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IaPrefix {
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// The prefix length.
    pub prefix_len: u8,
    /// The prefix.
    pub prefix: Ipv6Addr,
}

impl IaPrefix {
    /// The IAPREFIX in an option value.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError6> {
        if data.len() < 25 {
            return Err(bad(OptionCode6::IAPREFIX, "shorter than 25 octets"));
        }
        if data[8] > 128 {
            return Err(bad(OptionCode6::IAPREFIX, "prefix length over 128"));
        }
        let mut p = [0u8; 16];
        p.copy_from_slice(&data[9..25]);
        parse_options(&data[25..], 0)?;
        Ok(IaPrefix {
            preferred: u32_at(data, 0),
            valid: u32_at(data, 4),
            prefix_len: data[8],
            prefix: Ipv6Addr::from(p),
        })
    }

    /// The option's value (without its code and length).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(25);
        out.extend_from_slice(&self.preferred.to_be_bytes());
        out.extend_from_slice(&self.valid.to_be_bytes());
        out.push(self.prefix_len);
        out.extend_from_slice(&self.prefix.octets());
        out
    }
}

/// The value of a STATUS_CODE option (13): code and UTF-8 message.
pub fn status(code: StatusCode, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + message.len());
    out.extend_from_slice(&code.to_u16().to_be_bytes());
    out.extend_from_slice(message.as_bytes());
    out
}

/// The code and message of a STATUS_CODE option's value.
pub fn decode_status(data: &[u8]) -> Result<(StatusCode, String), DecodeError6> {
    if data.len() < 2 {
        return Err(bad(OptionCode6::STATUS_CODE, "shorter than its code"));
    }
    Ok((
        StatusCode::from_u16(u16::from_be_bytes([data[0], data[1]])),
        String::from_utf8_lossy(&data[2..]).into_owned(),
    ))
}

/// The lengths a DUID may have, in octets (RFC 8415 §11.1): 2 for the type and 1 to
/// 128 of identifier.
pub const DUID_LENGTH: std::ops::RangeInclusive<usize> = 3..=130;

/// A DUID (RFC 8415 §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duid {
    /// Link-layer address plus time (type 1).
    Llt {
        /// Hardware type (IANA ARP parameters; 1 is Ethernet).
        hw_type: u16,
        /// Seconds since 2000-01-01 UTC, mod 2^32, when it was made.
        time: u32,
        /// The link-layer address.
        address: Vec<u8>,
    },
    /// Enterprise number and identifier (type 2).
    En {
        /// The vendor's IANA enterprise number.
        enterprise: u32,
        /// The vendor's identifier.
        id: Vec<u8>,
    },
    /// Link-layer address (type 3).
    Ll {
        /// Hardware type (IANA ARP parameters; 1 is Ethernet).
        hw_type: u16,
        /// The link-layer address.
        address: Vec<u8>,
    },
    /// UUID (type 4, RFC 6355).
    Uuid([u8; 16]),
    /// Another type: the whole DUID, type included.
    Other(Vec<u8>),
}

impl Duid {
    /// The DUID in `data` (a CLIENTID or SERVERID value).
    pub fn parse(data: &[u8]) -> Result<Self, DecodeError6> {
        let err = |r| bad(OptionCode6::CLIENTID, r);
        if data.len() < 2 {
            return Err(err("a DUID is at least its 2-octet type"));
        }
        let t = u16::from_be_bytes([data[0], data[1]]);
        let rest = &data[2..];
        Ok(match t {
            1 if rest.len() >= 6 => Duid::Llt {
                hw_type: u16::from_be_bytes([rest[0], rest[1]]),
                time: u32_at(rest, 2),
                address: rest[6..].to_vec(),
            },
            2 if rest.len() >= 4 => Duid::En {
                enterprise: u32_at(rest, 0),
                id: rest[4..].to_vec(),
            },
            3 if rest.len() >= 2 => Duid::Ll {
                hw_type: u16::from_be_bytes([rest[0], rest[1]]),
                address: rest[2..].to_vec(),
            },
            4 if rest.len() == 16 => {
                let mut u = [0u8; 16];
                u.copy_from_slice(rest);
                Duid::Uuid(u)
            }
            1..=4 => return Err(err("too short for its DUID type")),
            _ => Duid::Other(data.to_vec()),
        })
    }

    /// The hardware type and address a DUID-LLT or DUID-LL carries.
    pub fn link_layer_address(&self) -> Option<(u16, &[u8])> {
        match self {
            Duid::Llt {
                hw_type, address, ..
            }
            | Duid::Ll { hw_type, address } => Some((*hw_type, address)),
            _ => None,
        }
    }

    /// The DUID's octets, type first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        match self {
            Duid::Llt {
                hw_type,
                time,
                address,
            } => {
                out.extend_from_slice(&1u16.to_be_bytes());
                out.extend_from_slice(&hw_type.to_be_bytes());
                out.extend_from_slice(&time.to_be_bytes());
                out.extend_from_slice(address);
            }
            Duid::En { enterprise, id } => {
                out.extend_from_slice(&2u16.to_be_bytes());
                out.extend_from_slice(&enterprise.to_be_bytes());
                out.extend_from_slice(id);
            }
            Duid::Ll { hw_type, address } => {
                out.extend_from_slice(&3u16.to_be_bytes());
                out.extend_from_slice(&hw_type.to_be_bytes());
                out.extend_from_slice(address);
            }
            Duid::Uuid(u) => {
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(u);
            }
            Duid::Other(raw) => out.extend_from_slice(raw),
        }
        out
    }
}
