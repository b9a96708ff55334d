//! DHCPv4 (RFC 2131/2132) messages.
//!
//! - [`decode`]: strict parsing with a reason per malformation, RFC 3396 joining of
//!   split options (adjacent or not, across the `file` and `sname` fields when
//!   option 52 overloads them).
//! - [`ReplyEncoder`]: writes a reply within a size budget, splits long options per
//!   RFC 3396, puts option 82 last and pads to the 300-octet BOOTP minimum.

mod code;
mod decode;
mod encode;
mod message;
mod options;
mod relay_info;

pub use code::{MessageType, OptionCode};
pub use decode::{DecodeError, decode};
pub use encode::{EncodeOutcome, OptionData, ReplyEncoder, ReplyOption};
pub use message::{BROADCAST_FLAG, CHADDR_LEN, FIXED_HEADER_LEN, MAGIC_COOKIE, Message, Op};
pub use options::Options;
pub use relay_info::RelayAgentInfo;

/// The smallest DHCP message a client must accept (RFC 2131 §2: 576-octet IP datagram
/// less 20 octets of IP and 8 of UDP header).
pub const MIN_MAX_MESSAGE_SIZE: usize = 576 - 28;

/// BOOTP's minimum message size (RFC 951); relays and PXE ROMs drop shorter packets.
pub const BOOTP_MIN_LEN: usize = 300;

#[cfg(test)]
mod tests;
