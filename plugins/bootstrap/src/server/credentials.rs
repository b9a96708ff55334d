//! What HTTP Basic costs. A secret is stored as PBKDF2 with 100,000 iterations: checked
//! on every request, one keep-alive connection managed about 40 requests a second and
//! anyone could burn the server's CPU with wrong passwords. So:
//!
//! - [`VerifiedSecrets`] remembers, for a while and in bounded number, the secrets that
//!   verified. An entry's key is an HMAC, under a key made at start and never stored,
//!   of the stored hash and the password: nothing in memory gives the password back, a
//!   changed secret misses, and a wrong password is never remembered (it pays PBKDF2).
//! - [`FailedLogins`] counts authentication failures per source address; past
//!   `auth_failures_per_minute` in the last minute, that address is answered 429 without
//!   any work until the minute has passed.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;

use ring::hmac;

use super::Counters;
use crate::secret::SecretHash;

/// How long a verified secret is remembered.
const REMEMBER: Duration = Duration::from_secs(600);
/// How many verified secrets are remembered at most (the oldest go first).
const MAX_REMEMBERED: usize = 4096;
/// The window of [`FailedLogins`].
const WINDOW: Duration = Duration::from_secs(60);
/// How many source addresses [`FailedLogins`] follows at most.
const MAX_SOURCES: usize = 65_536;

/// An HMAC-SHA256 of a stored hash and a password.
type TagBytes = [u8; 32];

/// Verified secrets by tag with when they verified, and the tags oldest first.
type Remembered = (HashMap<TagBytes, Instant>, VecDeque<(TagBytes, Instant)>);

pub struct VerifiedSecrets {
    /// None when the system gave no randomness for a key: nothing is remembered then.
    key: Option<hmac::Key>,
    known: Mutex<Remembered>,
}

impl VerifiedSecrets {
    pub fn new() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).ok();
        VerifiedSecrets {
            key,
            known: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn tag(&self, key: &hmac::Key, hash: &SecretHash, password: &str) -> TagBytes {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(hash.to_string().as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `password` is the secret `hash` was made from: remembered, or checked
    /// (PBKDF2) and remembered when right. `counters` count both.
    pub fn verify(&self, hash: &SecretHash, password: &str, counters: &Counters) -> bool {
        let Some(key) = &self.key else {
            counters.secrets_checked.fetch_add(1, Ordering::Relaxed);
            return hash.verify(password);
        };
        let tag = self.tag(key, hash, password);
        let now = Instant::now();
        if let Ok(known) = self.known.lock()
            && known
                .0
                .get(&tag)
                .is_some_and(|at| now.duration_since(*at) < REMEMBER)
        {
            counters.secrets_remembered.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        counters.secrets_checked.fetch_add(1, Ordering::Relaxed);
        if !hash.verify(password) {
            return false;
        }
        if let Ok(mut known) = self.known.lock() {
            let (map, order) = &mut *known;
            while order.len() >= MAX_REMEMBERED
                || order
                    .front()
                    .is_some_and(|(_, at)| now.duration_since(*at) >= REMEMBER)
            {
                let Some((old, at)) = order.pop_front() else {
                    break;
                };
                if map.get(&old) == Some(&at) {
                    map.remove(&old);
                }
            }
            map.insert(tag, now);
            order.push_back((tag, now));
        }
        true
    }
}

#[cfg(test)]
impl VerifiedSecrets {
    fn remembered(&self) -> usize {
        self.known.lock().map_or(0, |k| k.0.len())
    }
}

impl Default for VerifiedSecrets {
    fn default() -> Self {
        Self::new()
    }
}

/// Authentication failures per source address in the last minute.
#[derive(Default)]
pub struct FailedLogins {
    sources: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl FailedLogins {
    /// When `source` may try again, if it has failed `per_minute` times in the last
    /// minute (0: no limit).
    pub fn blocked(&self, source: IpAddr, per_minute: u32) -> Option<Duration> {
        if per_minute == 0 {
            return None;
        }
        let now = Instant::now();
        let mut sources = self.sources.lock().ok()?;
        let times = sources.get_mut(&source)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.is_empty() {
            sources.remove(&source);
            return None;
        }
        (times.len() >= per_minute as usize)
            .then(|| WINDOW.saturating_sub(now.duration_since(times[0])))
    }

    /// Counts a failure of `source`, keeping the last `per_minute`.
    pub fn failed(&self, source: IpAddr, per_minute: u32) {
        if per_minute == 0 {
            return;
        }
        let now = Instant::now();
        let Ok(mut sources) = self.sources.lock() else {
            return;
        };
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            sources.retain(|_, t| t.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            if sources.len() >= MAX_SOURCES {
                return;
            }
        }
        let times = sources.entry(source).or_default();
        times.push_back(now);
        while times.len() > per_minute as usize {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_secret_is_remembered_a_wrong_one_never() {
        let hash = SecretHash::new("s3cret", 1000).unwrap();
        let cache = VerifiedSecrets::new();
        let c = Counters::default();
        let checked = || c.secrets_checked.load(Ordering::Relaxed);
        assert!(!cache.verify(&hash, "wrong", &c));
        assert_eq!(cache.remembered(), 0);
        assert!(cache.verify(&hash, "s3cret", &c));
        assert_eq!((cache.remembered(), checked()), (1, 2));
        for _ in 0..10 {
            assert!(cache.verify(&hash, "s3cret", &c));
        }
        assert_eq!(cache.remembered(), 1, "found, not added again");
        assert_eq!(checked(), 2, "no PBKDF2 for a remembered secret");
        assert_eq!(c.secrets_remembered.load(Ordering::Relaxed), 10);
        assert!(!cache.verify(&hash, "wrong", &c));
        assert!(!cache.verify(&hash, "s3cret ", &c));
        assert_eq!(
            cache.remembered(),
            1,
            "wrong passwords are never remembered"
        );
        assert_eq!(checked(), 4, "each wrong password pays PBKDF2");
        // Another hash (the operator changed the secret) is checked afresh.
        let other = SecretHash::new("s3cret", 1000).unwrap();
        assert!(cache.verify(&other, "s3cret", &c));
        let changed = SecretHash::new("new", 1000).unwrap();
        assert!(!cache.verify(&changed, "s3cret", &c));
    }

    #[test]
    fn sources_that_fail_too_often_wait_and_others_do_not() {
        let limit = FailedLogins::default();
        let a: IpAddr = "198.18.0.2".parse().unwrap();
        let b: IpAddr = "198.18.0.3".parse().unwrap();
        for _ in 0..2 {
            limit.failed(a, 3);
        }
        assert_eq!(limit.blocked(a, 3), None);
        limit.failed(a, 3);
        let wait = limit.blocked(a, 3).unwrap();
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW, "{wait:?}");
        assert_eq!(limit.blocked(b, 3), None);
        // 0: no limit.
        for _ in 0..10 {
            limit.failed(b, 0);
        }
        assert_eq!(limit.blocked(b, 0), None);
        assert_eq!(limit.blocked(a, 0), None);
    }
}
