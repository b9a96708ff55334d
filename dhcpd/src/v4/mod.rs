//! The DHCPv4 server: from a received datagram to a reply and a lease change.
//!
//! `select` picks the subnet, `classify` the classes and host reservation, `allocate`
//! the address, `handler` runs the RFC 2131 state machine (with `hooks`, its plugin
//! side), `reply` assembles options, `addressing` decides where the reply goes, `sender`
//! sends it (ARP entries, broadcast fallback); `service` starts DHCPv4 as the shared
//! packet loop (`server/packet_loop.rs`).

mod addressing;
mod allocate;
mod classify;
mod context;
mod handler;
mod hooks;
mod reply;
mod select;
mod sender;
mod service;

pub use addressing::{ArpEntry, Destination};
pub use context::{Exchange, Ingress};
pub use handler::{Dhcp4Handler, Outcome, Reply};
pub use service::Dhcp4Service;

#[cfg(test)]
mod plugin_tests;
#[cfg(test)]
mod tests;
