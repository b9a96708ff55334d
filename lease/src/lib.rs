//! zerotouch-lease: lease storage. Leases (DHCPv4, and DHCPv6 in the `*6` files): the
//! in-memory index that allocation decisions read (`index`), the durable store behind
//! the backend interface (`backend`: the SQLite file in `sqlite/`, or `memory` for
//! tests), and the group-commit buffer between the two (`commit`), which lets an ACK
//! leave only after its lease is durable.

mod backend;
mod bindings;
mod commit;
mod index;
mod index6;
mod lock;
mod memory;
mod model;
mod model6;
mod sqlite;

pub use backend::{LeaseBackend, Loaded, StoreError, Upkeep};
pub use bindings::{Binding, Bindings, start_capacity};
pub use commit::{CommitEvent, GroupCommit, StoredLease};
pub use index::{LeaseIndex, PoolRef};
pub use index6::{LeaseIndex6, Slots};
pub use lock::DatabaseLock;
pub use memory::MemoryStore;
pub use model::hex_colon;
#[cfg(any(test, feature = "testing"))]
pub use model::numbered_lease;
pub use model::{ClientKey, HwAddr, Lease4, LeaseState};
pub use model6::{IaKey, IaKind, Lease6, Resource};
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

pub use zerotouch_net::unix_now;

use zerotouch_config::LeaseStoreConfig;

/// Opens the lease store `cfg` names for writing (creating or upgrading it).
pub fn open(cfg: &LeaseStoreConfig) -> Result<Box<dyn LeaseBackend>, StoreError> {
    Ok(Box::new(SqliteStore::open(&cfg.database, cfg.synchronous)?))
}
