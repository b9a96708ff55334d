//! What the relay does with one datagram, for either family, and how the loops count
//! it.

use std::time::Instant;

use tracing::debug;
use zerotouch_net::ratelimit::{LogLimiter, Verdict};
use zerotouch_net::{IpFamily, Outgoing};

use crate::counters::Counters;

#[derive(Debug)]
pub(crate) enum Action<F: IpFamily> {
    /// Send these (to servers, or to the client), counted as `event` on `interface`.
    Send {
        interface: String,
        event: &'static str,
        out: Vec<Outgoing<F>>,
    },
    /// A DHCPv4 reply to a client without an address, unicast to the address it is
    /// given: needs an ARP entry for `hwaddr` first.
    SendToNewClient {
        interface: String,
        out: Outgoing<F>,
        hwaddr: Vec<u8>,
    },
    /// Not relayed, counted under `reason` on `interface`.
    Drop {
        interface: String,
        reason: &'static str,
    },
}

pub(crate) fn dropped<F: IpFamily>(interface: &str, reason: &'static str) -> Action<F> {
    Action::Drop {
        interface: interface.to_string(),
        reason,
    }
}

/// Counts `action` and queues what it sends on `out`; `new_client` prepares a reply to
/// a client without an address (the ARP entry, or broadcast instead).
pub(crate) fn account<F: IpFamily>(
    action: Action<F>,
    counters: &Counters,
    limiter: &mut LogLimiter,
    from: &dyn std::fmt::Display,
    out: &mut Vec<Outgoing<F>>,
    new_client: impl FnOnce(&str, &mut Outgoing<F>, &[u8]),
) {
    match action {
        Action::Send {
            interface,
            event,
            out: mut o,
        } => {
            counters.count(&interface, event);
            out.append(&mut o);
        }
        Action::SendToNewClient {
            interface,
            out: mut o,
            hwaddr,
        } => {
            new_client(&interface, &mut o, &hwaddr);
            counters.count(&interface, "delivered");
            out.push(o);
        }
        Action::Drop { interface, reason } => {
            counters.count(&interface, reason);
            if let Verdict::Log { suppressed } = limiter.check(reason, Instant::now()) {
                debug!(interface = %interface, from = %from, suppressed, "packet not relayed: {reason}");
            }
        }
    }
}
