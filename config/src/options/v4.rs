//! The option names the server knows without an `option_definition`: the RFC 2132 set
//! and the later options provisioning networks use.

use super::OptionType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef {
    pub name: String,
    pub code: u8,
    pub ty: OptionType,
}

use OptionType::{Bool, DomainList, Hex, I32, Ip, IpList, Routes, U8, U16, U16List, U32};

/// (name, code, type); names follow ISC dhcpd's where one exists.
const BUILTIN: &[(&str, u8, OptionType)] = &[
    ("subnet-mask", 1, Ip),
    ("time-offset", 2, I32),
    ("routers", 3, IpList),
    ("time-servers", 4, IpList),
    ("domain-name-servers", 6, IpList),
    ("log-servers", 7, IpList),
    ("lpr-servers", 9, IpList),
    ("host-name", 12, OptionType::String),
    ("boot-size", 13, U16),
    ("merit-dump", 14, OptionType::String),
    ("domain-name", 15, OptionType::String),
    ("swap-server", 16, Ip),
    ("root-path", 17, OptionType::String),
    ("extensions-path", 18, OptionType::String),
    ("ip-forwarding", 19, Bool),
    ("non-local-source-routing", 20, Bool),
    ("max-dgram-reassembly", 22, U16),
    ("default-ip-ttl", 23, U8),
    ("path-mtu-aging-timeout", 24, U32),
    ("path-mtu-plateau-table", 25, U16List),
    ("interface-mtu", 26, U16),
    ("all-subnets-local", 27, Bool),
    ("broadcast-address", 28, Ip),
    ("perform-mask-discovery", 29, Bool),
    ("mask-supplier", 30, Bool),
    ("router-discovery", 31, Bool),
    ("router-solicitation-address", 32, Ip),
    ("trailer-encapsulation", 34, Bool),
    ("arp-cache-timeout", 35, U32),
    ("ieee802-3-encapsulation", 36, Bool),
    ("default-tcp-ttl", 37, U8),
    ("tcp-keepalive-interval", 38, U32),
    ("tcp-keepalive-garbage", 39, Bool),
    ("nis-domain", 40, OptionType::String),
    ("nis-servers", 41, IpList),
    ("ntp-servers", 42, IpList),
    ("vendor-encapsulated-options", 43, Hex),
    ("netbios-name-servers", 44, IpList),
    ("netbios-dd-server", 45, IpList),
    ("netbios-node-type", 46, U8),
    ("netbios-scope", 47, OptionType::String),
    ("font-servers", 48, IpList),
    ("x-display-manager", 49, IpList),
    ("nisplus-domain", 64, OptionType::String),
    ("nisplus-servers", 65, IpList),
    ("tftp-server-name", 66, OptionType::String),
    ("bootfile-name", 67, OptionType::String),
    ("mobile-ip-home-agent", 68, IpList),
    ("smtp-server", 69, IpList),
    ("pop-server", 70, IpList),
    ("nntp-server", 71, IpList),
    ("www-server", 72, IpList),
    ("finger-server", 73, IpList),
    ("irc-server", 74, IpList),
    ("streettalk-server", 75, IpList),
    ("streettalk-directory-assistance-server", 76, IpList),
    ("pcode", 100, OptionType::String),
    ("tcode", 101, OptionType::String),
    ("v6-only-preferred", 108, U32),
    ("captive-portal", 114, OptionType::String),
    ("domain-search", 119, DomainList),
    ("classless-static-routes", 121, Routes),
    ("vivco-suboptions", 124, Hex),
    ("vivso-suboptions", 125, Hex),
    ("capwap-ac-v4", 138, IpList),
    ("sztp-redirect", 143, Hex),
    ("tftp-server-address", 150, IpList),
    ("wpad", 252, OptionType::String),
];

/// Codes the server sets itself; configuring them would break the protocol.
pub const RESERVED_CODES: &[(u8, &str)] = &[
    (0, "pad"),
    (50, "requested address"),
    (51, "lease time (set with lease_time)"),
    (52, "overload"),
    (53, "message type"),
    (54, "server identifier (set with server_id)"),
    (55, "parameter request list"),
    (57, "maximum message size"),
    (58, "renewal time (set with renew_time)"),
    (59, "rebinding time (set with rebind_time)"),
    (61, "client identifier"),
    (82, "relay agent information"),
    (255, "end"),
];

fn def(&(name, code, ty): &(&str, u8, OptionType)) -> OptionDef {
    OptionDef {
        name: name.to_string(),
        code,
        ty,
    }
}

/// The names of the built-in DHCPv4 options.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _, _)| *n)
}

pub fn builtin_by_name(name: &str) -> Option<OptionDef> {
    BUILTIN.iter().find(|(n, _, _)| *n == name).map(def)
}

pub fn builtin_by_code(code: u8) -> Option<OptionDef> {
    BUILTIN.iter().find(|(_, c, _)| *c == code).map(def)
}
