//! The claim worker: claims blocks of the pools in table `address_claim` for this
//! server when its packet thread asks, renews them while it runs, says which it lost,
//! and gives them back when the server stops.
//!
//! A claim names a block by its first address (or prefix) and holds until `until`
//! unless renewed; a lapsed claim (its server died) may be taken by any server. A
//! block is chosen among those no live claim holds, with free units by the leases
//! stored, starting at a place that depends on the server's name so that servers
//! starting together do not reach for the same blocks. When no such block is left, a
//! server takes one with at least half of it free from another server; that one stops
//! giving from it at its next renewal, and the conditional write refuses any lease the
//! two give out in between.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio_postgres::Client;
use tracing::{debug, info, warn};
use zerotouch_lease::{ClaimAsk, ClaimNews, Claims, Span, StoreError, unix_now};

use crate::connect::PgConfig;

/// How claims are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimSettings {
    /// Units (addresses or prefixes) per block, at most.
    pub block: u128,
    /// Blocks' worth of free units kept claimed ahead of need.
    pub ahead: u128,
    /// How long a claim holds without renewal; renewed every third of it.
    pub lifetime: Duration,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        ClaimSettings {
            block: 256,
            ahead: 4,
            lifetime: Duration::from_secs(30),
        }
    }
}

/// Blocks looked at per query while choosing, and queries per claim at most.
const CANDIDATES: usize = 64;
const ROUNDS: usize = 64;
/// How often the worker looks at its stop flag.
const TICK: Duration = Duration::from_millis(200);

/// Starts the worker for one family's pools and returns the packet thread's side.
pub(crate) fn start<K>(
    cfg: &PgConfig,
    server: &str,
    v4: bool,
    settings: ClaimSettings,
) -> Result<Claims<K>, StoreError>
where
    K: Clone + Eq + Hash + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| cfg.error(format!("cannot start its client: {e}")))?;
    let client = runtime.block_on(cfg.connect())?;
    let (ask, asks) = std::sync::mpsc::channel();
    let (tell, news) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = Worker {
        cfg: cfg.clone(),
        server: server.to_string(),
        family: if v4 { 4 } else { 6 },
        settings,
        runtime,
        client,
        mine: HashMap::new(),
        last_warning: None,
    };
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("pg-claims-v{}", worker.family))
        .spawn(move || worker.run(&asks, &tell, &stopped))
        .map_err(StoreError::Thread)?;
    Ok(Claims::new(
        settings.block,
        settings.ahead,
        ask,
        news,
        Release {
            stop,
            thread: Some(thread),
        },
    ))
}

