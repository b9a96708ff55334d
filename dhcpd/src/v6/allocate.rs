//! Choosing an address for an IA_NA and a prefix for an IA_PD: the client's
//! reservation, else its current binding, else what it asked for (a hint) if that is
//! free, else the next free unit of a pool its classes admit.

use std::net::Ipv6Addr;

use super::context::Exchange6;
use crate::config::{Dhcp6, Subnet6};
use crate::lease::{IaKey, IaKind, LeaseIndex6, PoolRef, Resource, Slots};

/// The units of the subnet's pools of `kind` that the client's classes admit, with the
/// pool's index.
fn admitted(subnet: &Subnet6, kind: IaKind, classes: &[usize]) -> Vec<(usize, Slots)> {
    pools_of(subnet, kind, Some(classes))
}

/// The units of the subnet's pools of `kind` that `classes` admits (`None`: every
/// pool), with the pool's index.
fn pools_of(subnet: &Subnet6, kind: IaKind, classes: Option<&[usize]>) -> Vec<(usize, Slots)> {
    match kind {
        IaKind::Na => subnet
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| classes.is_none_or(|c| p.admits(c)))
            .map(|(j, p)| (j, Slots::addresses(p.first, p.last)))
            .collect(),
        IaKind::Pd => subnet
            .pd_pools
            .iter()
            .enumerate()
            .filter(|(_, p)| classes.is_none_or(|c| p.admits(c)))
            .map(|(j, p)| {
                (
                    j,
                    Slots::prefixes(p.prefix.network(), p.prefix.prefix_len(), p.delegated_len),
                )
            })
            .collect(),
    }
}

/// Every pool's units, by kind and pool: what claims of a shared lease database
/// divide among servers.
pub(super) fn spans(cfg: &Dhcp6) -> Vec<((IaKind, PoolRef), Slots)> {
    let mut all = Vec::new();
    for subnet in &cfg.subnets {
        for kind in [IaKind::Na, IaKind::Pd] {
            for (j, slots) in pools_of(subnet, kind, None) {
                let at = PoolRef {
                    subnet: subnet.index,
                    pool: j,
                };
                all.push(((kind, at), slots));
            }
        }
    }
    all
}

/// The reservation's `nth` address or prefix of `kind`, if it has one on this subnet.
fn reserved_for_client(
    cfg: &Dhcp6,
    ex: &Exchange6<'_>,
    subnet: &Subnet6,
    kind: IaKind,
    nth: usize,
) -> Option<Resource> {
    let host = ex.host_entry(cfg)?;
    match kind {
        IaKind::Na => host
            .addresses
            .iter()
            .filter(|a| subnet.net.contains(*a))
            .nth(nth)
            .map(|&address| Resource {
                address,
                prefix_len: 128,
            }),
        IaKind::Pd => host.prefixes.get(nth).map(|p| Resource {
            address: p.network(),
            prefix_len: p.prefix_len(),
        }),
    }
}

/// Whether `r` is reserved for a client other than this one.
fn reserved_for_other(cfg: &Dhcp6, ex: &Exchange6<'_>, r: Resource) -> bool {
    let owner = if r.prefix_len == 128 {
        cfg.hosts.by_address.get(&r.address)
    } else {
        cfg.hosts.by_prefix.get(&(r.address, r.prefix_len))
    };
    owner.is_some_and(|&h| Some(h) != ex.host)
}

/// Whether `ia` may hold `r` on `subnet`: reserved for the client, or in a pool its
/// classes admit and not reserved for someone else; and not bound to another client.
pub(super) fn usable(
    cfg: &Dhcp6,
    ex: &Exchange6<'_>,
    subnet: &Subnet6,
    ia: &IaKey,
    r: Resource,
    leases: &LeaseIndex6,
) -> bool {
    let host = ex.host_entry(cfg);
    let reserved_here = host.is_some_and(|h| match ia.kind {
        IaKind::Na => r.prefix_len == 128 && h.addresses.contains(&r.address),
        IaKind::Pd => h
            .prefixes
            .iter()
            .any(|p| p.network() == r.address && p.prefix_len() == r.prefix_len),
    });
    let in_pool = || {
        admitted(subnet, ia.kind, &ex.classes)
            .iter()
            .any(|(_, s)| s.contains(r))
            && !reserved_for_other(cfg, ex, r)
    };
    (reserved_here || in_pool()) && leases.available_to(r, ia, ex.now)
}

/// What to bind to the client's `nth` IA of its kind; `None` when nothing is free.
pub(super) fn choose(
    cfg: &Dhcp6,
    ex: &Exchange6<'_>,
    subnet: &Subnet6,
    ia: &IaKey,
    nth: usize,
    hints: &[Resource],
    leases: &mut LeaseIndex6,
) -> Option<Resource> {
    if let Some(r) = reserved_for_client(cfg, ex, subnet, ia.kind, nth)
        && leases.available_to(r, ia, ex.now)
    {
        return Some(r);
    }
    if let Some(l) = leases.ia_lease(ia)
        && usable(cfg, ex, subnet, ia, l.resource, leases)
    {
        return Some(l.resource);
    }
    if let Some(&hint) = hints
        .iter()
        .find(|&&h| usable(cfg, ex, subnet, ia, h, leases))
    {
        return Some(hint);
    }
    let reserved_count = match ia.kind {
        IaKind::Na => cfg.hosts.by_address.len(),
        IaKind::Pd => cfg.hosts.by_prefix.len(),
    };
    for (j, slots) in admitted(subnet, ia.kind, &ex.classes) {
        let at = (
            ia.kind,
            PoolRef {
                subnet: subnet.index,
                pool: j,
            },
        );
        if let Some(r) = leases.next_free(at, &slots, ia, ex.now, reserved_count, |r| {
            reserved_for_other(cfg, ex, r)
        }) {
            return Some(r);
        }
    }
    None
}

/// A client's hint for an IA_PD may give only a length (prefix ::): such hints name no
/// prefix to look for.
pub(super) fn prefix_hint(address: Ipv6Addr, prefix_len: u8) -> Option<Resource> {
    (!address.is_unspecified()).then_some(Resource {
        address,
        prefix_len,
    })
}
