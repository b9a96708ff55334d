//! Which subnet a request belongs to.

use std::net::Ipv4Addr;

use zerotouch_proto::v4::{Message, RelayAgentInfo};

use super::context::Ingress;
use crate::config::{Dhcp4, Subnet};

/// The client's subnet, chosen from the most to the least explicit hint:
/// link-selection (option 82 sub-option 5, RFC 3527), subnet-selection (option 118,
/// RFC 3011), giaddr, ciaddr of a unicast request (a client renewing from a routed
/// subnet), then the ingress interface.
pub(super) fn select_subnet<'c>(
    cfg: &'c Dhcp4,
    request: &Message,
    relay: Option<&RelayAgentInfo>,
    ingress: &Ingress,
) -> Option<&'c Subnet> {
    if let Some(link) = relay.and_then(|r| r.link_selection()) {
        return cfg.subnet_containing(link);
    }
    if let Some(sel) = request.subnet_selection() {
        return cfg.subnet_containing(sel);
    }
    if request.giaddr != Ipv4Addr::UNSPECIFIED {
        return cfg.subnet_containing(request.giaddr);
    }
    if request.ciaddr != Ipv4Addr::UNSPECIFIED
        && !ingress.was_broadcast()
        && let Some(s) = cfg.subnet_containing(request.ciaddr)
    {
        return Some(s);
    }
    interface_subnet(cfg, ingress)
}

/// The subnet bound to the interface by name, else the one holding one of its addresses.
pub(super) fn interface_subnet<'c>(cfg: &'c Dhcp4, ingress: &Ingress) -> Option<&'c Subnet> {
    cfg.interface_subnet(&ingress.ifname, &ingress.if_addrs)
}
