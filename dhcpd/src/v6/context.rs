//! The typed per-packet context of the DHCPv6 pipeline: where the packet came in, and
//! what each stage decided about it.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

use ipnet::Ipv6Net;
use zerotouch_proto::v6::{MessageType6, OptionCode6, Packet6};

use crate::config::{Dhcp6, Host6};

/// Where a packet came in.
#[derive(Debug, Clone)]
pub struct Ingress6 {
    pub ifindex: u32,
    pub ifname: Arc<str>,
    /// The interface's IPv6 prefixes.
    pub if_addrs: Arc<[Ipv6Net]>,
    /// Destination address of the packet (IPV6_PKTINFO): ff02::1:2 or a unicast one.
    pub dst: Ipv6Addr,
    /// The client's or relay's address and port, where the reply goes.
    pub src: SocketAddrV6,
}

impl Ingress6 {
    pub fn was_multicast(&self) -> bool {
        self.dst.is_multicast()
    }
}

/// One client message and what the pipeline has decided about it so far.
#[derive(Debug)]
pub struct Exchange6<'a> {
    pub packet: &'a Packet6,
    pub wire: &'a [u8],
    pub msg_type: MessageType6,
    pub ingress: &'a Ingress6,
    /// The client's DUID (option 1); empty for an INFORMATION-REQUEST without one.
    pub duid: &'a [u8],
    /// The client's hardware address: from a DUID-LL/LLT, else the relay's option 79.
    pub hw_address: Option<Vec<u8>>,
    /// Index of the selected subnet in `Dhcp6::subnets`.
    pub subnet: Option<usize>,
    /// Indices of the client classes the client belongs to.
    pub classes: Vec<usize>,
    /// Index of the client's reservation in `Hosts6::list`.
    pub host: Option<usize>,
    /// A reservation a plugin supplied (`host_looked_up`); it replaces `host`.
    pub plugin_host: Option<Box<Host6>>,
    /// The configured reservation's host name, when it has one.
    pub reserved_name: Option<String>,
    /// Unix seconds.
    pub now: u64,
}

impl Exchange6<'_> {
    /// The client's host name for its leases: the first label of its FQDN option (39),
    /// else its reservation's name (a plugin's reservation first).
    pub fn client_name(&self) -> Option<String> {
        let fqdn = self.packet.message.options.get(OptionCode6::CLIENT_FQDN);
        match fqdn.and_then(zerotouch_proto::fqdn::client_fqdn6) {
            Some(name) => Some(name.to_string()),
            None => match &self.plugin_host {
                Some(h) => h.hostname.clone(),
                None => self.reserved_name.clone(),
            },
        }
    }

    /// The client's reservation: a plugin's, else the configured one.
    pub fn host_entry<'c>(&'c self, cfg: &'c Dhcp6) -> Option<&'c Host6> {
        match &self.plugin_host {
            Some(h) => Some(h),
            None => self.host.map(|h| &cfg.hosts.list[h]),
        }
    }

    /// Whether the client sent its message directly (not through a relay).
    pub fn is_direct(&self) -> bool {
        self.packet.relays.is_empty()
    }
}
