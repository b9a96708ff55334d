//! The DHCPv6 server: from a received datagram (a client message, possibly inside
//! relay messages) to a reply and lease changes.
//!
//! `select` picks the subnet, classes and reservation, `allocate` the addresses and
//! prefixes, `handler` runs the RFC 8415 §18.3 server side, `reply` adds options,
//! `duid` makes and keeps the server's DUID.

mod allocate;
mod context;
mod duid;
mod handler;
mod hooks;
mod reply;
mod select;

pub use context::{Exchange6, Ingress6};
pub use duid::{DuidError, server_duid};
pub use handler::{Dhcp6Handler, Outcome6, Reply6, subnet_infos6};

#[cfg(test)]
mod plugin_tests;
#[cfg(test)]
mod tests;
