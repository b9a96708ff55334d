//! The DHCPv6 server: from a received datagram (a client message, possibly inside
//! relay messages) to a reply and lease changes.
//!
//! `select` picks the subnet, classes and reservation, `allocate` the addresses and
//! prefixes, `handler` runs the RFC 8415 §18.3 server side, `reply` adds options,
//! `duid` makes and keeps the server's DUID, `sender` sends the replies; `service`
//! starts DHCPv6 as the shared packet loop (`server/packet_loop.rs`).

mod allocate;
mod context;
mod duid;
mod handler;
mod hooks;
mod reply;
mod select;
mod sender;
mod service;

pub use context::{Exchange6, Ingress6};
pub use duid::{DuidError, server_duid};
pub use handler::{Dhcp6Handler, Outcome6, Reply6, subnet_infos6};
pub use service::Dhcp6Service;

#[cfg(test)]
mod plugin_tests;
#[cfg(test)]
mod tests;
