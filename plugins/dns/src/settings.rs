//! The plugin's settings: where it listens, and its zones with their records, each
//! checked when read, with the file, line and key of what is wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;
use zerotouch_plugin::{Settings, SettingsError};

/// Seconds, when a zone does not say: five minutes.
pub(crate) const DEFAULT_TTL: u32 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DnsSettings {
    /// Addresses (and ports) served over UDP and TCP.
    pub listen: Vec<SocketAddr>,
    #[serde(default)]
    pub zone: Vec<ZoneSettings>,
    /// Response-rate limiting over UDP, per source network.
    #[serde(default)]
    pub rate_limit: crate::rrl::RateLimit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ZoneSettings {
    /// The zone's apex, `sztp.example`.
    pub name: String,
    /// Time to live of every record of the zone, seconds or `5m`.
    #[serde(
        default,
        deserialize_with = "zerotouch_plugin::duration::opt_seconds_plain"
    )]
    pub ttl: Option<u32>,
    /// The SOA's responsible mailbox as a name (`hostmaster.<zone>` when absent).
    pub hostmaster: Option<String>,
    /// The zone's name servers, the first in the SOA.
    pub nameservers: Vec<NameServer>,
    /// `_sztp._tcp.<zone>` SRV records: the bootstrap servers devices are sent to.
    #[serde(default)]
    pub bootstrap_server: Vec<BootstrapServer>,
    /// Names with addresses (A and AAAA).
    #[serde(default)]
    pub host: Vec<HostName>,
    /// `<serial>._sztp.<zone>` TXT records of devices: their artifacts from files.
    #[serde(default)]
    pub device: Vec<Device>,
    /// Whether other devices' TXT records are the bootstrap plugin's artifacts for them.
    #[serde(default)]
    pub bootstrap_devices: bool,
    /// Whether clients with a lease and a host name are `<name>.<zone>` (and their
    /// addresses' reverse names point back, in any zone of this server that holds them).
    #[serde(default)]
    pub lease_names: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameServer {
    pub name: String,
    /// Its addresses, served as A and AAAA when the name is in the zone.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BootstrapServer {
    /// The DNS-SD instance name (`<instance>._sztp._tcp.<zone>`); the target's first
    /// label when absent.
    pub instance: Option<String>,
    pub target: String,
    pub port: u16,
    #[serde(default)]
    pub priority: u16,
    #[serde(default)]
    pub weight: u16,
    /// The target's addresses, served as A and AAAA (and in the additional section of
    /// the SRV answer) when the target is in the zone.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostName {
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Device {
    /// The device's serial number, as in its IDevID certificate.
    pub serial: String,
    /// Files with the device's artifacts (DER CMS), relative to the configuration file:
    /// `ci=`, `oc=` and `ov=` in its TXT record.
    pub conveyed_information: Option<String>,
    pub owner_certificate: Option<String>,
    pub ownership_voucher: Option<String>,
}

impl DnsSettings {
    pub(crate) fn read(settings: &Settings) -> Result<Self, SettingsError> {
        let s: DnsSettings = settings.parse()?;
        if s.zone.iter().filter(|z| z.lease_names).count() > 1 {
            return Err(settings.error("zone", "more than one zone sets lease_names = true, expected one: a leased device has one name"));
        }
        if s.listen.is_empty() {
            return Err(settings.error(
                "listen",
                "is empty, expected at least one address such as \"198.18.0.1:53\"",
            ));
        }
        Ok(s)
    }
}

/// A path of the settings, relative to the configuration file's folder.
pub(crate) fn resolve(settings: &Settings, path: &str) -> PathBuf {
    settings.resolve_path(path)
}
