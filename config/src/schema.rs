//! The TOML file as written: serde structures that reject unknown keys and keep the
//! spans of values that later checks refer to.

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
    pub dhcp6: Option<super::schema6::RawDhcp6>,
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
    pub database: Option<String>,
    pub synchronous: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
    pub reclaim_interval: Option<Spanned<u64>>,
    pub commit_window_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDhcp4 {
    pub interfaces: Spanned<Vec<String>>,
    /// Served interfaces that receive relayed requests only (no subnet on their link).
    #[serde(default)]
    pub relayed_only: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub authoritative: bool,
    pub port: Option<u16>,
    pub client_port: Option<u16>,
    pub server_id: Option<Spanned<String>>,
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
    #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
    pub offer_hold: Option<Spanned<u32>>,
    #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
    pub decline_probation: Option<Spanned<u32>>,
    #[serde(default)]
    pub options: RawOptions,
    pub next_server: Option<Spanned<String>>,
    pub server_hostname: Option<Spanned<String>>,
    pub boot_file_name: Option<Spanned<String>>,
    /// Settings of plugin instances for this scope, by instance name.
    #[serde(default)]
    pub plugin: RawPluginScopes,
    #[serde(default)]
    pub option_definition: Vec<RawOptionDefinition>,
    #[serde(default)]
    pub subnet: Vec<RawSubnet>,
    #[serde(default)]
    pub host: Vec<RawHost>,
    #[serde(default)]
    pub class: Vec<RawClass>,
}

/// BOOTP header fields (`siaddr`, `sname`, `file`), allowed wherever options are.
pub(crate) struct RawBootFields<'a> {
    pub next_server: &'a Option<Spanned<String>>,
    pub server_hostname: &'a Option<Spanned<String>>,
    pub boot_file_name: &'a Option<Spanned<String>>,
}

macro_rules! boot_fields {
    ($($t:ty),*) => {$(
        impl $t {
            pub(crate) fn boot(&self) -> RawBootFields<'_> {
                RawBootFields { next_server: &self.next_server, server_hostname: &self.server_hostname, boot_file_name: &self.boot_file_name }
            }
        }
    )*};
}
boot_fields!(RawDhcp4, RawSubnet, RawPool, RawHost, RawClass);

/// Lease-time keys, allowed at the `dhcp4` level and per subnet.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawLeaseTimes {
    pub lease_time: Option<Spanned<u32>>,
    pub min_lease_time: Option<Spanned<u32>>,
    pub max_lease_time: Option<Spanned<u32>>,
    pub renew_time: Option<Spanned<u32>>,
    pub rebind_time: Option<Spanned<u32>>,
}

macro_rules! lease_times {
    ($t:ty) => {
        impl $t {
            pub(crate) fn times(&self) -> RawLeaseTimes {
                RawLeaseTimes {
                    lease_time: self.lease_time.clone(),
                    min_lease_time: self.min_lease_time.clone(),
                    max_lease_time: self.max_lease_time.clone(),
                    renew_time: self.renew_time.clone(),
                    rebind_time: self.rebind_time.clone(),
                }
            }
        }
    };
}
lease_times!(RawDhcp4);
lease_times!(RawSubnet);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptionDefinition {
    pub name: Spanned<String>,
    pub code: Spanned<u8>,
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubnet {
    pub subnet: Spanned<String>,
    pub shared_network: Option<String>,
    pub interface: Option<String>,
    pub server_id: Option<Spanned<String>>,
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
    #[serde(default)]
    pub options: RawOptions,
    pub next_server: Option<Spanned<String>>,
    pub server_hostname: Option<Spanned<String>>,
    pub boot_file_name: Option<Spanned<String>>,
    /// Settings of plugin instances for this scope, by instance name.
    #[serde(default)]
    pub plugin: RawPluginScopes,
    #[serde(default)]
    pub pool: Vec<RawPool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    pub range: Spanned<String>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default)]
    pub classes: Vec<Spanned<String>>,
    #[serde(default)]
    pub options: RawOptions,
    pub next_server: Option<Spanned<String>>,
    pub server_hostname: Option<Spanned<String>>,
    pub boot_file_name: Option<Spanned<String>>,
    /// Settings of plugin instances for this scope, by instance name.
    #[serde(default)]
    pub plugin: RawPluginScopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHost {
    pub hw_address: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub circuit_id: Option<Spanned<String>>,
    pub remote_id: Option<Spanned<String>>,
    pub address: Option<Spanned<String>>,
    pub hostname: Option<Spanned<String>>,
    #[serde(default)]
    pub options: RawOptions,
    pub next_server: Option<Spanned<String>>,
    pub server_hostname: Option<Spanned<String>>,
    pub boot_file_name: Option<Spanned<String>>,
    /// Settings of plugin instances for this scope, by instance name.
    #[serde(default)]
    pub plugin: RawPluginScopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    pub name: Spanned<String>,
    #[serde(rename = "match")]
    pub matcher: Spanned<RawMatch>,
    #[serde(default)]
    pub options: RawOptions,
    pub next_server: Option<Spanned<String>>,
    pub server_hostname: Option<Spanned<String>>,
    pub boot_file_name: Option<Spanned<String>>,
    /// Settings of plugin instances for this scope, by instance name.
    #[serde(default)]
    pub plugin: RawPluginScopes,
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
