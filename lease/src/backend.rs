//! The lease backend interface: what the server needs of durable lease storage. The
//! embedded SQLite store (`sqlite/`) and the in-memory store (`memory.rs`) implement it;
//! a database server shared by several DHCP servers is another (crate
//! `zerotouch-lease-postgres`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::Lease4;
use crate::Lease6;
use crate::{Claims, IaKind, PoolRef};

/// Durable lease storage. The group commit's worker owns one and writes batches to it;
/// the server loads its leases from it at start; services read it through a second one
/// opened for reading.
pub trait LeaseBackend: Send {
    /// Where the leases are, for messages (a file, a database's name).
    fn describe(&self) -> String;

    /// Every DHCPv4 lease, and a description of each record that could not be read
    /// (left in place).
    fn load4(&self) -> Result<Loaded<Lease4>, StoreError>;

    /// Every DHCPv6 lease, and a description of each record that could not be read.
    fn load6(&self) -> Result<Loaded<Lease6>, StoreError>;

    /// Writes `leases` in one transaction: when this returns `Ok` they are durable,
    /// except those it says were refused (a store shared by several servers refuses a
    /// lease of an address another server's client holds).
    fn write4(&mut self, leases: &[Lease4]) -> Result<Written<Lease4>, StoreError>;

    /// Writes DHCPv6 `leases` in one transaction, as `write4`.
    fn write6(&mut self, leases: &[Lease6]) -> Result<Written<Lease6>, StoreError>;

    /// The lease of `address`, if any and readable.
    fn get4(&self, address: Ipv4Addr) -> Result<Option<Lease4>, StoreError>;

    /// The lease of IA_NA address `address` (a delegated prefix is not an address).
    fn get6(&self, address: Ipv6Addr) -> Result<Option<Lease6>, StoreError>;

    /// A value of the server's identity (`"duid"`), as stored.
    fn identity(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Stores a value of the server's identity.
    fn set_identity(&mut self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Starts what the backend runs beside its writer for as long as the returned guard
    /// lives (SQLite: the WAL checkpoints). The group commit holds it and drops it after
    /// its last commit.
    fn start_upkeep(&mut self) -> Result<Upkeep, StoreError> {
        Ok(Upkeep::none())
    }

    /// The DHCPv4 lease changes other servers make to a store they share with this
    /// one, as they commit; `None` for a store only this server writes.
    fn follow4(&mut self) -> Result<Option<Following<Lease4>>, StoreError> {
        Ok(None)
    }

    /// The DHCPv6 lease changes other servers make, as `follow4`.
    fn follow6(&mut self) -> Result<Option<Following<Lease6>>, StoreError> {
        Ok(None)
    }

    /// The blocks of the DHCPv4 pools this server may give new addresses from, for a
    /// store shared with other servers; `None`: every address of the pools.
    fn claims4(&mut self) -> Result<Option<Claims<PoolRef>>, StoreError> {
        Ok(None)
    }

    /// The blocks of the DHCPv6 pools (addresses and prefixes), as `claims4`.
    fn claims6(&mut self) -> Result<Option<Claims<(IaKind, PoolRef)>>, StoreError> {
        Ok(None)
    }
}

/// What a write did: the positions in the batch of the leases it refused, and the
/// stored lease that stands in the way of each (another server's client holds the
/// address). A store only this server writes refuses nothing.
#[derive(Debug)]
pub struct Written<L> {
    /// Positions in the batch written, ascending.
    pub refused: Vec<usize>,
    /// The stored lease of each refused address, as it stands.
    pub current: Vec<L>,
}

impl<L> Written<L> {
    /// Every lease written.
    pub fn all() -> Self {
        Written {
            refused: Vec::new(),
            current: Vec::new(),
        }
    }
}

/// Lease changes made by other servers sharing the store, in batches as they commit,
/// for as long as this lives.
pub struct Following<L> {
    /// The changed leases, as stored.
    pub changes: std::sync::mpsc::Receiver<Vec<L>>,
    _running: Box<dyn Send>,
}

impl<L> Following<L> {
    /// Changes from `changes`, sent while `guard` lives.
    pub fn new(changes: std::sync::mpsc::Receiver<Vec<L>>, guard: impl Send + 'static) -> Self {
        Following {
            changes,
            _running: Box::new(guard),
        }
    }
}

/// Housekeeping a backend runs beside its writer; it stops (after one last round) when
/// dropped.
pub struct Upkeep {
    _running: Option<Box<dyn Send>>,
}

impl Upkeep {
    /// No housekeeping.
    pub fn none() -> Self {
        Upkeep { _running: None }
    }

    /// Housekeeping that stops when `guard` is dropped.
    pub fn running(guard: impl Send + 'static) -> Self {
        Upkeep {
            _running: Some(Box::new(guard)),
        }
    }
}

/// Leases that could be read, and a description of each record that could not.
#[derive(Debug)]
pub struct Loaded<L = Lease4> {
    pub leases: Vec<L>,
    pub bad_rows: Vec<String>,
}

impl<L> Default for Loaded<L> {
    fn default() -> Self {
        Loaded {
            leases: Vec::new(),
            bad_rows: Vec::new(),
        }
    }
}

/// What went wrong with the lease storage.
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
        "lease database {path} has schema version {found}, this server knows versions up to {known}: it was written by a newer server"
    )]
    Version {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot upgrade lease database {path} from schema version {from}: {source}")]
    Upgrade {
        path: PathBuf,
        from: i64,
        source: rusqlite::Error,
    },
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
    /// A database server (PostgreSQL) failed or refused: `target` says which database.
    #[error("lease database {target}: {message}")]
    Server { target: String, message: String },
    /// A database server holds a schema this server cannot use as it is.
    #[error("lease database {target}: {message}")]
    Schema { target: String, message: String },
    /// A write the in-memory store was told to fail (tests of failure handling).
    #[error("lease store: write refused (failure switch on)")]
    Refused,
}