/// Stops the worker when the server stops; the worker gives its claims back first.
struct Release {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A block as the table keys it.
type BlockKey = (IpAddr, i16);

struct Worker<K> {
    cfg: PgConfig,
    server: String,
    family: i32,
    settings: ClaimSettings,
    runtime: Runtime,
    client: Client,
    /// The blocks held: which pool's, and which block of it.
    mine: HashMap<BlockKey, (K, u128)>,
    last_warning: Option<Instant>,
}

/// A block looked at: its index, first and last unit's address, units.
struct Candidate {
    k: u128,
    lo: IpAddr,
    hi: IpAddr,
    units: u128,
}

impl<K: Clone + Eq + Hash> Worker<K> {
    fn run(
        &mut self,
        asks: &Receiver<ClaimAsk<K>>,
        tell: &Sender<ClaimNews<K>>,
        stop: &AtomicBool,
    ) {
        let every = self.settings.lifetime / 3;
        let mut renew_at = Instant::now() + every;
        while !stop.load(Ordering::Relaxed) {
            let wait = renew_at.saturating_duration_since(Instant::now()).min(TICK);
            match asks.recv_timeout(wait) {
                Ok(ClaimAsk::Want {
                    pool,
                    span,
                    block,
                    units,
                }) => match self.claim(&pool, &span, block, units) {
                    Ok((blocks, free)) => {
                        debug!(blocks = blocks.len(), free, "address blocks claimed");
                        if tell
                            .send(ClaimNews::Granted { pool, blocks, free })
                            .is_err()
                        {
                            break;
                        }
                    }
                    // Not answered: the packet thread asks again a little later.
                    Err(e) => self.warn(format!("cannot claim address blocks: {e}")),
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= renew_at {
                renew_at = Instant::now() + every;
                match self.renew() {
                    Ok(lost) => {
                        for (pool, blocks) in lost {
                            warn!(
                                blocks = blocks.len(),
                                "address blocks lost to another server (this server's claim lapsed before it was renewed)"
                            );
                            if tell.send(ClaimNews::Lost { pool, blocks }).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => self.warn(format!("cannot renew address-block claims: {e}")),
                }
            }
        }
        match self.release() {
            Ok(n) => info!(blocks = n, "address-block claims given back"),
            Err(e) => {
                warn!("cannot give back address-block claims (they lapse by themselves): {e}")
            }
        }
    }

    /// A warning at most every ten seconds: while the database is down every ask and
    /// renewal fails.
    fn warn(&mut self, message: String) {
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|at| now >= at + Duration::from_secs(10))
        {
            self.last_warning = Some(now);
            warn!("{message}");
        }
    }

    fn block_on<T>(
        &mut self,
        f: impl AsyncFnOnce(&Client, &PgConfig) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.client.is_closed() {
            self.client = self.runtime.block_on(self.cfg.connect())?;
        }
        self.runtime.block_on(f(&self.client, &self.cfg))
    }

    fn address(&self, span: &Span, unit: u128) -> IpAddr {
        let offset = if span.shift >= 128 {
            0
        } else {
            unit << span.shift
        };
        let n = span.base.wrapping_add(offset);
        if self.family == 4 {
            IpAddr::V4(Ipv4Addr::from(n as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(n))
        }
    }

    /// Claims blocks of `span` with about `units` free units in them: the blocks
    /// claimed and their free units.
    fn claim(
        &mut self,
        pool: &K,
        span: &Span,
        block: u128,
        units: u128,
    ) -> Result<(Vec<u128>, u128), StoreError> {
        let blocks = span.count.div_ceil(block);
        let prefix_len = i16::from(span.prefix_len);
        let (lo, hi) = (self.address(span, 0), self.address(span, span.count - 1));
        let now = unix_now() as i64;
        let taken: HashMap<IpAddr, String> = self.block_on(async |c, cfg| {
            let rows = c
                .query(
                    "SELECT first, owner FROM address_claim
                     WHERE prefix_len = $1 AND first >= $2 AND first <= $3 AND until > $4",
                    &[&prefix_len, &lo, &hi, &now],
                )
                .await
                .map_err(|e| cfg.sql(e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        // Start where this server's name says, so that servers spread out.
        let start = u128::from(fold(&self.server)) % blocks;
        let (mut chosen, mut free) = (Vec::new(), 0u128);
        let mut best_other: Option<(u128, u128, String)> = None;
        let mut k = start;
        'rounds: for _ in 0..ROUNDS {
            let mut batch = Vec::with_capacity(CANDIDATES);
            while batch.len() < CANDIDATES {
                let first = k * block;
                let units_in = block.min(span.count - first);
                let candidate = Candidate {
                    k,
                    lo: self.address(span, first),
                    hi: self.address(span, first + units_in - 1),
                    units: units_in,
                };
                batch.push(candidate);
                k = (k + 1) % blocks;
                if k == start {
                    break;
                }
            }
            let used = self.used(&batch, prefix_len)?;
            for (c, used) in batch.iter().zip(used) {
                let left = c.units.saturating_sub(used);
                if left == 0 {
                    continue;
                }
                match taken.get(&c.lo) {
                    Some(owner) if *owner == self.server => {}
                    Some(owner) => {
                        if best_other.as_ref().is_none_or(|(_, f, _)| left > *f) {
                            best_other = Some((c.k, left, owner.clone()));
                        }
                    }
                    None => {
                        chosen.push((c.k, c.lo, left));
                        free += left;
                        if free >= units {
                            break 'rounds;
                        }
                    }
                }
            }
            if k == start {
                break;
            }
        }
        let until = now + self.settings.lifetime.as_secs() as i64;
        let firsts: Vec<IpAddr> = chosen.iter().map(|c| c.1).collect();
        let server = self.server.clone();
        let won: Vec<IpAddr> = self.block_on(async |c, cfg| {
            let rows = c
                .query(
                    "INSERT INTO address_claim (first, prefix_len, owner, until)
                     SELECT f, $2, $3, $4 FROM unnest($1::inet[]) AS f
                     ON CONFLICT (first, prefix_len) DO UPDATE
                         SET owner = EXCLUDED.owner, until = EXCLUDED.until
                         WHERE address_claim.until <= $5 OR address_claim.owner = EXCLUDED.owner
                     RETURNING first",
                    &[&firsts, &prefix_len, &server, &until, &now],
                )
                .await
                .map_err(|e| cfg.sql(e))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })?;
        let mut granted: Vec<(u128, IpAddr, u128)> =
            chosen.into_iter().filter(|c| won.contains(&c.1)).collect();
        if granted.is_empty()
            && let Some((k, left, owner)) = best_other
            && left * 2 >= block.min(span.count)
        {
            // Nothing unclaimed is left: take a mostly free block from another server.
            let first = self.address(span, k * block);
            let took = self.block_on(async |c, cfg| {
                c.execute(
                    "UPDATE address_claim SET owner = $1, until = $2
                     WHERE first = $3 AND prefix_len = $4 AND owner = $5",
                    &[&server, &until, &first, &prefix_len, &owner],
                )
                .await
                .map_err(|e| cfg.sql(e))
            })?;
            if took == 1 {
                info!(block = %first, from = %owner, "address block taken over from another server: no unclaimed block with free addresses is left");
                granted.push((k, first, left));
            }
        }
        for (k, first, _) in &granted {
            self.mine.insert((*first, prefix_len), (pool.clone(), *k));
        }
        let free = granted.iter().map(|g| g.2).sum();
        Ok((granted.into_iter().map(|g| g.0).collect(), free))
    }

    /// The units of each candidate that stored leases hold.
    fn used(&mut self, batch: &[Candidate], prefix_len: i16) -> Result<Vec<u128>, StoreError> {
        let lo: Vec<IpAddr> = batch.iter().map(|c| c.lo).collect();
        let hi: Vec<IpAddr> = batch.iter().map(|c| c.hi).collect();
        let now = unix_now() as i64;
        let (table, length) = if self.family == 4 {
            ("lease4", "")
        } else {
            ("lease6", "AND l.prefix_len = $4")
        };
        // A range scan of the primary key per block (a join on the ranges would let
        // the planner scan the whole table for each).
        let sql = format!(
            "SELECT (SELECT count(*) FROM {table} l
                     WHERE l.address >= r.lo AND l.address <= r.hi {length}
                       AND l.expires > $3 AND l.state IN ('active', 'declined'))
             FROM unnest($1::inet[], $2::inet[]) WITH ORDINALITY AS r(lo, hi, i)
             ORDER BY r.i"
        );
        let v4 = self.family == 4;
        self.block_on(async |c, cfg| {
            let rows = if v4 {
                c.query(&sql, &[&lo, &hi, &now]).await
            } else {
                c.query(&sql, &[&lo, &hi, &now, &prefix_len]).await
            }
            .map_err(|e| cfg.sql(e))?;
            Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u128).collect())
        })
    }

    /// Renews this family's claims: the blocks no longer held, by pool.
    fn renew(&mut self) -> Result<Vec<(K, Vec<u128>)>, StoreError> {
        let until = (unix_now() + self.settings.lifetime.as_secs()) as i64;
        let (server, family) = (self.server.clone(), self.family);
        let kept: Vec<BlockKey> = self.block_on(async |c, cfg| {
            let rows = c
                .query(
                    "UPDATE address_claim SET until = $1
                     WHERE owner = $2 AND family(first) = $3
                     RETURNING first, prefix_len",
                    &[&until, &server, &family],
                )
                .await
                .map_err(|e| cfg.sql(e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        let lost: Vec<BlockKey> = self
            .mine
            .keys()
            .filter(|k| !kept.contains(k))
            .copied()
            .collect();
        let mut by_pool: Vec<(K, Vec<u128>)> = Vec::new();
        for key in lost {
            if let Some((pool, k)) = self.mine.remove(&key) {
                match by_pool.iter_mut().find(|(p, _)| *p == pool) {
                    Some((_, ks)) => ks.push(k),
                    None => by_pool.push((pool, vec![k])),
                }
            }
        }
        Ok(by_pool)
    }

    /// Gives this family's claims back.
    fn release(&mut self) -> Result<u64, StoreError> {
        let (server, family) = (self.server.clone(), self.family);
        self.block_on(async |c, cfg| {
            c.execute(
                "DELETE FROM address_claim WHERE owner = $1 AND family(first) = $2",
                &[&server, &family],
            )
            .await
            .map_err(|e| cfg.sql(e))
        })
    }
}

/// A stable number from a name (FNV-1a), for where a server starts looking.
fn fold(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
