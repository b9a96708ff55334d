//! zerotouch-agent: the device side of SZTP (RFC 8572 §5). So far: the RESTCONF client
//! of a bootstrap server (`client`, §7: `get-bootstrapping-data` and `report-progress`
//! over TLS with the IDevID, the server trusted or provisional); the check of signed
//! data (`verify`, §5.4): the ownership voucher against the manufacturer's trust
//! anchors, the owner certificate against the voucher's pinned domain certificate, and
//! the owner's signature over the conveyed information; and the processing of a source
//! (`process`, §5.3 and §5.5): trust state, redirects followed and bounded, onboarding
//! information only from a trusted source; and onboarding (`onboard`, §5.6) on a
//! device simulated in directories, with its progress reports.

#![warn(missing_docs)]

pub mod client;
pub mod dhcp;
pub mod dns;
pub mod ldevid;
pub mod log;
pub mod onboard;
pub mod process;
pub mod verify;
