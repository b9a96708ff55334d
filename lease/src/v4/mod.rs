//! DHCPv4 leases: how a client is recognised, the lease record, and the index
//! allocation reads.

mod index;
mod model;

pub use index::LeaseIndex;
#[cfg(any(test, feature = "testing"))]
pub use model::numbered_lease;
pub use model::{ClientKey, HwAddr, Lease4};
