//! What service plugins see of the server: the lease table (read from the store) and
//! the configuration and counters.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zerotouch_plugin::{LeaseInfo, LeaseReader, PluginError, ServerView, SubnetInfo};

use crate::config::{Config, Dhcp4, LeaseStoreConfig, Pool};
use crate::lease::{ClientKey, IaKind, Lease4, LeaseBackend, LeaseState, unix_now};
use crate::plugin::Pipeline;
use crate::stats::Counters;

/// The lease event a stored lease change stands for; offers are never stored.
pub fn lease_event(state: LeaseState) -> Option<zerotouch_plugin::LeaseEvent> {
    zerotouch_plugin::LeaseEvent::for_state(plugin_state(state))
}

fn plugin_state(state: LeaseState) -> zerotouch_plugin::LeaseState {
    match state {
        LeaseState::Offered => zerotouch_plugin::LeaseState::Offered,
        LeaseState::Active => zerotouch_plugin::LeaseState::Active,
        LeaseState::Released => zerotouch_plugin::LeaseState::Released,
        LeaseState::Declined => zerotouch_plugin::LeaseState::Declined,
        LeaseState::Expired => zerotouch_plugin::LeaseState::Expired,
    }
}

/// A lease as plugins see it.
pub fn lease_info(l: &Lease4) -> LeaseInfo {
    LeaseInfo {
        address: IpAddr::V4(l.address),
        state: plugin_state(l.state),
        client_id: match &l.client {
            Some(ClientKey::ClientId(id)) => Some(id.to_vec()),
            _ => None,
        },
        htype: l.htype,
        hwaddr: l.hwaddr.to_vec(),
        starts: l.starts,
        expires: l.expires,
        hostname: l.hostname.clone(),
    }
}

/// A DHCPv6 lease as plugins see it: the address (or a delegated prefix's first
/// address), the client's DUID as its identifier and its hardware address when known.
pub fn lease_info6(l: &crate::lease::Lease6) -> LeaseInfo {
    LeaseInfo {
        address: IpAddr::V6(l.resource.address),
        state: plugin_state(l.state),
        client_id: l.ia.as_ref().map(|ia| ia.duid.to_vec()),
        htype: if l.hw_address.is_some() { 1 } else { 0 },
        hwaddr: l.hw_address.clone().unwrap_or_default(),
        starts: l.starts,
        expires: l.expires,
        // A delegated prefix is a network, not a host: no name.
        hostname: l.hostname.clone().filter(|_| l.kind == IaKind::Na),
    }
}

/// Reads leases from the configured store (the SQLite file read-only, or the
/// PostgreSQL database) through a connection of its own, opened on first use (the
/// server creates an embedded database at start).
pub struct StoreLeaseReader {
    config: LeaseStoreConfig,
    conn: Mutex<Option<Box<dyn LeaseBackend>>>,
}

impl StoreLeaseReader {
    pub fn new(config: &LeaseStoreConfig) -> Self {
        StoreLeaseReader {
            config: config.clone(),
            conn: Mutex::new(None),
        }
    }

    /// `f` on the store; `None` while there is no store yet.
    fn with<T>(
        &self,
        f: impl FnOnce(&dyn LeaseBackend) -> Result<T, crate::lease::StoreError>,
    ) -> Result<Option<T>, PluginError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| PluginError::new("lease reader poisoned"))?;
        if guard.is_none() {
            *guard = crate::store::open_reader(&self.config)?;
        }
        match guard.as_deref() {
            None => Ok(None),
            Some(store) => match f(store) {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    // Opened again next time: the database may have restarted.
                    *guard = None;
                    Err(e.into())
                }
            },
        }
    }
}

impl LeaseReader for StoreLeaseReader {
    /// Both families: the DHCPv4 leases, then the DHCPv6 addresses and delegated
    /// prefixes (a prefix as its first address).
    fn current(&self) -> Result<Vec<LeaseInfo>, PluginError> {
        let now = unix_now();
        // Services start before the server creates its database: no leases yet.
        let Some((v4, v6)) = self.with(|s| Ok((s.load4()?, s.load6()?)))? else {
            return Ok(Vec::new());
        };
        let v4 = v4.leases.iter().map(lease_info);
        let v6 = v6.leases.iter().map(lease_info6);
        Ok(v4.chain(v6).filter(|l| l.is_current(now)).collect())
    }

    /// A DHCPv4 lease, or the lease of a DHCPv6 address (IA_NA).
    fn by_address(&self, address: IpAddr) -> Result<Option<LeaseInfo>, PluginError> {
        Ok(match address {
            IpAddr::V4(a) => self.with(|s| s.get4(a))?.flatten().as_ref().map(lease_info),
            IpAddr::V6(a) => self
                .with(|s| s.get6(a))?
                .flatten()
                .as_ref()
                .map(lease_info6),
        })
    }
}

/// The configuration and counters, read-only.
pub struct ServerViewImpl {
    file: PathBuf,
    subnets: Vec<SubnetInfo>,
    counters: Arc<Counters>,
    /// For the plugin instances' own counters.
    pipeline: Arc<Pipeline>,
}

