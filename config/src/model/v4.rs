//! The validated `[dhcp4]` section.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::*;

#[derive(Debug, Clone)]
pub struct Dhcp4 {
    pub interfaces: Vec<String>,
    /// Served interfaces that receive relayed requests only: no warning at start that
    /// no subnet matches them.
    pub relayed_only: Vec<String>,
    pub authoritative: bool,
    pub port: u16,
    pub client_port: u16,
    pub server_id: Option<Ipv4Addr>,
    pub times: LeaseTimes,
    /// Seconds an offered address stays held for the client it was offered to.
    pub offer_hold: u32,
    /// Seconds a declined address stays out of use.
    pub decline_probation: u32,
    pub options: OptionSet,
    pub boot: BootFields,
    pub subnets: Vec<Subnet>,
    pub hosts: Hosts,
    pub classes: Vec<Class>,
}

impl Dhcp4 {
    /// The subnet whose prefix holds `addr`.
    pub fn subnet_containing(&self, addr: Ipv4Addr) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.net.contains(&addr))
    }

    /// The subnet of a directly attached client that arrived on interface `name` with
    /// addresses `addrs`: the one bound to it by name, else the one holding one of its
    /// addresses.
    pub fn interface_subnet(&self, name: &str, addrs: &[Ipv4Net]) -> Option<&Subnet> {
        self.subnets
            .iter()
            .find(|s| s.interface.as_deref() == Some(name))
            .or_else(|| addrs.iter().find_map(|a| self.subnet_containing(a.addr())))
    }

    /// `subnet` and the other subnets of its shared network, `subnet` first.
    pub fn link_subnets<'a>(&'a self, subnet: &'a Subnet) -> impl Iterator<Item = &'a Subnet> + 'a {
        std::iter::once(subnet).chain(self.subnets.iter().filter(move |s| {
            s.index != subnet.index
                && s.shared_network.is_some()
                && s.shared_network == subnet.shared_network
        }))
    }
}

/// Lease lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    pub lease_time: u32,
    pub min_lease_time: u32,
    pub max_lease_time: u32,
    pub renew_time: Option<u32>,
    pub rebind_time: Option<u32>,
}

impl LeaseTimes {
    /// The lifetime to grant: the client's request (option 51) within min..=max, else
    /// the configured lease time.
    pub fn grant(&self, requested: Option<u32>) -> u32 {
        requested.map_or(self.lease_time, |r| {
            r.clamp(self.min_lease_time, self.max_lease_time)
        })
    }

    /// T1 and T2 for a lease of `valid` seconds: configured values when they fit inside
    /// the lease, else 50 % and 87.5 % (RFC 2131 §4.4.5).
    pub fn t1_t2(&self, valid: u32) -> (u32, u32) {
        let t2 = self
            .rebind_time
            .filter(|&t| t < valid)
            .unwrap_or((valid as u64 * 7 / 8) as u32);
        let t1 = self
            .renew_time
            .filter(|&t| t < t2)
            .unwrap_or(valid / 2)
            .min(t2);
        (t1, t2)
    }
}

#[derive(Debug, Clone)]
pub struct Subnet {
    pub index: usize,
    pub net: Ipv4Net,
    pub shared_network: Option<String>,
    pub interface: Option<String>,
    pub server_id: Option<Ipv4Addr>,
    pub times: LeaseTimes,
    pub options: OptionSet,
    pub boot: BootFields,
    pub pools: Vec<Pool>,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub first: u32,
    pub last: u32,
    pub exclude: Vec<(u32, u32)>,
    /// Only clients in one of these classes (indices into `Dhcp4::classes`) may draw from
    /// the pool; empty means everyone.
    pub classes: Vec<usize>,
    pub options: OptionSet,
    pub boot: BootFields,
}

impl Pool {
    #[inline]
    pub fn contains(&self, addr: u32) -> bool {
        (self.first..=self.last).contains(&addr)
            && !self.exclude.iter().any(|&(a, b)| (a..=b).contains(&addr))
    }

    #[inline]
    pub fn admits(&self, classes: &[usize]) -> bool {
        admits(&self.classes, classes)
    }

    /// Addresses in the range, exclusions included (what sizing and reports count).
    #[inline]
    pub fn size(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }
}

/// How a reservation recognises its client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostIdentifier {
    HwAddress(Vec<u8>),
    ClientId(Vec<u8>),
    CircuitId(Vec<u8>),
    RemoteId(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Host {
    pub identifier: HostIdentifier,
    pub address: Option<Ipv4Addr>,
    pub hostname: Option<String>,
    pub options: OptionSet,
    pub boot: BootFields,
}

#[derive(Debug, Clone, Default)]
pub struct Hosts {
    pub list: Vec<Host>,
    pub by_identifier: HashMap<HostIdentifier, usize>,
    /// Reserved address → host index, so dynamic allocation skips them.
    pub by_address: HashMap<Ipv4Addr, usize>,
}

impl Hosts {
    pub fn find(&self, id: &HostIdentifier) -> Option<&Host> {
        self.by_identifier.get(id).map(|&i| &self.list[i])
    }
}

#[derive(Debug, Clone, Copy)]
pub enum MatchSource {
    Option(u8),
    RelayCircuitId,
    RelayRemoteId,
}

impl MatchSource {
    /// The value of `request` the class looks at; `relay` is its option 82.
    pub fn value<'a>(
        &self,
        request: &'a zerotouch_proto::v4::Message,
        relay: Option<&'a zerotouch_proto::v4::RelayAgentInfo>,
    ) -> Option<&'a [u8]> {
        match *self {
            MatchSource::Option(code) => request.options.get(code),
            MatchSource::RelayCircuitId => relay.and_then(|r| r.circuit_id()),
            MatchSource::RelayRemoteId => relay.and_then(|r| r.remote_id()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    pub source: MatchSource,
    pub test: MatchTest,
    pub options: OptionSet,
    pub boot: BootFields,
}

/// BOOTP header fields of a reply. Many PXE ROMs and classic ZTP agents read the boot
/// file from `file` and the TFTP server from `siaddr` rather than options 66 and 67.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootFields {
    /// `siaddr`: the next server in the boot process.
    pub next_server: Option<Ipv4Addr>,
    /// `sname`, at most 63 octets.
    pub server_hostname: Option<String>,
    /// `file`, at most 127 octets.
    pub boot_file_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredOption {
    pub code: u8,
    pub data: Vec<u8>,
    /// Sent even when the client's parameter request list does not ask for it.
    pub always: bool,
}

/// Options set at one scope, at most one per code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionSet(pub Vec<ConfiguredOption>);

impl OptionSet {
    #[inline]
    pub fn get(&self, code: u8) -> Option<&ConfiguredOption> {
        self.0.iter().find(|o| o.code == code)
    }
}
