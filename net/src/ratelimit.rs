//! Rate limiting for log lines a flood of packets could trigger: a few lines per
//! interval per kind, then one line saying how many were suppressed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct LogLimiter {
    per_interval: u32,
    interval: Duration,
    slots: HashMap<Box<str>, Slot>,
}

struct Slot {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

/// What the caller should do with one occurrence.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `suppressed` earlier occurrences were not logged.
    Log {
        suppressed: u64,
    },
    Suppress,
}

impl LogLimiter {
    pub fn new(per_interval: u32, interval: Duration) -> Self {
        LogLimiter {
            per_interval,
            interval,
            slots: HashMap::new(),
        }
    }

    pub fn check(&mut self, kind: &str, now: Instant) -> Verdict {
        if !self.slots.contains_key(kind) {
            let fresh = Slot {
                window_start: now,
                logged: 0,
                suppressed: 0,
            };
            self.slots.insert(kind.into(), fresh);
        }
        let Some(slot) = self.slots.get_mut(kind) else {
            return Verdict::Suppress;
        };
        if now.duration_since(slot.window_start) >= self.interval {
            slot.window_start = now;
            slot.logged = 0;
        }
        if slot.logged < self.per_interval {
            slot.logged += 1;
            Verdict::Log {
                suppressed: std::mem::take(&mut slot.suppressed),
            }
        } else {
            slot.suppressed += 1;
            Verdict::Suppress
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_a_few_then_reports_how_many_it_suppressed() {
        let mut l = LogLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(l.check("x", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(l.check("x", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(l.check("x", t0), Verdict::Suppress);
        assert_eq!(l.check("x", t0), Verdict::Suppress);
        assert_eq!(l.check("y", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(
            l.check("x", t0 + Duration::from_secs(11)),
            Verdict::Log { suppressed: 2 }
        );
    }
}
