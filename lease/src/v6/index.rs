//! The in-memory DHCPv6 lease index: the bindings table keyed by address or prefix and
//! holder (identity association), with an allocation cursor per pool.

use std::net::Ipv6Addr;

use crate::bindings::{Bindings, Index, PoolRef, binding};
use crate::{IaKey, IaKind, Lease6, Resource};

/// The allocatable units of a pool: `count` addresses or prefixes of length
/// `prefix_len`, the i-th starting at `base + (i << shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    pub base: u128,
    pub shift: u32,
    pub count: u128,
    pub prefix_len: u8,
}

impl Slots {
    /// The DHCPv4 addresses `first..=last` (as numbers).
    pub fn addresses4(first: u32, last: u32) -> Self {
        Slots {
            base: u128::from(first),
            shift: 0,
            count: u128::from(last) - u128::from(first) + 1,
            prefix_len: 32,
        }
    }

    /// The addresses `first..=last`.
    pub fn addresses(first: Ipv6Addr, last: Ipv6Addr) -> Self {
        Slots {
            base: u128::from(first),
            shift: 0,
            count: u128::from(last) - u128::from(first) + 1,
            prefix_len: 128,
        }
    }

    /// The /`delegated` prefixes inside `prefix`/`len`.
    pub fn prefixes(prefix: Ipv6Addr, len: u8, delegated: u8) -> Self {
        let bits = u32::from(delegated - len);
        Slots {
            base: u128::from(prefix),
            shift: 128 - u32::from(delegated),
            count: if bits >= 128 {
                u128::MAX
            } else {
                1u128 << bits
            },
            prefix_len: delegated,
        }
    }

