//! Following the other servers: a connection of its own `LISTEN`s on a family's
//! channel, reads the leases the notifications name (a notification comes when the
//! writer's transaction commits; those that wait are read together) and hands them to
//! the packet thread. A broken connection is made again, and everything is read once
//! more, since notifications sent meanwhile are lost.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_postgres::{Client, Notification};
use tracing::{info, warn};
use zerotouch_lease::{Following, Lease4, Lease6, StoreError};

use crate::connect::PgConfig;
use crate::{v4, v6};

/// A family's table as followed.
pub(crate) trait Followed: Send + Sized + 'static {
    const CHANNEL: &'static str;
    const NAME: &'static str;
    type Key: Send;
    fn keys(payload: &str) -> Vec<Self::Key>;
    fn fetch(
        client: &Client,
        cfg: &PgConfig,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<Vec<Self>, StoreError>>;
    fn load(client: &Client, cfg: &PgConfig)
    -> impl Future<Output = Result<Vec<Self>, StoreError>>;
}

impl Followed for Lease4 {
    const CHANNEL: &'static str = v4::CHANNEL;
    const NAME: &'static str = "DHCPv4";
    type Key = IpAddr;
    fn keys(payload: &str) -> Vec<IpAddr> {
        v4::keys(payload)
    }
    async fn fetch(
        client: &Client,
        cfg: &PgConfig,
        keys: &[IpAddr],
    ) -> Result<Vec<Self>, StoreError> {
        v4::fetch(client, cfg, keys).await
    }
    async fn load(client: &Client, cfg: &PgConfig) -> Result<Vec<Self>, StoreError> {
        Ok(v4::load(client, cfg).await?.leases)
    }
}

impl Followed for Lease6 {
    const CHANNEL: &'static str = v6::CHANNEL;
    const NAME: &'static str = "DHCPv6";
    type Key = (IpAddr, i16);
    fn keys(payload: &str) -> Vec<Self::Key> {
        v6::keys(payload)
    }
    async fn fetch(
        client: &Client,
        cfg: &PgConfig,
        keys: &[Self::Key],
    ) -> Result<Vec<Self>, StoreError> {
        v6::fetch(client, cfg, keys).await
    }
    async fn load(client: &Client, cfg: &PgConfig) -> Result<Vec<Self>, StoreError> {
        Ok(v6::load(client, cfg).await?.leases)
    }
}

/// How long the follower waits before connecting again, and between looks at its stop
/// flag.
const RETRY: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(200);

/// Stops the follower's thread when dropped.
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts following `L`'s channel for changes not written by `origin`. It is listening
/// when this returns, so no change committed after it is missed.
pub(crate) fn start<L: Followed>(cfg: &PgConfig, origin: &str) -> Result<Following<L>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| cfg.error(format!("cannot start its client: {e}")))?;
    let first = runtime.block_on(listen::<L>(cfg))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (cfg, origin, stopped) = (cfg.clone(), origin.to_string(), stop.clone());
    std::thread::Builder::new()
        .name(format!("pg-follow-{}", L::NAME))
        .spawn(move || runtime.block_on(follow::<L>(&cfg, &origin, first, &tx, &stopped)))
        .map_err(StoreError::Thread)?;
    Ok(Following::new(rx, Stop(stop)))
}

/// A connection listening on `L`'s channel, and its notifications.
async fn listen<L: Followed>(
    cfg: &PgConfig,
) -> Result<(Client, UnboundedReceiver<Notification>), StoreError> {
    let (client, notices) = cfg.connect_listening().await?;
    client
        .batch_execute(&format!("LISTEN {}", L::CHANNEL))
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok((client, notices))
}

async fn follow<L: Followed>(
    cfg: &PgConfig,
    origin: &str,
    first: (Client, UnboundedReceiver<Notification>),
    changes: &Sender<Vec<L>>,
    stop: &AtomicBool,
) {
    let mut connection = Some(first);
    while !stop.load(Ordering::Relaxed) {
        let Some((client, notices)) = &mut connection else {
            tokio::time::sleep(RETRY).await;
            match listen::<L>(cfg).await {
                Ok(c) => {
                    // Changes made while the connection was down were not notified.
                    match L::load(&c.0, cfg).await {
                        Ok(all) => {
                            info!(database = %cfg.describe(), "following {} lease changes again: {} leases read", L::NAME, all.len());
                            if changes.send(all).is_err() {
                                return;
                            }
                            connection = Some(c);
                        }
                        Err(e) => warn!("cannot read the {} leases again: {e}", L::NAME),
                    }
                }
                Err(e) => warn!("cannot follow {} lease changes: {e}", L::NAME),
            }
            continue;
        };
        let notice = match tokio::time::timeout(TICK, notices.recv()).await {
            Err(_) => continue,
            Ok(Some(n)) => n,
            Ok(None) => {
                warn!(database = %cfg.describe(), "the connection that follows {} lease changes broke; connecting again", L::NAME);
                connection = None;
                continue;
            }
        };
        // Every change notified so far, read in one query: under load, commits come
        // faster than one read each.
        let mut keys = Vec::new();
        let mut next = Some(notice);
        while let Some(notice) = next {
            if let Some((from, names)) = notice.payload().rsplit_once(' ')
                && from != origin
            {
                keys.extend(L::keys(names));
            }
            next = notices.try_recv().ok();
        }
        if keys.is_empty() {
            continue;
        }
        match L::fetch(client, cfg, &keys).await {
            Ok(leases) => {
                if changes.send(leases).is_err() {
                    return;
                }
            }
            Err(e) => {
                warn!(
                    "cannot read the {} leases another server changed: {e}",
                    L::NAME
                );
                connection = None;
            }
        }
    }
}
