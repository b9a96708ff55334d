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
    /// The mDNS responder, when present.
    pub mdns: Option<MdnsSettings>,
    /// Forwarding of names outside the zones, when present.
    pub forward: Option<ForwardSettings>,
}

/// Seconds an upstream server gets to answer a forwarded query, when the settings do
/// not say.
pub(crate) const FORWARD_TIMEOUT: u32 = 2;

/// `forward`: names in no zone, asked by `clients`, go to `servers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardSettings {
    /// Upstream servers, tried in turn: `"198.18.0.53"` (port 53) or
    /// `"[2001:db8::53]:5353"`.
    pub servers: Vec<String>,
    /// The networks whose queries are forwarded; others are refused.
    pub clients: Vec<ipnet::IpNet>,
    /// Seconds each upstream server gets.
    #[serde(
        default,
        deserialize_with = "zerotouch_plugin::duration::opt_seconds_plain"
    )]
    pub timeout: Option<u32>,
}

impl ForwardSettings {
    /// The upstream servers' addresses, port 53 where none is given.
    pub(crate) fn addresses(&self, settings: &Settings) -> Result<Vec<SocketAddr>, SettingsError> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse::<SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        settings.error(
                            format!("forward.servers[{i}]"),
                            format!("{s:?} is not an address such as \"198.18.0.53\" or \"[2001:db8::53]:5353\""),
                        )
                    })
            })
            .collect()
    }
}

/// Seconds an mDNS record lives when the settings do not say (RFC 6762 §10: 120 s for
/// records that name a host).
pub(crate) const MDNS_TTL: u32 = 120;

/// `mdns`: a multicast DNS responder (RFC 6762) for one zone's records under `local.`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MdnsSettings {
    /// The interfaces it answers on, by name.
    pub interfaces: Vec<String>,
    /// The zone whose bootstrap servers and devices are published; the first when
    /// absent.
    pub zone: Option<String>,
    /// Time to live of the records it publishes, seconds or `2m`.
    #[serde(
        default,
        deserialize_with = "zerotouch_plugin::duration::opt_seconds_plain"
    )]
    pub ttl: Option<u32>,
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
        if let Some(m) = &s.mdns {
            if m.interfaces.is_empty() {
                return Err(settings.error(
                    "mdns.interfaces",
                    "is empty, expected the interfaces to answer on, such as [\"eth1\"]",
                ));
            }
            match &m.zone {
                Some(z) if !s.zone.iter().any(|zone| same_name(&zone.name, z)) => {
                    return Err(settings
                        .error("mdns.zone", format!("{z:?} is none of this server's zones")));
                }
                None if s.zone.is_empty() => {
                    return Err(settings.error(
                        "mdns",
                        "there is no zone to publish: add a [[zone]] (its bootstrap servers and devices are what mDNS publishes)",
                    ));
                }
                _ => {}
            }
        }
        if let Some(f) = &s.forward {
            if f.servers.is_empty() {
                return Err(settings.error(
                    "forward.servers",
                    "is empty, expected the upstream servers to ask",
                ));
            }
            if f.clients.is_empty() {
                return Err(settings.error("forward.clients", "is empty, expected the networks whose queries are forwarded, such as [\"198.18.0.0/15\"]"));
            }
            f.addresses(settings)?;
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

/// Whether two names in the settings are the same (case and the final dot aside).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

impl DnsSettings {
    /// The zone mDNS publishes, with its index, when mDNS is on.
    pub(crate) fn mdns_zone(&self) -> Option<(usize, &ZoneSettings)> {
        let m = self.mdns.as_ref()?;
        self.zone.iter().enumerate().find(|(_, z)| match &m.zone {
            Some(name) => same_name(&z.name, name),
            None => true,
        })
    }
}

/// A path of the settings, relative to the configuration file's folder.
pub(crate) fn resolve(settings: &Settings, path: &str) -> PathBuf {
    settings.resolve_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<DnsSettings, SettingsError> {
        DnsSettings::read(&Settings::standalone(text, "dns"))
    }

    const ZONES: &str = "[[zone]]\nname = \"sztp.example\"\nnameservers = [{ name = \"ns1.sztp.example\" }]\n[[zone]]\nname = \"lab.example\"\nnameservers = [{ name = \"ns1.lab.example\" }]\n";

    #[test]
    fn mdns_publishes_the_zone_it_names_or_the_first_and_says_what_is_wrong() {
        let first = read(&format!(
            "listen = [\"127.0.0.1:53\"]\nmdns = {{ interfaces = [\"eth1\"] }}\n{ZONES}"
        ))
        .unwrap();
        assert_eq!(first.mdns_zone().map(|(i, _)| i), Some(0));
        let named = read(&format!("listen = [\"127.0.0.1:53\"]\nmdns = {{ interfaces = [\"eth1\"], zone = \"LAB.example.\" }}\n{ZONES}")).unwrap();
        assert_eq!(named.mdns_zone().map(|(i, _)| i), Some(1));
        let unknown = read(&format!("listen = [\"127.0.0.1:53\"]\nmdns = {{ interfaces = [\"eth1\"], zone = \"other.example\" }}\n{ZONES}")).unwrap_err();
        assert_eq!(unknown.key, "mdns.zone");
        let no_interfaces = read(&format!(
            "listen = [\"127.0.0.1:53\"]\nmdns = {{ interfaces = [] }}\n{ZONES}"
        ))
        .unwrap_err();
        assert_eq!(no_interfaces.key, "mdns.interfaces");
        let no_zone =
            read("listen = [\"127.0.0.1:53\"]\nmdns = { interfaces = [\"eth1\"] }\n").unwrap_err();
        assert_eq!(no_zone.key, "mdns");
        assert!(
            read(&format!("listen = [\"127.0.0.1:53\"]\n{ZONES}"))
                .unwrap()
                .mdns_zone()
                .is_none()
        );
    }

    #[test]
    fn forward_servers_take_port_53_by_default_and_bad_ones_are_named() {
        let with = |f: &str| {
            read(&format!(
                "listen = [\"127.0.0.1:53\"]\nforward = {f}\n{ZONES}"
            ))
        };
        let s = with("{ servers = [\"198.18.0.53\", \"[2001:db8::53]:5353\"], clients = [\"198.18.0.0/15\"] }").unwrap();
        let f = s.forward.unwrap();
        let settings = Settings::standalone("", "dns");
        assert_eq!(
            f.addresses(&settings).unwrap(),
            [
                "198.18.0.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:5353".parse().unwrap()
            ]
        );
        let bad =
            with("{ servers = [\"198.18.0.53\", \"dns.example\"], clients = [\"198.18.0.0/15\"] }")
                .unwrap_err();
        assert_eq!(bad.key, "forward.servers[1]");
        let open = with("{ servers = [\"198.18.0.53\"], clients = [] }").unwrap_err();
        assert_eq!(open.key, "forward.clients");
        assert!(
            with("{ servers = [\"198.18.0.53\"] }").is_err(),
            "clients are required"
        );
    }
}
