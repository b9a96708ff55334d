//! The in-memory lease store: the backend interface without a disk, for tests and for
//! tools that need a store but no durability. Clones share one table, so a test can
//! hand one to the group commit and read through another; a failure switch makes
//! writes fail on demand, and a DHCPv4 lease stored as another server's refuses
//! writes of its address for other clients, as a shared store does.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::{LeaseBackend, Loaded, StoreError, Written};
use crate::Lease4;
use crate::Lease6;

#[derive(Default)]
struct Tables {
    v4: BTreeMap<Ipv4Addr, Lease4>,
    /// By address and prefix length, as the SQLite store keys them.
    v6: BTreeMap<(Ipv6Addr, u8), Lease6>,
    identity: HashMap<String, String>,
    /// Addresses whose leases another server wrote.
    elsewhere: std::collections::BTreeSet<Ipv4Addr>,
}

/// Leases in memory; clones share them.
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    refuse: Arc<AtomicBool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// A switch that makes every write fail (`StoreError::Refused`) while it is on.
    pub fn failure_switch(&self) -> Arc<AtomicBool> {
        self.refuse.clone()
    }

    /// Stores `lease` as another server sharing the store would: writes of its address
    /// for another client are refused from then on.
    pub fn store_elsewhere(&self, lease: Lease4) {
        let mut t = self.tables();
        t.elsewhere.insert(lease.address);
        t.v4.insert(lease.address, lease);
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while the lock was held leaves whole records behind: go on with them.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_refusal(&self) -> Result<(), StoreError> {
        if self.refuse.load(Ordering::Relaxed) {
            return Err(StoreError::Refused);
        }
        Ok(())
    }
}

impl LeaseBackend for MemoryStore {
    fn describe(&self) -> String {
        "in-memory lease store".into()
    }

    fn load4(&self) -> Result<Loaded<Lease4>, StoreError> {
        Ok(Loaded {
            leases: self.tables().v4.values().cloned().collect(),
            bad_rows: Vec::new(),
        })
    }

    fn load6(&self) -> Result<Loaded<Lease6>, StoreError> {
        Ok(Loaded {
            leases: self.tables().v6.values().cloned().collect(),
            bad_rows: Vec::new(),
        })
    }

    fn write4(&mut self, leases: &[Lease4]) -> Result<Written<Lease4>, StoreError> {
        self.check_refusal()?;
        let mut t = self.tables();
        let mut written = Written::all();
        for (i, l) in leases.iter().enumerate() {
            match t.v4.get(&l.address) {
                Some(other) if t.elsewhere.contains(&l.address) && other.client != l.client => {
                    written.refused.push(i);
                    written.current.push(other.clone());
                }
                _ => {
                    t.v4.insert(l.address, l.clone());
                }
            }
        }
        Ok(written)
    }

    fn write6(&mut self, leases: &[Lease6]) -> Result<Written<Lease6>, StoreError> {
        self.check_refusal()?;
        let mut t = self.tables();
        for l in leases {
            t.v6.insert((l.resource.address, l.resource.prefix_len), l.clone());
        }
        Ok(Written::all())
    }

    fn get4(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
        Ok(self.tables().v4.get(&address).cloned())
    }

    fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
        Ok(self.tables().v6.get(&(address, 128)).cloned())
    }

    fn identity(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.tables().identity.get(name).cloned())
    }

    fn set_identity(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        self.check_refusal()?;
        self.tables().identity.insert(name.into(), value.into());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbered_lease;

    #[test]
    fn clones_share_the_table_and_the_switch_refuses_writes() {
        let mut writer = MemoryStore::new();
        let reader = writer.clone();
        writer
            .write4(&[numbered_lease(1), numbered_lease(2)])
            .unwrap();
        assert_eq!(reader.load4().unwrap().leases.len(), 2);
        assert_eq!(
            reader.get4(numbered_lease(2).address).unwrap(),
            Some(numbered_lease(2))
        );
        reader.failure_switch().store(true, Ordering::Relaxed);
        assert!(matches!(
            writer.write4(&[numbered_lease(3)]),
            Err(StoreError::Refused)
        ));
        assert_eq!(reader.load4().unwrap().leases.len(), 2, "nothing written");
    }
}
