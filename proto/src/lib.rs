//! Wire codecs shared by the zerotouch server, relay and plugins.
//!
//! The DHCPv4 codec here is written for a server's hot path and for hostile input:
//! every way a packet can be malformed has its own [`v4::DecodeError`] variant, so the
//! server can count and log the reason instead of guessing (dhcproto, by contrast,
//! stops silently at the first bad option).

pub mod v4;
