//! Response-rate limiting over UDP (in the manner of BIND's RRL): an answer larger than
//! its query makes a DNS server an amplifier for whoever forges a victim's address. Each
//! source network (a /24 for IPv4, a /56 for IPv6) gets `responses_per_second`; past it,
//! answers are dropped, except every `slip`-th, which goes out empty with the TC bit set
//! so a real client asks again over TCP, where no limit applies (a forged source cannot
//! complete a TCP handshake).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use serde::Deserialize;

/// How many source networks are followed; past it the idle ones are forgotten.
const MAX_SOURCES: usize = 16_384;

/// `rate_limit` in the settings.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimit {
    /// Answers per second to one source network over UDP; 0 turns the limit off.
    #[serde(default = "default_rate")]
    pub responses_per_second: u32,
    /// Every `slip`-th answer over the limit goes out truncated (TC); 0 drops them all.
    #[serde(default = "default_slip")]
    pub slip: u32,
}

fn default_rate() -> u32 {
    100
}

fn default_slip() -> u32 {
    2
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            responses_per_second: default_rate(),
            slip: default_slip(),
        }
    }
}

/// What to do with one answer over UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Answer,
    /// Send it empty, with the TC bit.
    Slip,
    Drop,
}

/// One source network's allowance.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// Answers over the limit so far, for the slip.
    over: u64,
}

/// The limiter and its counts.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    /// `responses_per_second` and `slip`, changed in place by a reload.
    rate: AtomicU32,
    slip: AtomicU32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    pub(crate) dropped: AtomicU64,
    pub(crate) slipped: AtomicU64,
}

/// The network a source counts under.
fn network(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(a) => {
            let o = a.octets();
            IpAddr::from([o[0], o[1], o[2], 0])
        }
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o[7] = 0;
            o[8..].fill(0);
            IpAddr::from(o)
        }
    }
}

impl Limiter {
    pub(crate) fn new(config: RateLimit) -> Self {
        let l = Limiter::default();
        l.set(config);
        l
    }

    /// Applies new settings (a reload); the counts and allowances carry on.
    pub(crate) fn set(&self, config: RateLimit) {
        self.rate
            .store(config.responses_per_second, Ordering::Relaxed);
        self.slip.store(config.slip, Ordering::Relaxed);
    }

    /// The verdict on one more answer to `source` at `now`.
    pub(crate) fn check(&self, source: IpAddr, now: Instant) -> Verdict {
        let rate = f64::from(self.rate.load(Ordering::Relaxed));
        if rate == 0.0 {
            return Verdict::Answer;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Verdict::Answer;
        };
        if buckets.len() >= MAX_SOURCES {
            // Forget the networks whose allowance is whole again: they are idle.
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < rate);
        }
        let b = buckets.entry(network(source)).or_insert(Bucket {
            tokens: rate,
            last: now,
            over: 0,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(rate);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Verdict::Answer;
        }
        b.over += 1;
        let slip = u64::from(self.slip.load(Ordering::Relaxed));
        if slip > 0 && b.over % slip == 0 {
            self.slipped.fetch_add(1, Ordering::Relaxed);
            Verdict::Slip
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_source_past_its_rate_gets_every_second_answer_truncated_and_the_rest_dropped() {
        let l = Limiter::new(RateLimit {
            responses_per_second: 10,
            slip: 2,
        });
        let t0 = Instant::now();
        let src: IpAddr = "198.18.0.9".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..14).map(|_| l.check(src, t0)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Answer));
        assert_eq!(
            verdicts[10..],
            [Verdict::Drop, Verdict::Slip, Verdict::Drop, Verdict::Slip]
        );
        // Another host of the same /24 shares the allowance; another network does not.
        assert_eq!(l.check("198.18.0.10".parse().unwrap(), t0), Verdict::Drop);
        assert_eq!(l.check("198.19.0.9".parse().unwrap(), t0), Verdict::Answer);
        // A second later the allowance is back.
        assert_eq!(l.check(src, t0 + Duration::from_secs(1)), Verdict::Answer);
        assert_eq!(
            (
                l.dropped.load(Ordering::Relaxed),
                l.slipped.load(Ordering::Relaxed)
            ),
            (3, 2)
        );
        // 0 turns it off.
        let off = Limiter::new(RateLimit {
            responses_per_second: 0,
            slip: 2,
        });
        assert!((0..1000).all(|_| off.check(src, t0) == Verdict::Answer));
    }
}
