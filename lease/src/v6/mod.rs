//! DHCPv6 leases: addresses (IA_NA) and delegated prefixes (IA_PD) bound to identity
//! associations, and the index allocation reads.

mod index;
mod model;

pub use index::{LeaseIndex6, Slots};
pub use model::{IaKey, IaKind, Lease6, Resource};
