//! The table both lease indexes are built on: leases by what they hold (an address, a
//! prefix), each holder's current or last lease, and deadlines for reclaiming. Owned by
//! a packet loop, so lookups take no lock; the store only ever receives copies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::ops::{Deref, DerefMut};

// foldhash: fast, and seeded per process, so clients choosing hardware addresses and
// identifiers cannot aim for collisions.
use foldhash::HashMap;

use crate::LeaseState;
use crate::claims::{Claims, Span};

/// A lease as the table sees it.
pub trait Binding: Clone {
    /// What the lease holds: an address, or a prefix.
    type Key: Copy + Eq + Hash + Ord;
    /// Who holds it: a DHCPv4 client, a DHCPv6 identity association.
    type Holder: Clone + Eq + Hash;
    fn key(&self) -> Self::Key;
    /// `None` for a declined address, which belongs to no one.
    fn holder(&self) -> Option<&Self::Holder>;
    fn state(&self) -> LeaseState;
    fn set_state(&mut self, state: LeaseState);
    /// Unix seconds: end of the lease, of the offer hold or of the decline probation.
    fn expires(&self) -> u64;

    /// Whether the address or prefix is taken at `now` by this lease.
    fn in_use(&self, now: u64) -> bool {
        self.state().holds_address() && self.expires() > now
    }
}

pub struct Bindings<L: Binding> {
    leases: HashMap<L::Key, L>,
    by_holder: HashMap<L::Holder, L::Key>,
    /// (expires, key) of every lease that held its address when recorded, earliest
    /// first. Entries are never removed when a lease changes; `reclaim` skips those that
    /// no longer match their lease, which is cheaper than keeping the heap exact.
    deadlines: BinaryHeap<Reverse<(u64, L::Key)>>,
}

impl<L: Binding> Default for Bindings<L> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// Leases a table is sized for at start: every pool entry (and what the store already
/// holds), up to a bound, so that neither family's table rehashes under load, while a
/// /8 pool or a DHCPv6 /64 does not reserve memory for millions of leases at start.
pub fn start_capacity(pool_sizes: impl IntoIterator<Item = u128>, loaded: usize) -> usize {
    const MAX_PRESIZE: u128 = 1 << 20;
    let pools = pool_sizes.into_iter().fold(0u128, u128::saturating_add);
    pools.max(loaded as u128).min(MAX_PRESIZE) as usize
}

impl<L: Binding> Bindings<L> {
    /// A table with room for `leases` leases. Growing a hash table rehashes every entry
    /// at once, which stalls the packet thread for milliseconds once it holds tens of
    /// thousands; sizing it for the configured pools up front avoids that.
    pub fn with_capacity(leases: usize) -> Self {
        Bindings {
            leases: HashMap::with_capacity_and_hasher(leases, Default::default()),
            by_holder: HashMap::with_capacity_and_hasher(leases, Default::default()),
            deadlines: BinaryHeap::with_capacity(2 * leases),
        }
    }

    /// Builds the table from stored leases, keeping for each holder its newest one.
    pub fn from_leases(capacity: usize, leases: Vec<L>, starts: impl Fn(&L) -> u64) -> Self {
        let mut table = Self::with_capacity(capacity);
        let mut all = leases;
        all.sort_by_key(|l| starts(l));
        for l in all {
            table.upsert(l);
        }
        table
    }

    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    pub fn get(&self, key: L::Key) -> Option<&L> {
        self.leases.get(&key)
    }

    /// The holder's current or last lease, if what it held has not gone to another.
    pub fn holder_lease(&self, holder: &L::Holder) -> Option<&L> {
        let key = self.by_holder.get(holder)?;
        self.leases.get(key).filter(|l| l.holder() == Some(holder))
    }

    /// Whether `key` may be given to `holder` at `now`: unused, the holder's own, or
    /// held by a lease that has run out.
    pub fn available_to(&self, key: L::Key, holder: &L::Holder, now: u64) -> bool {
        match self.leases.get(&key) {
            None => true,
            Some(l) if l.state() == LeaseState::Declined => !l.in_use(now),
            Some(l) => l.holder() == Some(holder) || !l.in_use(now),
        }
    }

