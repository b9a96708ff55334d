//! zerotouch-lease: lease storage. Leases (DHCPv4, and DHCPv6 in the `*6` files): the in-memory index that allocation decisions read (`index`), the durable
//! store (`store`, SQLite in WAL mode) and the group-commit buffer between the two
//! (`commit`), which lets an ACK leave only after its lease is on disk, with the WAL
//! checkpoints beside it (`checkpoint`).

mod bindings;
mod checkpoint;
mod commit;
mod index;
mod index6;
mod lock;
mod model;
mod model6;
mod store;
mod store6;

pub use bindings::{Binding, Bindings, start_capacity};
pub use commit::{CommitEvent, GroupCommit, StoredLease};
pub use index::{LeaseIndex, PoolRef};
pub use index6::{LeaseIndex6, Slots};
pub use lock::DatabaseLock;
pub use model::hex_colon;
#[cfg(any(test, feature = "testing"))]
pub use model::numbered_lease;
pub use model::{ClientKey, HwAddr, Lease4, LeaseState};
pub use model6::{IaKey, IaKind, Lease6, Resource};
pub use store::{LeaseStore, Loaded, StoreError};

pub use zerotouch_net::unix_now;
