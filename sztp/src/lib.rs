//! zerotouch-sztp: SZTP's documents (RFC 8572), shared by the bootstrap server and the
//! device agent: the CMS artifacts and their signatures (`cms`, with ECDSA P-256 keys
//! from `key`), conveyed information (`conveyed`), the `get-bootstrapping-data` output
//! (`output`), YANG data in XML (`xml`) and JSON (`Encoding`), a lab PKI with
//! ownership vouchers (`pki`), and the DHCP options' list of bootstrap-server URIs
//! (`option`, with `uri`: DHCPv4 143, DHCPv6 136), and RFC 9646's certificate
//! requests (`csr`, carried back in an ietf-keystore: `keystore`; names: `name`).

pub mod cms;
pub mod conveyed;
pub mod csr;
mod de;
mod encoding;
pub mod key;
pub mod keystore;
pub mod name;
pub mod option;
pub mod output;
pub mod pki;
pub mod uri;
pub mod xml;

pub use encoding::Encoding;

/// The bootstrap server module's namespace and JSON prefix (RFC 8572 §7.2).
pub const SERVER_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-sztp-bootstrap-server";
/// The bootstrap server module's name, the JSON members' prefix.
pub const SERVER_MODULE: &str = "ietf-sztp-bootstrap-server";
