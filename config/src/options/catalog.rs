//! The option names the server knows without an `option_definition`: the RFC 2132 set
//! and the later options provisioning networks use.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    Ip,
    IpList,
    U8,
    U16,
    U32,
    I32,
    Bool,
    String,
    Hex,
    /// RFC 1035 names, uncompressed (option 119, RFC 3397).
    DomainList,
    /// RFC 3442 classless static routes (option 121).
    Routes,
    U16List,
    /// An IPv6 address.
    Ip6,
    /// IPv6 addresses.
    Ip6List,
    /// DHCPv6 NTP server option (56, RFC 5908): addresses and names as sub-options.
    Ntp6,
    /// DHCPv6 vendor-specific information (17): enterprise number and sub-options.
    Vendor6,
}

impl OptionType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ip" => Self::Ip,
            "ip-list" => Self::IpList,
            "u8" => Self::U8,
            "u16" => Self::U16,
            "u32" => Self::U32,
            "i32" => Self::I32,
            "bool" => Self::Bool,
            "string" => Self::String,
            "hex" => Self::Hex,
            "domain-list" => Self::DomainList,
            "routes" => Self::Routes,
            "u16-list" => Self::U16List,
            "ipv6" => Self::Ip6,
            "ipv6-list" => Self::Ip6List,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "ip, ip-list, u8, u16, u32, i32, bool, string, hex, domain-list, routes, u16-list, ipv6, ipv6-list";

    /// The type's name in docs/configuration.md (and in `option_definition`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::IpList => "ip-list",
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Hex => "hex",
            Self::DomainList => "domain-list",
            Self::Routes => "routes",
            Self::U16List => "u16-list",
            Self::Ip6 => "ipv6",
            Self::Ip6List => "ipv6-list",
            Self::Ntp6 => "ntp-server (addresses and names)",
            Self::Vendor6 => "vendor-opts (enterprise and sub-options)",
        }
    }

    /// What a value of this type looks like in TOML, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            Self::Ip => "an IPv4 address string such as \"198.18.0.1\"",
            Self::IpList => "an IPv4 address or an array of them",
            Self::U8 => "an integer from 0 to 255",
            Self::U16 => "an integer from 0 to 65535",
            Self::U32 => "an integer from 0 to 4294967295",
            Self::I32 => "an integer from -2147483648 to 2147483647",
            Self::Bool => "true or false",
            Self::String => "a string",
            Self::Hex => "hex octets such as \"01:02:ab\" or \"0102ab\"",
            Self::DomainList => "a domain name or an array of them",
            Self::Routes => "an array of \"DEST/LEN via ROUTER\" strings",
            Self::U16List => "an array of integers from 0 to 65535",
            Self::Ip6 => "an IPv6 address string such as \"2001:db8::1\"",
            Self::Ip6List => "an IPv6 address or an array of them",
            Self::Ntp6 => "an IPv6 address or host name, or an array of them",
            Self::Vendor6 => {
                "a table { enterprise = NUMBER, options = { \"CODE\" = \"text\" or \"hex:01:02\" } }"
            }
        }
    }
}

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
