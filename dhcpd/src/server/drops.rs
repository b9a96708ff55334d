//! Dropped packets: counted under their reason and logged, rate-limited, with what was
//! dropped, where it came from and why. (Its own module, so that the lines' target says
//! `drops`.)

use std::time::Instant;

use tracing::{debug, info, warn};

use crate::stats::{Counters, Reason};
use zerotouch_net::ratelimit::{LogLimiter, Verdict};

/// Counts a dropped packet under its reason and logs it, rate-limited: malformed
/// packets and exhausted pools at warn (operators should see them), the rest at debug.
/// `family` prefixes the words "packet" and "reply" in the line ("" for DHCPv4, whose
/// lines predate DHCPv6, "DHCPv6 ").
pub(super) fn report_drop(
    counters: &Counters,
    limiter: &mut LogLimiter,
    family: &str,
    reason: Reason,
    detail: Option<String>,
    from: &dyn std::fmt::Display,
    interface: &str,
) {
    counters.count_no_reply(reason);
    if let Verdict::Log { suppressed } = limiter.check(reason.as_str(), Instant::now()) {
        let detail = detail.unwrap_or_else(|| reason.describe().to_string());
        if reason.is_malformed() || reason == Reason::PoolExhausted {
            warn!(reason = reason.as_str(), from = %from, interface, suppressed, "dropped {family}packet: {detail}");
        } else if reason == Reason::NoSubnet {
            // A misconfiguration more often than a stray client: said at info, limited.
            info!(reason = reason.as_str(), from = %from, interface, suppressed, "no {family}reply: {detail}");
        } else {
            debug!(reason = reason.as_str(), from = %from, interface, suppressed, "no {family}reply: {detail}");
        }
    }
}
