//! zerotouch-lease-postgres: the lease store on PostgreSQL, for servers that share one
//! database (docs/high-availability.md).
//!
//! - [`connect`]: the connection string (several hosts with
//!   `target_session_attrs=read-write` find the primary), TLS through rustls.
//! - [`schema`]: the tables and their versioned migrations (`db init`, `db upgrade`).
//! - [`v4`], [`v6`]: leases written in one statement a batch where the stored leases
//!   allow (servers sharing the database never give one address to two clients),
//!   notified to the other servers, read back.
//! - `follow`: the other servers' changes, as they commit.
//!
//! [`PgStore`] is a [`LeaseBackend`]: its calls block, on a runtime of its own, as the
//! group commit's worker thread expects; a write returns once its transaction is
//! committed.

mod claims;
pub mod connect;
mod follow;
mod rows;
pub mod schema;
mod v4;
mod v6;

use std::net::{Ipv4Addr, Ipv6Addr};

use tokio::runtime::Runtime;
use tokio_postgres::{Client, Statement};
use zerotouch_lease::{
    Claims, Following, IaKind, Lease4, Lease6, LeaseBackend, Loaded, PoolRef, StoreError, Written,
};

pub use claims::ClaimSettings;
pub use connect::PgConfig;

/// The lease store on one PostgreSQL database.
pub struct PgStore {
    config: PgConfig,
    /// This server's name among those sharing the database.
    server: String,
    claims: ClaimSettings,
    runtime: Runtime,
    client: Client,
    /// The batch writes, prepared on `client` once.
    upsert4: Option<Statement>,
    upsert6: Option<Statement>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.config.describe())
            .field("server", &self.server)
            .finish()
    }
}

impl PgStore {
    /// Connects as server `server` and checks the schema: it must be this build's
    /// version, or older and `upgrade` set (it is then upgraded), or absent and
    /// `upgrade` set (it is then created).
    pub fn open(config: &PgConfig, server: &str, upgrade: bool) -> Result<Self, StoreError> {
        // Connected by its name, which the triggers put before the changes it writes.
        let config = &config.named(server);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config.error(format!("cannot start its client: {e}")))?;
        let client = runtime.block_on(config.connect())?;
        let store = PgStore {
            config: config.clone(),
            server: server.to_string(),
            claims: ClaimSettings::default(),
            runtime,
            client,
            upsert4: None,
            upsert6: None,
        };
        store
            .runtime
            .block_on(schema::check(&store.client, &store.config, upgrade))?;
        Ok(store)
    }

    /// Claims of address blocks made as `settings` say.
    pub fn with_claims(mut self, settings: ClaimSettings) -> Self {
        self.claims = settings;
        self
    }

    /// Runs `f` with a connection, connecting again first when the last one broke (the
    /// database restarted, or a standby was promoted).
    fn with<T>(
        &mut self,
        f: impl AsyncFnOnce(&Client, &mut Prepared<'_>, &PgConfig) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.client.is_closed() {
            self.client = self.runtime.block_on(self.config.connect())?;
            // Statements belong to the connection they were prepared on.
            (self.upsert4, self.upsert6) = (None, None);
        }
        let mut prepared = Prepared {
            upsert4: &mut self.upsert4,
            upsert6: &mut self.upsert6,
        };
        self.runtime
            .block_on(f(&self.client, &mut prepared, &self.config))
    }

    /// The key of identity value `name` for this server: each server sharing the
    /// database has its own DUID.
    fn identity_key(&self, name: &str) -> String {
        format!("{name}@{}", self.server)
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

    fn write4(&mut self, leases: &[Lease4]) -> Result<Written<Lease4>, StoreError> {
        self.with(async |c, p, cfg| v4::write(c, p.upsert4, cfg, leases).await)
    }

    fn write6(&mut self, leases: &[Lease6]) -> Result<Written<Lease6>, StoreError> {
        self.with(async |c, p, cfg| v6::write(c, p.upsert6, cfg, leases).await)
    }

    fn follow4(&mut self) -> Result<Option<Following<Lease4>>, StoreError> {
        follow::start(&self.config, &self.server).map(Some)
    }

    fn follow6(&mut self) -> Result<Option<Following<Lease6>>, StoreError> {
        follow::start(&self.config, &self.server).map(Some)
    }

    fn claims4(&mut self) -> Result<Option<Claims<PoolRef>>, StoreError> {
        claims::start(&self.config, &self.server, true, self.claims).map(Some)
    }

    fn claims6(&mut self) -> Result<Option<Claims<(IaKind, PoolRef)>>, StoreError> {
        claims::start(&self.config, &self.server, false, self.claims).map(Some)
    }

    fn get4(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
        self.read(async |c, cfg| v4::get(c, cfg, address).await)
    }

    fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
        self.read(async |c, cfg| v6::get(c, cfg, address).await)
    }

    fn identity(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.identity_key(name);
        self.read(async |c, cfg| {
            let row = c
                .query_opt("SELECT value FROM server_identity WHERE name = $1", &[&key])
                .await
                .map_err(|e| cfg.sql(e))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn set_identity(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        let key = self.identity_key(name);
        self.with(async |c, _, cfg| {
            c.execute(
                "INSERT INTO server_identity (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&key, &value],
            )
            .await
            .map_err(|e| cfg.sql(e))?;
            Ok(())
        })
    }
}

/// The statements a store prepared on its connection.
struct Prepared<'a> {
    upsert4: &'a mut Option<Statement>,
    upsert6: &'a mut Option<Statement>,
}

/// A server's hold on its name among the servers sharing a database: a session
/// advisory lock on a connection of its own, kept while the server runs. Two servers
/// of one name would share a DUID and address-block claims.
pub struct PgLock {
    _client: Client,
    _runtime: Runtime,
}

/// The first key of `pg_try_advisory_lock(int, int)` for a serving server ("ztsv"); the
/// second is a hash of its name.
const SERVE_LOCK: i32 = 0x7a74_7376;

impl PgLock {
    /// Takes the hold for `server`, or says that another server of that name has it.
    pub fn acquire(config: &PgConfig, server: &str) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config.error(format!("cannot start its client: {e}")))?;
        let client = runtime.block_on(config.connect())?;
        let held: bool = runtime
            .block_on(client.query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&SERVE_LOCK, &server],
            ))
            .map_err(|e| config.sql(e))?
            .get(0);
        if !held {
            return Err(config.error(format!(
                "another zerotouch-dhcpd named {server:?} serves from this database: give each server that shares it a server_name of its own ([leases.postgresql])"
            )));
        }
        Ok(PgLock {
            _client: client,
            _runtime: runtime,
        })
    }
}
