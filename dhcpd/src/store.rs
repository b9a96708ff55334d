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

/// What `import` wrote, and what the store refused (addresses whose stored leases are
/// other clients' and still in use).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub v4: usize,
    pub v6: usize,
    pub refused4: usize,
    pub refused6: usize,
}

/// Leases written per transaction by `import`.
const IMPORT_BATCH: usize = 1000;

/// `zerotouch-dhcpd leases export`: every lease of the configured store, to `out`; the
/// numbers of DHCPv4 and DHCPv6 leases and a description of each unreadable row.
pub fn export(
    cfg: &LeaseStoreConfig,
    out: &mut impl std::io::Write,
) -> Result<(usize, usize, Vec<String>), Box<dyn std::error::Error + Send + Sync>> {
    let Some(store) = open_reader(cfg)? else {
        return Err(format!("no lease database at {}", cfg.database.display()).into());
    };
    let (v4, v6) = (store.load4()?, store.load6()?);
    zerotouch_lease::transfer::write(out, &v4.leases, &v6.leases)?;
    let mut bad = v4.bad_rows;
    bad.extend(v6.bad_rows);
    Ok((v4.leases.len(), v6.leases.len(), bad))
}

/// `zerotouch-dhcpd leases import`: `leases` written to the configured store in
/// batches. The embedded file is refused while a server serves from it; PostgreSQL takes
/// them while servers run (they learn of them as of any other server's changes), and
/// refuses a lease of an address another client holds.
pub fn import(
    cfg: &LeaseStoreConfig,
    leases: &zerotouch_lease::transfer::Leases,
) -> Result<Imported, StoreError> {
    let (_hold, mut store): (Option<DatabaseLock>, Box<dyn LeaseBackend>) = match &cfg.postgresql {
        None => (
            Some(DatabaseLock::acquire(&cfg.database)?),
            crate::lease::open(cfg)?,
        ),
        // A name of its own: servers ignore the changes of their own name.
        Some(pg) => (
            None,
            Box::new(PgStore::open(
                &pg_config(pg)?,
                "zerotouch-dhcpd leases import",
                pg.upgrade_schema,
            )?),
        ),
    };
    let mut done = Imported::default();
    for batch in leases.v4.chunks(IMPORT_BATCH) {
        let written = store.write4(batch)?;
        done.refused4 += written.refused.len();
        done.v4 += batch.len() - written.refused.len();
    }
    for batch in leases.v6.chunks(IMPORT_BATCH) {
        let written = store.write6(batch)?;
        done.refused6 += written.refused.len();
        done.v6 += batch.len() - written.refused.len();
    }
    Ok(done)
}
