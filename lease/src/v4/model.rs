//! A DHCPv4 lease and how a client is recognised.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Deref;

/// A hardware address (chaddr, at most 16 octets), kept inline: client keys and lease
/// records are built for every request, and a heap allocation each time shows in the
/// packet path's cost.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HwAddr {
    len: u8,
    bytes: [u8; 16],
}

impl HwAddr {
    /// The first 16 octets of `addr` (chaddr holds no more).
    #[inline]
    pub fn new(addr: &[u8]) -> Self {
        let len = addr.len().min(16);
        let mut bytes = [0u8; 16];
        bytes[..len].copy_from_slice(&addr[..len]);
        HwAddr {
            len: len as u8,
            bytes,
        }
    }
}

impl Deref for HwAddr {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl From<&[u8]> for HwAddr {
    fn from(addr: &[u8]) -> Self {
        HwAddr::new(addr)
    }
}

impl From<Vec<u8>> for HwAddr {
    fn from(addr: Vec<u8>) -> Self {
        HwAddr::new(&addr)
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex_colon(self))
    }
}

/// How the server recognises a client (RFC 2131 §4.2): by client identifier (option 61)
/// when the client sends one, else by hardware type and address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    ClientId(Box<[u8]>),
    HwAddr { htype: u8, addr: HwAddr },
}

impl ClientKey {
    #[inline]
    pub fn from_request(client_id: Option<&[u8]>, htype: u8, hwaddr: &[u8]) -> Self {
        match client_id {
            Some(id) => ClientKey::ClientId(id.into()),
            None => ClientKey::HwAddr {
                htype,
                addr: hwaddr.into(),
            },
        }
    }
}

impl ClientKey {
    /// The client a stored lease belongs to: by the client identifier it was made with,
    /// else by hardware address; a declined address belongs to no client.
    pub fn of_stored(
        state: LeaseState,
        client_id: Option<Vec<u8>>,
        htype: u8,
        hwaddr: &[u8],
    ) -> Option<ClientKey> {
        match (state, client_id) {
            (LeaseState::Declined, _) => None,
            (_, Some(id)) => Some(ClientKey::ClientId(id.into())),
            (_, None) => Some(ClientKey::HwAddr {
                htype,
                addr: hwaddr.into(),
            }),
        }
    }
}

use crate::{LeaseState, hex_colon};

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::ClientId(id) => write!(f, "id {}", hex_colon(id)),
            ClientKey::HwAddr { addr, .. } => write!(f, "{}", hex_colon(addr)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease4 {
    pub address: Ipv4Addr,
    /// `None` for a declined address, which belongs to no client.
    pub client: Option<ClientKey>,
    pub htype: u8,
    pub hwaddr: HwAddr,
    pub state: LeaseState,
    /// Unix seconds.
    pub starts: u64,
    /// Unix seconds: end of the lease, of the offer hold or of the decline probation.
    pub expires: u64,
    pub hostname: Option<String>,
}

/// Lease number `i` for tests: active, address 198.18.1.0 + `i`, a hardware address
/// made from `i`.
#[cfg(any(test, feature = "testing"))]
pub fn numbered_lease(i: u32) -> Lease4 {
    let hw = [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1];
    Lease4 {
        address: std::net::Ipv4Addr::from(0xc612_0100 + i),
        client: Some(ClientKey::HwAddr {
            htype: 1,
            addr: hw.as_slice().into(),
        }),
        htype: 1,
        hwaddr: hw.as_slice().into(),
        state: LeaseState::Active,
        starts: 1,
        expires: 100,
        hostname: None,
    }
}
