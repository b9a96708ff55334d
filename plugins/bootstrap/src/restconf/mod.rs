//! RESTCONF (RFC 8040) as the bootstrap server speaks it: media types, the two RPCs'
//! input and output in JSON (RFC 7951) and XML, and `ietf-restconf:errors` replies.

pub mod error;
pub mod input;
pub mod media;
pub mod output;
pub mod xml;

pub use error::RestconfError;
pub use media::Encoding;

/// The bootstrap server module's namespace and JSON prefix (RFC 8572 §7.2).
pub const SERVER_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-sztp-bootstrap-server";
pub const SERVER_MODULE: &str = "ietf-sztp-bootstrap-server";
