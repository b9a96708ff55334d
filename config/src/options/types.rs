//! The value types of options, and how each looks in TOML.

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
