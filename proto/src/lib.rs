//! Wire codecs shared by the zerotouch server, relay and plugins.
//!
//! The DHCPv4 codec here is written for a server's hot path and for hostile input:
//! every way a packet can be malformed has its own [`v4::DecodeError`] variant, so the
//! server can count and log the reason instead of guessing (dhcproto, by contrast,
//! stops silently at the first bad option). The DHCPv6 codec ([`v6`]) is strict in the
//! same way and includes the relay layer: nested RELAY-FORW messages decoded down to
//! the client message, and replies wrapped back out as RELAY-REPL.

#![warn(missing_docs)]

pub mod fqdn;
pub mod hex;
pub mod v4;
pub mod v6;
