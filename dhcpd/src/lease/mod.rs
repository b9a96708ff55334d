//! Leases: the in-memory index that allocation decisions read (`index`), the durable
//! store (`store`, SQLite in WAL mode) and the group-commit buffer between the two
//! (`commit`), which lets an ACK leave only after its lease is on disk.

mod commit;
mod index;
mod model;
mod store;

pub use commit::{CommitEvent, GroupCommit};
pub use index::{LeaseIndex, PoolRef};
pub use model::{ClientKey, HwAddr, Lease4, LeaseState};
pub use store::{LeaseStore, Loaded, StoreError};

/// Seconds since the Unix epoch: leases are stored in wall-clock time so that they
/// mean the same after a restart.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
