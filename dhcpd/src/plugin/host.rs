//! What service plugins see of the server: the lease table (read from the store) and
//! the configuration and counters.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zerotouch_plugin::{LeaseInfo, LeaseReader, PluginError, ServerView, SubnetInfo};

use super::Pipeline;
use crate::config::{Config, Dhcp4, Pool};
use crate::lease::{ClientKey, Lease4, LeaseState, LeaseStore, unix_now};
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
        hostname: None,
    }
}

/// Reads leases from the SQLite store through a read-only connection of its own,
/// opened on first use (the server creates the database at start).
pub struct SqliteLeaseReader {
    path: PathBuf,
    conn: Mutex<Option<LeaseStore>>,
}

impl SqliteLeaseReader {
    pub fn new(path: &Path) -> Self {
        SqliteLeaseReader {
            path: path.to_path_buf(),
            conn: Mutex::new(None),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&LeaseStore) -> Result<T, crate::lease::StoreError>,
    ) -> Result<T, PluginError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| PluginError::new("lease reader poisoned"))?;
        if guard.is_none() {
            *guard = Some(LeaseStore::open_reader(&self.path)?);
        }
        let store = guard.as_ref().expect("opened above");
        Ok(f(store)?)
    }
}

impl LeaseReader for SqliteLeaseReader {
    fn current(&self) -> Result<Vec<LeaseInfo>, PluginError> {
        let now = unix_now();
        let loaded = self.with(|s| s.load())?;
        Ok(loaded
            .leases
            .iter()
            .filter(|l| l.expires > now && l.state != LeaseState::Expired)
            .map(lease_info)
            .collect())
    }

    fn by_address(&self, address: IpAddr) -> Result<Option<LeaseInfo>, PluginError> {
        let IpAddr::V4(a) = address else {
            return Ok(None);
        };
        Ok(self.with(|s| s.get(a))?.as_ref().map(lease_info))
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
