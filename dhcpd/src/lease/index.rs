//! The in-memory lease index every allocation decision reads. It is owned by the
//! packet loop, so lookups take no lock; the store only ever receives copies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

// foldhash: fast, and seeded per process, so clients choosing hardware addresses and
// identifiers cannot aim for collisions.
use foldhash::HashMap;

use super::model::{ClientKey, Lease4, LeaseState};
use crate::config::Pool;

/// Names a pool for its allocation cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolRef {
    pub subnet: usize,
    pub pool: usize,
}

#[derive(Debug, Default)]
pub struct LeaseIndex {
    leases: HashMap<Ipv4Addr, Lease4>,
    /// Each client's current or most recent address, so a returning client gets it back.
    by_client: HashMap<ClientKey, Ipv4Addr>,
    /// (expires, address) of every lease that held its address when recorded, earliest
    /// first. Entries are never removed when a lease changes; `reclaim` skips those that
    /// no longer match their lease, which is cheaper than keeping the heap exact.
    deadlines: BinaryHeap<Reverse<(u64, Ipv4Addr)>>,
    /// Where the next free-address search in each pool starts: allocation walks each
    /// pool round-robin, so never-used addresses go first and a released address stays
    /// with its last client as long as possible.
    cursors: HashMap<PoolRef, u32>,
}

