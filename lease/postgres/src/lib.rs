//! zerotouch-lease-postgres: the lease store on PostgreSQL, for servers that share one
//! database (docs/high-availability.md).
//!
//! - [`connect`]: the connection string (several hosts with
//!   `target_session_attrs=read-write` find the primary), TLS through rustls.
//! - [`schema`]: the tables and their versioned migrations (`db init`, `db upgrade`).
//! - [`v4`], [`v6`]: leases written in one statement a batch, read back.
//!
//! [`PgStore`] is a [`LeaseBackend`]: its calls block, on a runtime of its own, as the
//! group commit's worker thread expects; a write returns once its transaction is
//! committed.

pub mod connect;
mod rows;
pub mod schema;
mod v4;
mod v6;

use std::net::{Ipv4Addr, Ipv6Addr};

use tokio::runtime::Runtime;
use tokio_postgres::Client;
use zerotouch_lease::{Lease4, Lease6, LeaseBackend, Loaded, StoreError};

pub use connect::PgConfig;

/// The lease store on one PostgreSQL database.
pub struct PgStore {
    config: PgConfig,
    runtime: Runtime,
    client: Client,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.config.describe())
            .finish()
    }
}

impl PgStore {
    /// Connects and checks the schema: it must be this build's version, or older and
    /// `upgrade` set (it is then upgraded), or absent and `upgrade` set (it is then
    /// created).
    pub fn open(config: &PgConfig, upgrade: bool) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config.error(format!("cannot start its client: {e}")))?;
        let client = runtime.block_on(config.connect())?;
        let store = PgStore {
            config: config.clone(),
            runtime,
            client,
        };
        store
            .runtime
            .block_on(schema::check(&store.client, &store.config, upgrade))?;
        Ok(store)
    }

    /// Runs `f` with a connection, connecting again first when the last one broke (the
    /// database restarted, or a standby was promoted).
    fn with<T>(
        &mut self,
        f: impl AsyncFnOnce(&Client, &PgConfig) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.client.is_closed() {
            self.client = self.runtime.block_on(self.config.connect())?;
        }
        let (client, config) = (&self.client, &self.config);
        self.runtime.block_on(f(client, config))
    }

    fn read<T>(
        &self,
        f: impl AsyncFnOnce(&Client, &PgConfig) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.client.is_closed() {
            return Err(self.config.error("the connection is closed"));
        }
        self.runtime.block_on(f(&self.client, &self.config))
    }
}

impl LeaseBackend for PgStore {
    fn describe(&self) -> String {
        self.config.describe()
    }

    fn load4(&self) -> Result<Loaded<Lease4>, StoreError> {
        self.read(v4::load)
    }

    fn load6(&self) -> Result<Loaded<Lease6>, StoreError> {
        self.read(v6::load)
    }

    fn write4(&mut self, leases: &[Lease4]) -> Result<(), StoreError> {
        self.with(async |c, cfg| v4::write(c, cfg, leases).await)
    }

    fn write6(&mut self, leases: &[Lease6]) -> Result<(), StoreError> {
        self.with(async |c, cfg| v6::write(c, cfg, leases).await)
    }

    fn get4(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
        self.read(async |c, cfg| v4::get(c, cfg, address).await)
    }

    fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
        self.read(async |c, cfg| v6::get(c, cfg, address).await)
    }

    fn identity(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(async |c, cfg| {
            let row = c
                .query_opt(
                    "SELECT value FROM server_identity WHERE name = $1",
                    &[&name],
                )
                .await
                .map_err(|e| cfg.sql(e))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn set_identity(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        self.with(async |c, cfg| {
            c.execute(
                "INSERT INTO server_identity (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&name, &value],
            )
            .await
            .map_err(|e| cfg.sql(e))?;
            Ok(())
        })
    }
}

/// The one-server hold on a database: a session advisory lock on a connection of its
/// own, kept while the server runs. Servers do not share a database yet: two would
/// allocate from the same free addresses (docs/high-availability.md).
pub struct PgLock {
    _client: Client,
    _runtime: Runtime,
}

/// A key of `pg_try_advisory_lock` for the serving server ("ztserve").
const SERVE_LOCK: i64 = 0x007a_7473_6572_7665;

impl PgLock {
    /// Takes the hold, or says that another server has it.
    pub fn acquire(config: &PgConfig) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config.error(format!("cannot start its client: {e}")))?;
        let client = runtime.block_on(config.connect())?;
        let held: bool = runtime
            .block_on(client.query_one("SELECT pg_try_advisory_lock($1)", &[&SERVE_LOCK]))
            .map_err(|e| config.sql(e))?
            .get(0);
        if !held {
            return Err(config.error(
                "another zerotouch-dhcpd serves from this database: one server per database for now (several servers on one database come with shared allocation, docs/high-availability.md)",
            ));
        }
        Ok(PgLock {
            _client: client,
            _runtime: runtime,
        })
    }
}
