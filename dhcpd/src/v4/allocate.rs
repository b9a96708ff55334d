//! Choosing a client's address, in the order RFC 2131 §4.3.1 describes: its reservation,
//! its existing or previous lease, the address it asks for, then the next free one.

use std::net::Ipv4Addr;

use super::context::Exchange;
use crate::config::{Dhcp4, Subnet};
use crate::lease::{LeaseIndex, PoolRef};

/// Whether `addr` may be given to the client on its link: in a link subnet, and either
/// reserved for this client or in a pool its classes admit and reserved for nobody.
/// Returns the subnet holding it.
pub(super) fn usable<'c>(
    cfg: &'c Dhcp4,
    ex: &Exchange<'_>,
    link: &[&'c Subnet],
    addr: Ipv4Addr,
) -> Option<&'c Subnet> {
    let subnet = link.iter().copied().find(|s| s.net.contains(&addr))?;
    let plugin_reserved = ex.plugin_host.as_ref().and_then(|h| h.address) == Some(addr);
    match cfg.hosts.by_address.get(&addr) {
        // A plugin's reservation holds anywhere in the client's subnets, pools or not,
        // unless the configuration reserves the address for another client.
        None if plugin_reserved => Some(subnet),
        Some(&h) => (ex.host == Some(h)).then_some(subnet),
        None => {
            let a = u32::from(addr);
            subnet
                .pools
                .iter()
                .any(|p| p.contains(a) && p.admits(&ex.classes))
                .then_some(subnet)
        }
    }
}

/// The address to offer, or `None` when every admitted pool on the link is full.
pub(super) fn choose(
    cfg: &Dhcp4,
    ex: &Exchange<'_>,
    link: &[&Subnet],
    leases: &mut LeaseIndex,
) -> Option<Ipv4Addr> {
    let free = |leases: &LeaseIndex, a: Ipv4Addr| {
        usable(cfg, ex, link, a).is_some() && leases.available_to(a, &ex.client, ex.now)
    };

    if let Some(a) = ex.host_entry(cfg).and_then(|h| h.address)
        && free(leases, a)
    {
        return Some(a);
    }
    if let Some(a) = leases.client_lease(&ex.client).map(|l| l.address)
        && free(leases, a)
    {
        return Some(a);
    }
    if let Some(a) = ex.request.requested_address()
        && free(leases, a)
    {
        return Some(a);
    }
    for subnet in link {
        for (i, pool) in subnet.pools.iter().enumerate() {
            if !pool.admits(&ex.classes) {
                continue;
            }
            let at = PoolRef {
                subnet: subnet.index,
                pool: i,
            };
            if let Some(a) = leases.next_free(at, pool, &ex.client, ex.now, |a| {
                cfg.hosts.by_address.contains_key(&a)
            }) {
                return Some(a);
            }
        }
    }
    None
}
