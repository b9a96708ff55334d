//! RESTCONF (RFC 8040) as the bootstrap server speaks it: media types, the two RPCs'
//! input and output in JSON (RFC 7951) and XML, and `ietf-restconf:errors` replies.

pub mod error;
pub mod input;
pub mod media;

pub use error::{ErrorInfo, RestconfError};
pub use zerotouch_sztp::{Encoding, SERVER_MODULE, SERVER_NS, output, xml};
