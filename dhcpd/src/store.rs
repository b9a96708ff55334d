//! The lease store the configuration names: the embedded SQLite file, or a PostgreSQL
//! database (`[leases.postgresql]`). Opened for the group commit's writer, held for
//! this server while it serves, and opened again for services that read leases.

use std::any::Any;
use std::sync::Arc;

use zerotouch_lease_postgres::{ClaimSettings, PgConfig, PgLock, PgStore};

use crate::config::{LeaseStoreConfig, PostgresStore};
use crate::lease::{DatabaseLock, LeaseBackend, SqliteStore, StoreError};

fn pg_config(pg: &PostgresStore) -> Result<PgConfig, StoreError> {
    PgConfig::new(&pg.url, pg.tls_ca.clone()).map_err(|e| StoreError::Server {
        target: "postgresql".into(),
        message: e.to_string(),
    })
}

/// This server's name among those sharing the database: as configured, else the host
/// name.
pub fn server_name(pg: &PostgresStore) -> String {
    pg.server_name.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "zerotouch-dhcpd".into())
    })
}

/// The store for writing: created or upgraded as configured.
pub fn open(cfg: &LeaseStoreConfig) -> Result<Box<dyn LeaseBackend>, StoreError> {
    match &cfg.postgresql {
        None => crate::lease::open(cfg),
        Some(pg) => Ok(Box::new(
            PgStore::open(&pg_config(pg)?, &server_name(pg), pg.upgrade_schema)?.with_claims(
                ClaimSettings {
                    block: u128::from(pg.claim_block),
                    lifetime: pg.claim_lifetime,
                    ..ClaimSettings::default()
                },
            ),
        )),
    }
}

/// The hold that keeps other servers off this store while this one serves.
pub fn hold(cfg: &LeaseStoreConfig) -> Result<Arc<dyn Any + Send + Sync>, StoreError> {
    Ok(match &cfg.postgresql {
        None => Arc::new(DatabaseLock::acquire(&cfg.database)?),
        Some(pg) => Arc::new(PgLock::acquire(&pg_config(pg)?, &server_name(pg))?),
    })
}

/// A store for reading alongside the server's writer; `None` while the embedded file
/// does not exist yet (the server creates it at start).
pub fn open_reader(cfg: &LeaseStoreConfig) -> Result<Option<Box<dyn LeaseBackend>>, StoreError> {
    match &cfg.postgresql {
        None if !cfg.database.exists() => Ok(None),
        None => Ok(Some(Box::new(SqliteStore::open_reader(&cfg.database)?))),
        Some(pg) => Ok(Some(Box::new(PgStore::open(
            &pg_config(pg)?,
            &server_name(pg),
            false,
        )?))),
    }
}

/// `zerotouch-dhcpd db init|upgrade|status` on the configured PostgreSQL database: the
/// versions before and after, or the version found.
pub fn schema(cfg: &LeaseStoreConfig, change: bool) -> Result<(i32, i32), StoreError> {
    let Some(pg) = &cfg.postgresql else {
        return Err(StoreError::Schema {
            target: cfg.database.display().to_string(),
            message: "the leases are in the embedded SQLite file, whose schema the server creates and upgrades itself: `db` is for [leases.postgresql]".into(),
        });
    };
    let config = pg_config(pg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| config.error(e.to_string()))?;
    runtime.block_on(async {
        let mut client = config.connect().await?;
        if change {
            zerotouch_lease_postgres::schema::upgrade(&mut client, &config).await
        } else {
            let found = zerotouch_lease_postgres::schema::version(&client, &config).await?;
            Ok((found, found))
        }
    })
}
