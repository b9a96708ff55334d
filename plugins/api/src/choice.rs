//! What the hooks between `packet_received` and `reply_ready` may look at and change:
//! the client's classes, its subnet, its host reservation, its lease.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::PluginError;

/// The classes a client belongs to, by name. Plugins can add any class defined in the
/// configuration (its options apply, its pool restrictions hold) and remove any.
pub struct ClassSet<'a> {
    defined: &'a [Arc<str>],
    members: &'a mut Vec<usize>,
}

impl<'a> ClassSet<'a> {
    host_only! {
        /// `members` index `defined`.
        fn new(defined: &'a [Arc<str>], members: &'a mut Vec<usize>) -> Self {
            ClassSet { defined, members }
        }
    }

    /// The names of the classes the packet is in, configured ones first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|&i| &*self.defined[i])
    }

    /// Whether the packet is in class `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Puts the packet in configured class `name` (an unknown name is an error).
    pub fn add(&mut self, name: &str) -> Result<(), PluginError> {
        let Some(i) = self.defined.iter().position(|d| &**d == name) else {
            return Err(PluginError::new(format!(
                "class {name:?} is not defined in the configuration"
            )));
        };
        if !self.members.contains(&i) {
            // Classes apply in definition order, whoever added them.
            let at = self.members.partition_point(|&m| m < i);
            self.members.insert(at, i);
        }
        Ok(())
    }

    /// Takes the packet out of class `name`; whether it was in it.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.members.len();
        self.members.retain(|&i| &*self.defined[i] != name);
        self.members.len() != before
    }
}

/// A configured subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetInfo {
    /// The subnet's network.
    pub prefix: IpNet,
    /// Addresses in the subnet's pools.
    pub pool_size: u64,
}

/// The subnet chosen for a client; a plugin may choose another configured one.
pub struct SubnetChoice<'a> {
    subnets: &'a [SubnetInfo],
    chosen: &'a mut Option<usize>,
}

impl<'a> SubnetChoice<'a> {
    host_only! {
        /// The choice over `subnets` the server will use, `chosen` the index it holds.
        fn new(subnets: &'a [SubnetInfo], chosen: &'a mut Option<usize>) -> Self {
            SubnetChoice { subnets, chosen }
        }
    }

    /// The subnet chosen so far, if any.
    pub fn get(&self) -> Option<&SubnetInfo> {
        self.chosen.map(|i| &self.subnets[i])
    }

    /// Chooses the configured subnet whose prefix is `prefix`.
    pub fn select(&mut self, prefix: IpNet) -> Result<(), PluginError> {
        match self.subnets.iter().position(|s| s.prefix == prefix) {
            Some(i) => {
                *self.chosen = Some(i);
                Ok(())
            }
            None => Err(PluginError::new(format!(
                "no subnet {prefix} in the configuration"
            ))),
        }
    }

    /// No subnet: the packet is not served (counted as `no_subnet`).
    pub fn clear(&mut self) {
        *self.chosen = None;
    }
}

/// A host reservation: from the configuration, or supplied by a plugin (a host backend).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// The reserved address; `None` for a reservation of options only.
    pub address: Option<IpAddr>,
    /// The host name the reservation gives (option 12, or the DHCPv6 FQDN).
    pub hostname: Option<String>,
    /// Options for this client, by code, in wire format; they take precedence over
    /// every other scope.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// The client's host reservation; a plugin may supply one or take it away.
pub struct HostChoice<'a> {
    found: Option<&'a HostInfo>,
    replaced: Option<Option<HostInfo>>,
}

impl<'a> HostChoice<'a> {
    host_only! {
        /// The reservation the server found, which plugins may replace or clear.
        fn new(found: Option<&'a HostInfo>) -> Self {
            HostChoice {
                found,
                replaced: None,
            }
        }
    }

    /// The reservation in effect now.
    pub fn get(&self) -> Option<&HostInfo> {
        match &self.replaced {
            Some(r) => r.as_ref(),
            None => self.found,
        }
    }

    /// Uses `host` as the client's reservation instead of what the server found.
    pub fn set(&mut self, host: HostInfo) {
        self.replaced = Some(Some(host));
    }

    /// Treats the client as having no reservation.
    pub fn clear(&mut self) {
        self.replaced = Some(None);
    }

    host_only! {
        /// What a plugin changed: `None` when nothing, `Some(None)` when the reservation
        /// was taken away.
        fn into_change(self) -> Option<Option<HostInfo>> {
            self.replaced
        }
    }
}

/// The address and lifetime chosen for an offer or an ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOffer {
    /// The address (or, for a delegated prefix, its first address) chosen.
    pub address: IpAddr,
    /// Whether this is an ACK (the lease is committed next) or an offer.
    pub committing: bool,
    lifetime: u32,
}

impl LeaseOffer {
    host_only! {
        /// An offer of `address` for `lifetime` seconds; `committing` when the lease will be stored (ACK, REPLY) rather than only offered.
        fn new(address: IpAddr, committing: bool, lifetime: u32) -> Self {
            LeaseOffer {
                address,
                committing,
                lifetime,
            }
        }
    }

    /// Seconds.
    pub fn lifetime(&self) -> u32 {
        self.lifetime
    }

    /// Shortens or lengthens the lease; at least 60 seconds.
    pub fn set_lifetime(&mut self, seconds: u32) -> Result<(), PluginError> {
        if seconds < 60 {
            return Err(PluginError::new(format!(
                "lease lifetime {seconds} s is under the 60 s minimum"
            )));
        }
        self.lifetime = seconds;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_keep_definition_order() {
        let defined: Vec<Arc<str>> = vec!["a".into(), "b".into(), "c".into()];
        let mut members = vec![2];
        let mut set = ClassSet::new(&defined, &mut members);
        set.add("a").unwrap();
        set.add("a").unwrap();
        assert!(set.add("zz").is_err());
        assert_eq!(set.names().collect::<Vec<_>>(), ["a", "c"]);
        assert!(set.remove("c"));
        assert!(!set.remove("c"));
        assert_eq!(members, vec![0]);
    }

    #[test]
    fn subnet_choice_by_prefix() {
        let subnets = vec![SubnetInfo {
            prefix: "198.18.0.0/24".parse().unwrap(),
            pool_size: 10,
        }];
        let mut chosen = None;
        let mut c = SubnetChoice::new(&subnets, &mut chosen);
        assert!(c.select("198.19.0.0/24".parse().unwrap()).is_err());
        c.select("198.18.0.0/24".parse().unwrap()).unwrap();
        assert_eq!(c.get().unwrap().pool_size, 10);
        assert_eq!(chosen, Some(0));
    }

    #[test]
    fn host_choice_changes() {
        let found = HostInfo::default();
        let mut h = HostChoice::new(Some(&found));
        assert!(h.get().is_some());
        h.clear();
        assert!(h.get().is_none());
        assert_eq!(h.into_change(), Some(None));
        assert_eq!(HostChoice::new(None).into_change(), None);
    }
}
