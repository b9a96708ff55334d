//! Harness for integration tests that run the real binaries against real clients in
//! network namespaces joined by veth pairs. Needs root and the Debian packages the
//! README's test command installs; a missing piece fails the test with a clear message.
//!
//! Addresses used: 198.18.0.0/15 and 2001:db8::/32 only, inside the test namespaces.

pub mod config;
pub mod lab;
pub mod leases;
pub mod pcap;
pub mod pki;
pub mod postgres;
pub mod process;

pub use config::ServerConfig;
pub use lab::Lab;
pub use process::{Daemon, binary, check_config, require_tools};
