//! zerotouch-agent: the device side of SZTP (RFC 8572 §5). So far: the RESTCONF client
//! of a bootstrap server (`client`, §7: `get-bootstrapping-data` and `report-progress`
//! over TLS with the IDevID, the server trusted or provisional), and the check of
//! signed data (`verify`, §5.4): the ownership voucher against the manufacturer's trust
//! anchors, the owner certificate against the voucher's pinned domain certificate, and
//! the owner's signature over the conveyed information.

#![warn(missing_docs)]

pub mod client;
pub mod verify;
