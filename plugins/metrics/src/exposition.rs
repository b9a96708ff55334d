//! The Prometheus text exposition of the server's state.

use std::collections::BTreeMap;
use std::fmt::Write;

use zerotouch_plugin::{LeaseInfo, ServiceHost, SubnetInfo};

use crate::Seen;

pub(crate) fn render(host: &ServiceHost, seen: &Seen) -> String {
    let mut out = String::new();
    out.push_str("# HELP zerotouch_events_total Server counters by event (packets, replies, reasons for no reply, commits, plugin calls).\n");
    out.push_str("# TYPE zerotouch_events_total counter\n");
    for (name, value) in host.server.counters() {
        let _ = writeln!(
            out,
            "zerotouch_events_total{{event=\"{}\"}} {value}",
            escape(&name)
        );
    }
    let subnets = host.server.subnets();
    out.push_str("# HELP zerotouch_pool_addresses Addresses in the pools of a subnet.\n");
    out.push_str("# TYPE zerotouch_pool_addresses gauge\n");
    for s in subnets {
        let _ = writeln!(
            out,
            "zerotouch_pool_addresses{{subnet=\"{}\"}} {}",
            s.prefix, s.pool_size
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match seen.leases.current(&*host.leases, now) {
        Some(leases) => {
            out.push_str("# HELP zerotouch_leases Unexpired leases by subnet and state.\n");
            out.push_str("# TYPE zerotouch_leases gauge\n");
            for ((subnet, state), n) in count(subnets, &leases) {
                let _ = writeln!(
                    out,
                    "zerotouch_leases{{subnet=\"{subnet}\",state=\"{state}\"}} {n}"
                );
            }
            out.push_str("# HELP zerotouch_lease_store_up Whether the lease store could be read.\n# TYPE zerotouch_lease_store_up gauge\nzerotouch_lease_store_up 1\n");
        }
        None => {
            out.push_str("# HELP zerotouch_lease_store_up Whether the lease store could be read.\n# TYPE zerotouch_lease_store_up gauge\nzerotouch_lease_store_up 0\n");
        }
    }
    let progress = seen.progress.lock().map(|p| p.clone()).unwrap_or_default();
    if !progress.is_empty() {
        out.push_str("# HELP zerotouch_sztp_progress_total Progress reports of SZTP devices to the bootstrap server, by type.\n");
        out.push_str("# TYPE zerotouch_sztp_progress_total counter\n");
        for (kind, n) in progress {
            let _ = writeln!(
                out,
                "zerotouch_sztp_progress_total{{type=\"{}\"}} {n}",
                escape(&kind)
            );
        }
    }
    out
}

fn count(subnets: &[SubnetInfo], leases: &[LeaseInfo]) -> BTreeMap<(String, &'static str), u64> {
    let mut counts = BTreeMap::new();
    for l in leases {
        let subnet = subnets
            .iter()
            .find(|s| s.prefix.contains(&l.address))
            .map_or_else(|| "none".to_string(), |s| s.prefix.to_string());
        *counts.entry((subnet, l.state.name())).or_insert(0) += 1;
    }
    counts
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use zerotouch_plugin::LeaseState;

    #[test]
    fn leases_counted_per_subnet_and_state() {
        let subnets = vec![SubnetInfo {
            prefix: "198.18.0.0/24".parse().unwrap(),
            pool_size: 100,
        }];
        let lease = |a: &str, state| LeaseInfo {
            address: a.parse::<IpAddr>().unwrap(),
            state,
            client_id: None,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 1],
            starts: 0,
            expires: u64::MAX,
            hostname: None,
        };
        let leases = vec![
            lease("198.18.0.10", LeaseState::Active),
            lease("198.18.0.11", LeaseState::Active),
            lease("198.18.0.12", LeaseState::Declined),
            lease("198.19.0.1", LeaseState::Active),
        ];
        let c = count(&subnets, &leases);
        assert_eq!(c[&("198.18.0.0/24".to_string(), "active")], 2);
        assert_eq!(c[&("198.18.0.0/24".to_string(), "declined")], 1);
        assert_eq!(c[&("none".to_string(), "active")], 1);
    }
}
