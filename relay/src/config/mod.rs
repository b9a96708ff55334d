//! The relay's configuration, what both ways of giving it produce: a TOML file
//! (`file.rs`, `--config`, reloaded on SIGHUP) or dhcrelay-style flags (`flags.rs`, for
//! the simple cases).

mod file;
mod flags;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use zerotouch_config::{MatchSource, MatchSource6, MatchTest, PluginTables, ScopeId};

use crate::template::Template;

pub(crate) use file::load;
#[cfg(test)]
pub(crate) use file::parse;
pub(crate) use flags::{Flags, from_flags};

/// What to do with a request that already carries option 82 (from a relay below, or a
/// client trying to pass as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub(crate) enum Policy {
    /// Add this relay's sub-options after those present.
    Append,
    /// Remove what is there and add this relay's.
    Replace,
    /// Forward the request as it is, adding nothing.
    Forward,
    /// Drop the request.
    Discard,
}

impl Policy {
    /// The policy named `s` (`append`, `replace`, `forward`, `discard`).
    pub(crate) fn parse(s: &str) -> Option<Policy> {
        s.parse().ok()
    }
}

/// Option 82 (RFC 3046) as this relay adds it.
#[derive(Debug, Clone)]
pub(crate) struct AgentInfo {
    pub circuit_id: Option<Template>,
    pub remote_id: Option<Template>,
    /// Link-selection sub-option (RFC 3527) with the giaddr's subnet address: for
    /// servers that cannot reach the giaddr, giaddr is then set to the relay's upstream
    /// address by routing.
    pub link_selection: bool,
    /// Server-identifier-override sub-option (RFC 5107) with the giaddr: renewals then
    /// come through the relay too.
    pub server_id_override: bool,
    pub policy: Policy,
}

#[derive(Debug, Clone)]
pub(crate) struct Downstream4 {
    pub interface: String,
    pub servers: Vec<Ipv4Addr>,
    /// giaddr; the interface's first IPv4 address when unset.
    pub giaddr: Option<Ipv4Addr>,
    pub agent_info: Option<AgentInfo>,
}

#[derive(Debug, Clone)]
pub(crate) struct Relay4 {
    /// Requests that passed this many relays (hops) already are dropped.
    pub hop_limit: u8,
    pub downstream: Vec<Downstream4>,
    /// Classes of devices, for plugin settings per class.
    pub classes: Vec<RelayClass<MatchSource>>,
}

/// A class of devices, matched on the request as the relay forwards it (the client's
/// options, and the relay information this relay adds): plugins get their
/// `plugin.<instance>` settings of the classes a request belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RelayClass<S> {
    pub name: std::sync::Arc<str>,
    pub source: S,
    pub test: MatchTest,
}

/// Where a DHCPv6 relay sends: a unicast address, or a multicast group (ff05::1:3) on
/// an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstream6 {
    pub address: Ipv6Addr,
    pub interface: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Downstream6 {
    pub interface: String,
    pub servers: Vec<Upstream6>,
    /// Interface-id option (18); `None` leaves it out (the link-address must then name
    /// the link: the interface needs a global address).
    pub interface_id: Option<Template>,
    /// Remote-id (37): enterprise number and identifier.
    pub remote_id: Option<(u32, Template)>,
    /// Subscriber-id (38).
    pub subscriber_id: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct Relay6 {
    /// RELAY-FORW messages whose hop count reached this are dropped (RFC 8415
    /// HOP_COUNT_LIMIT, 8).
    pub hop_limit: u8,
    pub downstream: Vec<Downstream6>,
    pub classes: Vec<RelayClass<MatchSource6>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RelayConfig {
    pub log_level: String,
    pub relay4: Option<Relay4>,
    pub relay6: Option<Relay6>,
    /// `[[plugin]]` instances and their scope tables, run on relayed packets.
    pub plugins: PluginTables,
    /// The file and its text, where plugins read their settings; empty when configured
    /// by flags.
    pub file: PathBuf,
    pub text: String,
}

/// A section's scope ids: the section, a downstream interface, a class.
pub(crate) type SectionIds = (ScopeId, fn(usize) -> ScopeId, fn(usize) -> ScopeId);

pub(crate) const SCOPES4: SectionIds =
    (ScopeId::Relay4, ScopeId::Downstream4, ScopeId::RelayClass4);
pub(crate) const SCOPES6: SectionIds =
    (ScopeId::Relay6, ScopeId::Downstream6, ScopeId::RelayClass6);

/// `ADDR` or `ADDR%IFACE` (the interface is needed for a multicast group).
pub(crate) fn parse_upstream6(s: &str) -> Option<Upstream6> {
    let (addr, iface) = match s.split_once('%') {
        Some((a, i)) if !i.is_empty() => (a, Some(i.to_string())),
        Some(_) => return None,
        None => (s, None),
    };
    let address: Ipv6Addr = addr.trim().parse().ok()?;
    if address.is_multicast() && iface.is_none() {
        return None;
    }
    Some(Upstream6 {
        address,
        interface: iface,
    })
}
