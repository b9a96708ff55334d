//! Address-block claims, for servers that share a lease database: each server gives
//! new addresses (and prefixes) only from blocks of the pools it has claimed in the
//! database, so servers answering the same clients offer different addresses and their
//! leases do not collide. The claims are made and renewed by a worker of the database
//! backend; this is the packet thread's side: which blocks it holds, roughly how many
//! of their units are free, and asking for more before they run out.
//!
//! Claims keep collisions rare; they are not what makes them impossible: that is the
//! database's conditional write, which refuses a lease of an address another server's
//! client holds (`Written::refused`).

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use crate::Slots;

/// A pool's units (addresses or prefixes) as claims count them: unit `i` is
/// `span.get(i)`, block `k` is units `k * block .. (k + 1) * block`.
pub type Span = Slots;

/// What the packet thread asks of the claim worker.
#[derive(Debug)]
pub enum ClaimAsk<K> {
    /// Claim blocks of `pool` with about `units` free units in them.
    Want {
        pool: K,
        span: Span,
        block: u128,
        units: u128,
    },
}

/// What the claim worker tells the packet thread.
#[derive(Debug)]
pub enum ClaimNews<K> {
    /// Blocks of `pool` now held, with `free` free units in them (when claimed).
    Granted {
        pool: K,
        blocks: Vec<u128>,
        free: u128,
    },
    /// Blocks of `pool` no longer held: another server took them after this server's
    /// claim lapsed (it could not renew it in time).
    Lost { pool: K, blocks: Vec<u128> },
}

/// How a pool's blocks are held.
#[derive(Debug, Default)]
struct Held {
    blocks: BTreeSet<u128>,
    /// Free units in the blocks, as estimated: counted when claimed, less one for each
    /// unit given out since.
    free: i128,
    /// When more was asked for, until the answer comes.
    asked: Option<Instant>,
}

/// An unanswered ask is asked again after this long (the worker may have been cut off
/// from the database).
const ASK_AGAIN: Duration = Duration::from_secs(2);

/// The blocks this server holds, per pool.
pub struct Claims<K> {
    /// Units per block, at most: small pools get smaller blocks (`block_of`).
    block: u128,
    /// Blocks kept ahead: more are asked for when fewer than this many blocks' worth
    /// of free units are held.
    ahead: u128,
    pools: HashMap<K, Held>,
    ask: Sender<ClaimAsk<K>>,
    news: Receiver<ClaimNews<K>>,
    _worker: Box<dyn Send>,
}

impl<K> std::fmt::Debug for Claims<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("block", &self.block)
            .field("pools", &self.pools.len())
            .finish()
    }
}

impl<K: Clone + Eq + Hash> Claims<K> {
    /// Claims of blocks of up to `block` units, `ahead` blocks kept ahead, asked of and
    /// told by a worker that runs while `worker` lives.
    pub fn new(
        block: u128,
        ahead: u128,
        ask: Sender<ClaimAsk<K>>,
        news: Receiver<ClaimNews<K>>,
        worker: impl Send + 'static,
    ) -> Self {
        Claims {
            block: block.max(1),
            ahead: ahead.max(1),
            pools: HashMap::new(),
            ask,
            news,
            _worker: Box::new(worker),
        }
    }

    /// The block size of a pool of `span`: `block`, or a sixteenth of a smaller pool,
    /// so that several servers can share it.
    pub fn block_of(&self, span: &Span) -> u128 {
        self.block.min((span.count / 16).max(1))
    }

    /// Takes in what the worker has said.
    pub fn poll(&mut self) {
        while let Ok(news) = self.news.try_recv() {
            self.apply(news);
        }
    }

    fn apply(&mut self, news: ClaimNews<K>) {
        match news {
            ClaimNews::Granted { pool, blocks, free } => {
                let held = self.pools.entry(pool).or_default();
                held.asked = None;
                held.free += free as i128;
                held.blocks.extend(blocks);
            }
            ClaimNews::Lost { pool, blocks } => {
                if let Some(held) = self.pools.get_mut(&pool) {
                    for b in blocks {
                        held.blocks.remove(&b);
                    }
                }
            }
        }
    }

    /// Asks for every pool's first blocks and waits (up to `timeout`) for the answers,
    /// so that a server starts with addresses to give.
    pub fn prime(&mut self, pools: impl IntoIterator<Item = (K, Span)>, timeout: Duration) {
        let mut waiting = 0;
        for (pool, span) in pools {
            self.want(&pool, &span);
            waiting += 1;
        }
        let until = Instant::now() + timeout;
        while waiting > 0 {
            let left = until.saturating_duration_since(Instant::now());
            match self.news.recv_timeout(left) {
                Ok(news) => {
                    if matches!(news, ClaimNews::Granted { .. }) {
                        waiting -= 1;
                    }
                    self.apply(news);
                }
                Err(_) => break,
            }
        }
    }

