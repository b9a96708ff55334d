//! zerotouch-dhcpd: the server core.
//!
//! Where a DHCPv4 packet goes:
//! `io` (socket, batched receive) → `proto` decode → `v4` (subnet selection,
//! classification, host lookup, lease engine, reply assembly) → `lease` (group commit
//! to the store) → `io` (batched send, addressed per RFC 2131 §4.1).
//!
//! A DHCPv6 packet takes the same path through `v6` (relay chain, subnet by link,
//! IA_NA and IA_PD bindings, options by ORO) on a thread and socket of its own.

pub mod outcome;
pub mod plugin_context;
pub mod server;
pub mod services;
pub mod stats;
pub mod store;
pub mod v4;
pub mod v6;

pub use zerotouch_config as config;
pub use zerotouch_config::{DEFAULT_CONFIG, options};
pub use zerotouch_lease as lease;
pub use zerotouch_plugin_host as plugin;
