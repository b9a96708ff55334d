//! DHCPv6 (RFC 8415) messages.
//!
//! - [`Packet6::decode`]: strict parsing of a client message or a chain of relay
//!   messages down to the client message inside (option 9 of each relay), with a reason
//!   per malformation and the hop limit enforced.
//! - [`Packet6::encode_reply`]: a reply wrapped back out through every relay as
//!   RELAY-REPL messages, interface-id (option 18) echoed at each level.
//! - [`ia`]: IA_NA, IA_PD and their address, prefix and status-code options; DUIDs.

mod builder;
mod code;
mod decode;
pub mod ia;
mod message;
mod options;

pub use code::{MessageType6, OptionCode6, StatusCode};
pub use decode::DecodeError6;
pub use message::{Message6, Packet6, RelayHeader};
pub use options::Options6;

/// Server and relay UDP port.
pub const SERVER_PORT: u16 = 547;
/// Client UDP port.
pub const CLIENT_PORT: u16 = 546;
/// All_DHCP_Relay_Agents_and_Servers (link-scoped multicast), which servers join.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// RFC 8415 §7.6 HOP_COUNT_LIMIT: relays refuse to forward past it, so a longer chain
/// is malformed.
pub const HOP_COUNT_LIMIT: u8 = 8;

#[cfg(test)]
mod tests;
