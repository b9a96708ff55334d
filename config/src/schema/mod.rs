//! The TOML file as written: serde structures that reject unknown keys and keep the
//! spans of values that later checks refer to. What both families share is here; each
//! family's section is in `v4.rs` and `v6.rs`.

/// A section's table as written: `deny_unknown_fields`, spans kept, and the key groups
/// several tables share written once, as `..group,` among the fields: `..lease_times`
/// (DHCPv4), `..lifetimes` (DHCPv6), `..boot` (the BOOTP header fields), `..scope`
/// (options and plugin settings: every scope has them).
macro_rules! raw_table {
    ($(#[$meta:meta])* struct $name:ident { $($body:tt)* }) => {
        raw_table!(@munch [$(#[$meta])*] $name [] $($body)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($done:tt)*]) => {
        $($meta)*
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $($done)*
        }
    };
    (@munch $meta:tt $name:ident [$($done:tt)*] ..lease_times, $($rest:tt)*) => {
        raw_table!(@munch $meta $name [$($done)*
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub lease_time: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub min_lease_time: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub max_lease_time: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub renew_time: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub rebind_time: Option<Spanned<u32>>,
        ] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($done:tt)*] ..lifetimes, $($rest:tt)*) => {
        raw_table!(@munch $meta $name [$($done)*
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub preferred_lifetime: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub valid_lifetime: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub renew_time: Option<Spanned<u32>>,
            #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
            pub rebind_time: Option<Spanned<u32>>,
        ] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($done:tt)*] ..boot, $($rest:tt)*) => {
        raw_table!(@munch $meta $name [$($done)*
            pub next_server: Option<Spanned<String>>,
            pub server_hostname: Option<Spanned<String>>,
            pub boot_file_name: Option<Spanned<String>>,
        ] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($done:tt)*] ..scope, $($rest:tt)*) => {
        raw_table!(@munch $meta $name [$($done)*
            #[serde(default)]
            pub options: $crate::schema::RawOptions,
            /// Settings of plugin instances for this scope, by instance name.
            #[serde(default)]
            pub plugin: $crate::schema::RawPluginScopes,
        ] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($done:tt)*]
        $(#[$field_meta:meta])* pub $field:ident : $ty:ty, $($rest:tt)*) => {
        raw_table!(@munch $meta $name [$($done)* $(#[$field_meta])* pub $field: $ty,] $($rest)*);
    };
}

mod v4;
mod v6;

pub(crate) use v4::*;
pub(crate) use v6::*;

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Option values by name (`routers = ["198.18.0.1"]`) or by code (`"224" = ...` with an
/// `option_definition`). A value may also be a table `{ value = ..., always = true }`.
pub(crate) type RawOptions = BTreeMap<String, Spanned<toml::Value>>;

/// `plugin.<instance> = { ... }` in a scope: read by the plugin instance itself
/// (`Plugin::scope`), with spans from the document.
pub type RawPluginScopes = BTreeMap<String, Spanned<toml::Value>>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub leases: RawLeases,
    pub dhcp4: Option<RawDhcp4>,
    pub dhcp6: Option<RawDhcp6>,
    #[serde(default)]
    pub plugin: Vec<RawPlugin>,
}

/// One `[[plugin]]` entry. Its `settings` table belongs to the plugin, which
/// deserializes it itself (`zerotouch_plugin::Settings`); here it is only carried.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub name: Spanned<String>,
    pub instance: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub on_error: Option<Spanned<String>>,
    pub hook_timeout_ms: Option<Spanned<u64>>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Instances this one runs after (else table order).
    pub after: Option<Spanned<Vec<Spanned<String>>>>,
    #[allow(dead_code)] // read by the plugin through `Settings`, with its own spans
    pub settings: Option<toml::Value>,
}

impl RawPlugin {
    /// `instance`, else the plugin's name.
    pub fn instance_name(&self) -> &str {
        self.instance.as_ref().unwrap_or(&self.name).get_ref()
    }
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub level: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLeases {
    pub database: Option<Spanned<String>>,
    pub postgresql: Option<Spanned<RawPostgres>>,
    pub synchronous: Option<Spanned<String>>,
    pub outage_renewals: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
    pub reclaim_interval: Option<Spanned<u64>>,
    pub commit_window_ms: Option<Spanned<u64>>,
}

/// `[leases.postgresql]`: leases on a PostgreSQL database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPostgres {
    pub url: Spanned<String>,
    pub tls_ca: Option<String>,
    #[serde(default)]
    pub upgrade_schema: bool,
    pub server_name: Option<Spanned<String>>,
    pub claim_block: Option<Spanned<u64>>,
    #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
    pub claim_lifetime: Option<Spanned<u64>>,
}

/// `match = { option = 60, prefix = "PXEClient" }` or
/// `match = { relay = "circuit-id", exact = "sw1:ge-0/0/1" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub option: Option<u16>,
    pub relay: Option<String>,
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
    /// Compare against hex octets rather than text.
    pub hex: Option<String>,
}
