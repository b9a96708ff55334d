//! The embedded lease store: SQLite in WAL mode, so operators can inspect leases with
//! the `sqlite3` tool while the server runs (`schema.rs` has the tables and the views
//! that show them as text). Writes go through one connection owned by the group
//! commit; WAL checkpoints run beside it (`checkpoint.rs`); an older database is
//! upgraded in place when it is opened (`upgrade.rs`).

mod checkpoint;
mod row;
mod schema;
mod upgrade;
mod v4;
mod v6;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub(crate) use checkpoint::CHECKPOINT_INTERVAL;
use checkpoint::Checkpointer;
pub use schema::VERSION as SCHEMA_VERSION;

use crate::Lease4;
use crate::Lease6;
use crate::backend::{LeaseBackend, Loaded, StoreError, Upkeep, Written};
use zerotouch_config::Synchronous;

/// A lease database file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

/// Makes the directory lease database `path` lives in, if it does not exist.
pub(crate) fn create_database_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: path.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

impl SqliteStore {
    /// Opens (creating or upgrading) the database at `path` for writing, with the
    /// durability `synchronous` asks for.
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<Self, StoreError> {
        create_database_dir(path)?;
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        upgrade::to_current(&mut conn, path)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A read-only connection to an existing store, for readers beside the server (the
    /// plugins' lease view): WAL lets them read while the commit worker writes.
    pub fn open_reader(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second connection to this store's database with the same durability, for the
    /// checkpoints that run beside the writer.
    fn checkpoint_connection(&self) -> Result<Connection, StoreError> {
        let open_err = |source| StoreError::Open {
            path: self.path.clone(),
            source,
        };
        let synchronous: i64 = self
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?;
        let conn = Connection::open(&self.path).map_err(open_err)?;
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        Ok(conn)
    }
}

impl LeaseBackend for SqliteStore {
    fn describe(&self) -> String {
        format!("lease database {}", self.path.display())
    }

    fn load4(&self) -> Result<Loaded<Lease4>, StoreError> {
        let mut loaded = Loaded::default();
        v4::load(&self.conn, &mut loaded)?;
        upgrade::report_left4(&self.conn, &mut loaded)?;
        Ok(loaded)
    }

    fn load6(&self) -> Result<Loaded<Lease6>, StoreError> {
        let mut loaded = Loaded::default();
        v6::load(&self.conn, &mut loaded)?;
        upgrade::report_left6(&self.conn, &mut loaded)?;
        Ok(loaded)
    }

    fn write4(&mut self, leases: &[Lease4]) -> Result<Written<Lease4>, StoreError> {
        row::in_transaction(&mut self.conn, |tx| v4::insert(tx, leases))?;
        Ok(Written::all())
    }

    fn write6(&mut self, leases: &[Lease6]) -> Result<Written<Lease6>, StoreError> {
        row::in_transaction(&mut self.conn, |tx| v6::insert(tx, leases))?;
        Ok(Written::all())
    }

    fn get4(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
        v4::get(&self.conn, address)
    }

    fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError> {
        v6::get(&self.conn, address)
    }

    fn identity(&self, name: &str) -> Result<Option<String>, StoreError> {
        v6::identity(&self.conn, name)
    }

    fn set_identity(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        v6::set_identity(&self.conn, name, value)
    }

    /// The WAL checkpoints, on a connection of their own; the writer's automatic
    /// checkpoint is switched off while they run.
    fn start_upkeep(&mut self) -> Result<Upkeep, StoreError> {
        let checkpointer = Checkpointer::start(self, CHECKPOINT_INTERVAL)?;
        Ok(Upkeep::running(checkpointer))
    }
}

#[cfg(test)]
mod tests;
