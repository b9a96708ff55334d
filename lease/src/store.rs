//! The durable lease store: SQLite in WAL mode, so operators can inspect leases with
//! the `sqlite3` tool while the server runs.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::model::{ClientKey, Lease4, LeaseState, push_dotted_quad, push_hex_colon};
use zerotouch_config::Synchronous;

const SCHEMA_VERSION: i64 = 1;

// Keyed by the address as an integer: SQLite's rowid B-tree makes a lease write about
// four times cheaper than a text key (measured: 1.2 against 4 µs a row), and a lease
// write is most of what an ACK costs. `address` holds the same address as text for
// people and tools.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS leases4 (
    address_key INTEGER PRIMARY KEY,      -- the address as a 32-bit number
    address     TEXT NOT NULL,            -- the address, dotted quad
    client_id   TEXT,                     -- option 61 as hex, NULL when the client sent none
    htype       INTEGER NOT NULL,
    hw_address  TEXT NOT NULL,            -- aa:bb:cc:dd:ee:ff
    -- Comparisons, not `state IN (...)`: SQLite builds a temporary index for an IN list
    -- on every insert, which made that constraint a third of a lease write's cost.
    state       TEXT NOT NULL CHECK (state = 'active' OR state = 'released' OR state = 'expired' OR state = 'declined'),
    starts      INTEGER NOT NULL,         -- Unix seconds
    expires     INTEGER NOT NULL,         -- Unix seconds
    hostname    TEXT
);
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open lease database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the directory of lease database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "lease database {path} has schema version {found}, this server knows version {SCHEMA_VERSION}"
    )]
    Version { path: PathBuf, found: i64 },
    #[error("lease database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "lease database {database} is in use by {}: one server per database (stop the other, or give this one a database of its own)",
        holder.as_deref().unwrap_or("another process")
    )]
    InUse {
        database: PathBuf,
        holder: Option<String>,
    },
    #[error("cannot start the lease database checkpoint thread: {0}")]
    Thread(std::io::Error),
}

pub struct LeaseStore {
    pub(super) conn: Connection,
    path: PathBuf,
    #[cfg(test)]
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Leases that could be read, and a description of each row that could not.
pub struct Loaded<L = Lease4> {
    pub leases: Vec<L>,
    pub bad_rows: Vec<String>,
}

/// Makes the directory lease database `path` lives in, if it does not exist.
pub(super) fn create_database_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: path.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

impl LeaseStore {
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<Self, StoreError> {
        create_database_dir(path)?;
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
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
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.execute_batch(super::store6::SCHEMA)
            .map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        Ok(LeaseStore::on(conn, path))
    }

    fn on(conn: Connection, path: &Path) -> Self {
        LeaseStore {
            conn,
            path: path.to_path_buf(),
            #[cfg(test)]
            fail: Default::default(),
        }
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
        Ok(LeaseStore::on(conn, path))
    }

    /// A second connection to this store's database with the same durability, for the
    /// checkpoints that run beside the writer.
    pub(super) fn checkpoint_connection(&self) -> Result<Connection, StoreError> {
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Loaded, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM leases4",
        )?;
        let mut rows = stmt.query([])?;
        let mut loaded = Loaded {
            leases: Vec::new(),
            bad_rows: Vec::new(),
        };
        while let Some(row) = rows.next()? {
            let address: String = row.get(0)?;
            match decode_row(row) {
                Ok(l) => loaded.leases.push(l),
                Err(problem) => loaded.bad_rows.push(format!("{address}: {problem}")),
            }
        }
        Ok(loaded)
    }

    /// Writes `leases` in one transaction; when this returns Ok they are on disk (with
    /// `synchronous = full`, fsynced).
    pub fn write(&mut self, leases: &[Lease4]) -> Result<(), StoreError> {
        self.check_failure_switch()?;
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO leases4
                 (address_key, address, client_id, htype, hw_address, state, starts, expires, hostname)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            // Text columns are formatted into reused buffers (SQLite copies bound text),
            // so a row costs no allocation of ours.
            let (mut address, mut client_id, mut hw) = (
                String::with_capacity(15),
                String::new(),
                String::with_capacity(48),
            );
            for l in leases {
                address.clear();
                push_dotted_quad(&mut address, l.address);
                client_id.clear();
                let id = match &l.client {
                    Some(ClientKey::ClientId(id)) => {
                        push_hex_colon(&mut client_id, id);
                        Some(client_id.as_str())
                    }
                    _ => None,
                };
                hw.clear();
                push_hex_colon(&mut hw, &l.hwaddr);
                stmt.execute(params![
                    u32::from(l.address),
                    address.as_str(),
                    id,
                    l.htype,
                    hw.as_str(),
                    l.state.as_str(),
                    l.starts as i64,
                    l.expires as i64,
                    l.hostname,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Fails while the test failure switch is on.
    pub(super) fn check_failure_switch(&self) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.fail.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::Sql(rusqlite::Error::InvalidQuery));
        }
        Ok(())
    }

    /// A switch that makes every write fail while it is on, to test failure handling.
    #[cfg(test)]
    pub fn failure_switch(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.fail.clone()
    }

    /// One lease by address, for tools and tests.
    pub fn get(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT address, client_id, htype, hw_address, state, starts, expires, hostname FROM leases4 WHERE address_key = ?1",
        )?;
        let lease = stmt
            .query_row([u32::from(address)], |row| Ok(decode_row(row)))
            .optional()?;
        Ok(lease.and_then(Result::ok))
    }
}