    /// Records `lease`, replacing what was known about its key.
    pub fn upsert(&mut self, lease: L) {
        let key = lease.key();
        // The key goes to another holder: the previous one no longer has it.
        if let Some(prev) = self.leases.get(&key).and_then(|old| old.holder())
            && lease.holder() != Some(prev)
            && self.by_holder.get(prev) == Some(&key)
        {
            self.by_holder.remove(prev);
        }
        if lease.state().holds_address() {
            self.deadlines.push(Reverse((lease.expires(), key)));
        }
        if let Some(holder) = lease.holder() {
            self.by_holder.insert(holder.clone(), key);
        }
        self.leases.insert(key, lease);
    }

    /// Ends every lease, offer and probation whose time has passed at `now`, and returns
    /// the changed leases that must be written to the store (not the offers, which never
    /// were).
    pub fn reclaim(&mut self, now: u64) -> Vec<L> {
        let mut changed = Vec::new();
        while let Some(&Reverse((expires, key))) = self.deadlines.peek() {
            if expires > now {
                break;
            }
            self.deadlines.pop();
            let Some(lease) = self
                .leases
                .get_mut(&key)
                .filter(|l| l.state().holds_address() && l.expires() == expires)
            else {
                continue; // stale: the lease changed after this deadline was recorded
            };
            let was = lease.state();
            lease.set_state(LeaseState::Expired);
            if was != LeaseState::Offered {
                changed.push(lease.clone());
            }
        }
        changed
    }

    pub fn iter(&self) -> impl Iterator<Item = &L> {
        self.leases.values()
    }
}

#[cfg(test)]
mod tests {
    use super::start_capacity;

    #[test]
    fn start_capacity_covers_the_pools_and_the_store_up_to_a_bound() {
        assert_eq!(start_capacity([100, 28], 0), 128);
        // The store holds more than the pools (a pool was shrunk): room for all of it.
        assert_eq!(start_capacity([100], 5000), 5000);
        // A /8 pool, or a DHCPv6 /64 and a /33 of /56 prefixes: bounded.
        assert_eq!(start_capacity([1 << 24], 0), 1 << 20);
        assert_eq!(start_capacity([u128::MAX, 1 << 23], 0), 1 << 20);
        assert_eq!(start_capacity([], 0), 0);
    }
}

/// Names a pool for its allocation cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolRef {
    pub subnet: usize,
    pub pool: usize,
}

/// The accessors of a lease record as the table sees it: `binding!(Lease4, Ipv4Addr =
/// address, ClientKey = client)`.
macro_rules! binding {
    ($lease:ty, $key:ty = $key_field:ident, $holder:ty = $holder_field:ident) => {
        impl $crate::bindings::Binding for $lease {
            type Key = $key;
            type Holder = $holder;
            fn key(&self) -> $key {
                self.$key_field
            }
            fn holder(&self) -> Option<&$holder> {
                self.$holder_field.as_ref()
            }
            fn state(&self) -> $crate::LeaseState {
                self.state
            }
            fn set_state(&mut self, state: $crate::LeaseState) {
                self.state = state;
            }
            fn expires(&self) -> u64 {
                self.expires
            }
        }
    };
}
pub(crate) use binding;

/// A family's lease index: the table, and where the next free search in each pool
/// starts (`cursors`, by `K`): allocation walks each pool round-robin, so never-used
/// addresses go first and a released address stays with its last client as long as
/// possible.
pub struct Index<L: Binding, K, C> {
    pub(crate) table: Bindings<L>,
    pub(crate) cursors: HashMap<K, C>,
    /// With a lease database shared by several servers: the blocks of the pools this
    /// server gives new units from.
    pub(crate) claims: Option<Claims<K>>,
    /// Whether new leases are paused: the lease store cannot be written.
    paused: bool,
    /// While paused, whether a renewal is answered from the stored lease.
    renew_from_store: bool,
    /// The stored lease of each address in use, as far as this server knows (its
    /// holder and end): what the store holds while in memory a change waits for its
    /// commit. Kept only when renewals are answered from the store.
    stored: HashMap<L::Key, (L::Holder, u64)>,
}

