//! The typed per-packet context that travels through the DHCPv4 pipeline: each stage
//! reads what earlier ones decided instead of re-deriving it.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use ipnet::Ipv4Net;
use zerotouch_proto::v4::{Message, MessageType, RelayAgentInfo};

use zerotouch_plugin::{Ingress as PluginIngress, Packet4};

use crate::config::{Dhcp4, Host};
use crate::lease::ClientKey;

/// Where a packet came in.
#[derive(Debug, Clone)]
pub struct Ingress {
    pub ifindex: u32,
    pub ifname: Arc<str>,
    /// The interface's IPv4 prefixes.
    pub if_addrs: Arc<[Ipv4Net]>,
    /// Local address the packet was received on (IP_PKTINFO `ipi_spec_dst`).
    pub local: Ipv4Addr,
    /// Destination address of the packet (IP_PKTINFO `ipi_addr`).
    pub dst: Ipv4Addr,
    pub src: SocketAddrV4,
}

impl Ingress {
    /// Where `wire` came in, as plugins see it.
    pub fn for_plugins<'a>(&'a self, wire: &'a [u8], now: u64) -> PluginIngress<'a> {
        PluginIngress {
            wire,
            interface: &self.ifname,
            source: self.src.into(),
            now,
        }
    }

    pub fn was_broadcast(&self) -> bool {
        self.dst.is_broadcast()
            || self
                .if_addrs
                .iter()
                .any(|n| n.broadcast() == self.dst && n.prefix_len() < 31)
    }
}

/// One request and what the pipeline has decided about it so far.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub request: &'a Message,
    /// The request as received, for plugins.
    pub wire: &'a [u8],
    pub msg_type: MessageType,
    pub ingress: &'a Ingress,
    pub client: ClientKey,
    pub relay_info: Option<RelayAgentInfo>,
    /// Index of the selected subnet in `Dhcp4::subnets`.
    pub subnet: Option<usize>,
    /// Indices of the client classes the client belongs to.
    pub classes: Vec<usize>,
    /// Index of the client's host reservation in `Hosts::list`.
    pub host: Option<usize>,
    /// A reservation a plugin supplied (`host_looked_up`); it replaces `host`.
    pub plugin_host: Option<Box<Host>>,
    /// The server identifier this exchange uses (option 54).
    pub server_id: Ipv4Addr,
    /// Unix seconds.
    pub now: u64,
}

impl<'a> Exchange<'a> {
    /// The client's reservation: a plugin's, else the configured one.
    pub fn host_entry<'c>(&'c self, cfg: &'c Dhcp4) -> Option<&'c Host> {
        match &self.plugin_host {
            Some(h) => Some(h),
            None => self.host.map(|h| &cfg.hosts.list[h]),
        }
    }

    /// The request as plugins see it.
    pub fn packet(&self) -> Packet4<'_> {
        Packet4::new(
            self.request,
            self.msg_type,
            self.ingress.for_plugins(self.wire, self.now),
        )
    }
}