impl LeaseIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index with room for `leases` leases. Growing a hash table rehashes every
    /// entry at once, which stalls the packet thread for milliseconds once it holds
    /// tens of thousands; sizing it for the configured pools up front avoids that.
    pub fn with_capacity(leases: usize) -> Self {
        LeaseIndex {
            leases: HashMap::with_capacity_and_hasher(leases, Default::default()),
            by_client: HashMap::with_capacity_and_hasher(leases, Default::default()),
            deadlines: BinaryHeap::with_capacity(2 * leases),
            cursors: HashMap::default(),
        }
    }

    /// Builds the index from stored leases, keeping for each client its newest one.
    pub fn from_leases(capacity: usize, leases: impl IntoIterator<Item = Lease4>) -> Self {
        let mut index = Self::with_capacity(capacity);
        let mut all: Vec<Lease4> = leases.into_iter().collect();
        all.sort_by_key(|l| l.starts);
        for l in all {
            index.upsert(l);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    pub fn get(&self, addr: Ipv4Addr) -> Option<&Lease4> {
        self.leases.get(&addr)
    }

    /// The client's current or last lease, if its address has not gone to another client.
    pub fn client_lease(&self, client: &ClientKey) -> Option<&Lease4> {
        let addr = self.by_client.get(client)?;
        self.leases
            .get(addr)
            .filter(|l| l.client.as_ref() == Some(client))
    }

    /// Whether `addr` may be given to `client` at `now`: unused, the client's own, or
    /// held by a lease that has run out.
    pub fn available_to(&self, addr: Ipv4Addr, client: &ClientKey, now: u64) -> bool {
        match self.leases.get(&addr) {
            None => true,
            Some(l) if l.state == LeaseState::Declined => !l.in_use(now),
            Some(l) => l.client.as_ref() == Some(client) || !l.in_use(now),
        }
    }

    /// The next address of `pool` that `client` may have, skipping addresses for which
    /// `reserved` is true; `None` when the pool is exhausted.
    pub fn next_free(
        &mut self,
        at: PoolRef,
        pool: &Pool,
        client: &ClientKey,
        now: u64,
        reserved: impl Fn(Ipv4Addr) -> bool,
    ) -> Option<Ipv4Addr> {
        let size = pool.last as u64 - pool.first as u64 + 1;
        let start = self
            .cursors
            .get(&at)
            .copied()
            .filter(|c| (pool.first..=pool.last).contains(c))
            .unwrap_or(pool.first);
        for step in 0..size {
            let candidate =
                pool.first + ((start - pool.first) as u64 + step).rem_euclid(size) as u32;
            let addr = Ipv4Addr::from(candidate);
            if pool.contains(candidate) && !reserved(addr) && self.available_to(addr, client, now) {
                let next = if candidate == pool.last {
                    pool.first
                } else {
                    candidate + 1
                };
                self.cursors.insert(at, next);
                return Some(addr);
            }
        }
        None
    }

    /// Records `lease`, replacing what was known about its address.
    pub fn upsert(&mut self, lease: Lease4) {
        let addr = lease.address;
        // The address goes to another client: the previous one no longer has it.
        if let Some(prev) = self.leases.get(&addr).and_then(|old| old.client.as_ref())
            && lease.client.as_ref() != Some(prev)
            && self.by_client.get(prev) == Some(&addr)
        {
            self.by_client.remove(prev);
        }
        if lease.state.holds_address() {
            self.deadlines.push(Reverse((lease.expires, addr)));
        }
        if let Some(client) = &lease.client {
            self.by_client.insert(client.clone(), addr);
        }
        self.leases.insert(addr, lease);
    }

    /// Ends every lease, offer and probation whose time has passed at `now`, and returns
    /// the changed leases that must be written to the store (not the offers, which never
    /// were).
    pub fn reclaim(&mut self, now: u64) -> Vec<Lease4> {
        let mut changed = Vec::new();
        while let Some(&Reverse((expires, addr))) = self.deadlines.peek() {
            if expires > now {
                break;
            }
            self.deadlines.pop();
            let Some(lease) = self
                .leases
                .get_mut(&addr)
                .filter(|l| l.state.holds_address() && l.expires == expires)
            else {
                continue; // stale: the lease changed after this deadline was recorded
            };
            let was = lease.state;
            lease.state = LeaseState::Expired;
            if was != LeaseState::Offered {
                changed.push(lease.clone());
            }
        }
        changed
    }

    pub fn iter(&self) -> impl Iterator<Item = &Lease4> {
        self.leases.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(first: [u8; 4], last: [u8; 4]) -> Pool {
        Pool {
            first: u32::from(Ipv4Addr::from(first)),
            last: u32::from(Ipv4Addr::from(last)),
            exclude: vec![],
            classes: vec![],
            options: Default::default(),
            boot: Default::default(),
        }
    }

    fn client(n: u8) -> ClientKey {
        ClientKey::HwAddr {
            htype: 1,
            addr: vec![2, 0, 0, 0, 0, n].into(),
        }
    }

    fn lease(addr: Ipv4Addr, c: &ClientKey, state: LeaseState, expires: u64) -> Lease4 {
        Lease4 {
            address: addr,
            client: Some(c.clone()),
            htype: 1,
            hwaddr: vec![2].into(),
            state,
            starts: 0,
            expires,
            hostname: None,
        }
    }

    const AT: PoolRef = PoolRef { subnet: 0, pool: 0 };

    #[test]
    fn allocation_walks_the_pool_and_skips_taken_excluded_and_reserved() {
        let mut p = pool([198, 18, 0, 10], [198, 18, 0, 14]);
        p.exclude.push((
            u32::from(Ipv4Addr::new(198, 18, 0, 11)),
            u32::from(Ipv4Addr::new(198, 18, 0, 11)),
        ));
        let mut idx = LeaseIndex::new();
        let reserved = |a: Ipv4Addr| a == Ipv4Addr::new(198, 18, 0, 12);
        let a = idx.next_free(AT, &p, &client(1), 100, reserved).unwrap();
        assert_eq!(a, Ipv4Addr::new(198, 18, 0, 10));
        idx.upsert(lease(a, &client(1), LeaseState::Offered, 130));
        assert_eq!(
            idx.next_free(AT, &p, &client(2), 100, reserved),
            Some(Ipv4Addr::new(198, 18, 0, 13))
        );
        idx.upsert(lease(
            Ipv4Addr::new(198, 18, 0, 13),
            &client(2),
            LeaseState::Active,
            1000,
        ));
        assert_eq!(
            idx.next_free(AT, &p, &client(3), 100, reserved),
            Some(Ipv4Addr::new(198, 18, 0, 14))
        );
        idx.upsert(lease(
            Ipv4Addr::new(198, 18, 0, 14),
            &client(3),
            LeaseState::Active,
            1000,
        ));
        // Full: .10 is held by an offer until 130.
        assert_eq!(idx.next_free(AT, &p, &client(4), 100, reserved), None);
        // The offer lapses: .10 is free again.
        assert_eq!(
            idx.next_free(AT, &p, &client(4), 131, reserved),
            Some(Ipv4Addr::new(198, 18, 0, 10))
        );
    }

    #[test]
    fn a_returning_client_finds_its_lease_until_another_takes_the_address() {
        let mut idx = LeaseIndex::new();
        let a = Ipv4Addr::new(198, 18, 0, 10);
        idx.upsert(lease(a, &client(1), LeaseState::Released, 50));
        assert_eq!(idx.client_lease(&client(1)).map(|l| l.address), Some(a));
        assert!(idx.available_to(a, &client(2), 60));
        idx.upsert(lease(a, &client(2), LeaseState::Active, 500));
        assert!(idx.client_lease(&client(1)).is_none());
        assert!(!idx.available_to(a, &client(1), 60));
    }

    #[test]
    fn reclaim_expires_leases_and_ends_probation_but_writes_no_offers() {
        let mut idx = LeaseIndex::new();
        let (a, b, c) = (
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 0, 2),
            Ipv4Addr::new(198, 18, 0, 3),
        );
        idx.upsert(lease(a, &client(1), LeaseState::Active, 100));
        idx.upsert(lease(b, &client(2), LeaseState::Offered, 100));
        idx.upsert(Lease4 {
            client: None,
            ..lease(c, &client(3), LeaseState::Declined, 100)
        });
        assert!(idx.reclaim(99).is_empty());
        let changed = idx.reclaim(100);
        assert_eq!(
            changed.iter().map(|l| l.address).collect::<Vec<_>>(),
            vec![a, c]
        );
        assert!(changed.iter().all(|l| l.state == LeaseState::Expired));
        assert_eq!(idx.get(b).map(|l| l.state), Some(LeaseState::Expired));
        assert!(idx.available_to(c, &client(9), 100));
    }

    #[test]
    fn declined_address_is_not_given_back_to_the_client_during_probation() {
        let mut idx = LeaseIndex::new();
        let a = Ipv4Addr::new(198, 18, 0, 1);
        idx.upsert(Lease4 {
            client: None,
            ..lease(a, &client(1), LeaseState::Declined, 500)
        });
        assert!(!idx.available_to(a, &client(1), 100));
    }
}