impl<L: Binding, K, C> Index<L, K, C> {
    /// An index over `table`, every pool's search at its start.
    pub(crate) fn of(table: Bindings<L>) -> Self {
        Index {
            table,
            cursors: HashMap::default(),
            claims: None,
            paused: false,
            renew_from_store: false,
            stored: HashMap::default(),
        }
    }

    /// Pauses new leases (or lets them go on): while the store cannot be written, no
    /// client is offered an address it could not be acknowledged.
    pub fn pause_new(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Whether new leases are paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// While paused, answer a renewal with the time left on the client's stored lease
    /// (`[leases] outage_renewals = "remaining"`); the leases in the index now are
    /// the stored ones.
    pub fn renew_from_store(&mut self, yes: bool) {
        self.renew_from_store = yes;
        if yes {
            for l in self.table.iter() {
                record_stored(&mut self.stored, l);
            }
        }
    }

    /// `leases` are stored as they are (committed, or read from the store).
    pub fn stored_now(&mut self, leases: &[L]) {
        if self.renew_from_store {
            for l in leases {
                record_stored(&mut self.stored, l);
            }
        }
    }

    /// While paused and answering renewals from the store: the seconds `holder`'s
    /// stored lease of `key` has left at `now`, if it has one in use; `None` otherwise.
    pub fn stored_time_left(&self, key: L::Key, holder: &L::Holder, now: u64) -> Option<u32> {
        if !(self.paused && self.renew_from_store) {
            return None;
        }
        let (h, expires) = self.stored.get(&key)?;
        (h == holder && *expires > now).then(|| u32::try_from(expires - now).unwrap_or(u32::MAX))
    }
}

/// Records `l` as stored: the holder and end of an active lease, nothing otherwise.
fn record_stored<L: Binding>(stored: &mut HashMap<L::Key, (L::Holder, u64)>, l: &L) {
    match l.holder() {
        Some(h) if l.state() == LeaseState::Active => {
            stored.insert(l.key(), (h.clone(), l.expires()));
        }
        _ => {
            stored.remove(&l.key());
        }
    }
}

impl<L: Binding, K: Clone + Eq + Hash, C> Index<L, K, C> {
    /// New units are given only from the blocks `claims` holds, from now on.
    pub fn set_claims(&mut self, claims: Claims<K>) {
        self.claims = Some(claims);
    }

    /// The claims, if the store is shared.
    pub fn claims_mut(&mut self) -> Option<&mut Claims<K>> {
        self.claims.as_mut()
    }

    /// Whether a pool may look exhausted only because this server's claim of more of
    /// it is under way.
    pub fn awaiting_claims(&self) -> bool {
        self.claims.as_ref().is_some_and(Claims::awaiting)
    }

    /// With claims: the first unit of `span` at or after `start` that is in a block this
    /// server holds and that `fits`, `Some(None)` when there is none (more blocks are
    /// asked for); `None` without claims (every unit may be given).
    pub(crate) fn claimed_unit(
        &mut self,
        at: &K,
        span: &Span,
        start: u128,
        fits: impl Fn(&Bindings<L>, u128) -> bool,
    ) -> Option<Option<u128>> {
        let claims = self.claims.as_mut()?;
        claims.poll();
        let held = claims.held_units(at, span);
        let mut i = if start < span.count { start } else { 0 };
        for _ in 0..held {
            let Some(j) = claims.next_held(at, span, i) else {
                break;
            };
            if fits(&self.table, j) {
                claims.took(at, span);
                return Some(Some(j));
            }
            i = if j + 1 >= span.count { 0 } else { j + 1 };
        }
        claims.short(at, span);
        Some(None)
    }
}

impl<L: Binding, K, C> Default for Index<L, K, C> {
    fn default() -> Self {
        Index::of(Bindings::default())
    }
}

impl<L: Binding, K, C> Deref for Index<L, K, C> {
    type Target = Bindings<L>;
    fn deref(&self) -> &Bindings<L> {
        &self.table
    }
}

impl<L: Binding, K, C> DerefMut for Index<L, K, C> {
    fn deref_mut(&mut self) -> &mut Bindings<L> {
        &mut self.table
    }
}
