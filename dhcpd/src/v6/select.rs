//! Which subnet a DHCPv6 client is on, which classes it belongs to and which
//! reservation is its.
//!
//! Subnet, in order: the innermost relay's interface-id when a subnet is configured for
//! it, else that relay's link-address; for a client on a served link, the subnet bound
//! to the interface, else the one holding an address of the interface.

use zerotouch_proto::v6::ia::Duid;
use zerotouch_proto::v6::{OptionCode6, Packet6};

use super::context::Ingress6;
use crate::config::{Dhcp6, HostIdentifier6};

pub(super) fn select_subnet(cfg: &Dhcp6, packet: &Packet6, ingress: &Ingress6) -> Option<usize> {
    if let Some(relay) = packet.innermost_relay() {
        if let Some(id) = relay.interface_id()
            && let Some(s) = cfg
                .subnets
                .iter()
                .find(|s| s.interface_id.as_deref() == Some(id))
        {
            return Some(s.index);
        }
        if relay.link_address.is_unspecified() {
            return None;
        }
        return cfg.subnet_containing(relay.link_address).map(|s| s.index);
    }
    cfg.interface_subnet(&ingress.ifname, &ingress.if_addrs)
        .map(|s| s.index)
}

/// The client's hardware address: from its DUID when that is a DUID-LL or DUID-LLT,
/// else from the client link-layer address option (79) its first relay added.
pub(super) fn hardware_address(packet: &Packet6, duid: &[u8]) -> Option<Vec<u8>> {
    if let Ok(d) = Duid::parse(duid)
        && let Some((_, addr)) = d.link_layer_address()
    {
        return Some(addr.to_vec());
    }
    let lla = packet
        .innermost_relay()?
        .options
        .get(OptionCode6::CLIENT_LINKLAYER_ADDR)?;
    (lla.len() > 2).then(|| lla[2..].to_vec())
}

pub(super) fn classify(cfg: &Dhcp6, packet: &Packet6) -> Vec<usize> {
    let relay = packet.innermost_relay();
    cfg.classes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.source
                .value(&packet.message, relay)
                .is_some_and(|v| c.test.matches(v))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The reservation for the client: by DUID, else by hardware address.
pub(super) fn find_host(cfg: &Dhcp6, duid: &[u8], hw_address: Option<&[u8]>) -> Option<usize> {
    if cfg.hosts.list.is_empty() {
        return None;
    }
    cfg.hosts
        .find(&HostIdentifier6::Duid(duid.to_vec()))
        .or_else(|| {
            cfg.hosts
                .find(&HostIdentifier6::HwAddress(hw_address?.to_vec()))
        })
}
