//! The `[dhcp6]` section as written.

use serde::Deserialize;
use toml::Spanned;

use super::RawMatch;

raw_table! {
    struct RawDhcp6 {
        pub interfaces: Spanned<Vec<String>>,
        /// Served interfaces that receive relayed requests only (no subnet on their link).
        #[serde(default)]
        pub relayed_only: Option<Spanned<Vec<String>>>,
        pub port: Option<u16>,
        pub client_port: Option<u16>,
        pub server_duid: Option<Spanned<RawDuid>>,
        #[serde(default = "yes")]
        pub rapid_commit: bool,
        ..lifetimes,
        #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
        pub advertise_hold: Option<Spanned<u32>>,
        #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
        pub decline_probation: Option<Spanned<u32>>,
        ..scope,
        #[serde(default)]
        pub option_definition: Vec<RawOptionDefinition6>,
        #[serde(default)]
        pub subnet: Vec<RawSubnet6>,
        #[serde(default)]
        pub host: Vec<RawHost6>,
        #[serde(default)]
        pub class: Vec<RawClass6>,
    }
}

fn yes() -> bool {
    true
}

/// `server_duid = { type = "llt" }`, `{ type = "en", enterprise = 32473, identifier =
/// "0102" }`, `{ type = "ll", interface = "eth0" }` …
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDuid {
    #[serde(rename = "type")]
    pub ty: String,
    pub interface: Option<String>,
    pub hw_address: Option<String>,
    pub enterprise: Option<u32>,
    pub identifier: Option<String>,
}

/// Lifetime keys, allowed at the `dhcp6` level and per subnet.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawLifetimes {
    pub preferred_lifetime: Option<Spanned<u32>>,
    pub valid_lifetime: Option<Spanned<u32>>,
    pub renew_time: Option<Spanned<u32>>,
    pub rebind_time: Option<Spanned<u32>>,
}

macro_rules! lifetimes {
    ($($t:ty),*) => {$(
        impl $t {
            pub(crate) fn lifetimes(&self) -> RawLifetimes {
                RawLifetimes {
                    preferred_lifetime: self.preferred_lifetime.clone(),
                    valid_lifetime: self.valid_lifetime.clone(),
                    renew_time: self.renew_time.clone(),
                    rebind_time: self.rebind_time.clone(),
                }
            }
        }
    )*};
}
lifetimes!(RawDhcp6, RawSubnet6);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptionDefinition6 {
    pub name: Spanned<String>,
    pub code: Spanned<u16>,
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
}

raw_table! {
    struct RawSubnet6 {
        pub subnet: Spanned<String>,
        pub interface: Option<String>,
        pub interface_id: Option<Spanned<String>>,
        ..lifetimes,
        ..scope,
        #[serde(default)]
        pub pool: Vec<RawPool6>,
        #[serde(default)]
        pub pd_pool: Vec<RawPdPool>,
    }
}

raw_table! {
    struct RawPool6 {
        pub range: Spanned<String>,
        #[serde(default)]
        pub classes: Vec<Spanned<String>>,
        ..scope,
    }
}

raw_table! {
    struct RawPdPool {
        pub prefix: Spanned<String>,
        pub delegated_length: Spanned<u8>,
        #[serde(default)]
        pub classes: Vec<Spanned<String>>,
        ..scope,
    }
}

raw_table! {
    struct RawHost6 {
        pub duid: Option<Spanned<String>>,
        pub hw_address: Option<Spanned<String>>,
        #[serde(default)]
        pub addresses: Vec<Spanned<String>>,
        #[serde(default)]
        pub prefixes: Vec<Spanned<String>>,
        pub hostname: Option<Spanned<String>>,
        ..scope,
    }
}

raw_table! {
    struct RawClass6 {
        pub name: Spanned<String>,
        #[serde(rename = "match")]
        pub matcher: Spanned<RawMatch>,
        ..scope,
    }
}
