//! dhcrelay-style flags, for the simple cases: `-4 -i IFACE… [-a] [-m POLICY] SERVER…`
//! or `-6 -l IFACE… -u SERVER…`, turned into the same [`RelayConfig`] a file gives.

use anyhow::Context;

use super::{
    AgentInfo, Downstream4, Downstream6, Policy, Relay4, Relay6, RelayConfig, parse_upstream6,
};
use crate::template::Template;

/// The flags as given on the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags {
    /// `--log-level`.
    pub log_level: Option<String>,
    /// `-4`: relay DHCPv4 (else `-6`: DHCPv6).
    pub v4: bool,
    /// `-i`: DHCPv4 downstream interfaces.
    pub interfaces: Vec<String>,
    /// `-a`: add option 82 (circuit-id the interface name, remote-id its hardware
    /// address).
    pub agent_info: bool,
    /// `-m`: what to do with requests that already carry option 82.
    pub policy: String,
    /// `-c`: drop DHCPv4 requests that passed this many relays.
    pub hop_limit: u8,
    /// DHCPv4 server addresses.
    pub servers: Vec<String>,
    /// `-l`: DHCPv6 downstream interfaces.
    pub lower: Vec<String>,
    /// `-u`: DHCPv6 upstream servers, `ADDR` or `GROUP%IFACE`.
    pub upper: Vec<String>,
}

/// The configuration the flags describe.
pub(crate) fn from_flags(flags: &Flags) -> anyhow::Result<RelayConfig> {
    let level = flags.log_level.clone().unwrap_or_else(|| "info".into());
    if flags.v4 {
        anyhow::ensure!(
            !flags.interfaces.is_empty(),
            "-4 needs at least one -i INTERFACE"
        );
        let servers = flags
            .servers
            .iter()
            .map(|s| {
                s.parse()
                    .with_context(|| format!("{s:?} is not an IPv4 server address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!servers.is_empty(), "-4 needs at least one server address");
        let policy = Policy::parse(&flags.policy).with_context(|| {
            format!(
                "-m {:?}: expected append, replace, forward or discard",
                flags.policy
            )
        })?;
        let agent_info = flags.agent_info.then(|| AgentInfo {
            circuit_id: Template::parse("{interface}").ok(),
            remote_id: Template::parse("{relay_mac}").ok(),
            link_selection: false,
            server_id_override: false,
            policy,
        });
        return Ok(RelayConfig {
            log_level: level,
            relay4: Some(Relay4 {
                hop_limit: flags.hop_limit,
                downstream: flags
                    .interfaces
                    .iter()
                    .map(|i| Downstream4 {
                        interface: i.clone(),
                        servers: servers.clone(),
                        giaddr: None,
                        agent_info: agent_info.clone(),
                    })
                    .collect(),
                classes: Vec::new(),
            }),
            relay6: None,
            ..RelayConfig::default()
        });
    }
    anyhow::ensure!(
        !flags.lower.is_empty(),
        "-6 needs at least one -l INTERFACE"
    );
    let servers = flags
        .upper
        .iter()
        .map(|u| {
            parse_upstream6(u)
                .with_context(|| format!("-u {u:?}: expected ADDR or GROUP%INTERFACE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!servers.is_empty(), "-6 needs at least one -u SERVER");
    Ok(RelayConfig {
        log_level: level,
        relay4: None,
        relay6: Some(Relay6 {
            hop_limit: zerotouch_proto::v6::HOP_COUNT_LIMIT,
            downstream: flags
                .lower
                .iter()
                .map(|l| Downstream6 {
                    interface: l.clone(),
                    servers: servers.clone(),
                    // -I asks for it; without, it is added all the same: the relay
                    // needs it to find the link of a reply whatever its addresses.
                    interface_id: Some(Template::interface()),
                    remote_id: None,
                    subscriber_id: None,
                })
                .collect(),
            classes: Vec::new(),
        }),
        ..RelayConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(args: &[&str], servers: &[&str]) -> Flags {
        Flags {
            v4: true,
            interfaces: args.iter().map(|s| s.to_string()).collect(),
            policy: "replace".into(),
            hop_limit: 10,
            servers: servers.iter().map(|s| s.to_string()).collect(),
            ..Flags::default()
        }
    }

    #[test]
    fn dhcpv4_flags_give_one_downstream_per_interface() {
        let mut f = v4(&["eth1", "eth2"], &["198.18.0.1"]);
        f.agent_info = true;
        let cfg = from_flags(&f).unwrap();
        let r4 = cfg.relay4.unwrap();
        assert_eq!(r4.downstream.len(), 2);
        assert_eq!(r4.hop_limit, 10);
        let agent = r4.downstream[1].agent_info.clone().unwrap();
        assert_eq!(agent.policy, Policy::Replace);
        assert!(cfg.relay6.is_none());
        assert_eq!(cfg.log_level, "info");
    }

    #[test]
    fn bad_flags_say_which_and_why() {
        let err = |f: Flags| from_flags(&f).unwrap_err().to_string();
        assert_eq!(
            err(v4(&[], &["198.18.0.1"])),
            "-4 needs at least one -i INTERFACE"
        );
        assert_eq!(
            err(v4(&["eth1"], &[])),
            "-4 needs at least one server address"
        );
        assert!(err(v4(&["eth1"], &["x"])).contains("\"x\" is not an IPv4 server address"));
        let mut bad_policy = v4(&["eth1"], &["198.18.0.1"]);
        bad_policy.policy = "keep".into();
        assert!(err(bad_policy).contains("-m \"keep\": expected append, replace"));
        let v6 = |lower: &[&str], upper: &[&str]| Flags {
            lower: lower.iter().map(|s| s.to_string()).collect(),
            upper: upper.iter().map(|s| s.to_string()).collect(),
            ..Flags::default()
        };
        assert_eq!(
            err(v6(&[], &["2001:db8::1"])),
            "-6 needs at least one -l INTERFACE"
        );
        assert!(err(v6(&["eth1"], &["ff05::1:3"])).contains("expected ADDR or GROUP%INTERFACE"));
        let ok = from_flags(&v6(&["eth1"], &["ff05::1:3%eth0"])).unwrap();
        assert_eq!(
            ok.relay6.unwrap().downstream[0].servers[0]
                .interface
                .as_deref(),
            Some("eth0")
        );
    }
}
