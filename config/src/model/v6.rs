//! The validated `[dhcp6]` section.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::MatchTest;

#[derive(Debug, Clone)]
pub struct Dhcp6 {
    pub interfaces: Vec<String>,
    /// Served interfaces that receive relayed requests only: no warning at start that
    /// no subnet matches them.
    pub relayed_only: Vec<String>,
    pub port: u16,
    pub client_port: u16,
    pub server_duid: DuidSetting,
    /// Answer a SOLICIT carrying Rapid Commit with a committed REPLY (RFC 8415 §18.3.1).
    pub rapid_commit: bool,
    pub lifetimes: Lifetimes,
    /// Seconds an advertised address or prefix stays held for the client.
    pub advertise_hold: u32,
    /// Seconds a declined address stays out of use.
    pub decline_probation: u32,
    pub options: OptionSet6,
    pub subnets: Vec<Subnet6>,
    pub hosts: Hosts6,
    pub classes: Vec<Class6>,
}

impl Dhcp6 {
    pub fn subnet_containing(&self, addr: Ipv6Addr) -> Option<&Subnet6> {
        self.subnets.iter().find(|s| s.net.contains(&addr))
    }

    /// The subnet of a client that is not relayed, arrived on interface `name` with
    /// addresses `addrs`: the one bound to it by name, else the one holding one of its
    /// global addresses (link-local ones name no subnet).
    pub fn interface_subnet(&self, name: &str, addrs: &[Ipv6Net]) -> Option<&Subnet6> {
        self.subnets
            .iter()
            .find(|s| s.interface.as_deref() == Some(name))
            .or_else(|| {
                addrs
                    .iter()
                    .filter(|a| !a.addr().is_unicast_link_local())
                    .find_map(|a| self.subnet_containing(a.addr()))
            })
    }
}

/// How the server's DUID is made, the first time (it is kept in the lease database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuidSetting {
    /// DUID-LLT from the hardware address of `interface` (else the first served
    /// interface that has one) and the time of creation.
    Llt { interface: Option<String> },
    /// DUID-LL from a hardware address, given or read from an interface.
    Ll {
        interface: Option<String>,
        hw_address: Option<Vec<u8>>,
    },
    /// DUID-EN: enterprise number and identifier, both given.
    En {
        enterprise: u32,
        identifier: Vec<u8>,
    },
}

/// Lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub preferred: u32,
    pub valid: u32,
    pub renew: Option<u32>,
    pub rebind: Option<u32>,
}

impl Lifetimes {
    /// T1 and T2 for bindings preferred for `preferred` seconds: configured values that
    /// fit, else 0.5 and 0.8 of it (RFC 8415 §21.4 recommends these ratios).
    pub fn t1_t2(&self, preferred: u32) -> (u32, u32) {
        let t2 = self
            .rebind
            .filter(|&t| t <= preferred)
            .unwrap_or((preferred as u64 * 4 / 5) as u32);
        let t1 = self.renew.filter(|&t| t <= t2).unwrap_or(preferred / 2);
        (t1.min(t2), t2)
    }
}

#[derive(Debug, Clone)]
pub struct Subnet6 {
    pub index: usize,
    pub net: Ipv6Net,
    /// Clients on this interface (not relayed) are on this subnet.
    pub interface: Option<String>,
    /// Relayed clients whose innermost relay sends this interface-id are on this
    /// subnet.
    pub interface_id: Option<Vec<u8>>,
    pub lifetimes: Lifetimes,
    pub options: OptionSet6,
    pub pools: Vec<Pool6>,
    pub pd_pools: Vec<PdPool>,
}

#[derive(Debug, Clone)]
pub struct Pool6 {
    pub first: Ipv6Addr,
    pub last: Ipv6Addr,
    /// Indices into `Dhcp6::classes`; empty means everyone.
    pub classes: Vec<usize>,
    pub options: OptionSet6,
}

