//! The in-memory DHCPv4 lease index every allocation decision reads: the bindings
//! table keyed by address, with an allocation cursor per pool.

use std::net::Ipv4Addr;

use crate::bindings::{Bindings, Index, PoolRef, binding};
use crate::claims::Span;
use crate::{ClientKey, Lease4};
use zerotouch_config::Pool;

binding!(Lease4, Ipv4Addr = address, ClientKey = client);

/// The DHCPv4 lease index: leases by address, a cursor per pool.
pub type LeaseIndex = Index<Lease4, PoolRef, u32>;

impl LeaseIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index with room for `leases` leases (see `Bindings::with_capacity`).
    pub fn with_capacity(leases: usize) -> Self {
        Index::of(Bindings::with_capacity(leases))
    }

    /// Builds the index from stored leases, keeping for each client its newest one.
    pub fn from_leases(capacity: usize, leases: impl IntoIterator<Item = Lease4>) -> Self {
        Index::of(Bindings::from_leases(
            capacity,
            leases.into_iter().collect(),
            |l| l.starts,
        ))
    }

    /// The client's current or last lease, if its address has not gone to another client.
    pub fn client_lease(&self, client: &ClientKey) -> Option<&Lease4> {
        self.table.holder_lease(client)
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
        let span = Span::addresses4(pool.first, pool.last);
        let fits = |table: &Bindings<Lease4>, unit: u128| {
            let candidate = pool.first + unit as u32;
            let addr = Ipv4Addr::from(candidate);
            pool.contains(candidate) && !reserved(addr) && table.available_to(addr, client, now)
        };
        if let Some(claimed) = self.claimed_unit(&at, &span, u128::from(start - pool.first), fits) {
            let candidate = pool.first + claimed? as u32;
            let next = if candidate == pool.last {
                pool.first
            } else {
                candidate + 1
            };
            self.cursors.insert(at, next);
            return Some(Ipv4Addr::from(candidate));
        }
        for step in 0..size {
            let candidate =
                pool.first + ((start - pool.first) as u64 + step).rem_euclid(size) as u32;
            let addr = Ipv4Addr::from(candidate);
            if pool.contains(candidate)
                && !reserved(addr)
                && self.table.available_to(addr, client, now)
            {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LeaseState;

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
    fn with_claims_only_held_blocks_are_given_and_more_are_asked_for() {
        use crate::claims::{ClaimAsk, ClaimNews, Claims};
        // 64 addresses: blocks of 4 (a sixteenth), block 2 held (.8 to .11).
        let p = pool([198, 18, 0, 0], [198, 18, 0, 63]);
        let (ask, asks) = std::sync::mpsc::channel();
        let (tell, news) = std::sync::mpsc::channel();
        let mut idx = LeaseIndex::new();
        idx.set_claims(Claims::new(256, 1, ask, news, ()));
        tell.send(ClaimNews::Granted {
            pool: AT,
            blocks: vec![2],
            free: 4,
        })
        .unwrap();
        let none = |_: Ipv4Addr| false;
        let mut given = Vec::new();
        while let Some(a) = idx.next_free(AT, &p, &client(given.len() as u8), 100, none) {
            idx.upsert(lease(
                a,
                &client(given.len() as u8),
                LeaseState::Offered,
                130,
            ));
            given.push(a.octets()[3]);
        }
        assert_eq!(given, vec![8, 9, 10, 11]);
        assert!(matches!(
            asks.try_recv(),
            Ok(ClaimAsk::Want {
                units: 4,
                block: 4,
                ..
            })
        ));
        assert!(idx.awaiting_claims());
    }

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
