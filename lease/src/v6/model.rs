//! A DHCPv6 lease: an address (IA_NA) or a delegated prefix (IA_PD) bound to one
//! identity association of one client (DUID and IAID, RFC 8415 §12).

use std::fmt;
use std::net::Ipv6Addr;

use crate::{LeaseState, hex_colon};

/// What an identity association holds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "lowercase")]
pub enum IaKind {
    /// IA_NA: non-temporary addresses.
    Na,
    /// IA_PD: delegated prefixes.
    Pd,
}

impl IaKind {
    /// The kind's name in the lease database (`na`, `pd`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// One identity association of one client: what a binding is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IaKey {
    pub kind: IaKind,
    pub duid: Box<[u8]>,
    pub iaid: u32,
}

impl IaKey {
    /// The identity association a stored lease belongs to; a declined address belongs to
    /// none.
    pub fn of_stored(
        state: LeaseState,
        kind: IaKind,
        duid: Option<Vec<u8>>,
        iaid: u32,
    ) -> Option<IaKey> {
        match (state, duid) {
            (LeaseState::Declined, _) | (_, None) => None,
            (_, Some(duid)) => Some(IaKey {
                kind,
                duid: duid.into(),
                iaid,
            }),
        }
    }
}

impl fmt::Display for IaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} iaid {:#x}",
            hex_colon(&self.duid),
            self.kind.as_str(),
            self.iaid
        )
    }
}

/// An address with its prefix length (128 for an IA_NA address): what a lease holds,
/// and its key in the index and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix_len == 128 {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix_len)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    pub resource: Resource,
    /// `None` for a declined address, which belongs to no client.
    pub ia: Option<IaKey>,
    pub kind: IaKind,
    pub state: LeaseState,
    /// Unix seconds.
    pub starts: u64,
    /// Preferred lifetime granted, seconds.
    pub preferred: u32,
    /// Unix seconds: end of the valid lifetime, of the advertise hold or of the decline
    /// probation.
    pub expires: u64,
    /// The client's hardware address when known (DUID-LL/LLT or relay option 79).
    pub hw_address: Option<Vec<u8>>,
    /// The client's host name: its FQDN option's first label, else its reservation's.
    pub hostname: Option<String>,
}

impl Lease6 {
    /// Seconds of valid lifetime left at `now`.
    pub fn valid_left(&self, now: u64) -> u32 {
        self.expires.saturating_sub(now).min(u32::MAX as u64) as u32
    }
}
