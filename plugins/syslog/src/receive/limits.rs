//! Per-source limits, so one sender's flood does not starve the others: messages a
//! second from one address (a token bucket allowing a second's worth at once), and
//! TCP connections open from one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Sources followed; past it the idle ones are forgotten.
const MAX_SOURCES: usize = 65_536;

/// How many messages a second each source may send (0: no limit).
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_second: AtomicU32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimit {
    pub(crate) fn new(per_second: u32) -> Self {
        RateLimit {
            per_second: AtomicU32::new(per_second),
            buckets: Mutex::default(),
        }
    }

    /// From now on, `per_second` a source (0: no limit).
    pub(crate) fn set(&self, per_second: u32) {
        self.per_second.store(per_second, Ordering::Relaxed);
    }

    /// Whether `source` may send one more message at `now`.
    pub(crate) fn allow(&self, source: IpAddr, now: Instant) -> bool {
        let per_second = self.per_second.load(Ordering::Relaxed);
        if per_second == 0 {
            return true;
        }
        let rate = f64::from(per_second);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&source) {
            // Forget the sources whose allowance is whole again: they were idle.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < rate
            });
            if buckets.len() >= MAX_SOURCES {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(source).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// TCP connections open from each source, at most `limit`.
#[derive(Debug)]
pub(crate) struct Connections {
    limit: AtomicUsize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection, counted until dropped.
pub(crate) struct Slot {
    of: Arc<Connections>,
    source: IpAddr,
}

impl Connections {
    pub(crate) fn new(limit: usize) -> Self {
        Connections {
            limit: AtomicUsize::new(limit),
            open: Mutex::default(),
        }
    }

    /// From now on, `limit` connections a source (those open stay).
    pub(crate) fn set(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// A slot for a connection from `source`, unless it has `limit` open already.
    pub(crate) fn take(self: &Arc<Self>, source: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(source).or_insert(0);
        if *n >= self.limit.load(Ordering::Relaxed) {
            return None;
        }
        *n += 1;
        Some(Slot {
            of: self.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_source_gets_its_allowance_and_others_theirs() {
        let limit = RateLimit::new(10);
        let t0 = Instant::now();
        let (a, b): (IpAddr, IpAddr) =
            ("198.18.0.2".parse().unwrap(), "198.18.0.3".parse().unwrap());
        let allowed = (0..100).filter(|_| limit.allow(a, t0)).count();
        assert_eq!(allowed, 10, "a second's worth at once");
        assert!(limit.allow(b, t0), "another source is not held back");
        assert!(!limit.allow(a, t0 + Duration::from_millis(50)));
        assert!(limit.allow(a, t0 + Duration::from_millis(150)), "refilled");
        assert!((0..1000).all(|_| RateLimit::new(0).allow(a, t0)));
    }

    #[test]
    fn connections_from_one_source_are_bounded_and_freed() {
        let c = Arc::new(Connections::new(2));
        let a: IpAddr = "198.18.0.2".parse().unwrap();
        let (s1, _s2) = (c.take(a).unwrap(), c.take(a).unwrap());
        assert!(c.take(a).is_none());
        assert!(c.take("198.18.0.3".parse().unwrap()).is_some());
        drop(s1);
        assert!(c.take(a).is_some());
    }
}
