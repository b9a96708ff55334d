//! zerotouch-lease: lease storage. Leases of each family (`v4/`, `v6/`: the record and
//! the in-memory index that allocation decisions read, over the table both share in
//! `bindings`, with the states in `state`), the durable store behind
//! the backend interface (`backend`: the SQLite file in `sqlite/`, or `memory` for
//! tests), and the group-commit buffer between the two (`commit`), which lets an ACK
//! leave only after its lease is durable. `transfer` moves leases between stores as a
//! file.

mod backend;
mod bindings;
mod claims;
mod commit;
mod lock;
mod memory;
mod sqlite;
mod state;
pub mod transfer;
mod v4;
mod v6;

pub use backend::{Following, LeaseBackend, Loaded, StoreError, Upkeep, Written};
pub use bindings::{Binding, Bindings, PoolRef, start_capacity};
pub use claims::{ClaimAsk, ClaimNews, Claims, Span};
pub use commit::{CommitEvent, GroupCommit, StoredLease};
pub use lock::DatabaseLock;
pub use memory::MemoryStore;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use state::LeaseState;
#[cfg(any(test, feature = "testing"))]
pub use v4::numbered_lease;
pub use v4::{ClientKey, HwAddr, Lease4, LeaseIndex};
pub use v6::{IaKey, IaKind, Lease6, LeaseIndex6, Resource, Slots};
pub use zerotouch_proto::hex::colon as hex_colon;

pub use zerotouch_net::unix_now;

use zerotouch_config::LeaseStoreConfig;

/// Opens the lease store `cfg` names for writing (creating or upgrading it).
pub fn open(cfg: &LeaseStoreConfig) -> Result<Box<dyn LeaseBackend>, StoreError> {
    Ok(Box::new(SqliteStore::open(&cfg.database, cfg.synchronous)?))
}
