//! The requests whose replies plugins will see: a reply carries neither the client's
//! parameter request list nor its other options, so the relay remembers each request
//! (and its plugin context) until its replies come back, for a bounded time and count.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How long a request waits for its replies: servers answer within a second or two; a
/// client that retransmits is remembered again.
pub(crate) const TTL: Duration = Duration::from_secs(30);
/// At most this many requests are remembered: a flood of requests evicts the oldest,
/// never grows memory without bound.
pub(crate) const CAPACITY: usize = 65_536;

pub(crate) struct Pending<K, V> {
    entries: HashMap<K, (Instant, V)>,
    /// Insertion order, for expiry and eviction; a key inserted again appears twice
    /// and only its latest insertion counts.
    order: VecDeque<(Instant, K)>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Default for Pending<K, V> {
    /// Remembering for [`TTL`], at most [`CAPACITY`] requests.
    fn default() -> Self {
        Pending::new(TTL, CAPACITY)
    }
}

impl<K: Hash + Eq + Clone, V> Pending<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Pending {
            entries: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            capacity,
        }
    }

    /// Remembers `value` under `key`, replacing what was there (a retransmission).
    pub(crate) fn insert(&mut self, key: K, value: V, now: Instant) {
        self.expire(now);
        while self.entries.len() >= self.capacity {
            let Some((at, oldest)) = self.order.pop_front() else {
                break;
            };
            self.remove_if_inserted_at(&oldest, at);
        }
        self.order.push_back((now, key.clone()));
        self.entries.insert(key, (now, value));
    }

    /// The request `key` names, if it is still remembered. It stays: a request may get
    /// several replies (an OFFER from each server).
    pub(crate) fn get_mut(&mut self, key: &K, now: Instant) -> Option<&mut V> {
        self.expire(now);
        self.entries.get_mut(key).map(|(_, v)| v)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            let (at, key) = self.order.pop_front().expect("front exists");
            self.remove_if_inserted_at(&key, at);
        }
    }

    fn remove_if_inserted_at(&mut self, key: &K, at: Instant) {
        if self.entries.get(key).is_some_and(|(t, _)| *t == at) {
            self.entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_oldest_are_evicted_at_capacity() {
        let t0 = Instant::now();
        let mut p = Pending::new(Duration::from_secs(10), 2);
        p.insert(1, "a", t0);
        p.insert(2, "b", t0 + Duration::from_secs(1));
        // Re-inserting 1 makes it the newest: 2 is now the oldest.
        p.insert(1, "a2", t0 + Duration::from_secs(2));
        p.insert(3, "c", t0 + Duration::from_secs(3));
        let now = t0 + Duration::from_secs(4);
        assert_eq!(p.get_mut(&2, now), None, "evicted at capacity");
        assert_eq!(p.get_mut(&1, now).copied(), Some("a2"));
        assert_eq!(p.get_mut(&3, now).copied(), Some("c"));
        assert_eq!(p.len(), 2);
        // Several replies to one request all find it.
        assert!(p.get_mut(&1, now).is_some());
        let later = t0 + Duration::from_secs(12);
        assert_eq!(p.get_mut(&1, later), None, "expired after the ttl");
        assert_eq!(p.get_mut(&3, later).copied(), Some("c"));
    }
}