    pub fn get(&self, i: u128) -> Resource {
        let offset = if self.shift >= 128 {
            0
        } else {
            i << self.shift
        };
        Resource {
            address: Ipv6Addr::from(self.base.wrapping_add(offset)),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether `r` is one of the pool's units.
    pub fn contains(&self, r: Resource) -> bool {
        if r.prefix_len != self.prefix_len {
            return false;
        }
        let a = u128::from(r.address);
        let Some(offset) = a.checked_sub(self.base) else {
            return false;
        };
        let aligned = self.shift == 0 || offset & ((1u128 << self.shift) - 1) == 0;
        let index = if self.shift >= 128 {
            0
        } else {
            offset >> self.shift
        };
        aligned && index < self.count
    }
}

binding!(Lease6, Resource = resource, IaKey = ia);

/// The DHCPv6 lease index: bindings by address or prefix, a cursor per pool and kind.
pub type LeaseIndex6 = Index<Lease6, (IaKind, PoolRef), u128>;

impl LeaseIndex6 {
    /// Builds the index from stored leases, keeping for each IA its newest one, with
    /// room for `capacity` bindings.
    pub fn from_leases(capacity: usize, leases: Vec<Lease6>) -> Self {
        Index::of(Bindings::from_leases(capacity, leases, |l| l.starts))
    }

    /// The IA's current or last binding, if it has not gone to another client.
    pub fn ia_lease(&self, ia: &IaKey) -> Option<&Lease6> {
        self.table.holder_lease(ia)
    }

    /// The next unit of `slots` that `ia` may have, skipping those `reserved` says are
    /// reserved for others (at most `reserved_count` of them); `None` when the pool is
    /// exhausted. Pools can hold 2^64 addresses, so the walk is bounded: every unit
    /// that is not free has a lease here or a reservation, so looking at one more unit
    /// than those finds a free one whenever there is one.
    pub fn next_free(
        &mut self,
        at: (IaKind, PoolRef),
        slots: &Slots,
        ia: &IaKey,
        now: u64,
        reserved_count: usize,
        reserved: impl Fn(Resource) -> bool,
    ) -> Option<Resource> {
        let limit = slots
            .count
            .min(self.table.len() as u128 + reserved_count as u128 + 1);
        let start = self
            .cursors
            .get(&at)
            .copied()
            .filter(|&c| c < slots.count)
            .unwrap_or(0);
        let fits = |table: &Bindings<Lease6>, i: u128| {
            let candidate = slots.get(i);
            !reserved(candidate) && table.available_to(candidate, ia, now)
        };
        if let Some(claimed) = self.claimed_unit(&at, slots, start, fits) {
            let i = claimed?;
            self.cursors
                .insert(at, if i + 1 >= slots.count { 0 } else { i + 1 });
            return Some(slots.get(i));
        }
        let mut i = start;
        for _ in 0..limit {
            let candidate = slots.get(i);
            i = if i + 1 >= slots.count { 0 } else { i + 1 };
            if !reserved(candidate) && self.table.available_to(candidate, ia, now) {
                self.cursors.insert(at, i);
                return Some(candidate);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LeaseState;

    fn ia(n: u8, kind: IaKind) -> IaKey {
        IaKey {
            kind,
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n].into(),
            iaid: 1,
        }
    }

    fn lease(r: Resource, ia: &IaKey, state: LeaseState, expires: u64) -> Lease6 {
        Lease6 {
            resource: r,
            ia: Some(ia.clone()),
            kind: ia.kind,
            state,
            starts: 0,
            preferred: 10,
            expires,
            hw_address: None,
            hostname: None,
        }
    }

    const AT: (IaKind, PoolRef) = (IaKind::Na, PoolRef { subnet: 0, pool: 0 });

    #[test]
    fn prefix_slots_are_aligned_delegated_prefixes() {
        let s = Slots::prefixes("2001:db8:100::".parse().unwrap(), 40, 48);
        assert_eq!(s.count, 256);
        assert_eq!(s.get(1).to_string(), "2001:db8:101::/48");
        assert_eq!(s.get(255).to_string(), "2001:db8:1ff::/48");
        assert!(s.contains(s.get(7)));
        let unaligned = Resource {
            address: "2001:db8:101:1::".parse().unwrap(),
            prefix_len: 48,
        };
        assert!(!s.contains(unaligned));
        let outside = Resource {
            address: "2001:db8:200::".parse().unwrap(),
            prefix_len: 48,
        };
        assert!(!s.contains(outside));
        let huge = Slots::addresses(
            "2001:db8::".parse().unwrap(),
            "2001:db8::ffff:ffff:ffff:ffff".parse().unwrap(),
        );
        assert_eq!(huge.count, 1 << 64);
    }

    #[test]
    fn allocation_skips_taken_and_reserved_units_and_a_bounded_walk_finds_exhaustion() {
        let s = Slots::addresses(
            "2001:db8::10".parse().unwrap(),
            "2001:db8::12".parse().unwrap(),
        );
        let mut idx = LeaseIndex6::default();
        let reserved_addr: Ipv6Addr = "2001:db8::11".parse().unwrap();
        let reserved = |r: Resource| r.address == reserved_addr;
        let a = idx
            .next_free(AT, &s, &ia(1, IaKind::Na), 100, 1, reserved)
            .unwrap();
        assert_eq!(a.address, "2001:db8::10".parse::<Ipv6Addr>().unwrap());
        idx.upsert(lease(a, &ia(1, IaKind::Na), LeaseState::Active, 1000));
        let b = idx
            .next_free(AT, &s, &ia(2, IaKind::Na), 100, 1, reserved)
            .unwrap();
        assert_eq!(b.address, "2001:db8::12".parse::<Ipv6Addr>().unwrap());
        idx.upsert(lease(b, &ia(2, IaKind::Na), LeaseState::Offered, 130));
        assert_eq!(
            idx.next_free(AT, &s, &ia(3, IaKind::Na), 100, 1, reserved),
            None
        );
        assert_eq!(
            idx.next_free(AT, &s, &ia(3, IaKind::Na), 131, 1, reserved),
            Some(b),
            "the advertise hold lapsed"
        );
        assert_eq!(
            idx.ia_lease(&ia(1, IaKind::Na)).map(|l| l.resource),
            Some(a)
        );
    }

    #[test]
    fn reclaim_expires_bindings_but_stores_no_holds() {
        let s = Slots::prefixes("2001:db8:100::".parse().unwrap(), 40, 56);
        let mut idx = LeaseIndex6::default();
        idx.upsert(lease(s.get(0), &ia(1, IaKind::Pd), LeaseState::Active, 100));
        idx.upsert(lease(
            s.get(1),
            &ia(2, IaKind::Pd),
            LeaseState::Offered,
            100,
        ));
        assert!(idx.reclaim(99).is_empty());
        let changed = idx.reclaim(100);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].resource, s.get(0));
        assert!(idx.available_to(s.get(1), &ia(3, IaKind::Pd), 100));
    }
}