impl Pool6 {
    #[inline]
    pub fn contains(&self, a: Ipv6Addr) -> bool {
        (self.first..=self.last).contains(&a)
    }

    #[inline]
    pub fn admits(&self, classes: &[usize]) -> bool {
        super::admits(&self.classes, classes)
    }

    pub fn size(&self) -> u128 {
        u128::from(self.last) - u128::from(self.first) + 1
    }
}

#[derive(Debug, Clone)]
pub struct PdPool {
    pub prefix: Ipv6Net,
    pub delegated_len: u8,
    pub classes: Vec<usize>,
    pub options: OptionSet6,
}

impl PdPool {
    #[inline]
    pub fn admits(&self, classes: &[usize]) -> bool {
        super::admits(&self.classes, classes)
    }

    /// Whether `prefix`/`len` is one this pool delegates.
    #[inline]
    pub fn contains(&self, prefix: Ipv6Addr, len: u8) -> bool {
        len == self.delegated_len && self.prefix.contains(&prefix)
    }

    /// Prefixes the pool delegates.
    pub fn size(&self) -> u128 {
        let bits = u32::from(self.delegated_len - self.prefix.prefix_len());
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }
}

/// How a DHCPv6 reservation recognises its client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostIdentifier6 {
    Duid(Vec<u8>),
    /// From a DUID-LL/LLT, or the client link-layer address a relay adds (option 79).
    HwAddress(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Host6 {
    pub identifier: HostIdentifier6,
    pub addresses: Vec<Ipv6Addr>,
    pub prefixes: Vec<Ipv6Net>,
    pub hostname: Option<String>,
    pub options: OptionSet6,
}

#[derive(Debug, Clone, Default)]
pub struct Hosts6 {
    pub list: Vec<Host6>,
    pub by_identifier: HashMap<HostIdentifier6, usize>,
    /// Reserved addresses and prefixes → host index, so dynamic allocation skips them.
    pub by_address: HashMap<Ipv6Addr, usize>,
    pub by_prefix: HashMap<(Ipv6Addr, u8), usize>,
}

impl Hosts6 {
    pub fn find(&self, id: &HostIdentifier6) -> Option<usize> {
        self.by_identifier.get(id).copied()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum MatchSource6 {
    /// An option of the client message.
    Option(u16),
    /// Interface-id (18) of the innermost relay.
    RelayInterfaceId,
    /// Remote-id (37, after its enterprise number) of the innermost relay.
    RelayRemoteId,
}

impl MatchSource6 {
    /// The value of the client `message` the class looks at; `relay` is the relay
    /// nearest the client.
    pub fn value<'a>(
        &self,
        message: &'a zerotouch_proto::v6::Message6,
        relay: Option<&'a zerotouch_proto::v6::RelayHeader>,
    ) -> Option<&'a [u8]> {
        /// Relay agent remote-id (RFC 4649): enterprise number, then the identifier.
        const REMOTE_ID: u16 = 37;
        match *self {
            MatchSource6::Option(code) => message.options.get(code),
            MatchSource6::RelayInterfaceId => relay.and_then(|r| r.interface_id()),
            MatchSource6::RelayRemoteId => relay
                .and_then(|r| r.options.get(REMOTE_ID))
                .and_then(|v| v.get(4..)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Class6 {
    pub name: String,
    pub source: MatchSource6,
    pub test: MatchTest,
    pub options: OptionSet6,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredOption6 {
    pub code: u16,
    pub data: Vec<u8>,
    /// Sent even when the client's Option Request Option does not ask for it.
    pub always: bool,
}

/// DHCPv6 options set at one scope, at most one per code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionSet6(pub Vec<ConfiguredOption6>);

impl OptionSet6 {
    #[inline]
    pub fn get(&self, code: u16) -> Option<&ConfiguredOption6> {
        self.0.iter().find(|o| o.code == code)
    }
}
