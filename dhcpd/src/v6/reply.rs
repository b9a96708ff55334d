//! Options of a DHCPv6 reply: those the client's Option Request Option (6) names, in its
//! order, plus those configured `always`; each from the most specific scope that sets
//! it (host, classes, pool, subnet, global).

use zerotouch_proto::v6::Message6;

use super::context::Exchange6;
use crate::config::{Dhcp6, OptionSet6};
use crate::lease::{IaKind, Resource};

/// The option scopes for this exchange, most specific first. `bound` are the addresses
/// and prefixes the reply carries: their pools are scopes too.
pub(super) fn scopes<'c>(
    cfg: &'c Dhcp6,
    ex: &'c Exchange6<'_>,
    bound: &[(IaKind, Resource)],
) -> Vec<&'c OptionSet6> {
    let mut chain: Vec<&OptionSet6> = Vec::with_capacity(ex.classes.len() + 4);
    chain.extend(ex.host_entry(cfg).map(|h| &h.options));
    chain.extend(ex.classes.iter().map(|&c| &cfg.classes[c].options));
    if let Some(subnet) = ex.subnet.map(|i| &cfg.subnets[i]) {
        for &(kind, r) in bound {
            let pool = match kind {
                IaKind::Na => subnet
                    .pools
                    .iter()
                    .find(|p| p.contains(r.address))
                    .map(|p| &p.options),
                IaKind::Pd => subnet
                    .pd_pools
                    .iter()
                    .find(|p| p.contains(r.address, r.prefix_len))
                    .map(|p| &p.options),
            };
            if let Some(p) = pool
                && !chain.iter().any(|c| std::ptr::eq(*c, p))
            {
                chain.push(p);
            }
        }
        chain.push(&subnet.options);
    }
    chain.push(&cfg.options);
    chain
}

/// Appends the configured options the client gets to `reply`.
pub(super) fn add_options(scopes: &[&OptionSet6], request: &Message6, reply: &mut Message6) {
    let mut added: Vec<u16> = Vec::new();
    for code in request.options.requested() {
        if added.contains(&code) {
            continue;
        }
        if let Some(o) = scopes.iter().find_map(|s| s.get(code)) {
            reply.options.push(code, &o.data);
            added.push(code);
        }
    }
    for scope in scopes {
        for o in scope.0.iter().filter(|o| o.always) {
            if !added.contains(&o.code) {
                // The most specific scope wins even for an `always` option set in a
                // wider one.
                let winner = scopes.iter().find_map(|s| s.get(o.code)).unwrap_or(o);
                reply.options.push(o.code, &winner.data);
                added.push(o.code);
            }
        }
    }
}
