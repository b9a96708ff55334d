//! The `[dhcp4]` section as written.

use serde::Deserialize;
use toml::Spanned;

use super::RawMatch;

raw_table! {
    struct RawDhcp4 {
        pub interfaces: Spanned<Vec<String>>,
        /// Served interfaces that receive relayed requests only (no subnet on their link).
        #[serde(default)]
        pub relayed_only: Option<Spanned<Vec<String>>>,
        #[serde(default)]
        pub authoritative: bool,
        pub port: Option<u16>,
        pub client_port: Option<u16>,
        pub server_id: Option<Spanned<String>>,
        ..lease_times,
        #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
        pub offer_hold: Option<Spanned<u32>>,
        #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
        pub decline_probation: Option<Spanned<u32>>,
        ..scope,
        ..boot,
        #[serde(default)]
        pub option_definition: Vec<RawOptionDefinition>,
        #[serde(default)]
        pub subnet: Vec<RawSubnet>,
        #[serde(default)]
        pub host: Vec<RawHost>,
        #[serde(default)]
        pub class: Vec<RawClass>,
    }
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

raw_table! {
    struct RawSubnet {
        pub subnet: Spanned<String>,
        pub shared_network: Option<String>,
        pub interface: Option<String>,
        pub server_id: Option<Spanned<String>>,
        ..lease_times,
        ..scope,
        ..boot,
        #[serde(default)]
        pub pool: Vec<RawPool>,
    }
}

raw_table! {
    struct RawPool {
        pub range: Spanned<String>,
        #[serde(default)]
        pub exclude: Vec<Spanned<String>>,
        #[serde(default)]
        pub classes: Vec<Spanned<String>>,
        ..scope,
        ..boot,
    }
}

raw_table! {
    struct RawHost {
        pub hw_address: Option<Spanned<String>>,
        pub client_id: Option<Spanned<String>>,
        pub circuit_id: Option<Spanned<String>>,
        pub remote_id: Option<Spanned<String>>,
        pub address: Option<Spanned<String>>,
        pub hostname: Option<Spanned<String>>,
        ..scope,
        ..boot,
    }
}

raw_table! {
    struct RawClass {
        pub name: Spanned<String>,
        #[serde(rename = "match")]
        pub matcher: Spanned<RawMatch>,
        ..scope,
        ..boot,
    }
}