    /// Units of `pool` in held blocks.
    pub fn held_units(&self, pool: &K, span: &Span) -> u128 {
        let block = self.block_of(span);
        self.pools
            .get(pool)
            .map_or(0, |h| h.blocks.len() as u128 * block)
    }

    /// The first unit at or after `i` (wrapping around the pool) that is in a block
    /// this server holds.
    pub fn next_held(&self, pool: &K, span: &Span, i: u128) -> Option<u128> {
        let held = self.pools.get(pool)?;
        let block = self.block_of(span);
        let k = i / block;
        if held.blocks.contains(&k) {
            return Some(i);
        }
        let next = held
            .blocks
            .range(k..)
            .next()
            .or_else(|| held.blocks.iter().next())?;
        let unit = next * block;
        (unit < span.count).then_some(unit)
    }

    /// One unit of `pool` given out: fewer are free, and more blocks are asked for when
    /// few are.
    pub fn took(&mut self, pool: &K, span: &Span) {
        let block = self.block_of(span);
        let low = match self.pools.get_mut(pool) {
            Some(held) => {
                held.free -= 1;
                held.free < (self.ahead * block / 2) as i128
            }
            None => true,
        };
        if low {
            self.want(pool, span);
        }
    }

    /// No free unit in the held blocks of `pool`: more are asked for.
    pub fn short(&mut self, pool: &K, span: &Span) {
        if let Some(held) = self.pools.get_mut(pool) {
            held.free = 0;
        }
        self.want(pool, span);
    }

    /// Whether an ask for blocks is unanswered: a pool may look exhausted only because
    /// its claim is under way.
    pub fn awaiting(&self) -> bool {
        self.pools.values().any(|h| h.asked.is_some())
    }

    fn want(&mut self, pool: &K, span: &Span) {
        let now = Instant::now();
        let block = self.block_of(span);
        let held = self.pools.entry(pool.clone()).or_default();
        if held.asked.is_some_and(|at| now < at + ASK_AGAIN) {
            return;
        }
        held.asked = Some(now);
        let _ = self.ask.send(ClaimAsk::Want {
            pool: pool.clone(),
            span: *span,
            block,
            units: self.ahead * block,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(count: u128) -> Span {
        Span {
            base: 1000,
            shift: 0,
            count,
            prefix_len: 32,
        }
    }

    #[test]
    fn held_blocks_are_walked_in_order_and_more_are_asked_for_when_few_are_free() {
        let (ask, asks) = std::sync::mpsc::channel();
        let (tell, news) = std::sync::mpsc::channel();
        let mut claims = Claims::new(10, 2, ask, news, ());
        let s = span(1000);
        assert_eq!(claims.block_of(&s), 10);
        assert_eq!(claims.block_of(&span(64)), 4, "a small pool, small blocks");
        assert_eq!(claims.next_held(&0, &s, 0), None);
        claims.short(&0, &s);
        let ClaimAsk::Want { units, block, .. } = asks.try_recv().unwrap();
        assert_eq!((units, block), (20, 10));
        assert!(claims.awaiting());
        claims.short(&0, &s);
        assert!(asks.try_recv().is_err(), "asked once until answered");

        tell.send(ClaimNews::Granted {
            pool: 0,
            blocks: vec![3, 7],
            free: 20,
        })
        .unwrap();
        claims.poll();
        assert!(!claims.awaiting());
        assert_eq!(claims.held_units(&0, &s), 20);
        assert_eq!(claims.next_held(&0, &s, 0), Some(30));
        assert_eq!(claims.next_held(&0, &s, 35), Some(35));
        assert_eq!(claims.next_held(&0, &s, 40), Some(70));
        assert_eq!(claims.next_held(&0, &s, 80), Some(30), "wraps around");

        // Ten units given out: half of the two blocks ahead are left, so more are
        // asked for.
        for _ in 0..10 {
            claims.took(&0, &s);
        }
        assert!(asks.try_recv().is_err());
        claims.took(&0, &s);
        assert!(asks.try_recv().is_ok());

        tell.send(ClaimNews::Lost {
            pool: 0,
            blocks: vec![3],
        })
        .unwrap();
        claims.poll();
        assert_eq!(claims.next_held(&0, &s, 0), Some(70));
    }
}