pub(super) fn parse_hex_colon(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn decode_row(row: &rusqlite::Row<'_>) -> Result<Lease4, String> {
    let get = |i: usize| -> Result<rusqlite::types::Value, String> {
        row.get(i).map_err(|e| e.to_string())
    };
    use rusqlite::types::Value::*;
    let (
        Text(address),
        client_id,
        Integer(htype),
        Text(hw),
        Text(state),
        Integer(starts),
        Integer(expires),
        hostname,
    ) = (
        get(0)?,
        get(1)?,
        get(2)?,
        get(3)?,
        get(4)?,
        get(5)?,
        get(6)?,
        get(7)?,
    )
    else {
        return Err("a column has the wrong type".into());
    };
    let address: Ipv4Addr = address
        .parse()
        .map_err(|_| format!("address {address:?} is not IPv4"))?;
    let hwaddr = parse_hex_colon(&hw).ok_or_else(|| format!("hw_address {hw:?} is not hex"))?;
    let htype = u8::try_from(htype).map_err(|_| format!("htype {htype} is out of range"))?;
    let state = LeaseState::parse(&state).ok_or_else(|| format!("state {state:?} is unknown"))?;
    let client_id = match client_id {
        Null => None,
        Text(t) => Some(parse_hex_colon(&t).ok_or_else(|| format!("client_id {t:?} is not hex"))?),
        _ => return Err("client_id has the wrong type".into()),
    };
    let hostname = match hostname {
        Text(t) => Some(t),
        _ => None,
    };
    let client = match (state, client_id) {
        (LeaseState::Declined, _) => None,
        (_, Some(id)) => Some(ClientKey::ClientId(id.into())),
        (_, None) => Some(ClientKey::HwAddr {
            htype,
            addr: hwaddr.clone().into(),
        }),
    };
    Ok(Lease4 {
        address,
        client,
        htype,
        hwaddr: hwaddr.into(),
        state,
        starts: starts as u64,
        expires: expires as u64,
        hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_survive_reopening_and_bad_rows_are_reported_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/leases.sqlite");
        let a = Lease4 {
            address: Ipv4Addr::new(198, 18, 0, 10),
            client: Some(ClientKey::ClientId(vec![1, 2, 0, 0, 0, 0, 1].into())),
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, 1].into(),
            state: LeaseState::Active,
            starts: 1000,
            expires: 4600,
            hostname: Some("dev1".into()),
        };
        let b = Lease4 {
            address: Ipv4Addr::new(198, 18, 0, 11),
            client: Some(ClientKey::HwAddr {
                htype: 1,
                addr: vec![2, 0, 0, 0, 0, 2].into(),
            }),
            hwaddr: vec![2, 0, 0, 0, 0, 2].into(),
            hostname: None,
            ..a.clone()
        };
        {
            let mut s = LeaseStore::open(&path, Synchronous::Full).unwrap();
            s.write(&[a.clone(), b.clone()]).unwrap();
            let released = Lease4 {
                state: LeaseState::Released,
                ..b.clone()
            };
            s.write(std::slice::from_ref(&released)).unwrap();
            s.conn
                .execute(
                    "INSERT INTO leases4 VALUES (1, 'not-an-ip', NULL, 1, '02', 'active', 0, 0, NULL)",
                    [],
                )
                .unwrap();
        }
        let s = LeaseStore::open(&path, Synchronous::Full).unwrap();
        let mut loaded = s.load().unwrap();
        loaded.leases.sort_by_key(|l| l.address);
        assert_eq!(
            loaded.leases,
            vec![
                a,
                Lease4 {
                    state: LeaseState::Released,
                    ..b
                }
            ]
        );
        assert_eq!(
            loaded.bad_rows,
            vec!["not-an-ip: address \"not-an-ip\" is not IPv4".to_string()]
        );
        let mode: String = s
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