impl ServerViewImpl {
    pub fn new(cfg: &Config, counters: Arc<Counters>, pipeline: Arc<Pipeline>) -> Self {
        ServerViewImpl {
            file: cfg.file.clone(),
            subnets: cfg
                .dhcp4
                .as_ref()
                .map(subnet_infos)
                .unwrap_or_default()
                .into_iter()
                .chain(
                    cfg.dhcp6
                        .as_ref()
                        .map(crate::v6::subnet_infos6)
                        .unwrap_or_default(),
                )
                .collect(),
            counters,
            pipeline,
        }
    }
}

/// The DHCPv4 subnets, in configuration order, as plugins see them (the server view
/// lists the DHCPv6 ones after them).
pub fn subnet_infos(dhcp4: &Dhcp4) -> Vec<SubnetInfo> {
    dhcp4
        .subnets
        .iter()
        .map(|s| SubnetInfo {
            prefix: s.net.into(),
            pool_size: s.pools.iter().map(Pool::size).sum(),
        })
        .collect()
}

impl ServerView for ServerViewImpl {
    fn config_file(&self) -> &Path {
        &self.file
    }

    fn subnets(&self) -> &[SubnetInfo] {
        &self.subnets
    }

    fn counters(&self) -> Vec<(String, u64)> {
        let mut all = self.counters.values();
        all.extend(self.pipeline.counters());
        all
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::config::Synchronous;
    use crate::lease::{IaKey, IaKind, Lease6, Resource};

    fn lease6(address: &str, prefix_len: u8, kind: IaKind, expires: u64) -> Lease6 {
        Lease6 {
            resource: Resource {
                address: address.parse().unwrap(),
                prefix_len,
            },
            ia: Some(IaKey {
                kind,
                duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 7].into(),
                iaid: 1,
            }),
            kind,
            state: LeaseState::Active,
            starts: 1,
            preferred: 100,
            expires,
            hw_address: Some(vec![2, 0, 0, 0, 0, 7]),
            hostname: None,
        }
    }

    fn store_config(database: &Path) -> LeaseStoreConfig {
        LeaseStoreConfig {
            database: database.to_path_buf(),
            postgresql: None,
            synchronous: Synchronous::Normal,
            outage_renewals: Default::default(),
            reclaim_interval: std::time::Duration::from_secs(10),
            commit_window: std::time::Duration::from_millis(2),
        }
    }

    /// Services start before the server creates its database: until it exists, there
    /// are no leases (not an error).
    #[test]
    fn before_the_database_exists_there_are_no_leases() {
        let dir = tempfile::tempdir().unwrap();
        let reader = StoreLeaseReader::new(&store_config(&dir.path().join("leases.sqlite")));
        assert_eq!(reader.current().unwrap(), Vec::new());
        assert_eq!(
            reader.by_address("198.18.0.1".parse().unwrap()).unwrap(),
            None
        );
    }

    /// Service plugins see both families: every current lease, and a lease looked up by
    /// an IPv4 address or an IPv6 (IA_NA) address.
    #[test]
    fn the_lease_reader_answers_for_both_families() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("leases.sqlite");
        let mut store = crate::lease::SqliteStore::open(&db, Synchronous::Normal).unwrap();
        let far = unix_now() + 3600;
        let mut v4 = crate::lease::numbered_lease(5);
        v4.expires = far;
        store.write4(&[v4.clone()]).unwrap();
        store
            .write6(&[
                lease6("2001:db8:1::10", 128, IaKind::Na, far),
                lease6("2001:db8:100::", 56, IaKind::Pd, far),
                lease6("2001:db8:1::11", 128, IaKind::Na, 1), // long expired
            ])
            .unwrap();
        let reader = StoreLeaseReader::new(&store_config(&db));
        // In no promised order; the expired lease is not current.
        let mut current: Vec<IpAddr> = reader
            .current()
            .unwrap()
            .iter()
            .map(|l| l.address)
            .collect();
        current.sort();
        let mut expected: Vec<IpAddr> = vec![
            IpAddr::V4(v4.address),
            "2001:db8:1::10".parse().unwrap(),
            "2001:db8:100::".parse().unwrap(),
        ];
        expected.sort();
        assert_eq!(current, expected);
        let na = reader
            .by_address("2001:db8:1::10".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            na.client_id.as_deref(),
            Some(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 7][..])
        );
        assert_eq!(na.hwaddr, [2, 0, 0, 0, 0, 7]);
        let four = reader.by_address(IpAddr::V4(v4.address)).unwrap().unwrap();
        assert_eq!(four.hwaddr, v4.hwaddr.to_vec());
        let none: Ipv6Addr = "2001:db8:1::99".parse().unwrap();
        assert!(reader.by_address(IpAddr::V6(none)).unwrap().is_none());
        assert!(
            reader
                .by_address(IpAddr::V4(Ipv4Addr::new(198, 18, 9, 9)))
                .unwrap()
                .is_none()
        );
    }
}
