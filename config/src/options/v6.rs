//! DHCPv6 option names the server knows without an `option_definition`: those RFC 8415
//! defines for servers to send and the later ones provisioning networks use. Names follow
//! Kea's where one exists.

use super::OptionType;
use OptionType::{DomainList, Hex, Ip6List, Ntp6, U8, U32, Vendor6};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef6 {
    pub name: String,
    pub code: u16,
    pub ty: OptionType,
}

const BUILTIN6: &[(&str, u16, OptionType)] = &[
    ("preference", 7, U8),
    ("vendor-opts", 17, Vendor6),
    ("sip-server-dns", 21, DomainList),
    ("sip-server-addr", 22, Ip6List),
    ("dns-servers", 23, Ip6List),
    ("domain-search", 24, DomainList),
    ("nis-servers", 27, Ip6List),
    ("nisp-servers", 28, Ip6List),
    ("sntp-servers", 31, Ip6List),
    ("information-refresh-time", 32, U32),
    ("new-posix-timezone", 41, OptionType::String),
    ("new-tzdb-timezone", 42, OptionType::String),
    ("ntp-server", 56, Ntp6),
    ("bootfile-url", 59, OptionType::String),
    ("bootfile-param", 60, Hex),
    ("aftr-name", 64, DomainList),
    ("sztp-redirect", 136, Hex),
    ("v6-captive-portal", 103, OptionType::String),
];

/// Codes the server sets itself or that only clients and relays send.
pub const RESERVED_CODES6: &[(u16, &str)] = &[
    (1, "client identifier"),
    (2, "server identifier (set with server_duid)"),
    (3, "IA_NA"),
    (4, "IA_TA"),
    (5, "IA address"),
    (6, "option request option"),
    (8, "elapsed time"),
    (9, "relay message"),
    (11, "authentication"),
    (13, "status code"),
    (14, "rapid commit (set with rapid_commit)"),
    (18, "interface-id"),
    (19, "reconfigure message"),
    (20, "reconfigure accept"),
    (25, "IA_PD"),
    (26, "IA prefix"),
    (79, "client link-layer address"),
];

fn def(&(name, code, ty): &(&str, u16, OptionType)) -> OptionDef6 {
    OptionDef6 {
        name: name.to_string(),
        code,
        ty,
    }
}

/// The names of the built-in DHCPv6 options.
pub fn builtin6_names() -> impl Iterator<Item = &'static str> {
    BUILTIN6.iter().map(|(n, _, _)| *n)
}

pub fn builtin6_by_name(name: &str) -> Option<OptionDef6> {
    BUILTIN6.iter().find(|(n, _, _)| *n == name).map(def)
}

pub fn builtin6_by_code(code: u16) -> Option<OptionDef6> {
    BUILTIN6.iter().find(|(_, c, _)| *c == code).map(def)
}

/// What the code is, when the server sets it itself.
pub fn reserved6(code: u16) -> Option<&'static str> {
    RESERVED_CODES6
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, what)| *what)
}
